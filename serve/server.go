package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
)

// ScoresName is the output tensor of defenses whose scores are neither
// logits nor probabilities (rounded, thresholded or top-k probabilities).
const ScoresName = "scores"

// DefaultDefense is the defense a server applies unless told otherwise.
const DefaultDefense = "aaa-linear"

// Options configures a [Server].
type Options struct {
	// Name is the model name in URLs and replies (required).
	Name string `flag:"name" help:"model name in URLs (default: from --model, or the upstream model's name)"`
	// Version is reported in metadata and replies (optional); requests to
	// /v2/models/NAME/versions/V/... must name it.
	Version string `flag:"model-version" help:"model version reported in metadata (optional)"`
	// Defense is the registered name of the output defense applied to every
	// reply (default [DefaultDefense]; "none" serves the model undefended).
	Defense string `flag:"defense" help:"output defense applied to every reply (\"none\" for none)"`
	// DefenseOptions are the defense's seed and parameters. With several
	// workers, worker i's defense is seeded with Seed+i.
	DefenseOptions defense.Options
	// Batch configures dynamic batching.
	Batch BatchOptions
	// MaxBodyBytes bounds request bodies (default [oip.DefaultMaxBody]).
	MaxBodyBytes int64 `flag:"max-body" help:"request body size limit in bytes (then 413)"`
	// InputRange is the range input values must lie in (default [0, 1],
	// trustml's convention; a proxied model may expect another).
	InputRange Range `flag:"input-range" help:"range of valid input values, as min,max"`
	// Limiter, if set, requires an API key on inference requests and
	// enforces its budget and rate.
	Limiter *Limiter
	// Registry receives the server's Prometheus metrics and is served at
	// /metrics (default: a new registry with the Go and process
	// collectors).
	Registry *prometheus.Registry
	// Logger receives structured logs (default: none).
	Logger *slog.Logger
	// FeaturesOutput, if set, publishes the model's penultimate-layer
	// features (the model must be a [model.FeatureExtractor]: trustml
	// networks are, an upstream is when dialled with its feature output) as
	// an extra FP32 output [-1 D] of that name, returned only to requests
	// that name it in their outputs. The features are not defended: they
	// bypass the output defense, so this is off by default.
	FeaturesOutput string `flag:"features-output" help:"also serve the penultimate features as this output (e.g. \"features\"; UNDEFENDED: off by default); with --upstream, forwards the upstream's"`
}

// Server serves one classifier (a local model or an [oip.Client] of an
// upstream server) over the Open
// Inference Protocol with an output defense applied to every reply, dynamic
// batching, optional API keys with query budgets, and Prometheus metrics.
// Create it with [New]; it is safe for concurrent use.
type Server struct {
	o        Options
	m        model.Classifier
	shape    []int
	size, k  int
	kind     defense.Output
	outputs  []string // the defended outputs
	allowed  []string // outputs a request may name: outputs and the features
	fdim     int      // features per input (0: none served)
	b        *batcher
	metrics  *instruments
	log      *slog.Logger
	notReady atomic.Bool
	meta     oip.ModelMetadata
}

