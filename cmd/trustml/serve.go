package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/serve"
	"github.com/trustml/trustml/zoo"
)

func init() { register(newServeCmd) }

// serveEnvPrefix prefixes the environment variables that set serve's flags.
const serveEnvPrefix = "TRUSTML_SERVE_"

type serveFlags struct {
	addr, metricsAddr      string
	model, name, version   string
	upstream, upstreamOut  string
	upstreamModel          string
	upstreamProbs          bool
	upstreamTimeout        time.Duration
	defense, defenseParams string
	seed                   uint64
	maxBatch, workers      int
	queue                  int
	maxDelay               time.Duration
	maxBody                int64
	inputRange             string
	keys, counts           string
	syncCounts             bool
	budget, burst          int64
	budgetWindow           time.Duration
	rate                   float64
	readTimeout            time.Duration
	writeTimeout           time.Duration
	idleTimeout            time.Duration
	shutdownTimeout        time.Duration
	logLevel, logFormat    string
	kserveName, kserveHost string
	kservePort             int
	kserveProtocol         string
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a model over the Open Inference Protocol (v2) with AAA on its outputs",
		Long: `Serve a model to the public over the Open Inference Protocol (the v2 REST
protocol of KServe, Triton and Seldon MLServer) with an output defense applied
to every reply: AAA by default, any registered defense by name, or none. The
model is a trustml model (the embedded default unless --model names another
or a checkpoint) or, with --upstream, a model served by an existing v2 server:
each request is forwarded to it, the defense is applied to what comes back,
and the result is returned, so a model trustml did not train gets the defense
without changes.

Endpoints: GET /v2/health/live, /v2/health/ready, /v2/models/NAME,
/v2/models/NAME/ready; POST /v2/models/NAME/infer; GET /metrics (Prometheus).
The model takes one FP32 input "input" of shape [N dims...] with values in
[0, 1] and returns "logits" and "probabilities" (for defenses that return
probabilities or scores, that output alone).

Concurrent requests are gathered into one forward pass (up to --max-batch
images, waiting at most --max-delay), and each client gets its own rows.
With --keys, inference needs "Authorization: Bearer TOKEN"; each input image
is one query, counted per key in --counts (kept across restarts) against a
budget per --budget-window and a rate limit. Unknown keys get 401, keys over
their budget or rate 429 with Retry-After.

Every flag can also be set by an environment variable: TRUSTML_SERVE_ and the
flag's name in capitals with '_' for '-' (TRUSTML_SERVE_MAX_BATCH=32). Flags
given on the command line win. SIGTERM or SIGINT shuts down gracefully:
in-flight requests finish (up to --shutdown-timeout).

As a KServe transformer, the arguments KServe appends (--model_name,
--predictor_host, --http_port, --protocol, --workers) are understood: the
predictor at --predictor_host becomes the upstream.

Defenses: ` + strings.Join(defense.Names(), ", "),
		Example: `  # the embedded model behind AAA on port 8080
  trustml serve --addr 127.0.0.1:8080
  curl -s 127.0.0.1:8080/v2/models/fashion-cnn

  # AAA in front of a model another v2 server serves
  trustml serve --upstream http://triton:8000/v2/models/resnet --addr :8080

  # API keys with a daily budget of 10000 queries and 20 queries/s
  trustml serve --keys keys.txt --counts /var/lib/trustml/counts --budget 10000 --rate 20

  # attack the served model
  trustml attack --model http://127.0.0.1:8080/v2/models/fashion-cnn --defenses none`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", `address to listen on (":8080" for all interfaces)`)
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve /metrics on this address instead of --addr (keeps per-key counts off a public port)")
	fl.StringVar(&f.model, "model", "default", modelHelp)
	fl.StringVar(&f.name, "name", "", "model name in URLs (default: the embedded model's name, the checkpoint's file name, or the upstream model's name)")
	fl.StringVar(&f.version, "model-version", "", "model version reported in metadata (optional)")
	fl.StringVar(&f.upstream, "upstream", "", "proxy mode: forward requests to the v2 model at http://host:port/v2/models/NAME")
	fl.StringVar(&f.upstreamOut, "upstream-output", "", `upstream output to defend (default "logits" if it has one, else its first)`)
	fl.BoolVar(&f.upstreamProbs, "upstream-probabilities", false, "the upstream output holds probabilities (turned into logits by log p)")
	fl.StringVar(&f.upstreamModel, "upstream-model", "", "with --predictor_host: the model's name at the predictor (default: --model_name)")
	fl.DurationVar(&f.upstreamTimeout, "upstream-timeout", 10*time.Second, "time limit of each upstream request (then 504)")
	fl.StringVar(&f.defense, "defense", serve.DefaultDefense, `output defense applied to every reply ("none" for none)`)
	fl.StringVar(&f.defenseParams, "defense-param", "", `defense parameters as key=value,... (e.g. "tau=3,temperature=2")`)
	fl.Uint64Var(&f.seed, "seed", 0, "seed of randomized defenses")
	fl.IntVar(&f.maxBatch, "max-batch", serve.DefaultMaxBatch, "most images per forward pass (1 disables dynamic batching)")
	fl.DurationVar(&f.maxDelay, "max-delay", serve.DefaultMaxDelay, "longest a request waits for others to join its batch")
	fl.IntVar(&f.workers, "workers", 1, "forward passes run at the same time, each on its own copy of the model (default 4 with --upstream)")
	fl.IntVar(&f.queue, "queue", 4096, "requests that may wait for a worker")
	fl.Int64Var(&f.maxBody, "max-body", 8<<20, "request body size limit in bytes (then 413)")
	fl.StringVar(&f.inputRange, "input-range", "0,1", "range of valid input values, as min,max")
	fl.StringVar(&f.keys, "keys", "", "API key file: lines NAME TOKEN [budget=N] [rate=R] [burst=N] (TOKEN in clear or sha256:HEX)")
	fl.StringVar(&f.counts, "counts", "", "file keeping the per-key query counts (required with --keys)")
	fl.BoolVar(&f.syncCounts, "sync-counts", false, "fsync the count file on every query (survives power loss, not only crashes)")
	fl.Int64Var(&f.budget, "budget", 0, "queries (images) per key per --budget-window (0: unlimited; the key file may override)")
	fl.DurationVar(&f.budgetWindow, "budget-window", 24*time.Hour, "budget period, aligned to the Unix epoch (0: lifetime budget)")
	fl.Float64Var(&f.rate, "rate", 0, "queries per second per key (0: unlimited)")
	fl.Int64Var(&f.burst, "burst", 0, "queries a key may make at once (default: ⌈rate⌉)")
	fl.DurationVar(&f.readTimeout, "read-timeout", 30*time.Second, "time limit for reading a request")
	fl.DurationVar(&f.writeTimeout, "write-timeout", 60*time.Second, "time limit for answering a request")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 120*time.Second, "keep-alive connections idle longer are closed")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "time in-flight requests have to finish after SIGTERM")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug (every request), info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	// The arguments KServe appends to a transformer's container.
	fl.StringVar(&f.kserveName, "model_name", "", "KServe: the InferenceService's name (sets --name)")
	fl.StringVar(&f.kserveHost, "predictor_host", "", "KServe: host[:port] of the predictor (sets --upstream)")
	fl.IntVar(&f.kservePort, "http_port", 0, "KServe: port to listen on (sets --addr :PORT)")
	fl.StringVar(&f.kserveProtocol, "protocol", "", "KServe: the predictor's protocol (only v2 is supported)")
	for _, n := range []string{"model_name", "predictor_host", "http_port", "protocol"} {
		fl.MarkHidden(n)
	}
	return cmd
}

