package oip

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The binary tensor data extension of the protocol (KServe and Triton):
// a request or reply body is a JSON header of HeaderContentLength bytes
// followed by the raw little-endian values of the tensors whose parameter
// BinaryDataSize gives their size in bytes, in the order of the tensors. An
// output is returned that way when the request sets the parameter
// BinaryData on it or BinaryDataOutput on the whole request.
const (
	// HeaderContentLength is the HTTP header giving the JSON header's length.
	HeaderContentLength = "Inference-Header-Content-Length"
	// BinaryDataSize is the tensor parameter giving its binary size.
	BinaryDataSize = "binary_data_size"
	// BinaryData is the requested output parameter asking for binary data.
	BinaryData = "binary_data"
	// BinaryDataOutput is the request parameter asking for every output as
	// binary data.
	BinaryDataOutput = "binary_data_output"
)

// elemSize is the byte size of one value of a datatype trustml reads.
func elemSize(datatype string) int {
	switch datatype {
	case FP32:
		return 4
	case FP64:
		return 8
	}
	return 0
}

// takeBinary reads the count values of a tensor of the datatype whose
// binary_data_size parameter is size from the front of bin, and returns the
// values and the rest of bin.
func takeBinary(bin []byte, size any, datatype string, count int64) ([]float32, []byte, error) {
	f, ok := size.(float64)
	if !ok || f < 0 || f != math.Trunc(f) || f > 1<<40 {
		return nil, bin, fmt.Errorf("parameter %s is %v, want a byte count", BinaryDataSize, size)
	}
	n := int64(f)
	es := int64(elemSize(datatype))
	if es == 0 {
		return nil, bin, fmt.Errorf("datatype %q not supported as binary data (use FP32)", datatype)
	}
	if n != count*es {
		return nil, bin, fmt.Errorf("parameter %s is %d bytes, the shape's %d %s values need %d", BinaryDataSize, n, count, datatype, count*es)
	}
	if n > int64(len(bin)) {
		return nil, bin, fmt.Errorf("parameter %s is %d bytes, only %d bytes of binary data are left in the body", BinaryDataSize, n, len(bin))
	}
	vals := make([]float32, count)
	if err := readValues(vals, bin[:n], datatype); err != nil {
		return nil, bin, err
	}
	return vals, bin[n:], nil
}

// readValues converts the little-endian values in raw (of the datatype, and
// exactly len(dst) of them) to dst; an FP64 value out of float32's range is
// an error.
func readValues(dst []float32, raw []byte, datatype string) error {
	switch datatype {
	case FP32:
		if len(raw) != 4*len(dst) {
			return fmt.Errorf("%d bytes of FP32 data for %d values", len(raw), len(dst))
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case FP64:
		if len(raw) != 8*len(dst) {
			return fmt.Errorf("%d bytes of FP64 data for %d values", len(raw), len(dst))
		}
		for i := range dst {
			v := math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			if math.Abs(v) > math.MaxFloat32 && !math.IsInf(v, 0) {
				return fmt.Errorf("FP64 value %g at index %d is out of float32's range", v, i)
			}
			dst[i] = float32(v)
		}
	default:
		return fmt.Errorf("datatype %q not supported (use FP32)", datatype)
	}
	return nil
}

// AppendFloat32s appends the little-endian bytes of v to dst: the FP32 raw
// tensor format of the binary extension and of gRPC's raw contents.
func AppendFloat32s(dst []byte, v []float32) []byte {
	off := len(dst)
	dst = slices.Grow(dst, 4*len(v))[:off+4*len(v)]
	for i, x := range v {
		binary.LittleEndian.PutUint32(dst[off+4*i:], math.Float32bits(x))
	}
	return dst
}

// DecodeBinaryRequest parses a request of the binary tensor data extension:
// a JSON header of jsonLen bytes (the [HeaderContentLength] header) and
// then the binary data of the inputs that have the [BinaryDataSize]
// parameter, in their order, using up the body. Inputs may also give their
// data in JSON. Every problem is an error wrapping [ErrBadRequest]: a header
// length outside the body, a size that does not match the shape and
// datatype, a body too short for the sizes, or bytes left over.
func DecodeBinaryRequest(body []byte, jsonLen int) (*InferenceRequest, error) {
	if jsonLen < 0 || jsonLen > len(body) {
		return nil, fmt.Errorf("%w: %s is %d, the body has %d bytes", ErrBadRequest, HeaderContentLength, jsonLen, len(body))
	}
	if req, ok := fastDecodeBinary(body[:jsonLen], body[jsonLen:], true); ok {
		return req, nil
	}
	return decodeJSONBinary(body[:jsonLen], body[jsonLen:], true)
}

// ParseRequest decodes the body of an HTTP inference request whose headers
// are h: with the binary extension's [HeaderContentLength] header by
// [DecodeBinaryRequest], else by [DecodeRequest].
func ParseRequest(h http.Header, body []byte) (*InferenceRequest, error) {
	v := h.Get(HeaderContentLength)
	if v == "" {
		return DecodeRequest(body)
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return nil, fmt.Errorf("%w: header %s %q is not a byte count", ErrBadRequest, HeaderContentLength, v)
	}
	return DecodeBinaryRequest(body, n)
}

// BinaryOutput reports whether the request asks for output name as binary
// data: by the output's [BinaryData] parameter, or else by the request's
// [BinaryDataOutput] parameter.
func (r *InferenceRequest) BinaryOutput(name string) bool {
	for _, o := range r.Outputs {
		if o.Name == name {
			if v, ok := o.Parameters[BinaryData]; ok {
				b, _ := v.(bool)
				return b
			}
		}
	}
	b, _ := r.Parameters[BinaryDataOutput].(bool)
	return b
}

// wireOutput is a reply output as written: data in JSON or, with the
// binary_data_size parameter, after the header.
type wireOutput struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data,omitempty"`
}

