// Package oip speaks the Open Inference Protocol (the "v2" REST protocol of
// KServe, Triton and Seldon MLServer): the JSON messages and their strict,
// fast request decoder ([DecodeRequest]); the helpers every v2 handler
// shares ([ReadBody], [Check], [WriteJSON], [WriteError], [NewMetadata]); a
// minimal [Server] for any [model.Classifier]; and the one [Client], which
// makes a served model a [model.Classifier] again, so that trustml's attacks
// and evaluations run against a real deployment and package serve can put a
// defense in front of it. The client bounds each attempt's time, retries
// transient failures with backoff ([ClientOptions]) and is safe for
// concurrent use. When the server publishes the model's penultimate-layer
// features as an output, [ClientOptions.FeaturesOutput] names it and
// [Client.Model] is a [FeatureClient], a [model.FeatureExtractor], so that
// feature-space OoD detectors run on the served model; without it the client
// is not one, and [model.RequireFeatures] says what to do.
//
// Endpoints (name is the model name):
//
//	GET  /v2/health/live
//	GET  /v2/health/ready
//	GET  /v2/models/{name}
//	GET  /v2/models/{name}/ready
//	POST /v2/models/{name}/infer
//
// Besides JSON, bodies may carry tensors as binary data (the binary tensor
// data extension of KServe and Triton: [HeaderContentLength],
// [DecodeBinaryRequest], [EncodeResponse], [ClientOptions.Binary]), and the
// same model may be served and reached over the v2 gRPC predict service
// (package [v2grpc]; [GRPCService], grpc://host:port/NAME in [Dial]).
//
// A classifier is served with one FP32 input tensor named "input" of shape
// [-1, C, H, W] (or [-1, D]) and two FP32 outputs of shape [-1, K]:
// "logits" and "probabilities".
package oip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Datatype names of the protocol that trustml reads and writes.
const (
	FP32 = "FP32"
	FP64 = "FP64"
)

// Tensor names used when serving a classifier.
const (
	InputName         = "input"
	LogitsName        = "logits"
	ProbabilitiesName = "probabilities"
)

// TensorMetadata describes one input or output in model metadata.
type TensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// ModelMetadata is the response of GET /v2/models/{name}.
type ModelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions,omitempty"`
	Platform string           `json:"platform"`
	Inputs   []TensorMetadata `json:"inputs"`
	Outputs  []TensorMetadata `json:"outputs"`
}

// RequestInput is one input tensor of an inference request. Data holds the
// values, flattened in row-major order.
type RequestInput struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       []float32      `json:"data"`
}

// RequestOutput names an output the client wants.
type RequestOutput struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// InferenceRequest is the body of POST /v2/models/{name}/infer.
type InferenceRequest struct {
	ID         string          `json:"id,omitempty"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Inputs     []RequestInput  `json:"inputs"`
	Outputs    []RequestOutput `json:"outputs,omitempty"`
}

// ResponseOutput is one output tensor of an inference response.
// Parameters are the output's parameters as received (binary_data_size for
// an output sent as binary data); a server sets none.
type ResponseOutput struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       []float32      `json:"data"`
}

// InferenceResponse is the reply to an inference request.
type InferenceResponse struct {
	ModelName    string           `json:"model_name"`
	ModelVersion string           `json:"model_version,omitempty"`
	ID           string           `json:"id,omitempty"`
	Outputs      []ResponseOutput `json:"outputs"`
}

// ErrorResponse is the body of every error reply.
type ErrorResponse struct {
	Error string `json:"error"`
}

// ErrBadRequest is wrapped by every error that is the client's fault: the
// handler answers it with status 400.
var ErrBadRequest = errors.New("oip: bad request")

// Output returns the output tensor with the given name.
func (r *InferenceResponse) Output(name string) (*ResponseOutput, bool) {
	for i := range r.Outputs {
		if r.Outputs[i].Name == name {
			return &r.Outputs[i], true
		}
	}
	return nil, false
}

// wire types: data arrive as raw JSON so that nested arrays and non-numbers
// are reported precisely.
type wireInput struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Data       json.RawMessage `json:"data"`
}

type wireRequest struct {
	ID         string          `json:"id,omitempty"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Inputs     []wireInput     `json:"inputs"`
	Outputs    []RequestOutput `json:"outputs,omitempty"`
}

