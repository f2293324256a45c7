package oip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/trustml/trustml/oip/v2grpc"
)

// The v2 gRPC predict service (package [v2grpc]): a model served over gRPC
// is dialled as grpc://host:port/NAME; [GRPCService] serves a model; the
// conversions between the protocol's messages and oip's types check what
// they read as [DecodeRequest] does.

// paramsFromProto converts gRPC parameters to the JSON ones' types.
func paramsFromProto(p map[string]*v2grpc.InferParameter) map[string]any {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]any, len(p))
	for k, v := range p {
		switch c := v.GetParameterChoice().(type) {
		case *v2grpc.InferParameter_BoolParam:
			out[k] = c.BoolParam
		case *v2grpc.InferParameter_Int64Param:
			out[k] = float64(c.Int64Param)
		case *v2grpc.InferParameter_StringParam:
			out[k] = c.StringParam
		}
	}
	return out
}

// paramsToProto converts the boolean, integer and string parameters of p.
func paramsToProto(p map[string]any) map[string]*v2grpc.InferParameter {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]*v2grpc.InferParameter, len(p))
	for k, v := range p {
		switch x := v.(type) {
		case bool:
			out[k] = &v2grpc.InferParameter{ParameterChoice: &v2grpc.InferParameter_BoolParam{BoolParam: x}}
		case string:
			out[k] = &v2grpc.InferParameter{ParameterChoice: &v2grpc.InferParameter_StringParam{StringParam: x}}
		case int:
			out[k] = &v2grpc.InferParameter{ParameterChoice: &v2grpc.InferParameter_Int64Param{Int64Param: int64(x)}}
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
				out[k] = &v2grpc.InferParameter{ParameterChoice: &v2grpc.InferParameter_Int64Param{Int64Param: int64(x)}}
			}
		}
	}
	return out
}

// tensorValues reads a tensor's count values of the datatype from its raw
// bytes (when raw is true) or its typed contents.
func tensorValues(datatype string, count int64, raw bool, rawData []byte, contents *v2grpc.InferTensorContents) ([]float32, error) {
	es := int64(elemSize(datatype))
	if es == 0 {
		return nil, fmt.Errorf("datatype %q not supported (use FP32)", datatype)
	}
	if raw {
		if contents != nil {
			return nil, errors.New("both contents and raw contents")
		}
		if int64(len(rawData)) != count*es {
			return nil, fmt.Errorf("raw contents of %d bytes, the shape's %d %s values need %d", len(rawData), count, datatype, count*es)
		}
		vals := make([]float32, count)
		return vals, readValues(vals, rawData, datatype)
	}
	var vals []float32
	switch datatype {
	case FP32:
		vals = contents.GetFp32Contents()
		if n := len(contents.GetFp64Contents()); n > 0 {
			return nil, fmt.Errorf("%d fp64_contents for datatype FP32", n)
		}
	case FP64:
		f64 := contents.GetFp64Contents()
		if n := len(contents.GetFp32Contents()); n > 0 {
			return nil, fmt.Errorf("%d fp32_contents for datatype FP64", n)
		}
		vals = make([]float32, len(f64))
		for i, v := range f64 {
			if math.Abs(v) > math.MaxFloat32 && !math.IsInf(v, 0) {
				return nil, fmt.Errorf("FP64 value %g at index %d is out of float32's range", v, i)
			}
			vals[i] = float32(v)
		}
	}
	if int64(len(vals)) != count {
		return nil, fmt.Errorf("the shape needs %d values, contents have %d", count, len(vals))
	}
	return vals, nil
}

