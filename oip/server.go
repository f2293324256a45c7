package oip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// DefaultMaxBody is the request size limit of a [Server] (8 MiB: about a
// thousand 28×28 images as JSON).
const DefaultMaxBody = 8 << 20

// Server serves one classifier over the protocol. The zero value is not
// usable: set Name and Model. It serializes calls to the model, which need
// not be safe for concurrent use.
type Server struct {
	Name    string
	Version string
	Model   model.Classifier
	// Postprocess, if set, replaces the logits before they are returned (and
	// before probabilities are computed from them): an output defense.
	Postprocess func(ctx context.Context, dst, logits []float32, k int) error
	// MaxBodyBytes bounds request bodies (default DefaultMaxBody).
	MaxBodyBytes int64
	Logger       *slog.Logger

	mu sync.Mutex
}

// Handler returns the HTTP handler for the protocol's endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("GET /v2/health/live", ok)
	mux.HandleFunc("GET /v2/health/ready", ok)
	mux.HandleFunc("GET /v2/models/{name}", s.withModel(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Metadata())
	}))
	mux.HandleFunc("GET /v2/models/{name}/ready", s.withModel(ok))
	mux.HandleFunc("POST /v2/models/{name}/infer", s.withModel(s.infer))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Server) withModel(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if name := r.PathValue("name"); name != s.Name {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown model %q (this server has %q)", name, s.Name))
			return
		}
		h(w, r)
	}
}

// Metadata describes the served model.
func (s *Server) Metadata() ModelMetadata {
	in := []int64{-1}
	for _, d := range s.Model.InputShape() {
		in = append(in, int64(d))
	}
	out := []int64{-1, int64(s.Model.NumClasses())}
	md := ModelMetadata{
		Name: s.Name, Platform: "trustml",
		Inputs: []TensorMetadata{{Name: InputName, Datatype: FP32, Shape: in}},
		Outputs: []TensorMetadata{
			{Name: LogitsName, Datatype: FP32, Shape: out},
			{Name: ProbabilitiesName, Datatype: FP32, Shape: out},
		},
	}
	if s.Version != "" {
		md.Versions = []string{s.Version}
	}
	return md
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := readLimited(http.MaxBytesReader(w, r.Body, limit), limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || strings.Contains(err.Error(), "larger than") {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", limit))
			return
		}
		writeError(w, http.StatusBadRequest, "reading request: "+err.Error())
		return
	}
	req, err := DecodeRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, err := s.Infer(r.Context(), req)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrBadRequest) {
			status = http.StatusBadRequest
		}
		if s.Logger != nil && status == http.StatusInternalServerError {
			s.Logger.Error("inference failed", "model", s.Name, "err", err)
		}
		writeError(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// Infer answers a decoded request: it checks the input against the model's
// shape and the [0, 1] range, runs the model (and Postprocess) and returns
// the requested outputs (all of them when none are named).
func (s *Server) Infer(ctx context.Context, req *InferenceRequest) (*InferenceResponse, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
	}
	if len(req.Inputs) != 1 {
		return nil, bad("the model takes one input tensor %q, got %d", InputName, len(req.Inputs))
	}
	in := req.Inputs[0]
	shape := s.Model.InputShape()
	if len(in.Shape) != len(shape)+1 {
		return nil, bad("input %q: shape %v, want [N %s]", in.Name, in.Shape, dims(shape))
	}
	for i, d := range shape {
		if in.Shape[i+1] != int64(d) {
			return nil, bad("input %q: shape %v, want [N %s]", in.Name, in.Shape, dims(shape))
		}
	}
	for i, v := range in.Data {
		if !(v >= 0 && v <= 1) {
			return nil, bad("input %q: value %v at index %d outside [0, 1]", in.Name, v, i)
		}
	}
	want := map[string]bool{}
	for _, o := range req.Outputs {
		if o.Name != LogitsName && o.Name != ProbabilitiesName {
			return nil, bad("unknown output %q (have %q, %q)", o.Name, LogitsName, ProbabilitiesName)
		}
		want[o.Name] = true
	}
	if len(want) == 0 {
		want[LogitsName], want[ProbabilitiesName] = true, true
	}
	n, k := int(in.Shape[0]), s.Model.NumClasses()
	logits := make([]float32, n*k)
	s.mu.Lock()
	err := s.Model.Logits(ctx, logits, in.Data)
	if err == nil && s.Postprocess != nil {
		err = s.Postprocess(ctx, logits, logits, k)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("oip: model %s: %w", s.Name, err)
	}
	for i, v := range logits {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			return nil, fmt.Errorf("oip: model %s produced a non-finite logit for input %d", s.Name, i/k)
		}
	}
	resp := &InferenceResponse{ModelName: s.Name, ModelVersion: s.Version, ID: req.ID}
	oshape := []int64{int64(n), int64(k)}
	if want[LogitsName] {
		resp.Outputs = append(resp.Outputs, ResponseOutput{Name: LogitsName, Shape: oshape, Datatype: FP32, Data: logits})
	}
	if want[ProbabilitiesName] {
		p := make([]float32, len(logits))
		metrics.Softmax(p, logits, k)
		resp.Outputs = append(resp.Outputs, ResponseOutput{Name: ProbabilitiesName, Shape: oshape, Datatype: FP32, Data: p})
	}
	return resp, nil
}

func dims(s []int) string {
	var b strings.Builder
	for i, d := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, d)
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorResponse{Error: msg})
}
