package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/zoo"
)

// Config is everything [Run] needs to serve a model: what "trustml serve"
// sets from its flags.
type Config struct {
	// Addr is the address to listen on (":8080" for all interfaces).
	Addr string `flag:"addr" help:"address to listen on (\":8080\" for all interfaces)"`
	// GRPCAddr, if set, also serves the v2 gRPC predict service there (the
	// same model, defense, batching, keys and metrics).
	GRPCAddr string `flag:"grpc" help:"also serve the v2 gRPC predict service (KServe's GRPCInferenceService) on this address, e.g. 127.0.0.1:8081"`
	// MetricsAddr, if set, serves /metrics there instead of on Addr.
	MetricsAddr string `flag:"metrics-addr" help:"serve /metrics on this address instead of --addr"`
	// Model is the model to serve; nil in proxy mode, and otherwise opened
	// from ModelSpec ("default", an embedded name, a file) with
	// zoo.OpenNetwork when nil and ModelSpec is set (Server.Name then
	// defaults to [ModelName] of it).
	Model     model.Classifier
	ModelSpec string `flag:"model" help:"model: \"default\" (the embedded Fashion-MNIST CNN), another embedded name, a checkpoint file written by \"trustml train\", or an ONNX model (model.onnx)"`
	// Upstream, if set, is the URL http://host:port/v2/models/NAME (or
	// grpc://host:port/NAME) of the model to forward requests to (proxy
	// mode), dialled with UpstreamOptions (Binary for the binary extension).
	// With Server.FeaturesOutput set, the upstream's feature output of that
	// name (or UpstreamOptions.FeaturesOutput) is forwarded; an upstream
	// without it is an error naming its outputs.
	Upstream        string            `flag:"upstream" help:"proxy mode: forward requests to the v2 model at http://host:port/v2/models/NAME or grpc://host:port/NAME"`
	UpstreamOptions oip.ClientOptions `flagprefix:"upstream-"`
	// KServe holds the arguments KServe gives a transformer, applied by
	// [KServe.Apply] before anything else.
	KServe KServe
	// Server configures the server; an empty Name is the upstream model's
	// name in proxy mode. In proxy mode Batch.Workers defaults to 4, since a
	// worker waits on the network for each batch.
	Server Options
	// KeysFile, if set, requires API keys from that file ([LoadKeys]),
	// counted in CountsFile ([OpenStore]) under the limits of Limits.
	KeysFile   string `flag:"keys" help:"API key file: lines NAME TOKEN [budget=N] [rate=R] [burst=N] (TOKEN in clear or sha256:HEX)"`
	CountsFile string `flag:"counts" help:"file keeping the per-key query counts (required with --keys)"`
	SyncCounts bool   `flag:"sync-counts" help:"fsync the count file on every query (survives power loss, not only crashes)"`
	Limits     LimitOptions
	// HTTP configures the HTTP server and its graceful shutdown.
	HTTP HTTPOptions
}

// Run serves cfg until ctx is done, then shuts down gracefully (see
// [Serve]). It dials the upstream in proxy mode, opens the key file and the
// count store, and logs what it serves to cfg.Server.Logger.
func Run(ctx context.Context, cfg Config) (err error) {
	if err := cfg.KServe.Apply(&cfg); err != nil {
		return err
	}
	if cfg.Model == nil && cfg.Upstream == "" && cfg.ModelSpec != "" {
		if cfg.Model, _, err = zoo.OpenNetwork(cfg.ModelSpec); err != nil {
			return err
		}
		if cfg.Server.Name == "" {
			cfg.Server.Name = ModelName(cfg.ModelSpec)
		}
	}
	log := cfg.Server.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		cfg.Server.Logger = log
	}
	m := cfg.Model
	if cfg.Upstream != "" {
		if cfg.UpstreamOptions.FeaturesOutput == "" {
			cfg.UpstreamOptions.FeaturesOutput = cfg.Server.FeaturesOutput
		}
		up, err := oip.Dial(ctx, cfg.Upstream, cfg.UpstreamOptions)
		if err != nil {
			return fmt.Errorf("serve: upstream: %w", err)
		}
		m = up.Model()
		if cfg.Server.Name == "" {
			cfg.Server.Name = up.Name()
		}
		if cfg.Server.Batch.Workers <= 0 {
			cfg.Server.Batch.Workers = 4
		}
	}
	cfg.Server.Batch.Workers = max(cfg.Server.Batch.Workers, 1)
	if m == nil {
		return errors.New("serve: no model and no upstream")
	}
	if cfg.KeysFile != "" {
		if cfg.CountsFile == "" {
			return errors.New("serve: API keys need a counts file, which keeps each key's query count across restarts")
		}
		kr, err := LoadKeys(cfg.KeysFile)
		if err != nil {
			return err
		}
		store, err := OpenStore(cfg.CountsFile, StoreOptions{Sync: cfg.SyncCounts})
		if err != nil {
			return err
		}
		defer func() {
			if cerr := store.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("serve: closing the count store: %w", cerr))
			}
		}()
		if cfg.Server.Limiter, err = NewLimiter(kr, store, cfg.Limits); err != nil {
			return err
		}
		log.Info("API keys", "file", cfg.KeysFile, "keys", kr.Len(), "counts", cfg.CountsFile, "budget", cfg.Limits.Budget, "window", cfg.Limits.Window, "rate", cfg.Limits.Rate)
	} else if cfg.CountsFile != "" || cfg.Limits.Budget != 0 || cfg.Limits.Rate != 0 {
		return errors.New("serve: counts, budgets and rates apply to API keys: give a key file")
	}
	srv, err := New(m, cfg.Server)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return errors.Join(fmt.Errorf("serve: %w", err), srv.Close(ctx))
	}
	if cfg.MetricsAddr != "" {
		if cfg.HTTP.MetricsListener, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return errors.Join(fmt.Errorf("serve: metrics: %w", err), srv.Close(ctx))
		}
	}
	if cfg.GRPCAddr != "" {
		if cfg.HTTP.GRPCListener, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
			ln.Close()
			if cfg.HTTP.MetricsListener != nil {
				cfg.HTTP.MetricsListener.Close()
			}
			return errors.Join(fmt.Errorf("serve: grpc: %w", err), srv.Close(ctx))
		}
	}
	o := srv.o
	attrs := []any{"url", "http://" + ln.Addr().String() + "/v2/models/" + o.Name, "defense", o.Defense,
		"max_batch", o.Batch.MaxBatch, "max_delay", o.Batch.MaxDelay, "batch_multiple", o.Batch.BatchMultiple, "workers", o.Batch.Workers}
	if cfg.Upstream != "" {
		attrs = append(attrs, "upstream", cfg.Upstream)
	}
	if o.FeaturesOutput != "" {
		attrs = append(attrs, "features", o.FeaturesOutput, "features_defended", false)
	}
	if cfg.HTTP.GRPCListener != nil {
		attrs = append(attrs, "grpc", grpcURL(cfg.HTTP.GRPCListener, o.Name))
	}
	if cfg.HTTP.MetricsListener != nil {
		attrs = append(attrs, "metrics", "http://"+cfg.HTTP.MetricsListener.Addr().String()+"/metrics")
	}
	log.Info("serving", attrs...)
	if err := Serve(ctx, ln, srv, cfg.HTTP); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// KServe holds the arguments KServe appends to a transformer's container