// RequestFromProto converts a gRPC inference request, checking it as
// [DecodeRequest] checks a JSON one: inputs given, datatypes FP32 or FP64,
// shapes whose element counts match the values, which come either all in
// raw_input_contents (one entry per input, little-endian) or in each
// input's contents. Errors wrap [ErrBadRequest] and name the input.
func RequestFromProto(m *v2grpc.ModelInferRequest) (*InferenceRequest, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	ins := m.GetInputs()
	if len(ins) == 0 {
		return nil, bad("no inputs")
	}
	raw := m.GetRawInputContents()
	if len(raw) > 0 && len(raw) != len(ins) {
		return nil, bad("%d raw_input_contents for %d inputs", len(raw), len(ins))
	}
	req := &InferenceRequest{ID: m.GetId(), Parameters: paramsFromProto(m.GetParameters())}
	for i, in := range ins {
		name := in.GetName()
		if name == "" {
			name = fmt.Sprintf("#%d", i)
		}
		count, ok := tensorSize(in.GetShape(), maxElements)
		if len(in.GetShape()) == 0 || !ok {
			return nil, bad("input %q: shape %v is missing, negative or has more than %d elements", name, in.GetShape(), maxElements)
		}
		var rd []byte
		if len(raw) > 0 {
			rd = raw[i]
		}
		vals, err := tensorValues(in.GetDatatype(), count, len(raw) > 0, rd, in.GetContents())
		if err != nil {
			return nil, bad("input %q: %v", name, err)
		}
		req.Inputs = append(req.Inputs, RequestInput{Name: in.GetName(), Shape: in.GetShape(), Datatype: FP32, Parameters: paramsFromProto(in.GetParameters()), Data: vals})
	}
	for _, o := range m.GetOutputs() {
		req.Outputs = append(req.Outputs, RequestOutput{Name: o.GetName(), Parameters: paramsFromProto(o.GetParameters())})
	}
	return req, nil
}

// RequestToProto converts req to a gRPC request for model (and version)
// with the inputs' values as raw little-endian FP32 contents.
func RequestToProto(model, version string, req *InferenceRequest) *v2grpc.ModelInferRequest {
	m := &v2grpc.ModelInferRequest{ModelName: model, ModelVersion: version, Id: req.ID, Parameters: paramsToProto(req.Parameters)}
	for _, in := range req.Inputs {
		m.Inputs = append(m.Inputs, &v2grpc.ModelInferRequest_InferInputTensor{Name: in.Name, Datatype: FP32, Shape: in.Shape, Parameters: paramsToProto(in.Parameters)})
		m.RawInputContents = append(m.RawInputContents, AppendFloat32s(nil, in.Data))
	}
	for _, o := range req.Outputs {
		m.Outputs = append(m.Outputs, &v2grpc.ModelInferRequest_InferRequestedOutputTensor{Name: o.Name, Parameters: paramsToProto(o.Parameters)})
	}
	return m
}

// ResponseToProto converts a reply to gRPC with the outputs' values as raw
// little-endian FP32 contents, as Triton answers.
func ResponseToProto(resp *InferenceResponse) *v2grpc.ModelInferResponse {
	m := &v2grpc.ModelInferResponse{ModelName: resp.ModelName, ModelVersion: resp.ModelVersion, Id: resp.ID}
	for _, o := range resp.Outputs {
		m.Outputs = append(m.Outputs, &v2grpc.ModelInferResponse_InferOutputTensor{Name: o.Name, Datatype: FP32, Shape: o.Shape})
		m.RawOutputContents = append(m.RawOutputContents, AppendFloat32s(nil, o.Data))
	}
	return m
}

// ResponseFromProto converts a gRPC reply, its FP32 or FP64 outputs given
// as raw contents (one entry per output) or typed contents, checking the
// value counts against the shapes. Errors wrap [ErrRemote].
func ResponseFromProto(m *v2grpc.ModelInferResponse) (*InferenceResponse, error) {
	outs := m.GetOutputs()
	raw := m.GetRawOutputContents()
	if len(raw) > 0 && len(raw) != len(outs) {
		return nil, fmt.Errorf("%w: malformed reply: %d raw_output_contents for %d outputs", ErrRemote, len(raw), len(outs))
	}
	resp := &InferenceResponse{ModelName: m.GetModelName(), ModelVersion: m.GetModelVersion(), ID: m.GetId()}
	for i, o := range outs {
		count, ok := tensorSize(o.GetShape(), maxElements)
		if !ok {
			return nil, fmt.Errorf("%w: malformed reply: output %q: shape %v", ErrRemote, o.GetName(), o.GetShape())
		}
		var rd []byte
		if len(raw) > 0 {
			rd = raw[i]
		}
		vals, err := tensorValues(o.GetDatatype(), count, len(raw) > 0, rd, o.GetContents())
		if err != nil {
			return nil, fmt.Errorf("%w: malformed reply: output %q: %v", ErrRemote, o.GetName(), err)
		}
		resp.Outputs = append(resp.Outputs, ResponseOutput{Name: o.GetName(), Shape: o.GetShape(), Datatype: o.GetDatatype(), Parameters: paramsFromProto(o.GetParameters()), Data: vals})
	}
	return resp, nil
}

