package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/serve"
	"github.com/trustml/trustml/zoo"
)

func init() { register(newServeCmd) }

// serveEnvPrefix prefixes the environment variables that set serve's flags.
const serveEnvPrefix = "TRUSTML_SERVE_"

type serveFlags struct {
	cfg                       serve.Config
	kserve                    serve.KServe
	model, params, inputRange string
	logLevel, logFormat       string
	seed                      uint64
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	c, so, up := &f.cfg, &f.cfg.Server, &f.cfg.UpstreamOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a model over the Open Inference Protocol (v2) with AAA on its outputs",
		Long: `Serve a model over the Open Inference Protocol (the v2 REST protocol of
KServe, Triton and Seldon MLServer) with an output defense applied to every
reply: AAA by default, any registered defense, or none. The model is a trustml
model (--model) or, with --upstream, a model an existing v2 server serves: each
request is forwarded, and the defense is applied to what comes back.

Endpoints: GET /v2/health/live, /v2/health/ready, /v2/models/NAME,
/v2/models/NAME/ready; POST /v2/models/NAME/infer; GET /metrics. The model
takes one FP32 input "input" [N dims...] with values in [0, 1] and returns
"logits" and "probabilities" (or the defense's one output).

Concurrent requests are batched (--max-batch, --max-delay). With --keys,
inference needs "Authorization: Bearer TOKEN"; each image is one query,
counted per key in --counts against --budget and --rate (401 for unknown keys,
429 with Retry-After over budget). Every flag can be set by TRUSTML_SERVE_ and
its name in capitals ('_' for '-'); the command line wins. SIGTERM shuts down
gracefully. As a KServe transformer, KServe's arguments (--model_name,
--predictor_host, --http_port, --protocol) are understood.

Defenses: ` + strings.Join(defense.Names(), ", "),
		Example: `  trustml serve --addr 127.0.0.1:8080
  trustml serve --upstream http://triton:8000/v2/models/resnet --addr :8080
  trustml serve --keys keys.txt --counts /var/lib/trustml/counts --budget 10000 --rate 20
  trustml attack --model http://127.0.0.1:8080/v2/models/fashion-cnn --defenses none`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&c.Addr, "addr", "127.0.0.1:8080", `address to listen on (":8080" for all interfaces)`)
	fl.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve /metrics on this address instead of --addr")
	fl.StringVar(&f.model, "model", "default", modelHelp)
	fl.StringVar(&so.Name, "name", "", "model name in URLs (default: from --model, or the upstream model's name)")
	fl.StringVar(&so.Version, "model-version", "", "model version reported in metadata (optional)")
	fl.StringVar(&c.Upstream, "upstream", "", "proxy mode: forward requests to the v2 model at http://host:port/v2/models/NAME")
	fl.StringVar(&up.Output, "upstream-output", "", `upstream output to defend (default "logits" if it has one, else its first)`)
	fl.BoolVar(&up.Probabilities, "upstream-probabilities", false, "the upstream output holds probabilities (turned into logits by log p)")
	fl.StringVar(&f.kserve.PredictorModel, "upstream-model", "", "with --predictor_host: the model's name at the predictor (default: --model_name)")
	fl.DurationVar(&up.Timeout, "upstream-timeout", 10*time.Second, "time limit of each upstream attempt (then 504)")
	fl.IntVar(&up.Retries, "upstream-retries", 2, "retries of an upstream request after a timeout, connection error or 5xx (0: none)")
	fl.StringVar(&so.FeaturesOutput, "features-output", "", `also serve the penultimate features as this output (e.g. "features"; UNDEFENDED: off by default); with --upstream, forwards the upstream's`)
	fl.StringVar(&so.Defense, "defense", serve.DefaultDefense, `output defense applied to every reply ("none" for none)`)
	fl.StringVar(&f.params, "defense-param", "", `defense parameters as key=value,... (e.g. "tau=3,temperature=2")`)
	fl.Uint64Var(&f.seed, "seed", 0, "seed of randomized defenses")
	fl.IntVar(&so.Batch.MaxBatch, "max-batch", serve.DefaultMaxBatch, "most images per forward pass (1 disables dynamic batching)")
	fl.DurationVar(&so.Batch.MaxDelay, "max-delay", serve.DefaultMaxDelay, "longest a request waits for others to join its batch")
	fl.IntVar(&so.Batch.Workers, "workers", 0, "forward passes run at the same time, each on its own copy of the model (default 1, 4 with --upstream)")
	fl.IntVar(&so.Batch.QueueSize, "queue", 4096, "requests that may wait for a worker")
	fl.Int64Var(&so.MaxBodyBytes, "max-body", 8<<20, "request body size limit in bytes (then 413)")
	fl.StringVar(&f.inputRange, "input-range", "0,1", "range of valid input values, as min,max")
	fl.StringVar(&c.KeysFile, "keys", "", "API key file: lines NAME TOKEN [budget=N] [rate=R] [burst=N] (TOKEN in clear or sha256:HEX)")
	fl.StringVar(&c.CountsFile, "counts", "", "file keeping the per-key query counts (required with --keys)")
	fl.BoolVar(&c.SyncCounts, "sync-counts", false, "fsync the count file on every query (survives power loss, not only crashes)")
	fl.Int64Var(&c.Limits.Budget, "budget", 0, "queries (images) per key per --budget-window (0: unlimited; the key file may override)")
	fl.DurationVar(&c.Limits.Window, "budget-window", 24*time.Hour, "budget period, aligned to the Unix epoch (0: lifetime budget)")
	fl.Float64Var(&c.Limits.Rate, "rate", 0, "queries per second per key (0: unlimited)")
	fl.Int64Var(&c.Limits.Burst, "burst", 0, "queries a key may make at once (default: ⌈rate⌉)")
	fl.DurationVar(&c.HTTP.ReadTimeout, "read-timeout", 30*time.Second, "time limit for reading a request")
	fl.DurationVar(&c.HTTP.WriteTimeout, "write-timeout", 60*time.Second, "time limit for answering a request")
	fl.DurationVar(&c.HTTP.IdleTimeout, "idle-timeout", 120*time.Second, "keep-alive connections idle longer are closed")
	fl.DurationVar(&c.HTTP.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "time in-flight requests have to finish after SIGTERM")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug (every request), info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.kserve.Name, "model_name", "", "KServe: the InferenceService's name (sets --name)")
	fl.StringVar(&f.kserve.PredictorHost, "predictor_host", "", "KServe: host[:port] of the predictor (sets --upstream)")
	fl.IntVar(&f.kserve.Port, "http_port", 0, "KServe: port to listen on (sets --addr :PORT)")
	fl.StringVar(&f.kserve.Protocol, "protocol", "", "KServe: the predictor's protocol (only v2 is supported)")
	for _, n := range []string{"model_name", "predictor_host", "http_port", "protocol"} {
		fl.MarkHidden(n)
	}
	completeNames(cmd, "defense", defense.Names())
	return cmd
}