// (--model_name, --predictor_host, --http_port, --protocol) and the name of
// the model at the predictor, if it differs.
type KServe struct {
	Name           string `flag:"model_name" help:"KServe: the InferenceService's name (sets --name)"`
	PredictorHost  string `flag:"predictor_host" help:"KServe: host[:port] of the predictor (sets --upstream)"`
	Protocol       string `flag:"protocol" help:"KServe: the predictor's protocol (v2, or grpc-v2 for its gRPC service)"`
	PredictorModel string `flag:"upstream-model" help:"with --predictor_host: the model's name at the predictor (default: --model_name)"`
	Port           int    `flag:"http_port" help:"KServe: port to listen on (sets --addr :PORT)"`
}

// Apply sets cfg from the KServe arguments: the name, the port to listen
// on, and the predictor as the upstream, where cfg does not set them.
func (k KServe) Apply(cfg *Config) error {
	if k.Protocol != "" && k.Protocol != "v2" && k.Protocol != "grpc-v2" {
		return fmt.Errorf("serve: KServe protocol %q: trustml serve speaks v2 (REST) and grpc-v2 only", k.Protocol)
	}
	if k.Name != "" && cfg.Server.Name == "" {
		cfg.Server.Name = k.Name
	}
	if k.Port != 0 {
		cfg.Addr = fmt.Sprintf(":%d", k.Port)
	}
	if k.PredictorHost != "" && cfg.Upstream == "" {
		m := k.PredictorModel
		if m == "" {
			m = k.Name
		}
		if m == "" {
			return errors.New("serve: a KServe predictor host needs the model name (--model_name or --upstream-model) to name the predictor's model")
		}
		host := k.PredictorHost
		if k.Protocol == "grpc-v2" {
			if _, rest, ok := strings.Cut(host, "://"); ok {
				host = rest
			}
			cfg.Upstream = "grpc://" + strings.TrimSuffix(host, "/") + "/" + m
			return nil
		}
		if !strings.Contains(host, "://") {
			host = "http://" + host
		}
		cfg.Upstream = strings.TrimSuffix(host, "/") + "/v2/models/" + m
	}
	return nil
}

// NewLogger returns a structured logger writing to w at level (debug,
// info, warn or error) in format text or json.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("serve: log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("serve: log format %q: want text or json", format)
}

// Range is an input range [min, max]; a *Range is a command-line flag
// value "min,max" read by [ParseInputRange].
type Range [2]float32

// Set reads s as [ParseInputRange] does.
func (r *Range) Set(s string) (err error) {
	*r, err = ParseInputRange(s)
	return err
}

// String writes "min,max".
func (r *Range) String() string { return fmt.Sprintf("%g,%g", r[0], r[1]) }

// Type names the flag value's syntax in help text.
func (*Range) Type() string { return "min,max" }

// ModelName derives the name a model is served under from its spec
// ("default", an embedded name, a file): the file's base name without its
// extension, with characters that cannot stand in a URL path replaced.
func ModelName(spec string) string {
	if spec == "" || spec == "default" {
		return zoo.DefaultName
	}
	base := filepath.Base(spec)
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("/ ?#%", r) {
			return '-'
		}
		return r
	}, base)
}

// ParseInputRange reads an input range "min,max" (min < max) for
// [Options.InputRange].
func ParseInputRange(s string) (Range, error) {
	lo, hi, ok := strings.Cut(s, ",")
	a, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 32)
	b, err2 := strconv.ParseFloat(strings.TrimSpace(hi), 32)
	if !ok || err1 != nil || err2 != nil || !(a < b) {
		return Range{}, fmt.Errorf("serve: input range %q: want min,max with min < max", s)
	}
	return Range{float32(a), float32(b)}, nil
}