// MetadataToProto converts model metadata to gRPC.
func MetadataToProto(md ModelMetadata) *v2grpc.ModelMetadataResponse {
	conv := func(ts []TensorMetadata) []*v2grpc.ModelMetadataResponse_TensorMetadata {
		out := make([]*v2grpc.ModelMetadataResponse_TensorMetadata, len(ts))
		for i, t := range ts {
			out[i] = &v2grpc.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
		}
		return out
	}
	return &v2grpc.ModelMetadataResponse{Name: md.Name, Versions: md.Versions, Platform: md.Platform, Inputs: conv(md.Inputs), Outputs: conv(md.Outputs)}
}

// MetadataFromProto converts gRPC model metadata.
func MetadataFromProto(m *v2grpc.ModelMetadataResponse) ModelMetadata {
	conv := func(ts []*v2grpc.ModelMetadataResponse_TensorMetadata) []TensorMetadata {
		out := make([]TensorMetadata, len(ts))
		for i, t := range ts {
			out[i] = TensorMetadata{Name: t.GetName(), Datatype: t.GetDatatype(), Shape: t.GetShape()}
		}
		return out
	}
	return ModelMetadata{Name: m.GetName(), Versions: m.GetVersions(), Platform: m.GetPlatform(), Inputs: conv(m.GetInputs()), Outputs: conv(m.GetOutputs())}
}

// GRPCCode is the gRPC status code of an inference error: a gRPC status
// error keeps its code; [ErrBadRequest] is InvalidArgument, [ErrTooLarge]
// ResourceExhausted, [ErrTimeout] and a context deadline DeadlineExceeded,
// [ErrRemote] Unavailable, a cancelled context Canceled, anything else
// Internal.
func GRPCCode(err error) codes.Code {
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	switch {
	case errors.Is(err, ErrBadRequest):
		return codes.InvalidArgument
	case errors.Is(err, ErrTooLarge):
		return codes.ResourceExhausted
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, ErrRemote):
		return codes.Unavailable
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Internal
}

// GRPCService serves one model over the v2 gRPC predict service: register
// it with v2grpc.RegisterGRPCInferenceServiceServer. Infer answers the
// converted requests; errors become gRPC statuses by [GRPCCode] (an Infer
// that returns a status error chooses its code).
type GRPCService struct {
	v2grpc.UnimplementedGRPCInferenceServiceServer
	// Meta is the served model's metadata: its name and versions select
	// the model of each request.
	Meta ModelMetadata
	// Ready says whether the server is ready (nil: always).
	Ready func() bool
	// Infer answers a checked request.
	Infer func(ctx context.Context, req *InferenceRequest) (*InferenceResponse, error)
}

// ServerLive implements the service: always live.
func (g *GRPCService) ServerLive(context.Context, *v2grpc.ServerLiveRequest) (*v2grpc.ServerLiveResponse, error) {
	return &v2grpc.ServerLiveResponse{Live: true}, nil
}

// ServerReady implements the service.
func (g *GRPCService) ServerReady(context.Context, *v2grpc.ServerReadyRequest) (*v2grpc.ServerReadyResponse, error) {
	return &v2grpc.ServerReadyResponse{Ready: g.Ready == nil || g.Ready()}, nil
}

// ServerMetadata implements the service.
func (g *GRPCService) ServerMetadata(context.Context, *v2grpc.ServerMetadataRequest) (*v2grpc.ServerMetadataResponse, error) {
	return &v2grpc.ServerMetadataResponse{Name: "trustml", Version: "v2", Extensions: []string{"binary_tensor_data"}}, nil
}

// model checks a request's model name and version.
func (g *GRPCService) model(name, version string) error {
	if name != g.Meta.Name {
		return status.Errorf(codes.NotFound, "unknown model %q (this server has %q)", name, g.Meta.Name)
	}
	if version != "" && !contains(g.Meta.Versions, version) {
		return status.Errorf(codes.NotFound, "model %s has no version %q", name, version)
	}
	return nil
}

// ModelReady implements the service.
func (g *GRPCService) ModelReady(_ context.Context, r *v2grpc.ModelReadyRequest) (*v2grpc.ModelReadyResponse, error) {
	if err := g.model(r.GetName(), r.GetVersion()); err != nil {
		return nil, err
	}
	return &v2grpc.ModelReadyResponse{Ready: g.Ready == nil || g.Ready()}, nil
}

