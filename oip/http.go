package oip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ErrTooLarge is wrapped by [ReadBody]'s error for a body over the limit:
// the handlers answer it with status 413.
var ErrTooLarge = errors.New("oip: request body too large")

// ReadBody reads a request body of at most limit bytes. A larger body is an
// error wrapping [ErrTooLarge]; a failed read one wrapping [ErrBadRequest].
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: request body of %d bytes is larger than the limit of %d bytes", ErrTooLarge, r.ContentLength, limit)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w: request body larger than the limit of %d bytes", ErrTooLarge, limit)
		}
		return nil, fmt.Errorf("%w: reading request body: %w", ErrBadRequest, err)
	}
	return buf.Bytes(), nil
}

// ErrorStatus is the HTTP status of a request error: 413 for [ErrTooLarge],
// 400 for [ErrBadRequest], 500 otherwise.
func ErrorStatus(err error) int {
	switch {
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// WriteJSON writes v as a JSON reply with the given status and returns the
// status written.
func WriteJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil { // not reachable with the protocol's types
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the reply failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return status
}

// WriteError writes the protocol's error object {"error": msg} with the
// given status and returns the status.
func WriteError(w http.ResponseWriter, status int, msg string) int {
	return WriteJSON(w, status, ErrorResponse{Error: msg})
}

// Check validates a decoded request for a classifier whose one input tensor
// is named input with shape [N shape...] and values in [lo, hi], and whose
// outputs are outputs. It returns N (at least 1). Every problem is an error
// wrapping [ErrBadRequest].
func Check(req *InferenceRequest, input string, shape []int, lo, hi float32, outputs []string) (int, error) {
	bad := func(format string, args ...any) (int, error) {
		return 0, fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	if len(req.Inputs) != 1 {
		return bad("the model takes one input tensor %q, got %d", input, len(req.Inputs))
	}
	in := &req.Inputs[0]
	if in.Name != input {
		return bad("unknown input %q (the model's input is %q)", in.Name, input)
	}
	ok := len(in.Shape) == len(shape)+1
	for i := 0; ok && i < len(shape); i++ {
		ok = in.Shape[i+1] == int64(shape[i])
	}
	if !ok {
		return bad("input %q: shape %v, want [N %s]", in.Name, in.Shape, dims(shape))
	}
	n := in.Shape[0]
	if n < 1 {
		return bad("input %q: shape %v has no images", in.Name, in.Shape)
	}
	size := max(len(in.Data)/int(n), 1)
	for i, v := range in.Data {
		if !(v >= lo && v <= hi) {
			return bad("input %q: value %v at index %d (image %d) outside [%g, %g]", in.Name, v, i, i/size, lo, hi)
		}
	}
	for _, o := range req.Outputs {
		if !contains(outputs, o.Name) {
			return bad("unknown output %q (have %s)", o.Name, strings.Join(outputs, ", "))
		}
	}
	return int(n), nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// dims formats a shape as "1 28 28".
func dims(s []int) string {
	var b strings.Builder
	for i, d := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(d))
	}
	return b.String()
}

// NewMetadata describes a classifier served with one FP32 input [-1
// shape...] named [InputName] and FP32 outputs [-1 k] with the given names.
func NewMetadata(name, version string, shape []int, k int, outputs ...string) ModelMetadata {
	in := []int64{-1}
	for _, d := range shape {
		in = append(in, int64(d))
	}
	md := ModelMetadata{Name: name, Platform: "trustml", Inputs: []TensorMetadata{{Name: InputName, Datatype: FP32, Shape: in}}}
	for _, o := range outputs {
		md.Outputs = append(md.Outputs, TensorMetadata{Name: o, Datatype: FP32, Shape: []int64{-1, int64(k)}})
	}
	if version != "" {
		md.Versions = []string{version}
	}
	return md
}