// New returns a server for m. It builds one defense per worker from the
// registry (so an unknown defense or parameter is an error here) and starts
// the batch workers; call [Server.Close] to stop them.
func New(m model.Classifier, o Options) (*Server, error) {
	if o.Name == "" || strings.ContainsAny(o.Name, "/ ?#%") {
		return nil, fmt.Errorf("serve: model name %q: want a non-empty name without '/', '?', '#', '%%' or spaces", o.Name)
	}
	if o.Defense == "" {
		o.Defense = DefaultDefense
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = oip.DefaultMaxBody
	}
	if o.InputRange == [2]float32{} {
		o.InputRange = [2]float32{0, 1}
	}
	if !(o.InputRange[0] < o.InputRange[1]) {
		return nil, fmt.Errorf("serve: input range %v is empty", o.InputRange)
	}
	if o.Registry == nil {
		o.Registry = newRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	k := m.NumClasses()
	if k < 2 {
		return nil, fmt.Errorf("serve: model has %d classes, need at least 2", k)
	}
	s := &Server{o: o, m: m, shape: m.InputShape(), size: model.InputSize(m), k: k, log: o.Logger}
	if s.size <= 0 {
		return nil, fmt.Errorf("serve: model input shape %v is empty", s.shape)
	}
	first, err := defense.New(o.Defense, o.DefenseOptions)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if mw, ok := first.(defense.ModelWrapper); ok {
		if _, err := mw.WrapModel(m); err != nil {
			return nil, fmt.Errorf("serve: model %s: defense %s: %w", o.Name, o.Defense, err)
		}
	}
	s.kind = first.Output()
	switch s.kind {
	case defense.Logits:
		s.outputs = []string{oip.LogitsName, oip.ProbabilitiesName}
	case defense.Probabilities:
		s.outputs = []string{oip.ProbabilitiesName}
	default:
		s.outputs = []string{ScoresName}
	}
	s.allowed = s.outputs
	if o.FeaturesOutput != "" {
		fe, err := model.RequireFeatures(m, o.Name)
		if err != nil {
			return nil, fmt.Errorf("serve: features output %q: %w", o.FeaturesOutput, err)
		}
		if slices.Contains(s.outputs, o.FeaturesOutput) {
			return nil, fmt.Errorf("serve: features output %q: the defense's output has that name; choose another (e.g. \"features\")", o.FeaturesOutput)
		}
		if s.fdim = fe.FeatureDim(); s.fdim <= 0 {
			return nil, fmt.Errorf("serve: features output %q: the model has %d features per input", o.FeaturesOutput, s.fdim)
		}
		s.allowed = append(slices.Clip(s.outputs), o.FeaturesOutput)
	}
	s.metrics, err = newMetrics(o.Registry, o.Name, o.Defense)
	if err != nil {
		return nil, fmt.Errorf("serve: metrics: %w", err)
	}
	newDefense := func(i int) (defense.Defense, error) {
		if i == 0 {
			return first, nil
		}
		do := o.DefenseOptions
		do.Seed += uint64(i)
		return defense.New(o.Defense, do)
	}
	s.b, err = newBatcher(m, o.Batch, newDefense, s.metrics, s.fdim)
	if err != nil {
		return nil, err
	}
	s.b.onError = func(err error) {
		if !errors.Is(err, oip.ErrRemote) {
			s.log.Error("forward pass failed", "model", o.Name, "err", err)
		}
	}
	s.meta = oip.NewMetadata(o.Name, o.Version, s.shape, k, s.outputs...)
	if s.fdim > 0 {
		s.meta.Outputs = append(s.meta.Outputs, oip.TensorMetadata{Name: o.FeaturesOutput, Datatype: oip.FP32, Shape: []int64{-1, int64(s.fdim)}})
	}
	return s, nil
}

// Metadata describes the served model: one FP32 input "input" [-1 dims...]
// and the outputs of its defense: "logits" and "probabilities" for defenses
// that return logits (AAA, none, outRND), "probabilities" for those that
// return probabilities, "scores" for the others; and, with
// [Options.FeaturesOutput], the undefended features [-1 D].
func (s *Server) Metadata() oip.ModelMetadata { return s.meta }

// Output says what the defended scores are.
func (s *Server) Output() defense.Output { return s.kind }

// Registry returns the registry the server's metrics are in.
func (s *Server) Registry() *prometheus.Registry { return s.o.Registry }

// Drain marks the server not ready (GET /v2/health/ready answers 503) while
// it keeps answering requests: the first step of a graceful shutdown.
func (s *Server) Drain() { s.notReady.Store(true) }

// Close stops the batch workers after they have answered every queued
// request; if ctx ends first, model calls in progress are cancelled. Call it
// after the HTTP server has shut down. Requests made after Close fail with
// 503.
func (s *Server) Close(ctx context.Context) error {
	s.Drain()
	return s.b.close(ctx)
}

// Infer answers a decoded request: it checks the input against the model's
// shape and input range, runs it through the batcher (model, then defense)
// and returns the requested outputs (all the defended ones when none are
// named; the features only when named).
// Errors wrap [oip.ErrBadRequest] for the client's mistakes, [oip.ErrRemote]
// (and [oip.ErrTimeout]) for a failed upstream.
func (s *Server) Infer(ctx context.Context, req *oip.InferenceRequest) (*oip.InferenceResponse, error) {
	n, err := s.check(req)
	if err != nil {
		return nil, err
	}
	return s.infer(ctx, req, n)
}

// check validates a request and returns its number of images.
func (s *Server) check(req *oip.InferenceRequest) (int, error) {
	return oip.Check(req, oip.InputName, s.shape, s.o.InputRange[0], s.o.InputRange[1], s.allowed)
}

func (s *Server) infer(ctx context.Context, req *oip.InferenceRequest, n int) (*oip.InferenceResponse, error) {
	named := func(name string) bool {
		for _, o := range req.Outputs {
			if o.Name == name {
				return true
			}
		}
		return false
	}
	want := func(name string) bool { return len(req.Outputs) == 0 || named(name) }
	feats := s.fdim > 0 && named(s.o.FeaturesOutput)
	scores, fs, err := s.b.do(ctx, req.Inputs[0].Data, n, feats)
	if err != nil {
		return nil, err
	}
	resp := &oip.InferenceResponse{ModelName: s.o.Name, ModelVersion: s.o.Version, ID: req.ID}
	shape := []int64{int64(n), int64(s.k)}
	for _, name := range s.outputs {
		if !want(name) {
			continue
		}
		data := scores
		if name == oip.ProbabilitiesName && s.kind == defense.Logits {
			data = make([]float32, len(scores))
			metrics.Softmax(data, scores, s.k)
		}
		resp.Outputs = append(resp.Outputs, oip.ResponseOutput{Name: name, Shape: shape, Datatype: oip.FP32, Data: data})
	}
	if feats {
		resp.Outputs = append(resp.Outputs, oip.ResponseOutput{Name: s.o.FeaturesOutput, Shape: []int64{int64(n), int64(s.fdim)}, Datatype: oip.FP32, Data: fs})
	}
	return resp, nil
}

// Handler returns the HTTP handler: the protocol's endpoints
//
//	GET  /v2                                  server metadata
//	GET  /v2/health/live, /v2/health/ready    health (ready is 503 after Drain)
//	GET  /v2/models/{name}[/versions/{v}]     model metadata
//	GET  /v2/models/{name}[/versions/{v}]/ready
//	POST /v2/models/{name}[/versions/{v}]/infer
//
// and GET /metrics (Prometheus). Every error reply is a v2 error object
// {"error": "..."}.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2", s.counted("server", func(w http.ResponseWriter, _ *http.Request) int {
		return oip.WriteJSON(w, http.StatusOK, map[string]any{"name": "trustml", "version": "v2", "extensions": []string{"binary_tensor_data"}})
	}))
	mux.HandleFunc("GET /v2/health/live", s.counted("live", func(w http.ResponseWriter, _ *http.Request) int {
		return oip.WriteJSON(w, http.StatusOK, map[string]bool{"live": true})
	}))
	mux.HandleFunc("GET /v2/health/ready", s.counted("ready", s.ready))
	for _, prefix := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		mux.HandleFunc("GET "+prefix, s.counted("metadata", s.withModel(func(w http.ResponseWriter, _ *http.Request) int {
			return oip.WriteJSON(w, http.StatusOK, s.meta)
		})))
		mux.HandleFunc("GET "+prefix+"/ready", s.counted("model_ready", s.withModel(func(w http.ResponseWriter, r *http.Request) int {
			if s.notReady.Load() {
				return oip.WriteError(w, http.StatusServiceUnavailable, "shutting down")
			}
			return oip.WriteJSON(w, http.StatusOK, map[string]any{"name": s.o.Name, "ready": true})
		})))
		mux.HandleFunc("POST "+prefix+"/infer", s.serveInfer)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.o.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", s.counted("other", func(w http.ResponseWriter, r *http.Request) int {
		return oip.WriteError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	}))
	return mux
}