type wireResponse struct {
	ModelName    string       `json:"model_name"`
	ModelVersion string       `json:"model_version,omitempty"`
	ID           string       `json:"id,omitempty"`
	Outputs      []wireOutput `json:"outputs"`
}

// EncodeResponse writes resp as the reply to req: the outputs req asks for
// as binary data ([InferenceRequest.BinaryOutput]) as FP32 little-endian
// bytes after the JSON header, the others in it. jsonLen is the header's
// length, or -1 when no output is binary (the body is then plain JSON).
func EncodeResponse(req *InferenceRequest, resp *InferenceResponse) (body []byte, jsonLen int, err error) {
	w := wireResponse{ModelName: resp.ModelName, ModelVersion: resp.ModelVersion, ID: resp.ID, Outputs: make([]wireOutput, len(resp.Outputs))}
	var bins [][]float32
	size := 0
	for i, o := range resp.Outputs {
		w.Outputs[i] = wireOutput{Name: o.Name, Shape: o.Shape, Datatype: FP32}
		if req != nil && req.BinaryOutput(o.Name) {
			w.Outputs[i].Parameters = map[string]any{BinaryDataSize: 4 * len(o.Data)}
			bins = append(bins, o.Data)
			size += 4 * len(o.Data)
		} else {
			d := o.Data
			if d == nil {
				d = []float32{}
			}
			w.Outputs[i].Data = d
		}
	}
	if body, err = json.Marshal(&w); err != nil {
		return nil, 0, fmt.Errorf("oip: encoding the reply: %w", err)
	}
	if bins == nil {
		return body, -1, nil
	}
	jsonLen = len(body)
	body = append(make([]byte, 0, jsonLen+size), body...)
	for _, b := range bins {
		body = AppendFloat32s(body, b)
	}
	return body, jsonLen, nil
}

