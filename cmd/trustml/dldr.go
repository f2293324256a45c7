package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

func init() { register(newDLDRCmd) }

// DLDR's subspace optimizers and their defaults (the official run scripts,
// with the epochs scaled to the small Fashion-MNIST setting).
var dldrMethods = map[string]struct {
	epochs, batch int
	label         string
}{
	"pbfgs": {2, 1024, "P-BFGS"},
	"psgd":  {5, 128, "P-SGD"},
}

type dldrFlags struct {
	data dataFlags
	// subspace phase
	dim          int
	method       string
	epochs       int
	batch        int
	psgdLR       float64
	psgdMomentum float64
	start        string
	// sampling phase (no checkpoint arguments)
	arch         string
	sampleEpochs int
	perEpoch     int // samples per epoch
	sgdEpochs    int
	lr, momentum float64
	wd           float64
	schedule     string
	sgdBatch     int
	// both
	labelNoise float64
	seed       uint64
	bnBatch    int
	out        string
	asJSON     bool
}

// dldrSamplingFlags only apply when dldr runs the sampling phase itself.
var dldrSamplingFlags = []string{"arch", "sample-epochs", "samples-per-epoch", "sgd-epochs", "lr", "momentum", "wd", "schedule", "sgd-batch"}

func newDLDRCmd() *cobra.Command {
	var f dldrFlags
	cmd := &cobra.Command{
		Use:   "dldr [CHECKPOINT...]",
		Short: "Train in the tiny subspace of an SGD trajectory (DLDR: P-BFGS, P-SGD)",
		Long: `DLDR, from Li et al., "Low Dimensional Trajectory Hypothesis is True: DNNs Can
Be Trained in Tiny Subspaces" (TPAMI 2022): the weights that SGD visits lie
close to a space of a few dimensions, so a network can be trained in it.

  1. Sampling: the initial weights w₀ and the weights after each SGD epoch.
  2. PCA of these t samples (centred, in float64, through the t×t Gram
     matrix): the top --dim directions P (t samples span at most t−1).
  3. Training from w₀ with every update in w₀ + span(P):
       pbfgs  P-BFGS: BFGS on the d coordinates with an Armijo line search on
              the same mini-batch (ρ = σ = 0.4, 20 trials; no learning rate,
              momentum or weight decay; batch 1024, 2 epochs by default)
       psgd   P-SGD: SGD on the projected gradient Pᵀ(P g) (lr 1, momentum 0.9,
              no weight decay, batch 128, ×0.1 at 75% of 5 epochs by default)
     then batch-norm statistics are recomputed on the training split.

With checkpoint arguments (e.g. OUT-ep000.ckpt … OUT-ep010.ckpt written by
"trustml train --save-every 1"), they are the samples and the first is w₀
(--start picks another). Without, dldr runs the sampling itself: SGD on
--arch for --sample-epochs epochs, samples kept in memory; --samples-per-epoch
takes several per epoch (the paper's ImageNet runs do), so that a --dim near
the number of samples does not explain everything trivially; --sgd-epochs
continues SGD further, for the final-SGD reference the paper compares with.

--label-noise corrupts that fraction of the training labels (the same ones in
both phases): the subspace is found early, before SGD memorises the wrong
labels, so the subspace model should beat SGD's final test accuracy there.
The report gives the explained variance of the directions and the test
accuracy of w₀, of the last sample, of SGD's final weights and of the
subspace model, with the gradient evaluations and seconds each took.`,
		Example: `  # everything, on the embedded Fashion-MNIST subset (a few minutes on 2 cores)
  trustml dldr

  # under 40% symmetric label noise, 15 directions of 21 samples, P-SGD
  trustml dldr --label-noise 0.4 --samples-per-epoch 2 --dim 15 --method psgd

  # from the checkpoints of an existing run (w₀ and 10 epochs)
  trustml train --arch cnn-small --epochs 10 --save-every 1 --out /tmp/run.ckpt
  trustml dldr /tmp/run-ep0*.ckpt --dim 10 --out /tmp/dldr.ckpt --json`,
		RunE: func(cmd *cobra.Command, args []string) error { return runDLDR(cmd, &f, args) },
	}
	fl := cmd.Flags()
	f.data.add(cmd, data.DefaultName)
	fl.IntVar(&f.dim, "dim", 10, "subspace dimension d: principal directions of the samples (at most samples − 1)")
	fl.StringVar(&f.method, "method", "pbfgs", "subspace optimizer: pbfgs or psgd")
	fl.IntVar(&f.epochs, "epochs", 0, "subspace training epochs (0: 2 for pbfgs, 5 for psgd)")
	fl.IntVar(&f.batch, "batch", 0, "subspace training batch size (0: 1024 for pbfgs, 128 for psgd)")
	fl.Float64Var(&f.psgdLR, "psgd-lr", 1, "P-SGD learning rate (×0.1 at 75% of the epochs)")
	fl.Float64Var(&f.psgdMomentum, "psgd-momentum", 0.9, "P-SGD momentum")
	fl.StringVar(&f.start, "start", "", "checkpoint to start the subspace training from (default: the first checkpoint, w₀)")
	fl.StringVar(&f.arch, "arch", "cnn-small", "sampling: architecture: "+strings.Join(nn.Architectures, ", "))
	fl.IntVar(&f.sampleEpochs, "sample-epochs", 10, "sampling: SGD epochs whose weights are sampled")
	fl.IntVar(&f.perEpoch, "samples-per-epoch", 1, "sampling: samples per epoch, evenly spaced in steps, the last at the epoch's end (samples = 1 + this × --sample-epochs, with w₀)")
	fl.IntVar(&f.sgdEpochs, "sgd-epochs", 0, "sampling: SGD epochs in all, for the final-SGD reference (0: --sample-epochs)")
	fl.Float64Var(&f.lr, "lr", 0.1, "sampling: SGD learning rate")
	fl.Float64Var(&f.momentum, "momentum", 0.9, "sampling: SGD momentum")
	fl.Float64Var(&f.wd, "wd", 1e-4, "sampling: SGD weight decay")
	fl.StringVar(&f.schedule, "schedule", "step", "sampling: learning-rate schedule over --sgd-epochs: step (×0.1 at 50% and 75%), cosine, constant")
	fl.IntVar(&f.sgdBatch, "sgd-batch", 128, "sampling: SGD batch size")
	fl.Float64Var(&f.labelNoise, "label-noise", 0, "symmetric label noise: this fraction of training labels is replaced by a different random class (seeded by --seed)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed for initialization, label noise and shuffling")
	fl.IntVar(&f.bnBatch, "bn-batch", 128, "batch size of the final batch-norm statistics update")
	fl.StringVar(&f.out, "out", "dldr.ckpt", "checkpoint file to write")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	return cmd
}

