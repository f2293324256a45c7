package serve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/trustml/trustml/oip"
)

// HTTPOptions configures the HTTP server of [Serve]. Zero durations take
// the defaults.
type HTTPOptions struct {
	// ReadHeaderTimeout bounds reading a request's headers (default 10 s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request (default 30 s).
	ReadTimeout time.Duration `flag:"read-timeout" help:"time limit for reading a request"`
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the reply (default 60 s); keep it above the upstream
	// timeout in proxy mode.
	WriteTimeout time.Duration `flag:"write-timeout" help:"time limit for answering a request"`
	// IdleTimeout bounds keep-alive connections between requests
	// (default 120 s).
	IdleTimeout time.Duration `flag:"idle-timeout" help:"keep-alive connections idle longer are closed"`
	// ShutdownTimeout bounds the graceful shutdown: the time in-flight
	// requests have to finish (default 30 s).
	ShutdownTimeout time.Duration `flag:"shutdown-timeout" help:"time in-flight requests have to finish after SIGTERM"`
	// MetricsListener, if set, serves /metrics there instead of on the
	// main listener (to keep per-key counts off a public port).
	MetricsListener net.Listener
	// GRPCListener, if set, serves the v2 gRPC predict service there
	// ([NewGRPCServer]) beside HTTP, stopped gracefully with it.
	GRPCListener net.Listener
	// Logger receives the HTTP server's own errors (default: the
	// server's).
	Logger *slog.Logger
}

func (o *HTTPOptions) defaults(s *Server) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, 10*time.Second)
	def(&o.ReadTimeout, 30*time.Second)
	def(&o.WriteTimeout, 60*time.Second)
	def(&o.IdleTimeout, 120*time.Second)
	def(&o.ShutdownTimeout, 30*time.Second)
	if o.Logger == nil {
		o.Logger = s.log
	}
}

// APIHandler is [Server.Handler] without /metrics.
func (s *Server) APIHandler() http.Handler {
	h := s.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			s.metrics.requests.WithLabelValues("other", "404").Inc()
			oip.WriteError(w, http.StatusNotFound, "no endpoint "+r.Method+" /metrics on this port")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// MetricsHandler serves the server's Prometheus metrics.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.o.Registry, promhttp.HandlerOpts{})
}

// Serve serves s on ln until ctx is done, then shuts down gracefully: the
// server turns not ready, stops accepting connections, lets in-flight
// requests finish (up to ShutdownTimeout), and stops the batch workers. It
// returns nil after a clean shutdown.
func Serve(ctx context.Context, ln net.Listener, s *Server, o HTTPOptions) error {
	o.defaults(s)
	h := s.Handler()
	if o.MetricsListener != nil {
		h = s.APIHandler()
	}
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			ReadTimeout:       o.ReadTimeout,
			WriteTimeout:      o.WriteTimeout,
			IdleTimeout:       o.IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
		}
	}
	srv := newServer(h)
	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(ln) }()
	var msrv *http.Server
	if o.MetricsListener != nil {
		msrv = newServer(s.MetricsHandler())
		go func() { errc <- msrv.Serve(o.MetricsListener) }()
	}
	var gs *grpc.Server
	if o.GRPCListener != nil {
		gs = NewGRPCServer(s)
		go serveGRPC(gs, o.GRPCListener, errc)
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	o.Logger.Info("shutting down", "model", s.o.Name, "grace", o.ShutdownTimeout)
	s.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if msrv != nil {
		err = errors.Join(err, msrv.Shutdown(sctx))
	}
	if gs != nil {
		err = errors.Join(err, stopGRPC(sctx, gs))
	}
	err = errors.Join(err, s.Close(sctx))
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(serveErr, err)
	}
	return err
}
