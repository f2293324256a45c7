package repro

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/trustml/trustml/fed"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
)

const (
	pfedPaper  = "Learn2pFed: learn what you need in personalized federated learning (learnable partial sharing by unrolled ADMM; kelenlv/Learn2pFed)"
	pfedSource = "Learn2pFed paper: image-classification numbers not in paper-numbers.md; the deep version's code is not public"
	pfedProto  = "synthetic polynomial regression (5 clients, settings s1–s3), electricity-load forecasting and image classification with non-IID clients; personalized test error / accuracy against FedAvg, local training and other personalized FL methods"
)

// PFedConfig configures [PFed]; its tagged fields are the flags of
// `trustml repro pfed`.
type PFedConfig struct {
	// Methods compared (default learn2pfed, fedavg, local).
	Methods []string `flag:"methods" help:"methods: learn2pfed, fedavg, local"`
	// Seeds is the number of seeds (splits and initial models) per method.
	Seeds int `flag:"seeds" help:"seeds per method (seed s uses --seed+s)"`
	// Fed is the configuration of each run (its Method and Seed are set
	// per run).
	Fed fed.Config
	// Shard selects the runs (method × seed) of this process.
	Shard shard.Spec `flag:"shard" help:"run only shard i/N of the runs (merge the --out files with --from)"`
	// Out saves the runs; From merges saved runs instead of running.
	Out  string   `flag:"out" help:"save the runs as JSON to this file (atomic), for --from"`
	From []string `flag:"from" help:"tabulate runs saved by --out instead of running (comma-separated files)"`
	// Progress, if set, receives one update per run.
	Progress progress.Reporter `json:"-"`
}

// DefaultPFedConfig is the configuration of `trustml repro pfed`: 10
// clients as separate OS processes, Dirichlet α = 0.3 on 5,000
// Fashion-MNIST training images, an MLP, 10 rounds of one local epoch, 2
// seeds.
func DefaultPFedConfig() PFedConfig {
	c := fed.DefaultConfig()
	c.Procs = true
	return PFedConfig{Methods: []string{fed.MethodLearn2pFed, fed.MethodFedAvg, fed.MethodLocal}, Seeds: 2, Fed: c}
}

// PFedRun is one run of [PFed].
type PFedRun struct {
	Method string `json:"method"`
	Seed   uint64 `json:"seed"`
	// Accuracy is the mean personalized test accuracy (%) over the clients
	// that finished.
	Accuracy         float64 `json:"accuracy"`
	MessagesPerRound float64 `json:"messages_per_round"`
	BytesPerRound    float64 `json:"bytes_per_round"`
	Seconds          float64 `json:"seconds"`
	Dropped          []int   `json:"dropped,omitempty"`
	Error            string  `json:"error,omitempty"`
}