// dldrModel is one evaluated model of the report.
type dldrModel struct {
	Name          string                 `json:"name"`
	Test          metrics.Classification `json:"test"`
	GradientEvals int                    `json:"gradient_evaluations"` // -1: unknown (given checkpoints)
	Seconds       float64                `json:"seconds"`
}

// dldrResult is what dldr reports.
type dldrResult struct {
	Checkpoint             string             `json:"checkpoint"`
	Method                 string             `json:"method"`
	Dim                    int                `json:"dim"`
	Samples                int                `json:"samples"`
	Weights                int                `json:"weights"`
	Arch                   string             `json:"arch"`
	Data                   string             `json:"data"`
	LabelNoise             float64            `json:"label_noise"`
	ExplainedVariance      []float64          `json:"explained_variance"`
	ExplainedVarianceRatio []float64          `json:"explained_variance_ratio"`
	Explained              float64            `json:"explained_total"` // sum of the ratios
	PCASeconds             float64            `json:"pca_seconds"`
	Start                  dldrModel          `json:"start"`
	LastSample             dldrModel          `json:"last_sample"`
	SGDFinal               *dldrModel         `json:"sgd_final,omitempty"` // when SGD ran past the last sample
	Subspace               dldrModel          `json:"subspace"`
	SubspaceResidual       float64            `json:"subspace_residual"` // ‖Δ − PᵀPΔ‖/‖Δ‖, Δ = w − w₀
	BNUpdated              bool               `json:"bn_updated"`
	PBFGS                  *train.PBFGSStats  `json:"pbfgs,omitempty"`
	SamplingHistory        []train.EpochStats `json:"sampling_history,omitempty"`
	History                []train.EpochStats `json:"history"`
}

