package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/robust"
)

func init() {
	register(newAttackCmd)
	register(newMergeCmd)
}

type attackFlags struct {
	data          dataFlags
	model         string
	split         string
	n             int
	attacks       string
	defenses      string
	defenseParams []string
	norm, loss    string
	eps           float64
	budget        int
	checkpoints   string
	targeted      bool
	quantize      bool
	seed          uint64
	shard         string
	calibrate     int
	outDir        string
	asJSON        bool
}

func newAttackCmd() *cobra.Command {
	var f attackFlags
	cmd := &cobra.Command{
		Use:   "attack",
		Short: "Evaluate attacks against defenses: robust accuracy, queries, calibration",
		Long: `Run score-based query attacks (and white-box references) against a model
behind each output defense, on the same samples, and report per
attack × defense: clean accuracy, robust accuracy at query budgets, mean and
median queries of successful attacks, the defended model's ECE and the mean
absolute change the defense makes to the outputs. Writes PNG plots of robust
accuracy against queries (one line per defense) and a reliability diagram per
defense.

The model may be a checkpoint, an embedded model, or a model served over the
Open Inference Protocol (KServe, Triton, trustml serve):
--model http://host:port/v2/models/NAME.

A large evaluation splits into independent jobs with --shard i/N (for example
a Kubernetes Indexed Job with --shard $JOB_COMPLETION_INDEX/N); "trustml merge"
combines their --json outputs.

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
	fl.StringVar(&f.norm, "norm", "linf", "perturbation norm: linf or l2")
	fl.Float64Var(&f.eps, "eps", 0.1, "perturbation radius on the [0, 1] pixel scale (L∞ 0.1 is a standard Fashion-MNIST budget)")
	fl.StringVar(&f.loss, "loss", "default", "attack loss: default (each attack's reference), margin or ce")
	fl.IntVar(&f.budget, "budget", 2500, "queries per image, clean query included")
	fl.StringVar(&f.checkpoints, "checkpoints", "100,500,2500", "query budgets to report robust accuracy at (those above --budget are dropped)")
	fl.BoolVar(&f.targeted, "targeted", false, "targeted attacks with random target classes")
	fl.BoolVar(&f.quantize, "quantize", true, "quantize queried images to 8 bits, as a deployed image API would")
	fl.Uint64Var(&f.seed, "seed", 0, "seed for attacks and randomized defenses")
	fl.StringVar(&f.shard, "shard", "", "evaluate only shard i of N (samples with index mod N = i), as i/N")
	fl.IntVar(&f.calibrate, "calibrate", 1000, "tune AAA's calibration temperature on up to this many held-out images from the end of the split, disjoint from the evaluated ones (0: keep the temperature parameter)")
	fl.StringVar(&f.outDir, "out-dir", "", "write PNG plots into this directory (created if needed)")
	fl.BoolVar(&f.asJSON, "json", false, "print the full report (per-sample records included) as JSON, for trustml merge")
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
	var cfg robust.Config
	cfg.Attacks = splitList(f.attacks)
	if f.attacks == "all" {
		cfg.Attacks = nil
		for _, a := range attack.Names() {
			if a != "fgsm" && !strings.HasPrefix(a, "pgd") {
				cfg.Attacks = append(cfg.Attacks, a)
			}
		}
	}
	cfg.Defenses = splitList(f.defenses)
	if f.defenses == "all" {
		cfg.Defenses = []string{"none"}
		for _, d := range defense.Names() {
			if d != "none" {
				cfg.Defenses = append(cfg.Defenses, d)
			}
		}
	}
	cfg.DefenseParams = map[string]map[string]float64{}
	for _, dp := range f.defenseParams {
		name, params, ok := strings.Cut(dp, ":")
		if !ok {
			return cfg, fmt.Errorf("--defense-param %q: want NAME:key=value,...", dp)
		}
		m, err := defense.ParseParams(params)
		if err != nil {
			return cfg, fmt.Errorf("--defense-param %q: %w", dp, err)
		}
		cfg.DefenseParams[name] = m
	}
	var err error
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
	if cfg.Shard, cfg.Shards, err = parseShard(f.shard); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func runAttack(cmd *cobra.Command, f *attackFlags) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if f.n < 0 {
		return fmt.Errorf("--n must be ≥ 0")
	}
	sp, err := parseSplit(f.split)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	c, err := loadClassifier(ctx, f.model)
	if err != nil {
		return err
	}
	d, err := f.data.load(sp)
	if err != nil {
		return err
	}
	if err := checkDataFits(c, d); err != nil {
		return err
	}
	n := d.Len()
	if f.n > 0 && f.n < n {
		n = f.n
	}
	if err := f.calibration(&cfg, d, n); err != nil {
		return err
	}
	if n < d.Len() {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		d = d.Subset(idx)
	}
	bar := newBar(cmd.ErrOrStderr())
	cfg.Progress = pairProgress(bar, "")
	rep, err := robust.Run(ctx, c, d.X, d.Y, cfg)
	if err != nil {
		return err
	}
	rep.Model, rep.Data = f.model, fmt.Sprintf("%s (%s, first %d)", d.Name, f.split, d.Len())
	for name, t := range rep.Temperatures {
		bar.Log("%s: temperature %.2f tuned on %d held-out images", name, t, len(cfg.CalibrationY))
	}
	bar.Log("evaluated %d attack × defense pairs on %d samples", len(rep.Pairs), d.Len())
	return printReport(cmd.OutOrStdout(), rep, f.asJSON, f.outDir)
}

// pairProgress reports an evaluation's progress: a bar per attack–defense
// pair on a terminal, and one log line as each pair finishes.
func pairProgress(bar *Bar, prefix string) func(a, d string, p attack.Progress) {
	done := map[string]bool{}
	return func(a, d string, p attack.Progress) {
		label := prefix + a + " vs " + d
		bar.Update(label, p.N-p.Active, p.N, fmt.Sprintf("fooled %d/%d, %d queries", p.Fooled, p.N, p.Queries))
		if p.Active == 0 && !done[label] {
			done[label] = true
			bar.Log("%s: fooled %d of %d images, %d queries", label, p.Fooled, p.N, p.Queries)
		}
	}
}

// calibration sets aside the held-out images AAA's temperature is tuned on:
// up to --calibrate images from the end of the evaluated split, disjoint
// from the first --n that are attacked. (The train split is no use: the
// model has fit it, so its confidences there are too high.)
func (f *attackFlags) calibration(cfg *robust.Config, d *data.Dataset, n int) error {
	if f.calibrate <= 0 {
		return nil
	}
	m := min(f.calibrate, d.Len()-n)
	if m < 100 {
		return fmt.Errorf("--calibrate: only %d images of the %s split are left after the %d evaluated ones; lower --n or set --calibrate 0", max(m, 0), f.split, n)
	}
	size := d.SampleSize()
	lo := d.Len() - m
	cfg.CalibrationX, cfg.CalibrationY = d.X[lo*size:], d.Y[lo:]
	return nil
}

// checkDataFits verifies a data set fits a classifier.
func checkDataFits(c model.Classifier, d *data.Dataset) error {
	if fmt.Sprint(c.InputShape()) != fmt.Sprint(d.Shape) {
		return fmt.Errorf("data set %s has samples of shape %v, the model expects %v", d.Name, d.Shape, c.InputShape())
	}
	if d.Y == nil {
		return fmt.Errorf("data set %s has no class labels", d.Name)
	}
	if len(d.Classes) > c.NumClasses() {
		return fmt.Errorf("data set %s has %d classes, the model %d", d.Name, len(d.Classes), c.NumClasses())
	}
	return nil
}

func printReport(w io.Writer, rep *robust.Report, asJSON bool, outDir string) error {
	if outDir != "" {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return err
		}
		files, err := rep.WritePlots(outDir)
		if err != nil {
			return err
		}
		if !asJSON {
			fmt.Fprintf(w, "plots: %s\n\n", strings.Join(files, ", "))
		}
	}
	if asJSON {
		return writeJSON(w, rep)
	}
	clean := map[string]robust.DefenseSummary{}
	for _, dc := range rep.Clean {
		clean[dc.Defense] = dc.Summary
	}
	header := []string{"attack", "defense", "clean acc"}
	for _, q := range rep.Checkpoints {
		header = append(header, fmt.Sprintf("robust@%d", q))
	}
	header = append(header, "mean q", "median q", "ECE", "mean |Δ|", "failed")
	var rows [][]string
	for _, p := range rep.Pairs {
		s := p.Summary
		row := []string{p.Attack, p.Defense, pct(s.CleanAccuracy)}
		for _, a := range s.RobustAccuracy {
			row = append(row, pct(a))
		}
		mq, md := "-", "-"
		if s.Successes > 0 {
			mq, md = fmt.Sprintf("%.0f", s.MeanQueries), fmt.Sprintf("%.0f", s.MedianQueries)
		}
		cs := clean[p.Defense]
		row = append(row, mq, md, pct(cs.ECE), fmt.Sprintf("%.3f", cs.LogitChange), fmt.Sprint(s.Failed))
		rows = append(rows, row)
	}
	fmt.Fprintf(w, "model %s on %s; %s ε=%g, budget %d queries per image\n", rep.Model, rep.Data, rep.Pairs[0].Threat.Norm, rep.Pairs[0].Threat.Eps, rep.Budget)
	table(w, header, rows)
	return nil
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
			var reps []*robust.Report
			for _, a := range args {
				b, err := os.ReadFile(a)
				if err != nil {
					return err
				}
				var r robust.Report
				if err := json.Unmarshal(b, &r); err != nil {
					return fmt.Errorf("%s: not a trustml attack report: %w", a, err)
				}
				if len(r.Pairs) == 0 {
					return fmt.Errorf("%s: report has no attack results", a)
				}
				reps = append(reps, &r)
			}
			m, err := robust.Merge(reps...)
			if err != nil {
				return err
			}
			if len(m.Shards) != m.NumShards {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: merged %d of %d shards\n", len(m.Shards), m.NumShards)
			}
			return printReport(cmd.OutOrStdout(), m, asJSON, outDir)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the merged report as JSON")
	cmd.Flags().StringVar(&outDir, "out-dir", "", "write PNG plots into this directory")
	return cmd
}
