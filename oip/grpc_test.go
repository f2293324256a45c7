package oip

import (
	"context"
	"errors"
	"math"
	"net"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/trustml/trustml/oip/v2grpc"
)

// TestProtoConversions converts requests and replies to gRPC and back,
// raw and typed contents, FP32 and FP64, and checks each malformed request
// is an ErrBadRequest naming the problem.
func TestProtoConversions(t *testing.T) {
	x := []float32{0, 0.25, -1, 3e38}
	req := &InferenceRequest{ID: "7", Parameters: map[string]any{"binary_data_output": true, "n": 3.0, "s": "v"},
		Inputs:  []RequestInput{{Name: "input", Shape: []int64{1, 4}, Datatype: FP32, Data: x}},
		Outputs: []RequestOutput{{Name: "logits"}}}
	m := RequestToProto("cnn", "1", req)
	if m.ModelName != "cnn" || m.ModelVersion != "1" || len(m.RawInputContents) != 1 || len(m.RawInputContents[0]) != 16 {
		t.Fatalf("request to proto: %v", m)
	}
	back, err := RequestFromProto(m)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != "7" || !slices.Equal(back.Inputs[0].Data, x) || back.Outputs[0].Name != "logits" || !back.BinaryOutput("x") || back.Parameters["n"] != 3.0 || back.Parameters["s"] != "v" {
		t.Errorf("request from proto: %+v", back)
	}
	typed := &v2grpc.ModelInferRequest{Inputs: []*v2grpc.ModelInferRequest_InferInputTensor{
		{Name: "a", Datatype: FP32, Shape: []int64{2}, Contents: &v2grpc.InferTensorContents{Fp32Contents: []float32{1, 2}}},
		{Name: "b", Datatype: FP64, Shape: []int64{1, 1}, Contents: &v2grpc.InferTensorContents{Fp64Contents: []float64{0.1}}},
	}}
	if r, err := RequestFromProto(typed); err != nil || !slices.Equal(r.Inputs[0].Data, []float32{1, 2}) || r.Inputs[1].Data[0] != float32(0.1) {
		t.Errorf("typed contents: %+v, %v", r, err)
	}
	in := func(dt string, shape []int64, c *v2grpc.InferTensorContents) []*v2grpc.ModelInferRequest_InferInputTensor {
		return []*v2grpc.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: dt, Shape: shape, Contents: c}}
	}
	for _, c := range []struct {
		name string
		m    *v2grpc.ModelInferRequest
		msg  string
	}{
		{"no inputs", &v2grpc.ModelInferRequest{}, "no inputs"},
		{"raw count", &v2grpc.ModelInferRequest{Inputs: in(FP32, []int64{1}, nil), RawInputContents: [][]byte{{0, 0, 0, 0}, {0, 0, 0, 0}}}, "2 raw_input_contents for 1 inputs"},
		{"raw size", &v2grpc.ModelInferRequest{Inputs: in(FP32, []int64{2}, nil), RawInputContents: [][]byte{{0, 0, 0, 0}}}, "need 8"},
		{"raw and contents", &v2grpc.ModelInferRequest{Inputs: in(FP32, []int64{1}, &v2grpc.InferTensorContents{}), RawInputContents: [][]byte{{0, 0, 0, 0}}}, "both contents and raw"},
		{"count", &v2grpc.ModelInferRequest{Inputs: in(FP32, []int64{3}, &v2grpc.InferTensorContents{Fp32Contents: []float32{1}})}, "needs 3 values, contents have 1"},
		{"wrong field", &v2grpc.ModelInferRequest{Inputs: in(FP32, []int64{1}, &v2grpc.InferTensorContents{Fp64Contents: []float64{1}})}, "fp64_contents for datatype FP32"},
		{"datatype", &v2grpc.ModelInferRequest{Inputs: in("INT8", []int64{1}, nil)}, `datatype "INT8"`},
		{"shape", &v2grpc.ModelInferRequest{Inputs: in(FP32, []int64{-1, 2}, nil)}, "shape [-1 2]"},
		{"no shape", &v2grpc.ModelInferRequest{Inputs: in(FP32, nil, nil)}, "shape []"},
		{"FP64 range", &v2grpc.ModelInferRequest{Inputs: in(FP64, []int64{1}, &v2grpc.InferTensorContents{Fp64Contents: []float64{1e300}})}, "out of float32's range"},
	} {
		_, err := RequestFromProto(c.m)
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err %v, want ErrBadRequest mentioning %q", c.name, err, c.msg)
		}
	}
	resp := &InferenceResponse{ModelName: "cnn", ID: "7", Outputs: []ResponseOutput{{Name: "logits", Shape: []int64{1, 4}, Datatype: FP32, Data: x}}}
	got, err := ResponseFromProto(ResponseToProto(resp))
	if err != nil || got.ID != "7" || !slices.Equal(got.Outputs[0].Data, x) {
		t.Errorf("reply round trip: %+v, %v", got, err)
	}
	if _, err := ResponseFromProto(&v2grpc.ModelInferResponse{Outputs: []*v2grpc.ModelInferResponse_InferOutputTensor{{Name: "logits", Datatype: FP32, Shape: []int64{1, 2}}},
		RawOutputContents: [][]byte{{1, 2, 3}}}); !errors.Is(err, ErrRemote) {
		t.Errorf("short raw reply: %v, want ErrRemote", err)
	}
}