func (f *dldrFlags) check(cmd *cobra.Command, paths []string) error {
	if _, ok := dldrMethods[f.method]; !ok {
		return fmt.Errorf("unknown --method %q: want pbfgs or psgd", f.method)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case f.dim < 1:
		return fmt.Errorf("--dim must be at least 1, got %d", f.dim)
	case f.epochs < 0:
		return fmt.Errorf("--epochs must be ≥ 0 (0: the method's default), got %d", f.epochs)
	case f.batch < 0:
		return fmt.Errorf("--batch must be ≥ 0 (0: the method's default), got %d", f.batch)
	case !(f.psgdLR > 0) || !finite(f.psgdLR):
		return fmt.Errorf("--psgd-lr must be positive and finite, got %g", f.psgdLR)
	case !(f.psgdMomentum >= 0 && f.psgdMomentum < 1):
		return fmt.Errorf("--psgd-momentum must be in [0, 1), got %g", f.psgdMomentum)
	case !(f.labelNoise >= 0 && f.labelNoise < 1):
		return fmt.Errorf("--label-noise must be in [0, 1), got %g", f.labelNoise)
	case f.bnBatch <= 0:
		return fmt.Errorf("--bn-batch must be positive, got %d", f.bnBatch)
	}
	if len(paths) > 0 {
		for _, name := range dldrSamplingFlags {
			if cmd.Flags().Changed(name) {
				return fmt.Errorf("--%s only applies to the sampling run, which dldr makes when no checkpoints are given (%d given)", name, len(paths))
			}
		}
		if t := len(paths); f.dim > t-1 {
			return fmt.Errorf("--dim %d needs at least %d checkpoints (t centred samples span at most t−1 directions), got %d", f.dim, f.dim+1, t)
		}
		return nil
	}
	switch {
	case f.start != "":
		return fmt.Errorf("--start needs checkpoint arguments; without them w₀ is the sampling run's initialization")
	case f.sampleEpochs < 1:
		return fmt.Errorf("--sample-epochs must be at least 1, got %d", f.sampleEpochs)
	case f.perEpoch < 1:
		return fmt.Errorf("--samples-per-epoch must be at least 1, got %d", f.perEpoch)
	case f.sgdEpochs != 0 && f.sgdEpochs < f.sampleEpochs:
		return fmt.Errorf("--sgd-epochs %d is below --sample-epochs %d", f.sgdEpochs, f.sampleEpochs)
	case !(f.lr > 0) || !finite(f.lr):
		return fmt.Errorf("--lr must be positive and finite, got %g", f.lr)
	case !(f.momentum >= 0 && f.momentum < 1):
		return fmt.Errorf("--momentum must be in [0, 1), got %g", f.momentum)
	case !(f.wd >= 0) || !finite(f.wd):
		return fmt.Errorf("--wd must be ≥ 0 and finite, got %g", f.wd)
	case f.sgdBatch <= 0:
		return fmt.Errorf("--sgd-batch must be positive, got %d", f.sgdBatch)
	case f.dim > f.sampleEpochs*f.perEpoch:
		return fmt.Errorf("--dim %d needs at least %d samples (t centred samples span at most t−1 directions), but --sample-epochs %d × --samples-per-epoch %d gives %d with w₀: sample more or lower --dim",
			f.dim, f.dim+1, f.sampleEpochs, f.perEpoch, f.sampleEpochs*f.perEpoch+1)
	}
	_, err := train.ParseSchedule(f.schedule, f.lr)
	return err
}

