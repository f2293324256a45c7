package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

func init() { registerRepro(newReproFlatCmd) }

// flatArms are the optimizers of the flat-minima reproduction, in the order
// of the table (training.md §19).
var flatArms = []string{"sgd", "sam", "fsam", "rwp", "marwp", "arwp"}

type reproFlatFlags struct {
	data       dataFlags
	archs      string
	arms       string
	noise      string
	seeds      int
	trainN     int
	epochs     int
	batch      int
	lr         float64
	hessN      int
	hessIters  int
	jobs       int
	shard      string
	out        string
	from       []string
	asJSON     bool
	equalEvals bool
}

func newReproFlatCmd() *cobra.Command {
	var f reproFlatFlags
	cmd := &cobra.Command{
		Use:   "flat",
		Short: "Flat-minima optimizers (SGD, SAM, F-SAM, RWP, m-ARWP, ARWP) on Fashion-MNIST, clean and with label noise",
		Long: `Reproduce, at small scale, the flat-minima optimizer comparison of the
small-scale plan (training.md §19) of these papers:

  SAM     Foret et al., "Sharpness-Aware Minimization for Efficiently Improving
          Generalization", ICLR 2021 (ρ = 0.05)
  F-SAM   Li et al., "Friendly Sharpness-Aware Minimization", CVPR 2024
          (ρ = 0.05, σ = 1, λ = 0.6)
  RWP     Li et al., "Efficient Generalization Improvement Guided by Random
          Weight Perturbation" (γ = 0.01, α = 0.5; two-worker form)
  ARWP,   Li et al., "Revisiting Random Weight Perturbation for Efficiently
  m-ARWP  Improving Generalization", TMLR 2024 (ARWP std 0.001 → 0.011, η 0.1,
          β 0.99; m-ARWP σ = 0.015, λ = 0.5, η 0.1, β 0.99)

Every arm trains each architecture from the same initialisation per seed,
with the same SGD base (lr --lr, momentum 0.9 Nesterov, weight decay 5e-4,
cosine schedule, crop+flip augmentation, batch --batch) on the first
--train-n training images, clean and with each --noise rate of symmetric
label noise (the same corrupted labels for every arm of a seed). RWP and
m-ARWP use two batches per update, so they see the data twice as often for
the same number of updates, as in the official code; --equal-evals gives
them the same number of batches as SGD instead. After training each model
is evaluated on the test split (never used for any choice) and the top
Hessian eigenvalue of its training loss is estimated on the first --hess-n
training images (inference-mode batch norm, Lanczos iteration on
Hessian-vector products; the largest eigenvalue, not the largest in
magnitude).

The table reports mean ± std over the seeds of test accuracy and top
eigenvalue, and per run the number of updates, of mini-batch gradient
evaluations (each a forward+backward pass over one batch; counted) and the
median wall-clock seconds. The papers' headline numbers are on CIFAR and
ImageNet and are printed beside ours for direction only.

Runs are independent: --jobs runs them concurrently in this process,
--shard i/N runs every N-th (for separate machines or a Kubernetes Indexed
Job) and --out saves the runs as JSON; --from merges saved runs into one
table without training.`,
		Example: `  # the README's table (45 minutes on 2 cores with OpenBLAS)
  trustml repro flat

  # a quick look: one seed, the small CNN, clean and 40% noise
  trustml repro flat --archs cnn-small --seeds 1 --epochs 3 --train-n 2000

  # scale out: two shards, then merge
  trustml repro flat --shard 0/2 --out flat-0.json
  trustml repro flat --shard 1/2 --out flat-1.json
  trustml repro flat --from flat-0.json,flat-1.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReproFlat(cmd, &f) },
	}
	fl := cmd.Flags()
	f.data.add(cmd, "auto")
	fl.StringVar(&f.archs, "archs", "cnn-small,resnet8", "architectures, comma-separated ("+strings.Join(nn.Architectures, ", ")+")")
	fl.StringVar(&f.arms, "arms", strings.Join(flatArms, ","), "optimizers, comma-separated")
	fl.StringVar(&f.noise, "noise", "0,0.4", "symmetric label-noise rates, comma-separated")
	fl.IntVar(&f.seeds, "seeds", 3, "seeds per arm (1..seeds)")
	fl.IntVar(&f.trainN, "train-n", 3000, "training images used (the first n of the training split)")
	fl.IntVar(&f.epochs, "epochs", 8, "epochs of SGD; every arm makes the same number of updates")
	fl.IntVar(&f.batch, "batch", 128, "batch size")
	fl.Float64Var(&f.lr, "lr", 0.05, "base learning rate of the SGD base optimizer")
	fl.IntVar(&f.hessN, "hess-n", 256, "training images for the top Hessian eigenvalue (0 = skip)")
	fl.IntVar(&f.hessIters, "hess-iters", 15, "Lanczos steps (Hessian-vector products) for the top Hessian eigenvalue")
	fl.IntVar(&f.jobs, "jobs", 2, "runs trained concurrently")
	fl.StringVar(&f.shard, "shard", "", "run only shard i/N of the runs")
	fl.StringVar(&f.out, "out", "", "save the runs as JSON to this file (atomic)")
	fl.StringSliceVar(&f.from, "from", nil, "tabulate runs saved by --out instead of training (comma-separated files)")
	fl.BoolVar(&f.asJSON, "json", false, "print the runs and the table as JSON")
	fl.BoolVar(&f.equalEvals, "equal-evals", false, "give RWP and m-ARWP as many batches as SGD (half the updates) instead of as many updates")
	return cmd
}

// flatRun is the result of one training run of the reproduction.
type flatRun struct {
	Arch       string   `json:"arch"`
	Noise      float64  `json:"label_noise"`
	Arm        string   `json:"arm"`
	Seed       uint64   `json:"seed"`
	TrainN     int      `json:"train_n"`
	Epochs     int      `json:"epochs"`
	Data       string   `json:"data"`
	TestN      int      `json:"test_n"`
	TestAcc    float64  `json:"test_accuracy"`
	TestNLL    float64  `json:"test_nll"`
	TrainAcc   float64  `json:"train_accuracy_last_epoch"` // on the (noisy) training labels
	TopEig     *float64 `json:"top_eigenvalue"`            // nil with --hess-n 0
	Updates    int      `json:"updates"`
	GradEvals  int      `json:"grad_evals"`
	Seconds    float64  `json:"seconds"`
	EqualEvals bool     `json:"equal_evals,omitempty"`
}

// flatJob is one run to do.
type flatJob struct {
	arch  string
	noise float64
	arm   string
	seed  uint64
}

// nonEmptyList splits a comma-separated flag value, which must not be
// empty.
func nonEmptyList(s, name string) ([]string, error) {
	out := splitList(s)
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s is empty", name)
	}
	return out, nil
}

// jobsList validates the flags and lists the runs in a fixed order.
func (f *reproFlatFlags) jobsList() ([]flatJob, error) {
	archs, err := nonEmptyList(f.archs, "archs")
	if err != nil {
		return nil, err
	}
	for _, a := range archs {
		if !slices.Contains(nn.Architectures, a) {
			return nil, fmt.Errorf("--archs: unknown architecture %q (known: %s)", a, strings.Join(nn.Architectures, ", "))
		}
	}
	arms, err := nonEmptyList(f.arms, "arms")
	if err != nil {
		return nil, err
	}
	for _, a := range arms {
		if !slices.Contains(flatArms, a) {
			return nil, fmt.Errorf("--arms: unknown optimizer %q (known: %s)", a, strings.Join(flatArms, ", "))
		}
	}
	rates, err := nonEmptyList(f.noise, "noise")
	if err != nil {
		return nil, err
	}
	var noise []float64
	for _, s := range rates {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v >= 0 && v < 1) {
			return nil, fmt.Errorf("--noise: %q is not a rate in [0, 1)", s)
		}
		noise = append(noise, v)
	}
	switch {
	case f.seeds < 1:
		return nil, fmt.Errorf("--seeds must be at least 1, got %d", f.seeds)
	case f.trainN < 2*f.batch || f.batch < 1:
		return nil, fmt.Errorf("--train-n %d must hold at least two batches of --batch %d", f.trainN, f.batch)
	case f.epochs < 1:
		return nil, fmt.Errorf("--epochs must be at least 1, got %d", f.epochs)
	case !(f.lr > 0) || math.IsInf(f.lr, 0):
		return nil, fmt.Errorf("--lr must be positive, got %g", f.lr)
	case f.hessN < 0 || f.hessIters < 1:
		return nil, fmt.Errorf("--hess-n must be ≥ 0 and --hess-iters ≥ 1")
	case f.jobs < 1:
		return nil, fmt.Errorf("--jobs must be at least 1, got %d", f.jobs)
	}
	var jobs []flatJob
	for _, a := range archs {
		for _, r := range noise {
			for s := 1; s <= f.seeds; s++ {
				for _, arm := range arms {
					jobs = append(jobs, flatJob{arch: a, noise: r, arm: arm, seed: uint64(s)})
				}
			}
		}
	}
	if f.shard != "" {
		i, n, err := parseShard(f.shard)
		if err != nil {
			return nil, err
		}
		var mine []flatJob
		for k, j := range jobs {
			if k%n == i {
				mine = append(mine, j)
			}
		}
		jobs = mine
	}
	return jobs, nil
}

func runReproFlat(cmd *cobra.Command, f *reproFlatFlags) error {
	var runs []flatRun
	if len(f.from) > 0 {
		for _, p := range f.from {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var rs []flatRun
			if err := json.Unmarshal(b, &rs); err != nil {
				return fmt.Errorf("%s: not a run file of repro flat --out: %w", p, err)
			}
			runs = append(runs, rs...)
		}
	} else {
		jobs, err := f.jobsList()
		if err != nil {
			return err
		}
		if runs, err = trainFlatRuns(cmd, f, jobs); err != nil {
			return err
		}
		if f.out != "" {
			b, err := json.MarshalIndent(runs, "", " ")
			if err != nil {
				return err
			}
			if err := writeFileAtomic(f.out, append(b, '\n')); err != nil {
				return err
			}
		}
	}
	rows := summarizeFlat(runs)
	out := cmd.OutOrStdout()
	if f.asJSON {
		return writeJSON(out, map[string]any{"runs": runs, "summary": rows})
	}
	printFlatTable(out, runs, rows)
	return nil
}

// flatData loads the training subset and the test split: the full
// Fashion-MNIST when installed ("auto"), else the embedded subset.
func flatData(f *reproFlatFlags, errw io.Writer) (*data.Dataset, *data.Dataset, error) {
	df := f.data
	if df.name == "auto" {
		df.name = "fashion-mnist"
		if _, err := data.FindFashionMNIST(df.dir); err != nil {
			fmt.Fprintln(errw, "full Fashion-MNIST not found (apt-get install dataset-fashion-mnist, or --data-dir); using the embedded subset")
			df.name = data.DefaultName
		}
	}
	tr, err := df.load(data.Train)
	if err != nil {
		return nil, nil, err
	}
	te, err := df.load(data.Test)
	if err != nil {
		return nil, nil, err
	}
	if tr.Y == nil || len(tr.Shape) != 3 {
		return nil, nil, fmt.Errorf("repro flat needs a labeled image set, %s is not", tr.Name)
	}
	if tr.Len() < f.trainN {
		return nil, nil, fmt.Errorf("--train-n %d but %s has %d training images", f.trainN, tr.Name, tr.Len())
	}
	idx := make([]int, f.trainN)
	for i := range idx {
		idx[i] = i
	}
	return tr.Subset(idx), te, nil
}

func trainFlatRuns(cmd *cobra.Command, f *reproFlatFlags, jobs []flatJob) ([]flatRun, error) {
	errw := cmd.ErrOrStderr()
	tr, te, err := flatData(f, errw)
	if err != nil {
		return nil, err
	}
	// the noisy training sets, one per (rate, seed), shared by all arms
	type noiseKey struct {
		rate float64
		seed uint64
	}
	sets := map[noiseKey]*data.Dataset{}
	for _, j := range jobs {
		k := noiseKey{j.noise, j.seed}
		if sets[k] != nil {
			continue
		}
		if sets[k], _, err = data.SymmetricLabelNoise(tr, j.noise, j.seed); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(errw, "repro flat: %d runs on %d images of %s (test: %d images of %s), %d epochs, %d at a time\n",
		len(jobs), tr.Len(), tr.Name, te.Len(), te.Name, f.epochs, f.jobs)
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	runs := make([]flatRun, len(jobs))
	next := make(chan int)
	var mu sync.Mutex
	var firstErr error
	done := 0
	start := time.Now()
	bar := newBar(errw)
	var wg sync.WaitGroup
	for w := 0; w < min(f.jobs, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				r, err := flatOneRun(ctx, f, j, sets[noiseKey{j.noise, j.seed}], te)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("%s %s noise %g seed %d: %w", j.arch, j.arm, j.noise, j.seed, err)
						cancel()
					}
				} else {
					runs[i] = r
					done++
					bar.Log("%-9s noise %.1f seed %d %-6s test %s  λmax %8.2f  %4d updates %4d grad evals  %.0fs",
						j.arch, j.noise, j.seed, j.arm, pct(r.TestAcc), valueOr(r.TopEig, math.NaN()), r.Updates, r.GradEvals, r.Seconds)
					el := time.Since(start)
					eta := time.Duration(float64(el) / float64(done) * float64(len(jobs)-done))
					bar.Update("repro flat", done, len(jobs), fmt.Sprintf("%s elapsed, about %s left", el.Round(time.Second), eta.Round(time.Second)))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := cmd.Context().Err(); err != nil {
		return nil, err
	}
	return runs, nil
}

// flatOptimizer builds arm around a fresh SGD base with the official
// defaults; it returns the optimizer and the number of batches per update.
func flatOptimizer(arm string, lr float64, net *nn.Network, updates int, seed uint64) (train.Optimizer, int, error) {
	base, err := train.NewSGD(lr, 0.9, 5e-4, true)
	if err != nil {
		return nil, 0, err
	}
	r := rand.New(rand.NewPCG(seed, 0x4a7d))
	switch arm {
	case "sgd":
		return base, 1, nil
	case "sam":
		o, err := train.NewSAM(base, 0.05, false)
		return o, 1, err
	case "fsam":
		o, err := train.NewFSAM(base, 0.05, 1, 0.6)
		return o, 1, err
	case "rwp":
		o, err := train.NewRWP(base, 0.01, 0.5, r)
		if err == nil {
			o.Parallel(net.Copy())
		}
		return o, 2, err
	case "marwp":
		o, err := train.NewMARWP(base, 0.015, 0.5, 0.1, 0.99, r)
		if err == nil {
			o.Parallel(net.Copy())
		}
		return o, 2, err
	case "arwp":
		o, err := train.NewARWP(base, 0.001, 10, 0.1, 0.99, updates, r)
		return o, 1, err
	}
	return nil, 0, fmt.Errorf("unknown optimizer %q", arm)
}

func flatOneRun(ctx context.Context, f *reproFlatFlags, j flatJob, tr, te *data.Dataset) (flatRun, error) {
	start := time.Now()
	spec, err := nn.SpecFor(j.arch, tr.Shape, len(tr.Classes))
	if err != nil {
		return flatRun{}, err
	}
	net, err := nn.New(spec, j.seed)
	if err != nil {
		return flatRun{}, err
	}
	sgdSteps := f.epochs * (tr.Len() / f.batch)
	opt, per, err := flatOptimizer(j.arm, f.lr, net, sgdSteps, j.seed)
	if err != nil {
		return flatRun{}, err
	}
	batches := sgdSteps * per
	if f.equalEvals && per == 2 {
		batches = sgdSteps
	}
	if a, ok := opt.(*train.ARWP); ok {
		a.Total = batches
	}
	co := &countingOptimizer{Optimizer: opt}
	hist, err := train.Fit(ctx, net, tr.X, tr.Y, train.Config{
		Steps: batches, BatchSize: f.batch, Seed: j.seed, Optimizer: co,
		Schedule: train.Cosine{Base: f.lr}, Augment: train.Augment{CropPad: 2, FlipH: true},
	})
	if err != nil {
		return flatRun{}, err
	}
	m, _, err := metrics.EvaluateClassifier(ctx, net, te.X, te.Y)
	if err != nil {
		return flatRun{}, err
	}
	r := flatRun{Arch: j.arch, Noise: j.noise, Arm: j.arm, Seed: j.seed, TrainN: tr.Len(), Epochs: f.epochs,
		Data: te.Name, TestN: m.N, TestAcc: m.Accuracy, TestNLL: m.NLL, TrainAcc: hist[len(hist)-1].Accuracy,
		Updates: co.pairs + co.steps/per, GradEvals: co.evals, EqualEvals: f.equalEvals}
	if f.hessN > 0 {
		n := min(f.hessN, tr.Len())
		size := tr.SampleSize()
		c, err := train.FullBatch(net, tr.X[:n*size], tr.Y[:n], 256)
		if err != nil {
			return flatRun{}, err
		}
		lambda, _, err := train.LanczosTopEigenvalue(ctx, net, c, f.hessIters, 1e-3, rand.New(rand.NewPCG(j.seed, 0xe16)))
		if err != nil {
			return flatRun{}, err
		}
		r.TopEig = &lambda
	}
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// equalEvalsSuffix marks, in the table, the two-batch arms run with
// --equal-evals (SGD's number of batches, half the updates).
const equalEvalsSuffix = " (equal evals)"

// armLabel is the arm's name in the table: two-batch arms run with
// --equal-evals are a row of their own.
func (r flatRun) armLabel() string {
	if r.EqualEvals && (r.Arm == "rwp" || r.Arm == "marwp") {
		return r.Arm + equalEvalsSuffix
	}
	return r.Arm
}

// flatRow summarises the seeds of one (arch, noise, arm).
type flatRow struct {
	Arch      string   `json:"arch"`
	Noise     float64  `json:"label_noise"`
	Arm       string   `json:"arm"`
	Seeds     int      `json:"seeds"`
	AccMean   float64  `json:"test_accuracy_mean"`
	AccStd    float64  `json:"test_accuracy_std"`
	EigMean   *float64 `json:"top_eigenvalue_mean"` // nil unless every run has one
	EigStd    *float64 `json:"top_eigenvalue_std"`
	TrainAcc  float64  `json:"train_accuracy_mean"`
	Updates   int      `json:"updates"`
	GradEvals int      `json:"grad_evals"`
	Seconds   float64  `json:"seconds_median"`
	DeltaSGD  *float64 `json:"test_accuracy_minus_sgd"` // mean paired difference, nil without SGD
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func summarizeFlat(runs []flatRun) []flatRow {
	type key struct {
		arch  string
		noise float64
		arm   string
	}
	groups := map[key][]flatRun{}
	var order []key
	sgdAcc := map[key]map[uint64]float64{}
	for _, r := range runs {
		k := key{r.Arch, r.Noise, r.armLabel()}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
		if r.Arm == "sgd" {
			sk := key{r.Arch, r.Noise, ""}
			if sgdAcc[sk] == nil {
				sgdAcc[sk] = map[uint64]float64{}
			}
			sgdAcc[sk][r.Seed] = r.TestAcc
		}
	}
	armIdx := func(a string) int {
		base, eq := strings.CutSuffix(a, equalEvalsSuffix)
		i := 2 * slices.Index(flatArms, base)
		if eq {
			i++
		}
		return i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := order[a], order[b]
		if x.arch != y.arch {
			return x.arch < y.arch
		}
		if x.noise != y.noise {
			return x.noise < y.noise
		}
		return armIdx(x.arm) < armIdx(y.arm)
	})
	var rows []flatRow
	for _, k := range order {
		g := groups[k]
		var acc, eig, tacc, secs, diff []float64
		for _, r := range g {
			acc = append(acc, r.TestAcc)
			if r.TopEig != nil {
				eig = append(eig, *r.TopEig)
			}
			tacc = append(tacc, r.TrainAcc)
			secs = append(secs, r.Seconds)
			if s, ok := sgdAcc[key{k.arch, k.noise, ""}][r.Seed]; ok {
				diff = append(diff, r.TestAcc-s)
			}
		}
		row := flatRow{Arch: k.arch, Noise: k.noise, Arm: k.arm, Seeds: len(g), Updates: g[0].Updates,
			GradEvals: g[0].GradEvals, Seconds: median(secs)}
		row.AccMean, row.AccStd = meanStd(acc)
		if len(eig) == len(g) {
			m, sd := meanStd(eig)
			row.EigMean, row.EigStd = &m, &sd
		}
		row.TrainAcc, _ = meanStd(tacc)
		if len(diff) > 0 {
			d, _ := meanStd(diff)
			row.DeltaSGD = &d
		}
		rows = append(rows, row)
	}
	return rows
}

func valueOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// flatExpected is what the papers and the plan expect of each arm
// (training.md §1–§4, §19), printed beside the measured table.
var flatExpected = []string{
	"SAM     ≥ SGD by ~0.2–1 point; much better than SGD with label noise; lower λmax (SAM paper; F-SAM repo log, CIFAR-100 ResNet-18 ρ=0.2: SAM 80.78%)",
	"F-SAM   ≥ SAM slightly (F-SAM repo logs, same setting: 81.19% λ=0.6, 81.32% λ=0.95 vs SAM 80.78%)",
	"RWP     ≈ SAM at equal gradient evaluations, at SGD's wall-clock with two workers (paper: +1.1% top-1 over SAM on ImageNet at half SAM's time)",
	"m-ARWP  matches or beats SAM at 2× SGD's gradient evaluations (TMLR 2024; tables not retrieved)",
	"ARWP    better than SGD at 1× its cost (TMLR 2024; tables not retrieved)",
}

func printFlatTable(w io.Writer, runs []flatRun, rows []flatRow) {
	if len(runs) > 0 {
		r := runs[0]
		fmt.Fprintf(w, "Flat-minima optimizers on %d training images (test: %d images of %s), %d SGD epochs, batch 128, mean ± std (population) over seeds\n\n",
			r.TrainN, r.TestN, r.Data, r.Epochs)
	}
	var cells [][]string
	for _, r := range rows {
		delta := "—"
		if r.DeltaSGD != nil && r.Arm != "sgd" {
			delta = fmt.Sprintf("%+.2f", 100**r.DeltaSGD)
		}
		eig := "—"
		if r.EigMean != nil {
			eig = fmt.Sprintf("%.1f ± %.1f", *r.EigMean, *r.EigStd)
		}
		cells = append(cells, []string{r.Arch, fmt.Sprintf("%.0f%%", 100*r.Noise), r.Arm, fmt.Sprint(r.Seeds),
			fmt.Sprintf("%.2f ± %.2f", 100*r.AccMean, 100*r.AccStd), delta, eig, pct(r.TrainAcc),
			fmt.Sprint(r.Updates), fmt.Sprint(r.GradEvals), fmt.Sprintf("%.0f", r.Seconds)})
	}
	table(w, []string{"arch", "noise", "arm", "seeds", "test acc %", "Δ vs SGD", "top eig", "train acc", "updates", "grad evals", "s/run"}, cells)
	fmt.Fprintln(w, "\nΔ vs SGD: mean over seeds of the paired difference (same seed, same initialisation, same noisy labels), in points.")
	fmt.Fprintln(w, "train acc: last epoch, on the (noisy) training labels. grad evals: forward+backward passes over one batch.")
	fmt.Fprintln(w, "\nWhat the papers report and expect (CIFAR/ImageNet; direction only at this scale):")
	for _, e := range flatExpected {
		fmt.Fprintln(w, "  "+e)
	}
}
