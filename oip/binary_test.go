package oip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/trustml/trustml/oip/v2grpc"
)

// golden is testdata/binary_golden.json, written by binary_golden.py.
type golden struct {
	RequestJSONLen    int       `json:"request_json_len"`
	RequestInput      []float32 `json:"request_input"`
	RequestAllJSONLen int       `json:"request_all_json_len"`
	RequestAllInput   []float32 `json:"request_all_input"`
	ResponseJSONLen   int       `json:"response_json_len"`
	Logits            []float32 `json:"logits"`
	Probabilities     []float32 `json:"probabilities"`
}

func readGolden(t *testing.T) (golden, func(string) []byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/binary_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g, func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// TestBinaryGolden reads requests laid out as tritonclient lays them out
// and a reply as Triton writes it (testdata/binary_golden.py), and checks
// that a reply trustml writes reads back the way tritonclient reads one.
func TestBinaryGolden(t *testing.T) {
	g, file := readGolden(t)
	h := http.Header{}
	h.Set(HeaderContentLength, strconv.Itoa(g.RequestJSONLen))
	req, err := ParseRequest(h, file("triton_request.bin"))
	if err != nil {
		t.Fatal(err)
	}
	// tritonclient's header (", " and ": " separators) takes the fast path.
	b := file("triton_request.bin")
	if _, ok := fastDecodeBinary(b[:g.RequestJSONLen], b[g.RequestJSONLen:], true); !ok {
		t.Error("tritonclient's request falls back to encoding/json")
	}
	in := req.Inputs[0]
	if in.Name != "input" || !slices.Equal(in.Shape, []int64{2, 1, 2, 2}) || !slices.Equal(in.Data, g.RequestInput) {
		t.Errorf("request input %+v, want values %v", in, g.RequestInput)
	}
	if !req.BinaryOutput("logits") || req.BinaryOutput("probabilities") {
		t.Errorf("binary outputs: logits %v, probabilities %v; want true, false", req.BinaryOutput("logits"), req.BinaryOutput("probabilities"))
	}

	all, err := DecodeBinaryRequest(file("triton_request_all.bin"), g.RequestAllJSONLen)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all.Inputs[0].Data, g.RequestAllInput) || !all.BinaryOutput("logits") {
		t.Errorf("FP64 request: %v (binary output %v), want %v", all.Inputs[0].Data, all.BinaryOutput("logits"), g.RequestAllInput)
	}

	resp, err := DecodeResponse(file("triton_response.bin"), g.ResponseJSONLen)
	if err != nil {
		t.Fatal(err)
	}
	lo, _ := resp.Output("logits")
	p, _ := resp.Output("probabilities")
	if lo == nil || p == nil || !slices.Equal(lo.Data, g.Logits) || !slices.Equal(p.Data, g.Probabilities) {
		t.Errorf("Triton reply read as %+v", resp)
	}

	// trustml's reply to the first request: logits binary, probabilities
	// in JSON, read back as tritonclient does (the header's length, then
	// each binary output's binary_data_size bytes in order).
	body, n, err := EncodeResponse(req, &InferenceResponse{ModelName: "cnn", Outputs: []ResponseOutput{
		{Name: "logits", Shape: []int64{2, 3}, Datatype: FP32, Data: g.Logits},
		{Name: "probabilities", Shape: []int64{2, 3}, Datatype: FP32, Data: g.Probabilities},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Outputs []struct {
			Name       string         `json:"name"`
			Parameters map[string]int `json:"parameters"`
			Data       []float32      `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(body[:n], &head); err != nil {
		t.Fatal(err)
	}
	if len(head.Outputs) != 2 || head.Outputs[0].Parameters[BinaryDataSize] != 24 || head.Outputs[0].Data != nil ||
		!slices.Equal(head.Outputs[1].Data, g.Probabilities) || len(body)-n != 24 {
		t.Fatalf("reply header %s with %d binary bytes", body[:n], len(body)-n)
	}
	for i, v := range g.Logits {
		b := body[n+4*i:]
		if got := math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24); got != v {
			t.Errorf("binary logit %d is %v, want %v", i, got, v)
		}
	}
}

// TestBinaryRoundTrip encodes requests and replies in the binary layout
// and decodes them to the same values.
func TestBinaryRoundTrip(t *testing.T) {
	x := []float32{0, 1, -2.5, float32(math.Pi), 1e-30, 3e38}
	req := &InferenceRequest{ID: "r1", Inputs: []RequestInput{{Name: "input", Shape: []int64{2, 3}, Datatype: FP32, Data: x}},
		Outputs: []RequestOutput{{Name: "logits"}}}
	for _, binary := range []bool{false, true} {
		body, n, err := EncodeRequest(req, binary)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		if binary {
			if n < 0 || len(body)-n != 24 {
				t.Fatalf("binary request: header %d of %d bytes", n, len(body))
			}
			h.Set(HeaderContentLength, strconv.Itoa(n))
		} else if n != -1 {
			t.Fatalf("JSON request: header length %d", n)
		}
		got, err := ParseRequest(h, body)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "r1" || !slices.Equal(got.Inputs[0].Data, x) || !slices.Equal(got.Inputs[0].Shape, []int64{2, 3}) || got.BinaryOutput("logits") != binary {
			t.Errorf("binary %v: decoded %+v", binary, got)
		}
		resp := &InferenceResponse{ModelName: "m", ID: "r1", Outputs: []ResponseOutput{{Name: "logits", Shape: []int64{2, 3}, Datatype: FP32, Data: x}}}
		rb, rn, err := EncodeResponse(got, resp)
		if err != nil {
			t.Fatal(err)
		}
		if (rn >= 0) != binary {
			t.Errorf("binary %v: reply header length %d", binary, rn)
		}
		back, err := DecodeResponse(rb, rn)
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := back.Output("logits"); !ok || !slices.Equal(o.Data, x) || back.ID != "r1" {
			t.Errorf("binary %v: reply decoded to %+v", binary, back)
		}
	}
}

// TestBinaryRequestErrors checks that each malformed binary request is an
// ErrBadRequest naming the problem.
func TestBinaryRequestErrors(t *testing.T) {
	head := func(params string, shape string, dt string) string {
		return `{"inputs":[{"name":"input","shape":` + shape + `,"datatype":"` + dt + `","parameters":{` + params + `}}]}`
	}
	four := string(make([]byte, 16))
	for _, c := range []struct {
		name string
		body string
		n    int
		msg  string
	}{
		{"negative header", head(`"binary_data_size":16`, "[1,4]", "FP32") + four, -1, "is -1"},
		{"header past the body", head(`"binary_data_size":16`, "[1,4]", "FP32"), 500, "the body has"},
		{"size mismatch", head(`"binary_data_size":12`, "[1,4]", "FP32") + four, -2, "need 16"},
		{"truncated", head(`"binary_data_size":16`, "[1,4]", "FP32") + four[:10], -2, "only 10 bytes"},
		{"trailing", head(`"binary_data_size":16`, "[1,4]", "FP32") + four + "xx", -2, "2 bytes of binary data after"},
		{"fractional size", head(`"binary_data_size":15.5`, "[1,4]", "FP32") + four, -2, "want a byte count"},
		{"string size", head(`"binary_data_size":"16"`, "[1,4]", "FP32") + four, -2, "want a byte count"},
		{"INT32", head(`"binary_data_size":16`, "[1,4]", "INT32") + four, -2, `datatype "INT32" not supported`},
		{"data and size", `{"inputs":[{"name":"input","shape":[1,1],"datatype":"FP32","data":[1],"parameters":{"binary_data_size":4}}]}` + four[:4], -2, "both data and"},
		{"huge shape", head(`"binary_data_size":16`, "[1099511627776,1099511627776]", "FP32") + four, -2, "more than"},
	} {
		n := c.n
		if n == -2 { // the JSON part's length
			n = strings.Index(c.body, "}]}") + 3
		}
		_, err := DecodeBinaryRequest([]byte(c.body), n)
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err %v, want ErrBadRequest mentioning %q", c.name, err, c.msg)
		}
	}
	// A binary size without the header is an error, not ignored data.
	_, err := DecodeRequest([]byte(head(`"binary_data_size":16`, "[1,4]", "FP32")))
	if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), HeaderContentLength) {
		t.Errorf("binary_data_size without the header: %v", err)
	}
}

// FuzzDecodeBinaryRequest feeds arbitrary bodies and header lengths to the
// binary decoder: an ErrBadRequest, or inputs whose values fill their
// shapes and survive a re-encoding; never a panic.
func FuzzDecodeBinaryRequest(f *testing.F) {
	g, _ := os.ReadFile("testdata/triton_request.bin")
	f.Add(g, 184)
	f.Add([]byte(`{"inputs":[{"name":"input","shape":[1,1],"datatype":"FP64","parameters":{"binary_data_size":8}}]}`+"\x00\x00\x00\x00\x00\x00\xf0\x3f"), 97)
	f.Add([]byte(`{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[1,2]}]}`), 72)
	f.Add([]byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}},{"name":"b","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}12345678`), 158)
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		req, err := DecodeBinaryRequest(body, n)
		if n >= 0 && n <= len(body) {
			// The fast path agrees with encoding/json on what it takes.
			want, werr := decodeJSONBinary(body[:n], body[n:], true)
			if (err == nil) != (werr == nil) {
				t.Fatalf("DecodeBinaryRequest err %v, decodeJSONBinary err %v", err, werr)
			}
			if err == nil {
				gj, _ := json.Marshal(req)
				wj, _ := json.Marshal(want)
				if string(gj) != string(wj) {
					t.Fatalf("fast %s\njson %s", gj, wj)
				}
			}
		}
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
		b, jl, err := EncodeRequest(req, true)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeBinaryRequest(b, jl)
		if err != nil {
			t.Fatalf("re-encoded request rejected: %v", err)
		}
		for i := range req.Inputs {
			a, b := req.Inputs[i].Data, again.Inputs[i].Data
			for j := range a {
				if math.Float32bits(a[j]) != math.Float32bits(b[j]) {
					t.Fatalf("input %d value %d: %v then %v", i, j, a[j], b[j])
				}
			}
		}
	})
}

