package repro

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/plot"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/train"
)

// FNGDArms are the optimizers of the natural-gradient reproduction, in
// the order of its table.
var FNGDArms = []string{"sgd", "adam", "kfac", "ngd", "fngd"}

// FNGDConfig configures [ReproFNGD]: every arm trains the same network
// from the same initialisation per seed, with the same batches (seeded
// shuffling, no augmentation), a cosine schedule from its learning rate
// and the default SGD base of "trustml train" (momentum 0.9 Nesterov,
// weight decay 5e-4) under kfac, ngd and fngd; the test split is
// evaluated EvalsPerEpoch times per epoch, outside the timed steps.
type FNGDConfig struct {
	// Data names the data set ("auto": the full Fashion-MNIST when
	// installed, else the embedded subset); Train and Test, when set, are
	// used instead.
	Data        string `flag:"data" help:"data set: auto (the full Fashion-MNIST when installed, else the embedded subset) or a name"`
	DataDir     string `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files"`
	Train, Test *data.Dataset

	Arch string   `flag:"arch" help:"architecture without batch norm or dropout (ngd and fngd need per-sample gradients): mlp or cnn"`
	Arms []string `flag:"arms" help:"optimizers, of sgd, adam, kfac, ngd, fngd"`
	// LRs gives each arm's learning rate as "arm=lr".
	LRs           []string   `flag:"lrs" help:"learning rate of each arm, arm=lr"`
	Seeds         int        `flag:"seeds" help:"seeds per arm (1..seeds)"`
	TrainN        int        `flag:"train-n" help:"training images (the first n of the training split)"`
	TestN         int        `flag:"test-n" help:"test images (0: the whole test split)"`
	Epochs        int        `flag:"epochs" help:"epochs; fngd solves in the first and reuses after"`
	Batch         int        `flag:"batch" help:"batch size"`
	EvalsPerEpoch int        `flag:"evals-per-epoch" help:"test evaluations per epoch for the accuracy-vs-time curve (untimed)"`
	Shard         shard.Spec `flag:"shard" help:"run only shard i/N of the runs"`
	// Out, when set, is the file the runs are saved to for a later merge;
	// From lists such files to merge into one table instead of training.
	Out  string   `flag:"out" help:"save the runs as JSON to this file (atomic), for --from"`
	From []string `flag:"from" help:"tabulate runs saved by --out instead of training (comma-separated files)"`
	// Plot, when set, is the PNG of test accuracy against training time.
	Plot string `flag:"plot" help:"PNG of test accuracy against training seconds, mean over seeds"`
}

// DefaultFNGDConfig returns the README's protocol: the MLP on the first
// 3,000 Fashion-MNIST training images, 10 epochs of batch 32, the full
// test split evaluated after every epoch, 3 seeds (about 5 minutes of CPU
// on one core).
func DefaultFNGDConfig() FNGDConfig {
	return FNGDConfig{Data: "auto", Arch: "mlp", Arms: slices.Clone(FNGDArms),
		LRs:   []string{"sgd=0.05", "adam=0.001", "kfac=0.01", "ngd=0.01", "fngd=0.01"},
		Seeds: 3, TrainN: 3000, Epochs: 10, Batch: 32, EvalsPerEpoch: 1}
}

// FNGDPoint is one test evaluation of a run's accuracy-vs-time curve.
type FNGDPoint struct {
	Step     int     `json:"step"`
	Seconds  float64 `json:"seconds"` // training CPU seconds (sum over the steps) so far
	Accuracy float64 `json:"accuracy"`
}

// FNGDRun is one training run.
type FNGDRun struct {
	Arm    string  `json:"arm"`
	Seed   uint64  `json:"seed"`
	LR     float64 `json:"lr"`
	Data   string  `json:"data"`
	TrainN int     `json:"train_n"`
	TestN  int     `json:"test_n"`
	Steps  int     `json:"steps"`
	Epochs int     `json:"epochs"`
	Batch  int     `json:"batch"`
	// CPU milliseconds of the process per update (the closure's pass and
	// the optimizer's work; one core's time with GOMAXPROCS=1 and one
	// OpenBLAS thread, robust to other load on the machine): median over
	// all steps, over the first epoch's and over the last epoch's.
	MsMedian float64 `json:"ms_per_update_median"`
	MsFirst  float64 `json:"ms_per_update_first_epoch"`
	MsLast   float64 `json:"ms_per_update_last_epoch"`
	// WallMsMedian is the median wall-clock milliseconds per update.
	WallMsMedian float64     `json:"wall_ms_per_update_median"`
	TrainSeconds float64     `json:"train_seconds"`      // CPU seconds: sum over the steps
	WallSeconds  float64     `json:"train_wall_seconds"` // wall seconds: sum over the steps
	TestAcc      float64     `json:"test_accuracy"`
	TestNLL      float64     `json:"test_nll"`
	Curve        []FNGDPoint `json:"curve"`
	Error        string      `json:"error,omitempty"` // the run failed; no numbers
}