// dldrTrajectory is the sampled trajectory and the reference models.
type dldrTrajectory struct {
	net        *nn.Network // holds w₀ and its buffers on return
	samples    [][]float32
	start      dldrModel
	last       dldrModel
	sgdFinal   *dldrModel
	history    []train.EpochStats
	trainNoise string // label noise the samples were trained with, if known
	trainData  string
}

func runDLDR(cmd *cobra.Command, f *dldrFlags, paths []string) error {
	if err := f.check(cmd, paths); err != nil {
		return err
	}
	ctx := cmd.Context()
	errw := cmd.ErrOrStderr()
	trainSet, err := f.data.load(data.Train)
	if err != nil {
		return err
	}
	if trainSet.Y == nil {
		return fmt.Errorf("data set %s has no class labels; dldr trains classifiers", trainSet.Name)
	}
	if f.labelNoise != 0 {
		if trainSet, _, err = data.SymmetricLabelNoise(trainSet, f.labelNoise, f.seed); err != nil {
			return fmt.Errorf("--label-noise: %w", err)
		}
	}
	testSet, err := f.data.load(data.Test)
	if err != nil {
		return err
	}
	var tr *dldrTrajectory
	if len(paths) > 0 {
		tr, err = loadTrajectory(cmd, f, paths, testSet)
	} else {
		tr, err = sampleTrajectory(cmd, f, trainSet, testSet)
	}
	if err != nil {
		return err
	}
	net := tr.net
	if err := checkShapes(net, trainSet); err != nil {
		return err
	}
	if tr.trainData != "" { // checkpoints written by trustml train
		base, _, _ := strings.Cut(tr.trainData, "+noise")
		if want, _, _ := strings.Cut(trainSet.Name, "+noise"); base != want {
			fmt.Fprintf(errw, "note: the checkpoints were trained on %s, the subspace is trained on %s\n", base, want)
		}
		noise := tr.trainNoise
		if noise == "" {
			noise = "0"
		}
		if noise != fmt.Sprint(f.labelNoise) {
			fmt.Fprintf(errw, "note: the checkpoints were trained with label noise %s, the subspace with --label-noise %g\n", noise, f.labelNoise)
		}
	}

	// PCA.
	t0 := time.Now()
	basis, variance, err := train.PCABasis(tr.samples, f.dim)
	if err != nil {
		return err
	}
	total, err := train.TotalVariance(tr.samples)
	if err != nil {
		return err
	}
	res := &dldrResult{
		Checkpoint: f.out, Method: f.method, Dim: f.dim, Samples: len(tr.samples), Weights: basis.D,
		Arch: net.Spec().Name, Data: trainSet.Name, LabelNoise: f.labelNoise,
		ExplainedVariance: variance, Start: tr.start, LastSample: tr.last, SGDFinal: tr.sgdFinal,
		SamplingHistory: tr.history,
	}
	for _, v := range variance {
		res.ExplainedVarianceRatio = append(res.ExplainedVarianceRatio, v/total)
		res.Explained += v / total
	}
	res.PCASeconds = time.Since(t0).Seconds()
	fmt.Fprintf(errw, "PCA of %d samples of %d weights: %d directions explain %.2f%% of the variance (%.1fs)\n",
		len(tr.samples), basis.D, f.dim, 100*res.Explained, res.PCASeconds)

	// Subspace training from w₀.
	m := dldrMethods[f.method]
	epochs, batch := orDefault(f.epochs, m.epochs), orDefault(f.batch, m.batch)
	var opt train.Optimizer
	var sched train.Schedule
	var pbfgs *train.PBFGS
	switch f.method {
	case "pbfgs":
		if pbfgs, err = train.NewPBFGS(basis); err != nil {
			return err
		}
		opt = pbfgs
		if hasDropout(net.Spec()) {
			fmt.Fprintf(errw, "note: %s has dropout, which draws new masks in every line-search trial; P-BFGS works best without it\n", net.Spec().Name)
		}
	case "psgd":
		sgd, err := train.NewSGD(f.psgdLR, f.psgdMomentum, 0, false)
		if err != nil {
			return err
		}
		if opt, err = train.NewProjected(sgd, basis); err != nil {
			return err
		}
		sched = train.Step{Base: f.psgdLR, Gamma: 0.1, Milestones: []float64{0.75}}
	}
	counted := &countingOptimizer{Optimizer: opt}
	w0 := slices.Clone(net.Weights())
	fmt.Fprintf(errw, "%s in %d dimensions from w₀: %d epochs, batch %d\n", m.label, f.dim, epochs, batch)
	t0 = time.Now()
	hist, err := train.Fit(ctx, net, trainSet.X, trainSet.Y, train.Config{
		Epochs: epochs, BatchSize: batch, Seed: f.seed, Optimizer: counted, Schedule: sched,
		Progress: newBar(errw),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", m.label, err)
	}
	if net.HasBatchNorm() {
		if err := train.UpdateBN(ctx, net, trainSet.X, f.bnBatch); err != nil {
			return err
		}
		res.BNUpdated = true
	}
	seconds := time.Since(t0).Seconds()
	delta := make([]float32, len(w0))
	for i, v := range net.Weights() {
		delta[i] = v - w0[i]
	}
	res.SubspaceResidual = basis.Residual(delta)
	res.History = hist
	if pbfgs != nil {
		st := pbfgs.Stats()
		res.PBFGS = &st
	}
	mt, err := evalTest(cmd, net, testSet)
	if err != nil {
		return err
	}
	res.Subspace = dldrModel{Name: fmt.Sprintf("DLDR %s (d=%d)", m.label, f.dim), Test: mt, GradientEvals: counted.evals, Seconds: seconds}

	meta := map[string]string{
		"command":           "trustml " + strings.Join(os.Args[1:], " "),
		"method":            "dldr-" + f.method,
		"dldr_dim":          fmt.Sprint(f.dim),
		"dldr_samples":      fmt.Sprint(len(tr.samples)),
		"dldr_explained":    fmt.Sprintf("%.4f", res.Explained),
		"data":              trainSet.Name,
		"arch":              net.Spec().Name,
		"classes":           strings.Join(trainSet.Classes, ","),
		"trained":           time.Now().UTC().Format(time.RFC3339),
		"epochs_done":       fmt.Sprint(epochs),
		"test_data":         testSet.Name,
		"test_accuracy":     fmt.Sprintf("%.4f", mt.Accuracy),
		"test_ece":          fmt.Sprintf("%.4f", mt.ECE),
		"test_nll":          fmt.Sprintf("%.4f", mt.NLL),
		"gradient_evals":    fmt.Sprint(counted.evals),
		"subspace_residual": fmt.Sprintf("%.3g", res.SubspaceResidual),
	}
	if len(paths) > 0 {
		meta["dldr_checkpoints"] = strings.Join(paths, ",")
	}
	if f.labelNoise != 0 {
		meta["label_noise"] = fmt.Sprint(f.labelNoise)
	}
	if err := nn.SaveFile(f.out, net, meta); err != nil {
		return err
	}
	if f.asJSON {
		return writeJSON(cmd.OutOrStdout(), res)
	}
	printDLDR(cmd.OutOrStdout(), res, testSet.Name)
	return nil
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func hasDropout(s nn.Spec) bool {
	for _, l := range s.Layers {
		if l.Kind == nn.KindDropout && l.Rate > 0 {
			return true
		}
	}
	return false
}

func evalTest(cmd *cobra.Command, net *nn.Network, testSet *data.Dataset) (metrics.Classification, error) {
	if err := checkShapes(net, testSet); err != nil {
		return metrics.Classification{}, err
	}
	m, _, err := metrics.EvaluateClassifier(cmd.Context(), net, testSet.X, testSet.Y)
	return m, err
}

// sampleTrajectory trains SGD from a fresh network, keeping w₀ and the
// weights after each of the first --sample-epochs epochs.
func sampleTrajectory(cmd *cobra.Command, f *dldrFlags, trainSet, testSet *data.Dataset) (*dldrTrajectory, error) {
	spec, err := nn.SpecFor(f.arch, trainSet.Shape, len(trainSet.Classes))
	if err != nil {
		return nil, err
	}
	net, err := nn.New(spec, f.seed)
	if err != nil {
		return nil, err
	}
	start := net.Copy()
	m0, err := evalTest(cmd, start, testSet)
	if err != nil {
		return nil, err
	}
	tr := &dldrTrajectory{
		samples: [][]float32{slices.Clone(net.Weights())},
		start:   dldrModel{Name: "w₀ (initialization)", Test: m0},
	}
	total := max(f.sgdEpochs, f.sampleEpochs)
	steps := trainSet.Len() / min(f.sgdBatch, trainSet.Len()) // per epoch, as train.Fit
	if f.perEpoch > steps {
		return nil, fmt.Errorf("--samples-per-epoch %d is more than the %d steps of an epoch", f.perEpoch, steps)
	}
	sgd, err := train.NewSGD(f.lr, f.momentum, f.wd, false)
	if err != nil {
		return nil, err
	}
	smp := &stepSampler{Optimizer: sgd, perEpoch: f.perEpoch, steps: steps, limit: f.sampleEpochs * steps,
		samples: tr.samples}
	sched, err := train.ParseSchedule(f.schedule, f.lr)
	if err != nil {
		return nil, err
	}
	errw := cmd.ErrOrStderr()
	fmt.Fprintf(errw, "sampling: SGD on %s (%d parameters), %s: %d epochs, batch %d, lr %g (%s), momentum %g, wd %g; samples w₀ and %d per epoch for epochs 1–%d\n",
		spec.Name, net.NumParams(), trainSet.Name, total, f.sgdBatch, f.lr, f.schedule, f.momentum, f.wd, f.perEpoch, f.sampleEpochs)
	t0 := time.Now()
	hist, err := train.Fit(cmd.Context(), net, trainSet.X, trainSet.Y, train.Config{
		Epochs: total, BatchSize: f.sgdBatch, Seed: f.seed, Optimizer: smp, Schedule: sched,
		Progress: newBar(errw),
		OnEpoch: func(st train.EpochStats) error {
			if st.Epoch == f.sampleEpochs {
				m, err := evalTest(cmd, net, testSet)
				if err != nil {
					return err
				}
				tr.last = dldrModel{Name: fmt.Sprintf("SGD epoch %d (last sample)", st.Epoch), Test: m,
					GradientEvals: st.Step, Seconds: time.Since(t0).Seconds()}
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("sampling: %w", err)
	}
	tr.history = hist
	tr.samples = smp.samples
	if total > f.sampleEpochs {
		m, err := evalTest(cmd, net, testSet)
		if err != nil {
			return nil, err
		}
		last := hist[len(hist)-1]
		tr.sgdFinal = &dldrModel{Name: fmt.Sprintf("SGD epoch %d (final)", last.Epoch), Test: m,
			GradientEvals: last.Step, Seconds: time.Since(t0).Seconds()}
	}
	tr.net = start
	return tr, nil
}

// stepSampler keeps the weights perEpoch times per epoch of steps
// optimizer steps, evenly spaced, the last at the epoch's end, for the
// first limit steps.
type stepSampler struct {
	train.Optimizer
	perEpoch, steps, limit int
	done                   int
	samples                [][]float32
}

// Step makes the wrapped optimizer's step, then samples the weights if
// this step ends one of the perEpoch parts of its epoch.
func (s *stepSampler) Step(p train.Params, c train.Closure) (float64, error) {
	loss, err := s.Optimizer.Step(p, c)
	if err != nil {
		return loss, err
	}
	s.done++
	if s.done <= s.limit && s.done*s.perEpoch/s.steps > (s.done-1)*s.perEpoch/s.steps {
		s.samples = append(s.samples, slices.Clone(p.Weights()))
	}
	return loss, nil
}

// loadTrajectory loads the checkpoints of one run (and --start) and
// evaluates the start and the last checkpoint.
func loadTrajectory(cmd *cobra.Command, f *dldrFlags, paths []string, testSet *data.Dataset) (*dldrTrajectory, error) {
	var first, last *nn.Network
	var firstMeta map[string]string
	tr := &dldrTrajectory{}
	sameArch := func(p string, net *nn.Network) error {
		if first == nil {
			first = net
			return nil
		}
		if !net.Spec().Equal(first.Spec()) {
			return fmt.Errorf("checkpoint %s has architecture %s (%d parameters), but %s has %s (%d parameters): DLDR needs the checkpoints of one run of one architecture",
				p, net.Spec().Name, net.NumParams(), paths[0], first.Spec().Name, first.NumParams())
		}
		return nil
	}
	for i, p := range paths {
		net, meta, err := nn.LoadFile(p)
		if err != nil {
			return nil, err
		}
		if err := sameArch(p, net); err != nil {
			return nil, err
		}
		if i == 0 {
			firstMeta = meta
		}
		tr.samples = append(tr.samples, net.Weights())
		last = net
	}
	startNet, startName := first, "w₀ = "+paths[0]
	if f.start != "" {
		net, _, err := nn.LoadFile(f.start)
		if err != nil {
			return nil, fmt.Errorf("--start: %w", err)
		}
		if err := sameArch(f.start, net); err != nil {
			return nil, err
		}
		startNet, startName = net, "start = "+f.start
	}
	m0, err := evalTest(cmd, startNet, testSet)
	if err != nil {
		return nil, err
	}
	ml, err := evalTest(cmd, last, testSet)
	if err != nil {
		return nil, err
	}
	tr.start = dldrModel{Name: startName, Test: m0}
	tr.last = dldrModel{Name: "last checkpoint " + paths[len(paths)-1], Test: ml, GradientEvals: -1}
	tr.trainNoise, tr.trainData = firstMeta["label_noise"], firstMeta["data"]
	// The subspace run must not alias the sample it starts from.
	tr.net = startNet.Copy()
	return tr, nil
}

func printDLDR(w io.Writer, r *dldrResult, testName string) {
	fmt.Fprintf(w, "DLDR: %d samples of %d weights (%s on %s", r.Samples, r.Weights, r.Arch, r.Data)
	if r.LabelNoise > 0 {
		fmt.Fprintf(w, ", %g%% label noise", 100*r.LabelNoise)
	}
	fmt.Fprintf(w, "), %d principal directions explain %s of the variance\n", r.Dim, pct(r.Explained))
	var rows [][]string
	cum := 0.0
	for j, v := range r.ExplainedVariance {
		cum += r.ExplainedVarianceRatio[j]
		rows = append(rows, []string{fmt.Sprint(j + 1), fmt.Sprintf("%.4g", v), pct(r.ExplainedVarianceRatio[j]), pct(cum)})
	}
	table(w, []string{"direction", "variance", "ratio", "cumulative"}, rows)
	fmt.Fprintln(w)
	rows = nil
	add := func(m dldrModel) {
		ge, sec := "–", "–"
		if m.GradientEvals > 0 {
			ge = fmt.Sprint(m.GradientEvals)
		}
		if m.Seconds > 0 {
			sec = fmt.Sprintf("%.1f", m.Seconds)
		}
		rows = append(rows, []string{m.Name, pct(m.Test.Accuracy), fmt.Sprintf("%.4f", m.Test.NLL), ge, sec})
	}
	add(r.Start)
	add(r.LastSample)
	if r.SGDFinal != nil {
		add(*r.SGDFinal)
	}
	add(r.Subspace)
	table(w, []string{"model", "test acc (" + testName + ")", "test nll", "gradient evals", "seconds"}, rows)
	if r.PBFGS != nil {
		st := r.PBFGS
		fmt.Fprintf(w, "P-BFGS: %d steps, %.2f line-search trials per step, %d without an acceptable step, %d curvature pairs skipped\n",
			st.Steps, float64(st.Trials)/float64(max(st.Steps, 1)), st.Failed, st.SkippedPairs)
	}
	fmt.Fprintf(w, "saved %s", r.Checkpoint)
	if r.BNUpdated {
		fmt.Fprint(w, " (batch-norm statistics recomputed)")
	}
	fmt.Fprintln(w)
}