// TestGRPCClient serves an [oip.Server] model through [GRPCService] on
// loopback and checks the gRPC client's logits against the model's, and its
// errors: an unknown model at Dial, a server-side failure at Logits.
func TestGRPCClient(t *testing.T) {
	m := &linearModel{}
	srv := &Server{Name: "lin", Model: m}
	fail := false
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	v2grpc.RegisterGRPCInferenceServiceServer(gs, &GRPCService{Meta: srv.Metadata(), Infer: func(ctx context.Context, r *InferenceRequest) (*InferenceResponse, error) {
		if fail {
			return nil, status.Error(codes.PermissionDenied, "no")
		}
		return srv.Infer(ctx, r)
	}})
	go gs.Serve(ln)
	defer gs.Stop()
	ctx := context.Background()
	u := "grpc://" + ln.Addr().String() + "/lin"
	if _, err := Dial(ctx, "grpc://"+ln.Addr().String()+"/other", ClientOptions{Retries: -1}); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := Dial(ctx, "grpc:///lin", ClientOptions{}); err == nil || !strings.Contains(err.Error(), "want grpc://host:port/NAME") {
		t.Errorf("no host: %v", err)
	}
	c, err := Dial(ctx, u, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	x := []float32{0.1, 0.2, 0.3, 0.4, 1, 0, 0.5, 0.5}
	got := make([]float32, 4)
	if err := c.Logits(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 4)
	m.Logits(ctx, want, x)
	if !slices.Equal(got, want) {
		t.Errorf("gRPC logits %v, want %v", got, want)
	}
	fail = true
	if err := c.Logits(ctx, got, x); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Errorf("failing server: %v", err)
	}
}

// linearModel is a 4-input, 2-class model: logits (sum, -sum).
type linearModel struct{}

func (linearModel) InputShape() []int { return []int{4} }
func (linearModel) NumClasses() int   { return 2 }
func (linearModel) Logits(_ context.Context, dst, x []float32) error {
	for i := range len(x) / 4 {
		var s float32
		for _, v := range x[4*i : 4*i+4] {
			s += v
		}
		dst[2*i], dst[2*i+1] = s, -s
	}
	return nil
}

// FuzzRequestFromProto feeds arbitrary protobuf bytes as a gRPC inference
// request: an ErrBadRequest, or inputs whose finite-or-not values fill
// their shapes and survive the conversion back to gRPC; never a panic.
func FuzzRequestFromProto(f *testing.F) {
	seed := RequestToProto("m", "", &InferenceRequest{Inputs: []RequestInput{{Name: "input", Shape: []int64{1, 2}, Datatype: FP32, Data: []float32{1, 2}}}})
	b, _ := proto.Marshal(seed)
	f.Add(b)
	typed := &v2grpc.ModelInferRequest{Inputs: []*v2grpc.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: FP64, Shape: []int64{1}, Contents: &v2grpc.InferTensorContents{Fp64Contents: []float64{2}}}}}
	b, _ = proto.Marshal(typed)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var m v2grpc.ModelInferRequest
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		req, err := RequestFromProto(&m)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v does not wrap ErrBadRequest", err)
			}
			return
		}
		for _, in := range req.Inputs {
			count, ok := tensorSize(in.Shape, maxElements)
			if !ok || int64(len(in.Data)) != count {
				t.Fatalf("input %q: shape %v with %d values", in.Name, in.Shape, len(in.Data))
			}
		}
		again, err := RequestFromProto(RequestToProto("m", "", req))
		if err != nil {
			t.Fatalf("converted request rejected: %v", err)
		}
		for i := range req.Inputs {
			for j, v := range req.Inputs[i].Data {
				if math.Float32bits(v) != math.Float32bits(again.Inputs[i].Data[j]) {
					t.Fatalf("input %d value %d changed", i, j)
				}
			}
		}
	})
}