// FNGDRow summarises the seeds of one arm: medians over seeds of the
// timings, mean ± std of the test accuracy.
type FNGDRow struct {
	Arm          string  `json:"arm"`
	Seeds        int     `json:"seeds"`  // runs that finished
	Failed       int     `json:"failed"` // runs that failed
	LR           float64 `json:"lr"`
	MsMedian     float64 `json:"ms_per_update_median"` // CPU, as in [FNGDRun]
	MsFirst      float64 `json:"ms_per_update_first_epoch"`
	MsLast       float64 `json:"ms_per_update_last_epoch"`
	WallMsMedian float64 `json:"wall_ms_per_update_median"`
	TrainSeconds float64 `json:"train_seconds"` // CPU
	WallSeconds  float64 `json:"train_wall_seconds"`
	Ms           Stat    `json:"ms_per_update"` // the runs' median step times
	Acc          Stat    `json:"test_accuracy"` // in %
	NLL          Stat    `json:"test_nll"`
	// AccPerSecond is test accuracy (%) divided by training seconds, per
	// seed.
	AccPerSecond Stat `json:"accuracy_per_second"`
}

// FNGDResult is what [ReproFNGD] returns.
type FNGDResult struct {
	Shard   shard.Spec `json:"shard"`
	Setup   string     `json:"setup"`
	Runs    []FNGDRun  `json:"runs"`
	Summary []FNGDRow  `json:"summary"`
	Table   *Table     `json:"table"`
	PNG     string     `json:"png,omitempty"`
}

func (cfg *FNGDConfig) lrs() (map[string]float64, error) {
	out := map[string]float64{}
	for _, s := range cfg.LRs {
		arm, v, ok := strings.Cut(s, "=")
		lr, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || !(lr > 0) || math.IsInf(lr, 0) {
			return nil, fmt.Errorf("--lrs: %q is not arm=lr with a positive lr", s)
		}
		out[strings.TrimSpace(arm)] = lr
	}
	return out, nil
}

type fngdJob struct {
	arm  string
	seed uint64
}

func (cfg *FNGDConfig) jobs() ([]fngdJob, map[string]float64, error) {
	lrs, err := cfg.lrs()
	if err != nil {
		return nil, nil, err
	}
	if len(cfg.Arms) == 0 {
		return nil, nil, fmt.Errorf("--arms must not be empty")
	}
	for _, a := range cfg.Arms {
		if !slices.Contains(FNGDArms, a) {
			return nil, nil, fmt.Errorf("--arms: unknown optimizer %q (known: %s): %w", a, strings.Join(FNGDArms, ", "), train.ErrUnknown)
		}
		if _, ok := lrs[a]; !ok {
			return nil, nil, fmt.Errorf("--lrs has no learning rate for %s (give %s=LR)", a, a)
		}
	}
	switch {
	case cfg.Seeds < 1:
		return nil, nil, fmt.Errorf("--seeds must be at least 1, got %d", cfg.Seeds)
	case cfg.Batch < 1 || cfg.TrainN < 2*cfg.Batch:
		return nil, nil, fmt.Errorf("--train-n %d must hold at least two batches of --batch %d", cfg.TrainN, cfg.Batch)
	case cfg.Epochs < 1:
		return nil, nil, fmt.Errorf("--epochs must be at least 1, got %d", cfg.Epochs)
	case cfg.EvalsPerEpoch < 1:
		return nil, nil, fmt.Errorf("--evals-per-epoch must be at least 1, got %d", cfg.EvalsPerEpoch)
	case cfg.TestN < 0:
		return nil, nil, fmt.Errorf("--test-n must be ≥ 0, got %d", cfg.TestN)
	}
	if err := cfg.Shard.Validate(); err != nil {
		return nil, nil, fmt.Errorf("--shard: %w", err)
	}
	var all []fngdJob
	for s := 1; s <= cfg.Seeds; s++ {
		for _, a := range cfg.Arms {
			all = append(all, fngdJob{a, uint64(s)})
		}
	}
	var mine []fngdJob
	for _, i := range cfg.Shard.Indices(len(all)) {
		mine = append(mine, all[i])
	}
	return mine, lrs, nil
}