// FuzzDecodeResponse feeds arbitrary replies to the client's decoder: an
// ErrRemote, or outputs whose binary values fill their shapes.
func FuzzDecodeResponse(f *testing.F) {
	g, _ := os.ReadFile("testdata/triton_response.bin")
	f.Add(g, 233)
	f.Add([]byte(`{"outputs":[{"name":"logits","shape":[1,2],"datatype":"FP32","data":[1,2]}]}`), -1)
	f.Add([]byte(`{"outputs":[{"name":"logits","shape":[1,1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}abcd`), 99)
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		resp, err := DecodeResponse(body, n)
		if err != nil {
			if !errors.Is(err, ErrRemote) {
				t.Fatalf("error %v does not wrap ErrRemote", err)
			}
			return
		}
		for _, o := range resp.Outputs {
			if _, ok := o.Parameters[BinaryDataSize]; !ok {
				continue
			}
			count, ok := tensorSize(o.Shape, maxElements)
			if !ok || int64(len(o.Data)) != count {
				t.Fatalf("output %q: shape %v with %d values", o.Name, o.Shape, len(o.Data))
			}
		}
	})
}

// BenchmarkWireDecode decodes one 28×28 image request as each wire
// carries it: JSON numbers, the binary extension, gRPC raw contents.
func BenchmarkWireDecode(b *testing.B) {
	x := make([]float32, 784)
	for i := range x {
		x[i] = float32(i%255) / 255
	}
	req := &InferenceRequest{Inputs: []RequestInput{{Name: "input", Shape: []int64{1, 1, 28, 28}, Datatype: FP32, Data: x}}}
	js, _, _ := EncodeRequest(req, false)
	bin, n, _ := EncodeRequest(req, true)
	pb, _ := proto.Marshal(RequestToProto("m", "", req))
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeRequest(js); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("binary", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeBinaryRequest(bin, n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("grpc", func(b *testing.B) {
		for b.Loop() {
			var m v2grpc.ModelInferRequest
			if err := proto.Unmarshal(pb, &m); err != nil {
				b.Fatal(err)
			}
			if _, err := RequestFromProto(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRetrySendsSameBody fails the first inference attempt with a 503 and
// checks that the retry sends the same body (JSON and binary) and succeeds.
func TestRetrySendsSameBody(t *testing.T) {
	srv := &Server{Name: "lin", Model: linearModel{}}
	h := srv.Handler()
	for _, binary := range []bool{false, true} {
		var bodies [][]byte
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				b, _ := io.ReadAll(r.Body)
				bodies = append(bodies, b)
				if len(bodies) == 1 {
					http.Error(w, "hiccup", http.StatusServiceUnavailable)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
			h.ServeHTTP(w, r)
		}))
		c, err := Dial(context.Background(), ts.URL+"/v2/models/lin", ClientOptions{Binary: binary, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		x := []float32{0.1, 0.2, 0.3, 0.4}
		got, want := make([]float32, 2), make([]float32, 2)
		err = c.Logits(context.Background(), got, x)
		ts.Close()
		linearModel{}.Logits(context.Background(), want, x)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("binary %v: logits %v, err %v", binary, got, err)
		}
		if len(bodies) != 2 || !bytes.Equal(bodies[0], bodies[1]) || len(bodies[0]) == 0 {
			t.Errorf("binary %v: attempts sent %q", binary, bodies)
		}
	}
}