// envName is the environment variable of flag name.
func envName(name string) string {
	return serveEnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// applyEnv sets the flags not given on the command line from the
// environment.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Hidden {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("environment variable %s=%q: %w", envName(f.Name), v, e)
		}
	})
	return err
}

func newLogger(cmd *cobra.Command, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	out := cmd.ErrOrStderr()
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(out, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(out, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func parseRange(s string) ([2]float32, error) {
	lo, hi, ok := strings.Cut(s, ",")
	a, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 32)
	b, err2 := strconv.ParseFloat(strings.TrimSpace(hi), 32)
	if !ok || err1 != nil || err2 != nil || !(a < b) {
		return [2]float32{}, fmt.Errorf("--input-range %q: want min,max with min < max", s)
	}
	return [2]float32{float32(a), float32(b)}, nil
}

// kserve applies the arguments KServe gives a transformer.
func (f *serveFlags) kserve() error {
	if f.kserveProtocol != "" && f.kserveProtocol != "v2" {
		return fmt.Errorf("--protocol %q: trustml serve speaks the v2 REST protocol only", f.kserveProtocol)
	}
	if f.kserveName != "" && f.name == "" {
		f.name = f.kserveName
	}
	if f.kservePort != 0 {
		f.addr = fmt.Sprintf(":%d", f.kservePort)
	}
	if f.kserveHost != "" && f.upstream == "" {
		m := f.upstreamModel
		if m == "" {
			m = f.kserveName
		}
		if m == "" {
			return fmt.Errorf("--predictor_host needs --model_name or --upstream-model to name the predictor's model")
		}
		host := f.kserveHost
		if !strings.Contains(host, "://") {
			host = "http://" + host
		}
		f.upstream = strings.TrimSuffix(host, "/") + "/v2/models/" + m
	}
	return nil
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	if err := applyEnv(cmd.Flags()); err != nil {
		return err
	}
	if err := f.kserve(); err != nil {
		return err
	}
	log, err := newLogger(cmd, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	params, err := defense.ParseParams(f.defenseParams)
	if err != nil {
		return fmt.Errorf("--defense-param: %w", err)
	}
	rng, err := parseRange(f.inputRange)
	if err != nil {
		return err
	}
	ctx := cmd.Context()

	// The model: local or upstream.
	var m model.Classifier
	name := f.name
	if f.upstream != "" {
		up, err := serve.DialUpstream(ctx, f.upstream, serve.UpstreamOptions{
			Timeout: f.upstreamTimeout, Output: f.upstreamOut, Probabilities: f.upstreamProbs,
		})
		if err != nil {
			return err
		}
		m = up
		if name == "" {
			name = up.Name()
		}
		// A worker waits on the network for each batch: keep several
		// batches in flight unless told otherwise.
		if !cmd.Flags().Changed("workers") {
			f.workers = 4
		}
	} else {
		net, _, err := loadNetwork(f.model)
		if err != nil {
			return err
		}
		m = net
		if name == "" {
			name = modelName(f.model)
		}
	}

	// API keys and query counts.
	var lim *serve.Limiter
	if f.keys != "" {
		if f.counts == "" {
			return fmt.Errorf("--keys needs --counts, the file that keeps each key's query count across restarts")
		}
		kr, err := serve.LoadKeys(f.keys)
		if err != nil {
			return err
		}
		store, err := serve.OpenStore(f.counts, serve.StoreOptions{Sync: f.syncCounts})
		if err != nil {
			return err
		}
		defer func() {
			if err := store.Close(); err != nil {
				log.Error("closing the count store", "err", err)
			}
		}()
		lim, err = serve.NewLimiter(kr, store, serve.LimitOptions{Budget: f.budget, Window: f.budgetWindow, Rate: f.rate, Burst: f.burst})
		if err != nil {
			return err
		}
		log.Info("API keys", "file", f.keys, "keys", kr.Len(), "counts", f.counts, "budget", f.budget, "window", f.budgetWindow, "rate", f.rate)
	} else if f.counts != "" || f.budget != 0 || f.rate != 0 {
		return fmt.Errorf("--counts, --budget and --rate apply to API keys: give --keys")
	}

	srv, err := serve.New(m, serve.Options{
		Name: name, Version: f.version,
		Defense: f.defense, DefenseOptions: defense.Options{Seed: f.seed, Params: params},
		Batch:        serve.BatchOptions{MaxBatch: f.maxBatch, MaxDelay: f.maxDelay, Workers: f.workers, QueueSize: f.queue},
		MaxBodyBytes: f.maxBody, InputRange: rng, Limiter: lim, Logger: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		srv.Close(ctx)
		return err
	}
	ho := serve.HTTPOptions{ReadTimeout: f.readTimeout, WriteTimeout: f.writeTimeout, IdleTimeout: f.idleTimeout, ShutdownTimeout: f.shutdownTimeout}
	if f.metricsAddr != "" {
		if ho.MetricsListener, err = net.Listen("tcp", f.metricsAddr); err != nil {
			ln.Close()
			srv.Close(ctx)
			return err
		}
	}
	attrs := []any{"url", "http://" + ln.Addr().String() + "/v2/models/" + name, "defense", f.defense,
		"max_batch", f.maxBatch, "max_delay", f.maxDelay, "workers", f.workers}
	if f.upstream != "" {
		attrs = append(attrs, "upstream", f.upstream)
	}
	if ho.MetricsListener != nil {
		attrs = append(attrs, "metrics", "http://"+ho.MetricsListener.Addr().String()+"/metrics")
	}
	log.Info("serving", attrs...)
	if err := serve.Serve(ctx, ln, srv, ho); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// modelName derives a model name from a --model value.
func modelName(spec string) string {
	if spec == "" || spec == "default" {
		return zoo.DefaultName
	}
	base := filepath.Base(spec)
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	var b strings.Builder
	for _, r := range base {
		if r == '/' || r == ' ' || r == '?' || r == '#' || r == '%' {
			r = '-'
		}
		b.WriteRune(r)
	}
	return b.String()
}