// ReproFNGD reproduces, at small scale, the comparison of the inverse-free
// fast natural gradient (FNGD, training.md §9) with SGD, Adam, K-FAC and
// exact damped NGD: time per update, test accuracy after the epochs, and
// test accuracy against training time. It saves the runs to cfg.Out when
// set, or merges saved runs (cfg.From).
func ReproFNGD(ctx context.Context, cfg *FNGDConfig, rep progress.Reporter) (*FNGDResult, error) {
	res, err := reproFNGD(ctx, cfg, rep)
	if err != nil {
		return nil, fmt.Errorf("repro fngd: %w", err)
	}
	if cfg.Plot != "" {
		if err := res.WritePlot(cfg.Plot); err != nil {
			return nil, fmt.Errorf("repro fngd: %w", err)
		}
	}
	return res, nil
}

func reproFNGD(ctx context.Context, cfg *FNGDConfig, rep progress.Reporter) (*FNGDResult, error) {
	if len(cfg.From) > 0 {
		runs, setup, err := readRunFiles[FNGDRun]("fngd", cfg.From)
		if err != nil {
			return nil, err
		}
		res := NewFNGDResult(runs, setup)
		return res, nil
	}
	jobs, lrs, err := cfg.jobs()
	if err != nil {
		return nil, err
	}
	tr, te, err := loadTrainTest(cfg.Data, cfg.DataDir, cfg.Train, cfg.Test, rep)
	if err != nil {
		return nil, err
	}
	if tr.Len() < cfg.TrainN {
		return nil, fmt.Errorf("--train-n %d but %s has %d training images", cfg.TrainN, tr.Name, tr.Len())
	}
	tr = tr.Head(cfg.TrainN)
	if cfg.TestN > 0 && cfg.TestN < te.Len() {
		te = te.Head(cfg.TestN)
	}
	setup := fmt.Sprintf("data %s (train %d, test %d), arch %s, arms %v, lrs %v, seeds %d, epochs %d, batch %d, evals/epoch %d",
		tr.Name, tr.Len(), te.Len(), cfg.Arch, cfg.Arms, cfg.LRs, cfg.Seeds, cfg.Epochs, cfg.Batch, cfg.EvalsPerEpoch)
	rep = progress.Or(rep)
	runs := make([]FNGDRun, 0, len(jobs))
	for i, j := range jobs {
		r, err := cfg.run(ctx, j, lrs[j.arm], tr, te)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			r = FNGDRun{Arm: j.arm, Seed: j.seed, LR: lrs[j.arm], Error: err.Error()}
			rep.Log("%-5s seed %d FAILED: %v", j.arm, j.seed, err)
		} else {
			rep.Log("%-5s seed %d  test %.2f%%  %.1f ms/update (epoch 1 %.1f, last %.1f)  %.1fs training",
				j.arm, j.seed, 100*r.TestAcc, r.MsMedian, r.MsFirst, r.MsLast, r.TrainSeconds)
		}
		runs = append(runs, r)
		rep.Update("repro fngd", i+1, len(jobs), "")
	}
	res := NewFNGDResult(runs, setup)
	res.Shard = cfg.Shard
	if cfg.Out != "" {
		if err := writeRunFile("fngd", cfg.Out, cfg.Shard, setup, runs); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// loadTrainTest resolves "auto" and opens the training and test splits,
// unless both are given.
func loadTrainTest(name, dir string, tr, te *data.Dataset, rep progress.Reporter) (*data.Dataset, *data.Dataset, error) {
	if tr != nil && te != nil {
		return tr, te, nil
	}
	if name == "auto" || name == "" {
		name = "fashion-mnist"
		if _, err := data.FindFashionMNIST(dir); err != nil {
			progress.Or(rep).Log("full Fashion-MNIST not found (apt-get install dataset-fashion-mnist, or --data-dir); using the embedded subset")
			name = data.DefaultName
		}
	}
	var err error
	if tr, err = data.Open(name, data.Train, dir); err != nil {
		return nil, nil, err
	}
	if te, err = data.Open(name, data.Test, dir); err != nil {
		return nil, nil, err
	}
	if tr.Y == nil || te.Y == nil {
		return nil, nil, fmt.Errorf("%s has no class labels", tr.Name)
	}
	return tr, te, nil
}

// fngdTimer wraps an optimizer: it times each step and evaluates the test
// split every evalEvery steps, outside the timed part.
type fngdTimer struct {
	train.Optimizer
	ms, wall  []float64
	total     time.Duration // CPU
	wallTotal time.Duration
	evalEvery int
	eval      func() (float64, error)
	curve     []FNGDPoint
}

// ObserveBatch hands the batch to the wrapped optimizer when it needs it.
func (o *fngdTimer) ObserveBatch(b train.Batch) {
	if bo, ok := o.Optimizer.(train.BatchObserver); ok {
		bo.ObserveBatch(b)
	}
}

// Step times the wrapped optimizer's step (CPU and wall) and evaluates
// the test split every evalEvery steps.
func (o *fngdTimer) Step(p train.Params, c train.Closure) (float64, error) {
	start, cpu := time.Now(), processCPU()
	loss, err := o.Optimizer.Step(p, c)
	d, w := processCPU()-cpu, time.Since(start)
	if err != nil {
		return loss, err
	}
	o.total += d
	o.wallTotal += w
	o.ms = append(o.ms, float64(d)/float64(time.Millisecond))
	o.wall = append(o.wall, float64(w)/float64(time.Millisecond))
	if len(o.ms)%o.evalEvery == 0 {
		acc, err := o.eval()
		if err != nil {
			return loss, err
		}
		o.curve = append(o.curve, FNGDPoint{Step: len(o.ms), Seconds: o.total.Seconds(), Accuracy: acc})
	}
	return loss, nil
}

func (cfg *FNGDConfig) run(ctx context.Context, j fngdJob, lr float64, tr, te *data.Dataset) (FNGDRun, error) {
	spec, err := nn.SpecFor(cfg.Arch, tr.Shape, len(tr.Classes))
	if err != nil {
		return FNGDRun{}, err
	}
	net, err := nn.New(spec, j.seed)
	if err != nil {
		return FNGDRun{}, err
	}
	oc := train.DefaultOptimizerConfig()
	oc.LR, oc.Seed = lr, j.seed
	opt, err := train.NewOptimizer(j.arm, net, oc)
	if err != nil {
		return FNGDRun{}, err
	}
	perEpoch := tr.Len() / cfg.Batch
	var last metrics.Classification
	eval := func() (float64, error) {
		m, _, err := metrics.EvaluateClassifier(ctx, net, te.X, te.Y)
		last = m
		return m.Accuracy, err
	}
	acc0, err := eval()
	if err != nil {
		return FNGDRun{}, err
	}
	t := &fngdTimer{Optimizer: opt, evalEvery: max(1, perEpoch/cfg.EvalsPerEpoch), eval: eval,
		curve: []FNGDPoint{{Step: 0, Seconds: 0, Accuracy: acc0}}}
	if _, err := train.Fit(ctx, net, tr.X, tr.Y, train.Config{Epochs: cfg.Epochs, BatchSize: cfg.Batch, Seed: j.seed,
		Optimizer: t, Schedule: train.Cosine{Base: lr}}); err != nil {
		return FNGDRun{}, err
	}
	if t.curve[len(t.curve)-1].Step != len(t.ms) {
		acc, err := eval()
		if err != nil {
			return FNGDRun{}, err
		}
		t.curve = append(t.curve, FNGDPoint{Step: len(t.ms), Seconds: t.total.Seconds(), Accuracy: acc})
	}
	first := t.ms[:min(perEpoch, len(t.ms))]
	lastEp := t.ms[max(0, len(t.ms)-perEpoch):]
	return FNGDRun{Arm: j.arm, Seed: j.seed, LR: lr, Data: tr.Name, TrainN: tr.Len(), TestN: te.Len(), Steps: len(t.ms), Epochs: cfg.Epochs, Batch: cfg.Batch,
		MsMedian: median(t.ms), MsFirst: median(first), MsLast: median(lastEp), TrainSeconds: t.total.Seconds(),
		WallMsMedian: median(t.wall), WallSeconds: t.wallTotal.Seconds(), TestAcc: last.Accuracy, TestNLL: last.NLL, Curve: t.curve}, nil
}

// NewFNGDResult summarises runs into the per-arm rows and the
// paper-vs-ours table.
func NewFNGDResult(runs []FNGDRun, setup string) *FNGDResult {
	res := &FNGDResult{Shard: shard.Spec{Index: 0, Count: 1}, Setup: setup, Runs: runs}
	for _, arm := range fngdArmOrder(runs) {
		row := FNGDRow{Arm: arm}
		var ms, first, lastEp, secs, wms, wsecs, acc, nll, aps []float64
		for _, r := range runs {
			if r.Arm != arm {
				continue
			}
			row.LR = r.LR
			if r.Error != "" {
				row.Failed++
				continue
			}
			row.Seeds++
			ms, first, lastEp, secs = append(ms, r.MsMedian), append(first, r.MsFirst), append(lastEp, r.MsLast), append(secs, r.TrainSeconds)
			wms, wsecs = append(wms, r.WallMsMedian), append(wsecs, r.WallSeconds)
			acc, nll = append(acc, 100*r.TestAcc), append(nll, r.TestNLL)
			aps = append(aps, 100*r.TestAcc/r.TrainSeconds)
		}
		row.MsMedian, row.MsFirst, row.MsLast, row.TrainSeconds = median(ms), median(first), median(lastEp), median(secs)
		row.WallMsMedian, row.WallSeconds = median(wms), median(wsecs)
		row.Ms, row.Acc, row.NLL, row.AccPerSecond = NewStat(ms), NewStat(acc), NewStat(nll), NewStat(aps)
		res.Summary = append(res.Summary, row)
	}
	res.Table = fngdTable(runs, res.Summary)
	return res
}

// fngdArmOrder lists the arms of runs in FNGDArms order.
func fngdArmOrder(runs []FNGDRun) []string {
	var arms []string
	for _, a := range FNGDArms {
		if slices.ContainsFunc(runs, func(r FNGDRun) bool { return r.Arm == a }) {
			arms = append(arms, a)
		}
	}
	return arms
}

// The FNGD paper's numbers: paper-numbers.md has no entry; training.md §9
// quotes its abstract.
const (
	fngdSource  = "FNGD abstract, quoted in training.md §9"
	fngdSetting = "ResNet-18 on CIFAR-100 and a Transformer on Multi30K; per-arm accuracies and times are not public in text form"
)

func fngdTable(runs []FNGDRun, rows []FNGDRow) *Table {
	t := &Table{
		Paper: "Inverse-free fast natural gradient descent (FNGD), with K-FAC (Martens & Grosse, ICML 2015), exact damped NGD, SGD and Adam",
		Claim: "FNGD reuses the first epoch's natural-gradient coefficients, so later steps cost about an SGD step; ≈2.05–2.07× faster than K-FAC on ResNet-18/CIFAR-100; +24 BLEU over AdamW on Multi30K at about the same time",
	}
	var r0 *FNGDRun
	for i := range runs {
		if runs[i].Error == "" {
			r0 = &runs[i]
			break
		}
	}
	if r0 == nil {
		t.Protocol = "no finished runs"
	} else {
		t.Protocol = fmt.Sprintf("%s: first %d training images, %d test images; MLP, %d epochs of batch %d, cosine schedule; kfac/ngd/fngd on the SGD base (momentum 0.9 Nesterov, wd 5e-4); mean ± std over seeds",
			r0.Data, r0.TrainN, r0.TestN, r0.Epochs, r0.Batch)
	}
	differs := "an MLP on Fashion-MNIST, not ResNet-18 on CIFAR-100; one CPU core, not a GPU"
	paper := NotPublic(fngdSource, fngdSetting)
	for _, row := range rows {
		t.Rows = append(t.Rows,
			Row{Setting: "test after the last epoch", Method: row.Arm, Metric: "test accuracy %", Paper: paper, Ours: row.Acc, Differs: differs},
			Row{Setting: "all steps", Method: row.Arm, Metric: "CPU ms per update (median of a run)", Paper: paper, Ours: row.Ms, Differs: differs},
			Row{Setting: "test accuracy / training time", Method: row.Arm, Metric: "accuracy % per CPU second", Paper: paper, Ours: row.AccPerSecond, Differs: differs})
		if row.Failed > 0 {
			t.Failed = append(t.Failed, fmt.Sprintf("%s: %d of %d seeds failed", row.Arm, row.Failed, row.Failed+row.Seeds))
		}
	}
	// the abstract's one number: K-FAC's training time over FNGD's
	kf, fn := map[uint64]float64{}, map[uint64]float64{}
	for _, r := range runs {
		if r.Error == "" && r.Arm == "kfac" {
			kf[r.Seed] = r.TrainSeconds
		}
		if r.Error == "" && r.Arm == "fngd" {
			fn[r.Seed] = r.TrainSeconds
		}
	}
	var ratio []float64
	for s, k := range kf {
		if f, ok := fn[s]; ok && f > 0 {
			ratio = append(ratio, k/f)
		}
	}
	slices.Sort(ratio)
	t.Rows = append(t.Rows, Row{Setting: "same epochs", Method: "kfac ÷ fngd", Metric: "training CPU-time ratio (×)",
		Paper: Published(2.05, fngdSource, "ResNet-18 on CIFAR-100: FNGD ≈2.05–2.07× faster than KFAC"), Ours: NewStat(ratio),
		Differs: differs + "; ratio of whole training times at equal epochs, not time to a target accuracy"})
	for _, r := range runs {
		t.Seconds += r.TrainSeconds
	}
	t.Notes = []string{"paper-numbers.md has no FNGD entry; the 2.05 is the lower end of the abstract's range as quoted in training.md §9",
		"times are CPU time of the process, one thread (GOMAXPROCS=1, one OpenBLAS thread); the wall times in the table above grow with the load of the shared machine"}
	return t
}

// WriteText prints the per-arm table and the paper-vs-ours table; it
// returns an error after printing when a run failed.
func (r *FNGDResult) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "arm\tlr\tseeds\tCPU ms/update\tepoch 1\tlast epoch\twall ms/update\ttrain CPU s\ttrain wall s\ttest acc %\ttest NLL\tacc %/CPU s")
	for _, row := range r.Summary {
		f := func(v float64) string {
			if row.Seeds == 0 || math.IsNaN(v) {
				return "n/a"
			}
			return fmt.Sprintf("%.2f", v)
		}
		fmt.Fprintf(tw, "%s\t%g\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Arm, row.LR, row.Seeds, f(row.MsMedian), f(row.MsFirst), f(row.MsLast),
			f(row.WallMsMedian), f(row.TrainSeconds), f(row.WallSeconds), row.Acc.Format("%.2f"), row.NLL.Format("%.3f"), row.AccPerSecond.Format("%.2f"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "ms/update: medians over seeds of each run's median step time (closure pass + optimizer), overall, in the first and in the last epoch;")
	fmt.Fprintln(w, "CPU: the process's CPU time (one core with GOMAXPROCS=1), robust to other load; train s: sums over the steps (test evaluations excluded)")
	if r.PNG != "" {
		fmt.Fprintf(w, "accuracy-vs-time curve: %s\n", r.PNG)
	}
	fmt.Fprintln(w)
	if err := r.Table.WriteText(w); err != nil {
		return err
	}
	if !r.Table.Complete() {
		return fmt.Errorf("repro fngd: %d arms had failed runs (printed n/a)", len(r.Table.Failed))
	}
	return nil
}

// WritePlot draws test accuracy against training seconds, one line per
// arm (mean over the seeds of the points of each evaluation), to path.
func (r *FNGDResult) WritePlot(path string) error {
	var series []plot.Series
	for _, arm := range fngdArmOrder(r.Runs) {
		var curves [][]FNGDPoint
		for _, run := range r.Runs {
			if run.Arm == arm && run.Error == "" {
				curves = append(curves, run.Curve)
			}
		}
		if len(curves) == 0 {
			continue
		}
		n := len(curves[0])
		for _, c := range curves {
			n = min(n, len(c))
		}
		s := plot.Series{Name: arm}
		for i := 0; i < n; i++ {
			var x, y float64
			for _, c := range curves {
				x += c[i].Seconds / float64(len(curves))
				y += 100 * c[i].Accuracy / float64(len(curves))
			}
			s.X, s.Y = append(s.X, x), append(s.Y, y)
		}
		series = append(series, s)
	}
	if err := plot.Lines(path, "Fashion-MNIST MLP: test accuracy vs training time", "training CPU seconds", "test accuracy %", false, series); err != nil {
		return err
	}
	r.PNG = path
	return nil
}
