package oip

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// DefaultMaxBody is the request size limit of a [Server] (8 MiB: about a
// thousand 28×28 images as JSON).
const DefaultMaxBody = 8 << 20

// Server serves one classifier over the protocol: the minimal server, for
// tests and for putting a model on the network as it is. (Package serve adds
// output defenses, batching, API keys and metrics on the same codec.) The
// zero value is not usable: set Name and Model. It serializes calls to the
// model, which need not be safe for concurrent use.
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
		WriteJSON(w, http.StatusOK, s.Metadata())
	}))
	mux.HandleFunc("GET /v2/models/{name}/ready", s.withModel(ok))
	mux.HandleFunc("POST /v2/models/{name}/infer", s.withModel(s.infer))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Server) withModel(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if name := r.PathValue("name"); name != s.Name {
			WriteError(w, http.StatusNotFound, fmt.Sprintf("unknown model %q (this server has %q)", name, s.Name))
			return
		}
		h(w, r)
	}
}

// Metadata describes the served model.
func (s *Server) Metadata() ModelMetadata {
	return NewMetadata(s.Name, s.Version, s.Model.InputShape(), s.Model.NumClasses(), LogitsName, ProbabilitiesName)
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := ReadBody(w, r, limit)
	if err != nil {
		WriteError(w, ErrorStatus(err), err.Error())
		return
	}
	req, err := ParseRequest(r.Header, body)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, err := s.Infer(r.Context(), req)
	if err != nil {
		status := ErrorStatus(err)
		if s.Logger != nil && status == http.StatusInternalServerError {
			s.Logger.Error("inference failed", "model", s.Name, "err", err)
		}
		WriteError(w, status, err.Error())
		return
	}
	WriteResponse(w, req, resp)
}

// Infer answers a decoded request: it checks the input against the model's
// shape and the [0, 1] range ([Check]), runs the model (and Postprocess) and
// returns the requested outputs (all of them when none are named).
func (s *Server) Infer(ctx context.Context, req *InferenceRequest) (*InferenceResponse, error) {
	outputs := []string{LogitsName, ProbabilitiesName}
	n, err := Check(req, InputName, s.Model.InputShape(), 0, 1, outputs)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, o := range req.Outputs {
		want[o.Name] = true
	}
	if len(want) == 0 {
		want[LogitsName], want[ProbabilitiesName] = true, true
	}
	k := s.Model.NumClasses()
	logits := make([]float32, n*k)
	s.mu.Lock()
	err = s.Model.Logits(ctx, logits, req.Inputs[0].Data)
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
