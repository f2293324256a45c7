package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/serve"
)

func init() { register(newServeCmd) }

// serveEnvPrefix prefixes the environment variables that set serve's flags.
const serveEnvPrefix = "TRUSTML_SERVE_"

func newServeCmd() *cobra.Command {
	c := serve.Config{Addr: "127.0.0.1:8080", ModelSpec: "default", UpstreamOptions: oip.ClientOptions{Timeout: 10 * time.Second, Retries: 2},
		Limits: serve.LimitOptions{Window: 24 * time.Hour}, HTTP: serve.HTTPOptions{ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
			IdleTimeout: 120 * time.Second, ShutdownTimeout: 30 * time.Second},
		Server: serve.Options{Defense: serve.DefaultDefense, InputRange: serve.Range{0, 1},
			Batch: serve.BatchOptions{MaxBatch: serve.DefaultMaxBatch, MaxDelay: serve.DefaultMaxDelay, QueueSize: 4096}, MaxBodyBytes: 8 << 20}}
	var logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a model over the Open Inference Protocol (v2) with AAA on its outputs",
		Long: `Serve a model over the Open Inference Protocol (the v2 REST protocol of
KServe, Triton and Seldon MLServer) with an output defense applied to every
reply: AAA by default, any registered defense, or none. The model is a trustml
model (--model) or, with --upstream, a model an existing v2 server serves: each
request is forwarded, and the defense is applied to what comes back.

Endpoints: GET /v2/health/live, /v2/health/ready, /v2/models/NAME,
/v2/models/NAME/ready; POST /v2/models/NAME/infer (JSON, or the binary tensor
extension); GET /metrics; with --grpc, KServe's v2 gRPC service. The model
takes one FP32 input "input" [N dims...] with values in [0, 1] and returns
"logits" and "probabilities" (or the defense's one output).

Concurrent requests are batched (--max-batch, --max-delay, --batch-multiple).
With --keys, inference needs "Authorization: Bearer TOKEN"; each image is one query,
counted per key in --counts against --budget and --rate (401 for unknown keys,
429 with Retry-After over budget). Every flag can be set by TRUSTML_SERVE_ and
its name in capitals ('_' for '-'); the command line wins. SIGTERM shuts down
gracefully. As a KServe transformer, KServe's arguments (--model_name,
--predictor_host, --http_port, --protocol) are understood.

Defenses: ` + strings.Join(defense.Names(), ", "),
		Example: `  trustml serve --addr 127.0.0.1:8080
  trustml serve --upstream http://triton:8000/v2/models/resnet --addr :8080
  trustml serve --grpc 127.0.0.1:8081   # then: trustml eval --model grpc://127.0.0.1:8081/fashion-cnn
  trustml serve --keys keys.txt --counts /var/lib/trustml/counts --budget 10000 --rate 20
  trustml attack --model http://127.0.0.1:8080/v2/models/fashion-cnn --defenses none`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if err = applyEnv(cmd.Flags()); err != nil {
				return err
			}
			if c.Server.Logger, err = serve.NewLogger(cmd.ErrOrStderr(), logLevel, logFormat); err != nil {
				return fmt.Errorf("--log-level, --log-format: %w", err)
			}
			if c.UpstreamOptions.Retries == 0 {
				c.UpstreamOptions.Retries = -1 // oip's 0 is its default
			}
			return serve.Run(cmd.Context(), c)
		},
	}
	fl := cmd.Flags()
	bindFlags(fl, &c)
	fl.StringVar(&logLevel, "log-level", "info", "log level: debug (every request), info, warn or error")
	fl.StringVar(&logFormat, "log-format", "text", "log format: text or json")
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
