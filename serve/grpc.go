package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/oip/v2grpc"
)

// GRPCService returns the server as the v2 gRPC predict service
// (KServe's GRPCInferenceService): the same model, defense, batching,
// API keys (the "authorization" metadata, "Bearer TOKEN") and metrics
// (endpoint "grpc_infer", code the gRPC code's name) as the HTTP handler.
// Register it with v2grpc.RegisterGRPCInferenceServiceServer, or use
// [NewGRPCServer].
func (s *Server) GRPCService() *oip.GRPCService {
	return &oip.GRPCService{
		Meta:  s.meta,
		Ready: func() bool { return !s.notReady.Load() },
		Infer: s.inferGRPC,
	}
}

// NewGRPCServer returns a gRPC server with the v2 predict service of s
// registered, receiving messages up to the server's body limit.
func NewGRPCServer(s *Server) *grpc.Server {
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(int(min(s.o.MaxBodyBytes, math.MaxInt32))))
	v2grpc.RegisterGRPCInferenceServiceServer(gs, s.GRPCService())
	return gs
}

// inferGRPC answers one gRPC inference request as serveInfer does an HTTP
// one.
func (s *Server) inferGRPC(ctx context.Context, req *oip.InferenceRequest) (resp *oip.InferenceResponse, err error) {
	start := time.Now()
	s.metrics.inflight.Inc()
	keyName, n := "", 0
	defer func() {
		dur := time.Since(start)
		s.metrics.inflight.Dec()
		s.metrics.latency.Observe(dur.Seconds())
		code := codes.OK
		if err != nil {
			code = grpcCode(err)
			err = status.Error(code, err.Error())
		}
		s.metrics.requests.WithLabelValues("grpc_infer", code.String()).Inc()
		remote := ""
		if p, ok := peer.FromContext(ctx); ok {
			remote = p.Addr.String()
		}
		switch {
		case code == codes.Internal || code == codes.Unavailable || code == codes.DeadlineExceeded:
			s.log.Error("grpc infer", "code", code.String(), "key", keyName, "images", n, "duration", dur, "remote", remote, "err", err)
		case s.log.Enabled(ctx, slog.LevelDebug):
			s.log.Debug("grpc infer", "code", code.String(), "key", keyName, "images", n, "duration", dur, "remote", remote)
		}
	}()
	var key *Key
	if s.o.Limiter != nil {
		auth := ""
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get("authorization"); len(v) > 0 {
				auth = v[0]
			}
		}
		if key, err = s.o.Limiter.Authenticate(auth); err != nil {
			return nil, status.Error(codes.Unauthenticated, err.Error())
		}
		keyName = key.Name
	}
	if n, err = s.check(req); err != nil {
		return nil, err
	}
	if key != nil {
		if _, err := s.o.Limiter.Admit(key, n); err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return nil, status.Error(codes.ResourceExhausted, err.Error())
			}
			return nil, status.Error(codes.Unavailable, "query accounting unavailable: "+err.Error())
		}
	}
	s.metrics.queries.WithLabelValues(keyName).Add(float64(n))
	return s.infer(ctx, req, n)
}

// grpcCode maps an inference error to its gRPC code as errorStatus maps it
// to an HTTP status.
func grpcCode(err error) codes.Code {
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	switch errorStatus(err) {
	case 400:
		return codes.InvalidArgument
	case 502:
		return codes.Unavailable
	case 503:
		return codes.Unavailable
	case 504:
		return codes.DeadlineExceeded
	}
	return codes.Internal
}

// serveGRPC serves gs on ln until it is stopped, and sends an error that
// ends it otherwise to errc.
func serveGRPC(gs *grpc.Server, ln net.Listener, errc chan<- error) {
	if err := gs.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		errc <- fmt.Errorf("serve: grpc: %w", err)
	}
}

// stopGRPC stops gs gracefully, forcibly when ctx ends first.
func stopGRPC(ctx context.Context, gs *grpc.Server) error {
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		gs.Stop()
		return fmt.Errorf("serve: grpc: %w", ctx.Err())
	}
}

// grpcURL is the model URL of a gRPC listener, for logs.
func grpcURL(ln net.Listener, name string) string {
	return "grpc://" + strings.TrimPrefix(ln.Addr().String(), "[::]") + "/" + name
}