// WriteResponse writes resp as the 200 reply to req, with binary outputs as
// [EncodeResponse] lays them out (and the [HeaderContentLength] header),
// and returns the status written.
func WriteResponse(w http.ResponseWriter, req *InferenceRequest, resp *InferenceResponse) int {
	body, jsonLen, err := EncodeResponse(req, resp)
	if err != nil { // not reachable with the protocol's types
		return WriteError(w, http.StatusInternalServerError, err.Error())
	}
	h := w.Header()
	if jsonLen < 0 {
		h.Set("Content-Type", "application/json")
		body = append(body, '\n')
	} else {
		h.Set("Content-Type", "application/octet-stream")
		h.Set(HeaderContentLength, strconv.Itoa(jsonLen))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return http.StatusOK
}

// DecodeResponse parses an inference reply: plain JSON when jsonLen is
// negative, else a JSON header of jsonLen bytes followed by the binary data
// of the outputs that have the [BinaryDataSize] parameter, in order, which
// must use up the body. Binary FP32 and FP64 outputs are read into Data as
// float32 values. Errors wrap [ErrRemote].
func DecodeResponse(body []byte, jsonLen int) (*InferenceResponse, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: malformed reply: %s", ErrRemote, fmt.Sprintf(format, args...))
	}
	if jsonLen > len(body) {
		return nil, bad("%s is %d, the body has %d bytes", HeaderContentLength, jsonLen, len(body))
	}
	head, bin := body, []byte(nil)
	if jsonLen >= 0 {
		head, bin = body[:jsonLen], body[jsonLen:]
	}
	var resp InferenceResponse
	if err := json.Unmarshal(head, &resp); err != nil {
		return nil, bad("%v", err)
	}
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
		size, ok := o.Parameters[BinaryDataSize]
		if !ok {
			continue
		}
		if jsonLen < 0 {
			return nil, bad("output %q has parameter %s without the %s header", o.Name, BinaryDataSize, HeaderContentLength)
		}
		count, ok := tensorSize(o.Shape, maxElements)
		if !ok {
			return nil, bad("output %q: shape %v", o.Name, o.Shape)
		}
		var err error
		if o.Data, bin, err = takeBinary(bin, size, o.Datatype, count); err != nil {
			return nil, bad("output %q: %v", o.Name, err)
		}
	}
	if len(bin) > 0 {
		return nil, bad("%d bytes of binary data after the outputs'", len(bin))
	}
	return &resp, nil
}

// wireInputOut is a request input as written: data in JSON or, with the
// binary_data_size parameter, after the header.
type wireInputOut struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data,omitempty"`
}

type wireRequestOut struct {
	ID         string          `json:"id,omitempty"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Inputs     []wireInputOut  `json:"inputs"`
	Outputs    []RequestOutput `json:"outputs,omitempty"`
}

// EncodeRequest writes req as an HTTP request body: plain JSON (jsonLen
// -1), or with binary true in the binary extension's layout, the inputs'
// FP32 values as little-endian bytes after a JSON header of jsonLen bytes
// (send it as the [HeaderContentLength] header), every output asked for as
// binary data.
func EncodeRequest(req *InferenceRequest, binary bool) (body []byte, jsonLen int, err error) {
	if !binary {
		if body, err = json.Marshal(req); err != nil {
			return nil, 0, fmt.Errorf("oip: encoding the request: %w", err)
		}
		return body, -1, nil
	}
	w := wireRequestOut{ID: req.ID, Parameters: req.Parameters, Inputs: make([]wireInputOut, len(req.Inputs))}
	size := 0
	for i, in := range req.Inputs {
		p := make(map[string]any, len(in.Parameters)+1)
		for k, v := range in.Parameters {
			p[k] = v
		}
		p[BinaryDataSize] = 4 * len(in.Data)
		size += 4 * len(in.Data)
		w.Inputs[i] = wireInputOut{Name: in.Name, Shape: in.Shape, Datatype: FP32, Parameters: p}
	}
	for _, o := range req.Outputs {
		p := make(map[string]any, len(o.Parameters)+1)
		for k, v := range o.Parameters {
			p[k] = v
		}
		p[BinaryData] = true
		w.Outputs = append(w.Outputs, RequestOutput{Name: o.Name, Parameters: p})
	}
	if len(req.Outputs) == 0 {
		p := make(map[string]any, len(req.Parameters)+1)
		for k, v := range req.Parameters {
			p[k] = v
		}
		p[BinaryDataOutput] = true
		w.Parameters = p
	}
	if body, err = json.Marshal(&w); err != nil {
		return nil, 0, fmt.Errorf("oip: encoding the request: %w", err)
	}
	jsonLen = len(body)
	body = append(make([]byte, 0, jsonLen+size), body...)
	for _, in := range req.Inputs {
		body = AppendFloat32s(body, in.Data)
	}
	return body, jsonLen, nil
}