// applyEnv sets the flags not given on the command line from the
// environment.
func applyEnv(fs *pflag.FlagSet) (err error) {
	fs.VisitAll(func(f *pflag.Flag) {
		name := serveEnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil && !f.Changed && !f.Hidden {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment variable %s=%q: %w", name, v, e)
			}
		}
	})
	return err
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	if err := applyEnv(cmd.Flags()); err != nil {
		return err
	}
	c := &f.cfg
	if err := f.kserve.Apply(c); err != nil {
		return err
	}
	var err error
	if c.Server.Logger, err = serve.NewLogger(cmd.ErrOrStderr(), f.logLevel, f.logFormat); err != nil {
		return fmt.Errorf("--log-level, --log-format: %w", err)
	}
	params, err := defense.ParseParams(f.params)
	if err != nil {
		return fmt.Errorf("--defense-param: %w", err)
	}
	c.Server.DefenseOptions = defense.Options{Seed: f.seed, Params: params}
	if c.Server.InputRange, err = serve.ParseInputRange(f.inputRange); err != nil {
		return fmt.Errorf("--input-range: %w", err)
	}
	if c.UpstreamOptions.Retries == 0 {
		c.UpstreamOptions.Retries = -1 // oip's 0 is its default
	}
	if c.Upstream == "" {
		if c.Model, _, err = zoo.OpenNetwork(f.model); err != nil {
			return err
		}
		if c.Server.Name == "" {
			c.Server.Name = modelName(f.model)
		}
	}
	return serve.Run(cmd.Context(), *c)
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
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("/ ?#%", r) {
			return '-'
		}
		return r
	}, base)
}
