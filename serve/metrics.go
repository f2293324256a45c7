package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus collectors, all named
// trustml_serve_*.
type instruments struct {
	requests *prometheus.CounterVec // by endpoint and status code
	latency  prometheus.Histogram   // whole inference request
	defense  prometheus.Histogram   // defense per forward pass
	forward  prometheus.Histogram   // model per forward pass
	batch    prometheus.Histogram   // images per forward pass
	held     prometheus.Counter     // images held over to the next batch
	queries  *prometheus.CounterVec // images answered, by API key
	inflight prometheus.Gauge
}

// newMetrics registers the collectors in reg.
func newMetrics(reg prometheus.Registerer, model, defenseName string) (*instruments, error) {
	labels := prometheus.Labels{"model": model, "defense": defenseName}
	m := &instruments{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trustml_serve_requests_total", ConstLabels: labels,
			Help: "HTTP requests by endpoint and status code (errors are the codes ≥ 400).",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "trustml_serve_request_duration_seconds", ConstLabels: labels,
			Help:    "Time to answer an inference request, from its headers to its reply, errors included.",
			Buckets: prometheus.ExponentialBuckets(250e-6, 2, 16), // 0.25 ms to 8 s
		}),
		defense: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "trustml_serve_defense_duration_seconds", ConstLabels: labels,
			Help:    "Time the output defense takes per forward pass (batch).",
			Buckets: prometheus.ExponentialBuckets(1e-6, 2, 22), // 1 µs to 2 s
		}),
		forward: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "trustml_serve_model_duration_seconds", ConstLabels: labels,
			Help:    "Time the model (or the upstream server) takes per forward pass (batch).",
			Buckets: prometheus.ExponentialBuckets(10e-6, 2, 20), // 10 µs to 5 s
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "trustml_serve_batch_size", ConstLabels: labels,
			Help:    "Images per forward pass (dynamic batching gathers concurrent requests).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 to 1024
		}),
		held: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trustml_serve_held_images_total", ConstLabels: labels,
			Help: "Images held over to the next forward pass to round a batch to a multiple of the defense's block of rows (--batch-multiple).",
		}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trustml_serve_queries_total", ConstLabels: labels,
			Help: "Queries (input images) admitted, by API key name (\"\" without API keys).",
		}, []string{"key"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trustml_serve_inflight_requests", ConstLabels: labels,
			Help: "Inference requests being answered.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.defense, m.forward, m.batch, m.held, m.queries, m.inflight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// newRegistry returns a registry with the Go runtime and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
