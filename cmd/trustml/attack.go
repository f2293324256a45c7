package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/robust"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/zoo"
)

func init() {
	register(newAttackCmd)
	register(newMergeCmd)
}

type attackFlags struct {
	data                                        dataFlags
	model, split, attacks, defenses, norm, loss string
	featuresOutput                              string
	checkpoints, shard, outDir                  string
	defenseParams, attackParams                 []string
	n, budget, calibrate, retries               int
	eps                                         float64
	targeted, quantize, asJSON, allowFailures   bool
	seed                                        uint64
	backoff, timeout                            time.Duration
}

func newAttackCmd() *cobra.Command {
	var f attackFlags
	cmd := &cobra.Command{
		Use:   "attack",
		Short: "Evaluate attacks against defenses: robust accuracy, queries, calibration",
		Long: `Run score-based query attacks (and white-box references) against a model
behind each output defense, on the same samples, and report per attack ×
defense: clean accuracy, robust accuracy at query budgets, mean and median
queries of successful attacks, the defended model's ECE and the mean absolute
change the defense makes to the outputs, with PNG plots (--out-dir). The model
may be a checkpoint, an embedded model, or a model served over the Open
Inference Protocol: --model http://host:port/v2/models/NAME. A large
evaluation splits into jobs with --shard i/N; "trustml merge" combines their
--json outputs.

Attacks: ` + strings.Join(attack.Names(), ", ") + `
Defenses: ` + strings.Join(defense.Names(), ", "),
		Example: `  # AAA against Square on 200 embedded test images, 500 queries
  trustml attack --attacks square --defenses none,aaa-linear --n 200 --budget 500

  # every attack against every defense, as 4 jobs, then merged
  trustml attack --attacks all --defenses all --shard 0/4 --json > s0.json   # ... s3.json
  trustml merge s0.json s1.json s2.json s3.json

  # a served model
  trustml attack --model http://127.0.0.1:8080/v2/models/fashion-cnn --attacks square --budget 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAttack(cmd, &f) },
	}
	fl := cmd.Flags()
	f.data.add(cmd, data.DefaultName)
	fl.StringVar(&f.model, "model", "default", modelHelp+", or http://host:port/v2/models/NAME")
	fl.StringVar(&f.split, "split", "test", "split: train or test")
	fl.IntVar(&f.n, "n", 500, "evaluate the first n samples of the split (0 = all)")
	fl.StringVar(&f.attacks, "attacks", "square", `comma-separated attacks, or "all" (score-based ones)`)
	fl.StringVar(&f.defenses, "defenses", "none,aaa-linear,aaa-sine,rnd,outrnd", `comma-separated defenses, or "all"`)
	fl.StringArrayVar(&f.defenseParams, "defense-param", nil, `defense parameters as NAME:key=value,... (repeatable), e.g. aaa-linear:tau=3`)
	fl.StringArrayVar(&f.attackParams, "attack-param", nil, `attack settings as NAME:key=value,... (repeatable), e.g. square:p_init=0.3,n_iters=10000 (AAA's protocol)`)
	fl.StringVar(&f.norm, "norm", "linf", "perturbation norm: linf or l2")
	fl.Float64Var(&f.eps, "eps", 0.1, "perturbation radius on the [0, 1] pixel scale (L∞ 0.1 is a standard Fashion-MNIST budget)")
	fl.StringVar(&f.loss, "loss", "default", "attack loss: default (each attack's reference), margin, ce, or the AAA paper's adaptive up or bi (square only)")
	fl.IntVar(&f.budget, "budget", 2500, "queries per image, clean query included")
	fl.StringVar(&f.checkpoints, "checkpoints", "100,500,2500", "query budgets to report robust accuracy at (those above --budget are dropped)")
	fl.BoolVar(&f.targeted, "targeted", false, "targeted attacks with random target classes")
	fl.BoolVar(&f.quantize, "quantize", true, "quantize queried images to 8 bits, as a deployed image API would")
	fl.Uint64Var(&f.seed, "seed", 0, "seed for attacks and randomized defenses")
	fl.StringVar(&f.shard, "shard", "", "evaluate only shard i of N (samples with index mod N = i), as i/N")
	fl.IntVar(&f.calibrate, "calibrate", 2000, "tune AAA's calibration temperature on up to this many held-out images from the end of the split, disjoint from the evaluated ones (0: keep the temperature parameter)")
	fl.StringVar(&f.outDir, "out-dir", "", "write PNG plots into this directory (created if needed)")
	fl.BoolVar(&f.asJSON, "json", false, "print the full report (per-sample records included) as JSON, for trustml merge")
	fl.BoolVar(&f.allowFailures, "allow-failures", false, "exit 0 even if samples failed (the model errored); they are reported either way")
	fl.IntVar(&f.retries, "retries", 2, "served model: retries of a request after a timeout, connection error or 5xx (0 to 10)")
	fl.DurationVar(&f.backoff, "retry-backoff", 100*time.Millisecond, "served model: wait before the first retry, doubled for each further one (at most 1m)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "served model: time limit of each attempt of a request")
	fl.StringVar(&f.featuresOutput, "features-output", "", zoo.FeaturesHelp)
	completeNames(cmd, "attacks", append(attack.Names(), "all"))
	completeNames(cmd, "defenses", append(defense.Names(), "all"))
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (f *attackFlags) config() (robust.Config, error) {
	attacks, defenses := splitList(f.attacks), splitList(f.defenses)
	params, err := robust.ParseNamedParams(f.defenseParams)
	if err != nil {
		return robust.Config{}, fmt.Errorf("--defense-param: %w", err)
	}
	aparams, err := robust.ParseNamedParams(f.attackParams)
	if err != nil {
		return robust.Config{}, fmt.Errorf("--attack-param: %w", err)
	}
	cfg, err := robust.NamedConfig(attacks, defenses, params)
	if err == nil {
		err = cfg.SetAttackParams(aparams)
	}
	if err != nil {
		return cfg, err
	}
	if cfg.Norm, err = attack.ParseNorm(f.norm); err != nil {
		return cfg, err
	}
	if cfg.Loss, err = attack.ParseLoss(f.loss); err != nil {
		return cfg, err
	}
	cfg.Eps, cfg.Budget, cfg.Targeted, cfg.Quantize, cfg.Seed = f.eps, f.budget, f.targeted, f.quantize, f.seed
	for _, c := range splitList(f.checkpoints) {
		q, err := strconv.Atoi(c)
		if err != nil || q <= 0 {
			return cfg, fmt.Errorf("--checkpoints: %q is not a positive integer", c)
		}
		if q <= f.budget {
			cfg.Checkpoints = append(cfg.Checkpoints, q)
		}
	}
	cfg.Shard, err = shard.Parse(f.shard)
	return cfg, err
}

func runAttack(cmd *cobra.Command, f *attackFlags) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	sp, err := parseSplit(f.split)
	if err != nil {
		return err
	}
	if f.retries < 0 || f.retries > 10 || f.backoff < 0 || f.backoff > time.Minute || f.timeout <= 0 {
		return fmt.Errorf("--retries must be in [0, 10], --retry-backoff in [0, 1m] and --timeout positive")
	}
	// oip's Retries 0 means its default: none is −1.
	c, err := zoo.Open(cmd.Context(), f.model, oip.ClientOptions{Retries: f.retries - 1 + min(f.retries, 1), Backoff: f.backoff, Timeout: f.timeout, FeaturesOutput: f.featuresOutput})
	if err != nil {
		return err
	}
	d, err := f.data.load(sp)
	if err != nil {
		return err
	}
	bar := newBar(cmd.ErrOrStderr())
	cfg.Progress = bar
	// AAA's temperature is tuned on images from the end of the split (the
	// train split is no use: the model has fit it).
	rep, err := robust.RunDataset(cmd.Context(), c, d, f.n, f.calibrate, cfg)
	if err != nil {
		return err
	}
	rep.Model, rep.Data = f.model, fmt.Sprintf("%s (%s, first %d)", d.Name, f.split, rep.N)
	bar.Log("evaluated %d attack × defense pairs on %d samples", len(rep.Pairs), rep.N)
	return failures(bar, rep.Failures(), f.allowFailures, printReport(cmd.OutOrStdout(), rep, f.asJSON, f.outDir))
}

// failures is a command's exit error once its report is printed (err,
// from printing it, or nil): failed samples are an error too unless
// allowed, and are then logged.
func failures(bar *Bar, failed error, allow bool, err error) error {
	if failed != nil && allow {
		bar.Log("%v (allowed)", failed)
	} else if failed != nil {
		err = errors.Join(err, fmt.Errorf("%w (--allow-failures to exit 0)", failed))
	}
	return err
}

// printReport writes the plots into outDir (if set) and prints the report
// as a table or as JSON.
func printReport(w io.Writer, rep *robust.Report, asJSON bool, outDir string) error {
	if outDir != "" {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return err
		}
		files, err := rep.WritePlots(outDir)
		if err != nil {
			return fmt.Errorf("plots: %w", err)
		}
		if !asJSON {
			fmt.Fprintf(w, "plots: %s\n\n", strings.Join(files, ", "))
		}
	}
	if asJSON {
		return writeJSON(w, rep)
	}
	return rep.WriteText(w)
}

func newMergeCmd() *cobra.Command {
	var (
		asJSON bool
		outDir string
	)
	cmd := &cobra.Command{
		Use:   "merge SHARD.json...",
		Short: "Merge the --json reports of sharded \"trustml attack\" runs into one report",
		Example: `  trustml attack --shard 0/2 --json > a.json
  trustml attack --shard 1/2 --json > b.json
  trustml merge a.json b.json --out-dir plots`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := robust.MergeFiles(args...)
			if err != nil {
				return err
			}
			return printReport(cmd.OutOrStdout(), m, asJSON, outDir)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the merged report as JSON")
	cmd.Flags().StringVar(&outDir, "out-dir", "", "write PNG plots into this directory")
	return cmd
}