// handler is an HTTP handler that returns the status it wrote.
type handler func(http.ResponseWriter, *http.Request) int

func (s *Server) counted(endpoint string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		code := h(w, r)
		s.metrics.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	}
}

func (s *Server) withModel(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) int {
		if name := r.PathValue("name"); name != s.o.Name {
			return oip.WriteError(w, http.StatusNotFound, fmt.Sprintf("unknown model %q (this server has %q)", name, s.o.Name))
		}
		if v := r.PathValue("version"); v != "" && v != s.o.Version {
			return oip.WriteError(w, http.StatusNotFound, fmt.Sprintf("model %s has no version %q", s.o.Name, v))
		}
		return h(w, r)
	}
}

func (s *Server) ready(w http.ResponseWriter, _ *http.Request) int {
	if s.notReady.Load() {
		return oip.WriteError(w, http.StatusServiceUnavailable, "shutting down")
	}
	return oip.WriteJSON(w, http.StatusOK, map[string]bool{"ready": true})
}

func (s *Server) serveInfer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.metrics.inflight.Inc()
	var (
		key  string
		n    int
		code int
		err  error
	)
	code = s.withModel(func(w http.ResponseWriter, r *http.Request) int {
		key, n, code, err = s.answer(w, r)
		return code
	})(w, r)
	dur := time.Since(start)
	s.metrics.inflight.Dec()
	s.metrics.latency.Observe(dur.Seconds())
	s.metrics.requests.WithLabelValues("infer", strconv.Itoa(code)).Inc()
	switch {
	case code >= 500:
		s.log.Error("infer", "status", code, "key", key, "images", n, "duration", dur, "remote", r.RemoteAddr, "err", err)
	case s.log.Enabled(r.Context(), slog.LevelDebug):
		attrs := []any{"status", code, "key", key, "images", n, "duration", dur, "remote", r.RemoteAddr}
		if err != nil {
			attrs = append(attrs, "err", err)
		}
		s.log.Debug("infer", attrs...)
	}
}