// maxElements bounds the values one tensor may declare, before anything is
// allocated for it.
const maxElements = 1 << 26

// decodeJSON is [DecodeRequest] with encoding/json: it accepts every valid
// request and words every error.
func decodeJSON(body []byte) (*InferenceRequest, error) {
	return decodeJSONBinary(body, nil, false)
}

// decodeJSONBinary is decodeJSON for a request of the binary tensor data
// extension when binary is true: the values of inputs with the parameter
// binary_data_size are read, in order, from bin, which they must use up.
func decodeJSONBinary(body, bin []byte, binary bool) (*InferenceRequest, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	var w wireRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, bad("malformed JSON: %v", err)
	}
	if dec.More() {
		return nil, bad("trailing data after the JSON object")
	}
	if len(w.Inputs) == 0 {
		return nil, bad("no inputs")
	}
	req := &InferenceRequest{ID: w.ID, Parameters: w.Parameters, Outputs: w.Outputs}
	for i, in := range w.Inputs {
		name := in.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i)
		}
		if in.Datatype != FP32 && in.Datatype != FP64 {
			return nil, bad("input %q: datatype %q not supported (use FP32)", name, in.Datatype)
		}
		if len(in.Shape) == 0 {
			return nil, bad("input %q: missing shape", name)
		}
		count := int64(1)
		for _, d := range in.Shape {
			if d < 0 {
				return nil, bad("input %q: negative dimension in shape %v", name, in.Shape)
			}
			if d > 0 && count > maxElements/d {
				return nil, bad("input %q: shape %v has more than %d elements", name, in.Shape, maxElements)
			}
			count *= d
		}
		var vals []float32
		if size, ok := in.Parameters[BinaryDataSize]; ok {
			if !binary {
				return nil, bad("input %q: parameter %s without the %s header", name, BinaryDataSize, HeaderContentLength)
			}
			if d := bytes.TrimSpace(in.Data); len(d) > 0 && !bytes.Equal(d, []byte("null")) {
				return nil, bad("input %q: both data and parameter %s", name, BinaryDataSize)
			}
			var err error
			if vals, bin, err = takeBinary(bin, size, in.Datatype, count); err != nil {
				return nil, bad("input %q: %v", name, err)
			}
		} else {
			vals = make([]float32, 0, min(count, int64(len(in.Data)/2+1)))
			var err error
			if vals, err = appendNumbers(vals, in.Data, 0); err != nil {
				return nil, bad("input %q: data: %v", name, err)
			}
		}
		if int64(len(vals)) != count {
			return nil, bad("input %q: shape %v needs %d values, data has %d", name, in.Shape, count, len(vals))
		}
		req.Inputs = append(req.Inputs, RequestInput{Name: in.Name, Shape: in.Shape, Datatype: FP32, Parameters: in.Parameters, Data: vals})
	}
	if len(bin) > 0 {
		return nil, bad("%d bytes of binary data after the inputs' (their %s parameters do not add up to the body)", len(bin), BinaryDataSize)
	}
	return req, nil
}

// appendNumbers flattens a JSON number or (nested) array of numbers.
func appendNumbers(dst []float32, raw json.RawMessage, depth int) ([]float32, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return dst, errors.New("missing")
	}
	if depth > 8 {
		return dst, errors.New("arrays nested deeper than 8 levels")
	}
	if raw[0] != '[' {
		var f float32
		if err := json.Unmarshal(raw, &f); err != nil {
			return dst, fmt.Errorf("value %.20q is not a float32 number", raw)
		}
		return append(dst, f), nil
	}
	// Fast path: a flat array of numbers, parsed straight to float32 so
	// that values round-trip exactly.
	var flat []float32
	if err := json.Unmarshal(raw, &flat); err == nil {
		return append(dst, flat...), nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return dst, fmt.Errorf("not an array of numbers: %v", err)
	}
	var err error
	for _, it := range items {
		if dst, err = appendNumbers(dst, it, depth+1); err != nil {
			return dst, err
		}
	}
	return dst, nil
}