// ModelMetadata implements the service.
func (g *GRPCService) ModelMetadata(_ context.Context, r *v2grpc.ModelMetadataRequest) (*v2grpc.ModelMetadataResponse, error) {
	if err := g.model(r.GetName(), r.GetVersion()); err != nil {
		return nil, err
	}
	return MetadataToProto(g.Meta), nil
}

// ModelInfer implements the service.
func (g *GRPCService) ModelInfer(ctx context.Context, r *v2grpc.ModelInferRequest) (*v2grpc.ModelInferResponse, error) {
	if err := g.model(r.GetModelName(), r.GetModelVersion()); err != nil {
		return nil, err
	}
	req, err := RequestFromProto(r)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp, err := g.Infer(ctx, req)
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(GRPCCode(err), err.Error())
	}
	return ResponseToProto(resp), nil
}

// grpcConn is the connection of a model dialled as grpc://host:port/NAME.
type grpcConn struct {
	cc   *grpc.ClientConn
	api  v2grpc.GRPCInferenceServiceClient
	name string
}

// dialGRPC connects to grpc://host:port/NAME (plaintext) and reads the
// model's metadata.
func dialGRPC(ctx context.Context, modelURL string, o ClientOptions) (*Client, error) {
	u, err := url.Parse(modelURL)
	name := strings.Trim(strings.TrimPrefix(u.Path, "/v2/models/"), "/")
	if err != nil || u.Host == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("oip: model URL %q: want grpc://host:port/NAME", modelURL)
	}
	cc, err := grpc.NewClient(u.Host, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(int(min(o.MaxResponseBytes, math.MaxInt32)))))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrRemote, modelURL, err)
	}
	g := &grpcConn{cc: cc, api: v2grpc.NewGRPCInferenceServiceClient(cc), name: name}
	c := &Client{base: "grpc://" + u.Host + "/" + name, o: o, g: g}
	var md *v2grpc.ModelMetadataResponse
	err = retry(ctx, o, c.base, func() (bool, error) {
		actx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		var err error
		md, err = g.api.ModelMetadata(actx, &v2grpc.ModelMetadataRequest{Name: name})
		return c.grpcError(ctx, err)
	})
	if err == nil {
		err = c.setMetadata(MetadataFromProto(md))
	}
	if err != nil {
		cc.Close()
		return nil, err
	}
	return c, nil
}

// infer sends one request with retries.
func (g *grpcConn) infer(ctx context.Context, c *Client, req *InferenceRequest) (*InferenceResponse, error) {
	m := RequestToProto(g.name, "", req)
	var reply *v2grpc.ModelInferResponse
	err := retry(ctx, c.o, c.base, func() (bool, error) {
		actx, cancel := context.WithTimeout(ctx, c.o.Timeout)
		defer cancel()
		var err error
		reply, err = g.api.ModelInfer(actx, m)
		return c.grpcError(ctx, err)
	})
	if err != nil {
		return nil, err
	}
	resp, err := ResponseFromProto(reply)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, c.base)
	}
	return resp, nil
}

// grpcError classifies a gRPC call's error as [Client.once] does an HTTP
// one: the caller's cancellation as it is, DeadlineExceeded as a timeout,
// Unavailable, Internal and the like as transient remote failures.
func (c *Client) grpcError(ctx context.Context, err error) (transient bool, _ error) {
	if err == nil {
		return false, nil
	}
	if ctx.Err() != nil {
		return false, fmt.Errorf("oip: %s: %w", c.base, ctx.Err())
	}
	st := status.Convert(err)
	msg := st.Message()
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	switch st.Code() {
	case codes.DeadlineExceeded:
		return true, fmt.Errorf("%w (%w) %s: no reply within %v", ErrRemote, ErrTimeout, c.base, c.o.Timeout)
	case codes.Unavailable, codes.Internal, codes.Aborted:
		return true, fmt.Errorf("%w %s: %s: %s", ErrRemote, c.base, st.Code(), msg)
	}
	return false, fmt.Errorf("%w %s: %s: %s", ErrRemote, c.base, st.Code(), msg)
}

// Close releases the client's connection (a gRPC model's; HTTP clients
// hold none of their own). The client must not be used after.
func (c *Client) Close() error {
	if c.g != nil {
		return c.g.cc.Close()
	}
	return nil
}