// PFed reproduces the Learn2pFed comparison at small scale: learn2pfed,
// FedAvg and local training on the same Dirichlet non-IID split of
// Fashion-MNIST, clients talking to the server over an embedded NATS
// server (as OS processes by default). Rows: mean personalized test
// accuracy, messages and bytes per round, wall seconds per run. A run that
// fails or loses a client is listed in Failed and its numbers are left out.
func PFed(ctx context.Context, cfg PFedConfig) (*Table, error) {
	begin := time.Now()
	var runs []PFedRun
	var setup string
	if len(cfg.From) > 0 {
		var err error
		if runs, setup, err = readRunFiles[PFedRun]("pfed", cfg.From); err != nil {
			return nil, err
		}
	} else {
		if err := cfg.Shard.Validate(); err != nil {
			return nil, fmt.Errorf("repro pfed: %w", err)
		}
		if cfg.Seeds < 1 || len(cfg.Methods) == 0 {
			return nil, fmt.Errorf("repro pfed: --seeds %d and %d methods, want ≥ 1 of each", cfg.Seeds, len(cfg.Methods))
		}
		for _, m := range cfg.Methods {
			if _, err := fed.LookupMethod(m); err != nil {
				return nil, fmt.Errorf("repro pfed: %w", err)
			}
		}
		c := cfg.Fed
		setup = fmt.Sprintf("%s, %d clients, α %g, %d train samples, %d test per client, %s, %d rounds × %d local epochs, batch %d, lr %g, mix %d steps lr %g β0 %g, seeds %d from %d, procs %v",
			c.Data, c.Clients, c.Alpha, c.TrainSamples, c.TestPerClient, c.Arch, c.Rounds, c.LocalEpochs, c.Batch, c.LR, c.MixSteps, c.MixLR, c.Beta0, cfg.Seeds, c.Seed, c.Procs)
		rep := progress.Or(cfg.Progress)
		n := len(cfg.Methods) * cfg.Seeds
		idx := cfg.Shard.Indices(n)
		for i, k := range idx {
			m, s := cfg.Methods[k%len(cfg.Methods)], uint64(k/len(cfg.Methods))
			rep.Update("repro pfed", i, len(idx), fmt.Sprintf("%s seed %d", m, c.Seed+s))
			rc := c
			rc.Method, rc.Seed, rc.Progress = m, c.Seed+s, nil
			run := PFedRun{Method: m, Seed: rc.Seed}
			r, err := fed.Run(ctx, rc)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			switch {
			case err != nil:
				run.Error = err.Error()
			case len(r.Result.Dropped) > 0:
				run.Dropped = r.Result.Dropped
				run.Error = fmt.Sprintf("clients %v dropped", r.Result.Dropped)
			default:
				run.Accuracy = 100 * r.Result.MeanAccuracy()
				run.MessagesPerRound, run.BytesPerRound, run.Seconds = r.Result.MessagesPerRound, r.Result.BytesPerRound, r.Result.Seconds
			}
			rep.Log("%s seed %d: %.2f%% %s", m, run.Seed, run.Accuracy, run.Error)
			runs = append(runs, run)
		}
		rep.Update("repro pfed", len(idx), len(idx), "")
		if cfg.Out != "" {
			if err := writeRunFile("pfed", cfg.Out, cfg.Shard, setup, runs); err != nil {
				return nil, err
			}
		}
	}
	t := pfedTable(runs, setup, cfg.Methods)
	t.Seconds = time.Since(begin).Seconds()
	if !cfg.Shard.Whole() && len(cfg.From) == 0 {
		t.Notes = append(t.Notes, fmt.Sprintf("shard %s only: merge the --out files of all shards with --from", cfg.Shard))
	}
	return t, nil
}

// pfedTable tabulates runs by method.
func pfedTable(runs []PFedRun, setup string, methods []string) *Table {
	t := &Table{Paper: pfedPaper, Protocol: setup + "; personalized accuracy = each client's model (learn2pfed, local) or the final global model (fedavg) on a test set drawn with the client's own label distribution, averaged over clients",
		Claim: "Learn2pFed's personalized models beat FedAvg and local training (and other personalized FL methods) on non-IID clients; paper's numbers not public in text form here"}
	paper := NotPublic(pfedSource, pfedProto)
	if len(methods) == 0 {
		for _, r := range runs {
			if !slices.Contains(methods, r.Method) {
				methods = append(methods, r.Method)
			}
		}
	}
	for _, m := range methods {
		var acc, msgs, bytes, secs []float64
		for _, r := range runs {
			if r.Method != m {
				continue
			}
			if r.Error != "" {
				t.Failed = append(t.Failed, fmt.Sprintf("%s seed %d: %s", r.Method, r.Seed, r.Error))
				continue
			}
			acc, msgs, bytes, secs = append(acc, r.Accuracy), append(msgs, r.MessagesPerRound), append(bytes, r.BytesPerRound), append(secs, r.Seconds)
		}
		differs := "Fashion-MNIST MLP at small scale; one ADMM pass per round, α = 0, Λ per parameter tensor"
		if m != fed.MethodLearn2pFed {
			differs = "Fashion-MNIST MLP at small scale"
		}
		t.Rows = append(t.Rows,
			Row{Setting: "Dirichlet non-IID", Method: m, Metric: "personalized test accuracy %", Paper: paper, Ours: NewStat(acc), Differs: differs},
			Row{Setting: "Dirichlet non-IID", Method: m, Metric: "messages / round", Paper: paper, Ours: NewStat(msgs)},
			Row{Setting: "Dirichlet non-IID", Method: m, Metric: "bytes / round", Paper: paper, Ours: NewStat(bytes)},
			Row{Setting: "Dirichlet non-IID", Method: m, Metric: "wall seconds per run", Paper: paper, Ours: NewStat(secs)})
	}
	if len(runs) > 0 && math.IsNaN(t.Rows[0].Ours.Mean) {
		t.Notes = append(t.Notes, "no run of the first method finished")
	}
	return t
}