// answer serves one inference request and returns the API key's name, the
// number of images, the status written and the error, if any.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) (string, int, int, error) {
	var key *Key
	if s.o.Limiter != nil {
		k, err := s.o.Limiter.Authenticate(r.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trustml"`)
			return "", 0, oip.WriteError(w, http.StatusUnauthorized, err.Error()), err
		}
		key = k
	}
	keyName := ""
	if key != nil {
		keyName = key.Name
	}
	body, err := oip.ReadBody(w, r, s.o.MaxBodyBytes)
	if err != nil {
		return keyName, 0, oip.WriteError(w, oip.ErrorStatus(err), err.Error()), err
	}
	req, err := oip.ParseRequest(r.Header, body)
	if err != nil {
		return keyName, 0, oip.WriteError(w, http.StatusBadRequest, err.Error()), err
	}
	n, err := s.check(req)
	if err != nil {
		return keyName, 0, oip.WriteError(w, http.StatusBadRequest, err.Error()), err
	}
	if key != nil {
		if _, err := s.o.Limiter.Admit(key, n); err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				if le.RetryAfter > 0 {
					w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(le.RetryAfter.Seconds())), 10))
				}
				return keyName, n, oip.WriteError(w, http.StatusTooManyRequests, err.Error()), err
			}
			return keyName, n, oip.WriteError(w, http.StatusServiceUnavailable, "query accounting unavailable: "+err.Error()), err
		}
	}
	s.metrics.queries.WithLabelValues(keyName).Add(float64(n))
	resp, err := s.infer(r.Context(), req, n)
	if err != nil {
		return keyName, n, oip.WriteError(w, errorStatus(err), err.Error()), err
	}
	return keyName, n, oip.WriteResponse(w, req, resp), nil
}

// errorStatus maps an inference error to its HTTP status.
func errorStatus(err error) int {
	switch {
	case errors.Is(err, oip.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, oip.ErrTimeout):
		return http.StatusGatewayTimeout
	case errors.Is(err, oip.ErrRemote):
		return http.StatusBadGateway
	case errors.Is(err, errClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
