package train

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/registry"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
)

// DLDRMethod is a subspace optimizer of DLDR, registered by name.
type DLDRMethod struct {
	Label         string // "P-BFGS"
	Epochs, Batch int    // defaults (the official run scripts', epochs scaled down)
	// New builds the optimizer (and schedule, nil for none) that trains in
	// the span of basis.
	New func(basis *Subspace, cfg DLDRConfig) (Optimizer, Schedule, error)
}

var dldrMethods = registry.New[DLDRMethod]("DLDR method")

// RegisterDLDRMethod adds a subspace optimizer under name (from an init
// function); it panics if the name is taken.
func RegisterDLDRMethod(name string, m DLDRMethod) { dldrMethods.Register(name, m) }

// LookupDLDRMethod returns the method registered under name, or an error
// matching [ErrUnknown] that lists the names.
func LookupDLDRMethod(name string) (DLDRMethod, error) { return dldrMethods.Lookup(name) }

// DLDRMethodNames lists the registered DLDR methods, sorted.
func DLDRMethodNames() []string { return dldrMethods.Names() }

func init() {
	RegisterDLDRMethod("pbfgs", DLDRMethod{Label: "P-BFGS", Epochs: 2, Batch: 1024,
		New: func(basis *Subspace, _ DLDRConfig) (Optimizer, Schedule, error) {
			o, err := NewPBFGS(basis)
			return o, nil, err
		}})
	RegisterDLDRMethod("psgd", DLDRMethod{Label: "P-SGD", Epochs: 5, Batch: 128,
		New: func(basis *Subspace, cfg DLDRConfig) (Optimizer, Schedule, error) {
			sgd, err := NewSGD(cfg.PSGDLR, cfg.PSGDMomentum, 0, false)
			if err != nil {
				return nil, nil, err
			}
			o, err := NewProjected(sgd, basis)
			return o, Step{Base: cfg.PSGDLR, Gamma: 0.1, Milestones: []float64{0.75}}, err
		}})
}

// DLDRSampling configures the SGD run whose weights DLDR samples when no
// checkpoints are given.
type DLDRSampling struct {
	Arch        string  `flag:"arch" help:"sampling: architecture (nn.Architectures)"`
	Epochs      int     `flag:"sample-epochs" help:"sampling: SGD epochs whose weights are sampled"`
	PerEpoch    int     `flag:"samples-per-epoch" help:"sampling: samples per epoch, evenly spaced in steps, the last at the epoch's end"`
	TotalEpochs int     `flag:"sgd-epochs" help:"sampling: SGD epochs in all, for the final-SGD reference (0: --sample-epochs)"`
	LR          float64 `flag:"lr" help:"sampling: SGD learning rate"`
	Momentum    float64 `flag:"momentum" help:"sampling: SGD momentum"`
	WeightDecay float64 `flag:"wd" help:"sampling: SGD weight decay"`
	Schedule    string  `flag:"schedule" help:"sampling: learning-rate schedule over --sgd-epochs: step (×0.1 at 50% and 75%), cosine, constant"`
	Batch       int     `flag:"sgd-batch" help:"sampling: SGD batch size"`
}

// DLDRConfig configures [DLDR]; [DefaultDLDRConfig] gives the defaults.
type DLDRConfig struct {
	Train, Test *data.Dataset // required, with class labels
	// Checkpoints are the samples (e.g. written by "trustml train
	// --save-every 1"), the first being w₀; Start, if set, is another
	// checkpoint to start from. Without checkpoints DLDR samples an SGD
	// run itself (Sampling).
	Checkpoints []string
	Start       string `flag:"start" help:"checkpoint to start the subspace training from (default: the first checkpoint, w₀)"`
	Sampling    DLDRSampling

	Dim    int    `flag:"dim" help:"subspace dimension d: principal directions of the samples (at most samples − 1)"`
	Method string `flag:"method" help:"subspace optimizer: pbfgs, psgd"`
	// Epochs and Batch set the subspace training; 0: the method's defaults.
	Epochs       int     `flag:"epochs" help:"subspace training epochs (0: 2 for pbfgs, 5 for psgd)"`
	Batch        int     `flag:"batch" help:"subspace training batch size (0: 1024 for pbfgs, 128 for psgd)"`
	PSGDLR       float64 `flag:"psgd-lr" help:"P-SGD learning rate (×0.1 at 75% of the epochs)"`
	PSGDMomentum float64 `flag:"psgd-momentum" help:"P-SGD momentum"`
	// LabelNoise is symmetric label noise on Train (both phases).
	LabelNoise float64 `flag:"label-noise" help:"symmetric label noise: this fraction of training labels is replaced by a different random class (seeded by --seed)"`
	Seed       uint64  `flag:"seed" help:"seed for initialization, label noise and shuffling"`
	// BNBatch is the batch of the final batch-norm statistics update.
	BNBatch int `flag:"bn-batch" help:"batch size of the final batch-norm statistics update"`
	// Out is the checkpoint written; empty writes none. Meta is added to
	// its metadata.
	Out      string `flag:"out" help:"checkpoint file to write"`
	Meta     map[string]string
	Progress progress.Reporter
}

// DefaultDLDRConfig returns the defaults of "trustml dldr".
func DefaultDLDRConfig() DLDRConfig {
	return DLDRConfig{
		Sampling: DLDRSampling{Arch: "cnn-small", Epochs: 10, PerEpoch: 1, LR: 0.1, Momentum: 0.9,
			WeightDecay: 1e-4, Schedule: "step", Batch: 128},
		Dim: 10, Method: "pbfgs", PSGDLR: 1, PSGDMomentum: 0.9, Seed: 1, BNBatch: 128, Out: "dldr.ckpt",
	}
}

// DLDRModel is one evaluated model of the report.
type DLDRModel struct {
	Name          string                 `json:"name"`
	Test          metrics.Classification `json:"test"`
	GradientEvals int                    `json:"gradient_evaluations"` // -1: unknown (given checkpoints)
	Seconds       float64                `json:"seconds"`
}

// DLDRResult is what [DLDR] reports.
type DLDRResult struct {
	Checkpoint             string       `json:"checkpoint"`
	Method                 string       `json:"method"`
	Label                  string       `json:"-"`
	Dim                    int          `json:"dim"`
	Samples                int          `json:"samples"`
	Weights                int          `json:"weights"`
	Arch                   string       `json:"arch"`
	Data                   string       `json:"data"`
	TestData               string       `json:"-"`
	LabelNoise             float64      `json:"label_noise"`
	ExplainedVariance      []float64    `json:"explained_variance"`
	ExplainedVarianceRatio []float64    `json:"explained_variance_ratio"`
	Explained              float64      `json:"explained_total"` // sum of the ratios
	PCASeconds             float64      `json:"pca_seconds"`
	Start                  DLDRModel    `json:"start"`
	LastSample             DLDRModel    `json:"last_sample"`
	SGDFinal               *DLDRModel   `json:"sgd_final,omitempty"` // when SGD ran past the last sample
	Subspace               DLDRModel    `json:"subspace"`
	SubspaceResidual       float64      `json:"subspace_residual"` // ‖Δ − PᵀPΔ‖/‖Δ‖, Δ = w − w₀
	BNUpdated              bool         `json:"bn_updated"`
	PBFGS                  *PBFGSStats  `json:"pbfgs,omitempty"`
	SamplingHistory        []EpochStats `json:"sampling_history,omitempty"`
	History                []EpochStats `json:"history"`
	Net                    *nn.Network  `json:"-"` // the subspace model
}

func finite64(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (cfg *DLDRConfig) check() error {
	if _, err := LookupDLDRMethod(cfg.Method); err != nil {
		return fmt.Errorf("unknown --method %q: %w", cfg.Method, err)
	}
	switch {
	case cfg.Train == nil || cfg.Test == nil:
		return fmt.Errorf("DLDR needs a training and a test set")
	case cfg.Dim < 1:
		return fmt.Errorf("--dim must be at least 1, got %d", cfg.Dim)
	case cfg.Epochs < 0:
		return fmt.Errorf("--epochs must be ≥ 0 (0: the method's default), got %d", cfg.Epochs)
	case cfg.Batch < 0:
		return fmt.Errorf("--batch must be ≥ 0 (0: the method's default), got %d", cfg.Batch)
	case !(cfg.PSGDLR > 0) || !finite64(cfg.PSGDLR):
		return fmt.Errorf("--psgd-lr must be positive and finite, got %g", cfg.PSGDLR)
	case !(cfg.PSGDMomentum >= 0 && cfg.PSGDMomentum < 1):
		return fmt.Errorf("--psgd-momentum must be in [0, 1), got %g", cfg.PSGDMomentum)
	case !(cfg.LabelNoise >= 0 && cfg.LabelNoise < 1):
		return fmt.Errorf("--label-noise must be in [0, 1), got %g", cfg.LabelNoise)
	case cfg.BNBatch <= 0:
		return fmt.Errorf("--bn-batch must be positive, got %d", cfg.BNBatch)
	}
	if t := len(cfg.Checkpoints); t > 0 {
		if cfg.Dim > t-1 {
			return fmt.Errorf("--dim %d needs at least %d checkpoints (t centred samples span at most t−1 directions), got %d", cfg.Dim, cfg.Dim+1, t)
		}
		return nil
	}
	s := cfg.Sampling
	switch {
	case cfg.Start != "":
		return fmt.Errorf("--start needs checkpoint arguments; without them w₀ is the sampling run's initialization")
	case s.Epochs < 1:
		return fmt.Errorf("--sample-epochs must be at least 1, got %d", s.Epochs)
	case s.PerEpoch < 1:
		return fmt.Errorf("--samples-per-epoch must be at least 1, got %d", s.PerEpoch)
	case s.TotalEpochs != 0 && s.TotalEpochs < s.Epochs:
		return fmt.Errorf("--sgd-epochs %d is below --sample-epochs %d", s.TotalEpochs, s.Epochs)
	case !(s.LR > 0) || !finite64(s.LR):
		return fmt.Errorf("--lr must be positive and finite, got %g", s.LR)
	case !(s.Momentum >= 0 && s.Momentum < 1):
		return fmt.Errorf("--momentum must be in [0, 1), got %g", s.Momentum)
	case !(s.WeightDecay >= 0) || !finite64(s.WeightDecay):
		return fmt.Errorf("--wd must be ≥ 0 and finite, got %g", s.WeightDecay)
	case s.Batch <= 0:
		return fmt.Errorf("--sgd-batch must be positive, got %d", s.Batch)
	case cfg.Dim > s.Epochs*s.PerEpoch:
		return fmt.Errorf("--dim %d needs at least %d samples (t centred samples span at most t−1 directions), but --sample-epochs %d × --samples-per-epoch %d gives %d with w₀: sample more or lower --dim",
			cfg.Dim, cfg.Dim+1, s.Epochs, s.PerEpoch, s.Epochs*s.PerEpoch+1)
	}
	_, err := ParseSchedule(s.Schedule, s.LR)
	return err
}

// dldrTrajectory is the sampled trajectory and the reference models.
type dldrTrajectory struct {
	net        *nn.Network // holds w₀ and its buffers on return
	samples    [][]float32
	start      DLDRModel
	last       DLDRModel
	sgdFinal   *DLDRModel
	history    []EpochStats
	trainNoise string // label noise the samples were trained with, if known
	trainData  string
}

// DLDR trains in the tiny subspace of an SGD trajectory (Li et al., "Low
// Dimensional Trajectory Hypothesis is True: DNNs Can Be Trained in Tiny
// Subspaces", TPAMI 2022): it samples the trajectory (or loads the given
// checkpoints), takes the top cfg.Dim principal directions of the samples,
// trains from w₀ in w₀ + span(P) with the registered method, recomputes
// batch-norm statistics and evaluates every model on the test split.
func DLDR(ctx context.Context, cfg DLDRConfig) (*DLDRResult, error) {
	res, err := dldr(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("dldr: %w", err)
	}
	return res, nil
}

func dldr(ctx context.Context, cfg DLDRConfig) (*DLDRResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	rep := progress.Or(cfg.Progress)
	trainSet, testSet := cfg.Train, cfg.Test
	if trainSet.Y == nil {
		return nil, fmt.Errorf("data set %s has no class labels; dldr trains classifiers", trainSet.Name)
	}
	if cfg.LabelNoise != 0 {
		var err error
		if trainSet, _, err = data.SymmetricLabelNoise(trainSet, cfg.LabelNoise, cfg.Seed); err != nil {
			return nil, fmt.Errorf("--label-noise: %w", err)
		}
	}
	var tr *dldrTrajectory
	var err error
	if len(cfg.Checkpoints) > 0 {
		tr, err = loadTrajectory(ctx, &cfg, testSet)
	} else {
		tr, err = sampleTrajectory(ctx, &cfg, trainSet, testSet)
	}
	if err != nil {
		return nil, err
	}
	net := tr.net
	if err := checkData(net, trainSet); err != nil {
		return nil, err
	}
	if tr.trainData != "" { // checkpoints written by trustml train
		base, _, _ := strings.Cut(tr.trainData, "+noise")
		if want, _, _ := strings.Cut(trainSet.Name, "+noise"); base != want {
			rep.Log("note: the checkpoints were trained on %s, the subspace is trained on %s", base, want)
		}
		noise := tr.trainNoise
		if noise == "" {
			noise = "0"
		}
		if noise != fmt.Sprint(cfg.LabelNoise) {
			rep.Log("note: the checkpoints were trained with label noise %s, the subspace with --label-noise %g", noise, cfg.LabelNoise)
		}
	}

	// PCA.
	t0 := time.Now()
	basis, variance, err := PCABasis(tr.samples, cfg.Dim)
	if err != nil {
		return nil, err
	}
	total, err := TotalVariance(tr.samples)
	if err != nil {
		return nil, err
	}
	m, _ := LookupDLDRMethod(cfg.Method)
	res := &DLDRResult{
		Checkpoint: cfg.Out, Method: cfg.Method, Label: m.Label, Dim: cfg.Dim, Samples: len(tr.samples), Weights: basis.D,
		Arch: net.Spec().Name, Data: trainSet.Name, TestData: testSet.Name, LabelNoise: cfg.LabelNoise,
		ExplainedVariance: variance, Start: tr.start, LastSample: tr.last, SGDFinal: tr.sgdFinal,
		SamplingHistory: tr.history,
	}
	for _, v := range variance {
		res.ExplainedVarianceRatio = append(res.ExplainedVarianceRatio, v/total)
		res.Explained += v / total
	}
	res.PCASeconds = time.Since(t0).Seconds()
	rep.Log("PCA of %d samples of %d weights: %d directions explain %.2f%% of the variance (%.1fs)",
		len(tr.samples), basis.D, cfg.Dim, 100*res.Explained, res.PCASeconds)

	// Subspace training from w₀.
	epochs, batch := m.Epochs, m.Batch
	if cfg.Epochs > 0 {
		epochs = cfg.Epochs
	}
	if cfg.Batch > 0 {
		batch = cfg.Batch
	}
	opt, sched, err := m.New(basis, cfg)
	if err != nil {
		return nil, err
	}
	if _, ok := opt.(*PBFGS); ok && hasDropout(net.Spec()) {
		rep.Log("note: %s has dropout, which draws new masks in every line-search trial; P-BFGS works best without it", net.Spec().Name)
	}
	counted := &Counter{Optimizer: opt}
	w0 := slices.Clone(net.Weights())
	rep.Log("%s in %d dimensions from w₀: %d epochs, batch %d", m.Label, cfg.Dim, epochs, batch)
	t0 = time.Now()
	hist, err := Fit(ctx, net, trainSet.X, trainSet.Y, Config{
		Epochs: epochs, BatchSize: batch, Seed: cfg.Seed, Optimizer: counted, Schedule: sched,
		Progress: cfg.Progress,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Label, err)
	}
	if net.HasBatchNorm() {
		if err := UpdateBN(ctx, net, trainSet.X, cfg.BNBatch); err != nil {
			return nil, err
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
	if pb, ok := opt.(*PBFGS); ok {
		st := pb.Stats()
		res.PBFGS = &st
	}
	mt, err := evalOn(ctx, net, testSet)
	if err != nil {
		return nil, err
	}
	res.Subspace = DLDRModel{Name: fmt.Sprintf("DLDR %s (d=%d)", m.Label, cfg.Dim), Test: mt, GradientEvals: counted.Evals, Seconds: seconds}
	res.Net = net
	if cfg.Out == "" {
		return res, nil
	}
	meta := map[string]string{
		"method":            "dldr-" + cfg.Method,
		"dldr_dim":          fmt.Sprint(cfg.Dim),
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
		"gradient_evals":    fmt.Sprint(counted.Evals),
		"subspace_residual": fmt.Sprintf("%.3g", res.SubspaceResidual),
	}
	for k, v := range cfg.Meta {
		meta[k] = v
	}
	if len(cfg.Checkpoints) > 0 {
		meta["dldr_checkpoints"] = strings.Join(cfg.Checkpoints, ",")
	}
	if cfg.LabelNoise != 0 {
		meta["label_noise"] = fmt.Sprint(cfg.LabelNoise)
	}
	if err := nn.SaveFile(cfg.Out, net, meta); err != nil {
		return nil, err
	}
	return res, nil
}

func hasDropout(s nn.Spec) bool {
	for _, l := range s.Layers {
		if l.Kind == nn.KindDropout && l.Rate > 0 {
			return true
		}
	}
	return false
}

// checkData verifies that a labelled data set fits a network.
func checkData(net *nn.Network, d *data.Dataset) error {
	return d.CheckFits(net.InputShape(), net.NumClasses())
}

// evalOn evaluates net on a labelled data set that must fit it.
func evalOn(ctx context.Context, net *nn.Network, d *data.Dataset) (metrics.Classification, error) {
	if err := checkData(net, d); err != nil {
		return metrics.Classification{}, err
	}
	m, _, err := metrics.EvaluateClassifier(ctx, net, d.X, d.Y)
	return m, err
}

// sampleTrajectory trains SGD from a fresh network, keeping w₀ and the
// weights PerEpoch times per epoch of the first Sampling.Epochs epochs.
func sampleTrajectory(ctx context.Context, cfg *DLDRConfig, trainSet, testSet *data.Dataset) (*dldrTrajectory, error) {
	s := cfg.Sampling
	spec, err := nn.SpecFor(s.Arch, trainSet.Shape, len(trainSet.Classes))
	if err != nil {
		return nil, err
	}
	net, err := nn.New(spec, cfg.Seed)
	if err != nil {
		return nil, err
	}
	start := net.Copy()
	m0, err := evalOn(ctx, start, testSet)
	if err != nil {
		return nil, err
	}
	tr := &dldrTrajectory{
		samples: [][]float32{slices.Clone(net.Weights())},
		start:   DLDRModel{Name: "w₀ (initialization)", Test: m0},
	}
	total := max(s.TotalEpochs, s.Epochs)
	steps := trainSet.Len() / min(s.Batch, trainSet.Len()) // per epoch, as Fit
	if s.PerEpoch > steps {
		return nil, fmt.Errorf("--samples-per-epoch %d is more than the %d steps of an epoch", s.PerEpoch, steps)
	}
	sgd, err := NewSGD(s.LR, s.Momentum, s.WeightDecay, false)
	if err != nil {
		return nil, err
	}
	smp := &stepSampler{Optimizer: sgd, perEpoch: s.PerEpoch, steps: steps, limit: s.Epochs * steps, samples: tr.samples}
	sched, err := ParseSchedule(s.Schedule, s.LR)
	if err != nil {
		return nil, err
	}
	progress.Or(cfg.Progress).Log("sampling: SGD on %s (%d parameters), %s: %d epochs, batch %d, lr %g (%s), momentum %g, wd %g; samples w₀ and %d per epoch for epochs 1–%d",
		spec.Name, net.NumParams(), trainSet.Name, total, s.Batch, s.LR, s.Schedule, s.Momentum, s.WeightDecay, s.PerEpoch, s.Epochs)
	t0 := time.Now()
	hist, err := Fit(ctx, net, trainSet.X, trainSet.Y, Config{
		Epochs: total, BatchSize: s.Batch, Seed: cfg.Seed, Optimizer: smp, Schedule: sched,
		Progress: cfg.Progress,
		OnEpoch: func(st EpochStats) error {
			if st.Epoch == s.Epochs {
				m, err := evalOn(ctx, net, testSet)
				if err != nil {
					return err
				}
				tr.last = DLDRModel{Name: fmt.Sprintf("SGD epoch %d (last sample)", st.Epoch), Test: m,
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
	if total > s.Epochs {
		m, err := evalOn(ctx, net, testSet)
		if err != nil {
			return nil, err
		}
		last := hist[len(hist)-1]
		tr.sgdFinal = &DLDRModel{Name: fmt.Sprintf("SGD epoch %d (final)", last.Epoch), Test: m,
			GradientEvals: last.Step, Seconds: time.Since(t0).Seconds()}
	}
	tr.net = start
	return tr, nil
}

// stepSampler keeps the weights perEpoch times per epoch of steps
// optimizer steps, evenly spaced, the last at the epoch's end, for the
// first limit steps.
type stepSampler struct {
	Optimizer
	perEpoch, steps, limit int
	done                   int
	samples                [][]float32
}

// Step makes the wrapped optimizer's step, then samples the weights if
// this step ends one of the perEpoch parts of its epoch.
func (s *stepSampler) Step(p Params, c Closure) (float64, error) {
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

// loadTrajectory loads the checkpoints of one run (and Start) and
// evaluates the start and the last checkpoint.
func loadTrajectory(ctx context.Context, cfg *DLDRConfig, testSet *data.Dataset) (*dldrTrajectory, error) {
	paths := cfg.Checkpoints
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
	if cfg.Start != "" {
		net, _, err := nn.LoadFile(cfg.Start)
		if err != nil {
			return nil, fmt.Errorf("--start: %w", err)
		}
		if err := sameArch(cfg.Start, net); err != nil {
			return nil, err
		}
		startNet, startName = net, "start = "+cfg.Start
	}
	m0, err := evalOn(ctx, startNet, testSet)
	if err != nil {
		return nil, err
	}
	ml, err := evalOn(ctx, last, testSet)
	if err != nil {
		return nil, err
	}
	tr.start = DLDRModel{Name: startName, Test: m0}
	tr.last = DLDRModel{Name: "last checkpoint " + paths[len(paths)-1], Test: ml, GradientEvals: -1}
	tr.trainNoise, tr.trainData = firstMeta["label_noise"], firstMeta["data"]
	// The subspace run must not alias the sample it starts from.
	tr.net = startNet.Copy()
	return tr, nil
}

// WriteText prints the report for a terminal: the explained variance per
// direction, then the test accuracy of every model.
func (r *DLDRResult) WriteText(w io.Writer) error {
	pct := func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
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
	writeTable(w, []string{"direction", "variance", "ratio", "cumulative"}, rows)
	fmt.Fprintln(w)
	rows = nil
	for _, m := range []*DLDRModel{&r.Start, &r.LastSample, r.SGDFinal, &r.Subspace} {
		if m == nil {
			continue
		}
		ge, sec := "–", "–"
		if m.GradientEvals > 0 {
			ge = fmt.Sprint(m.GradientEvals)
		}
		if m.Seconds > 0 {
			sec = fmt.Sprintf("%.1f", m.Seconds)
		}
		rows = append(rows, []string{m.Name, pct(m.Test.Accuracy), fmt.Sprintf("%.4f", m.Test.NLL), ge, sec})
	}
	writeTable(w, []string{"model", "test acc (" + r.TestData + ")", "test nll", "gradient evals", "seconds"}, rows)
	if st := r.PBFGS; st != nil {
		fmt.Fprintf(w, "P-BFGS: %d steps, %.2f line-search trials per step, %d without an acceptable step, %d curvature pairs skipped\n",
			st.Steps, float64(st.Trials)/float64(max(st.Steps, 1)), st.Failed, st.SkippedPairs)
	}
	fmt.Fprintf(w, "saved %s", r.Checkpoint)
	if r.BNUpdated {
		fmt.Fprint(w, " (batch-norm statistics recomputed)")
	}
	_, err := fmt.Fprintln(w)
	return err
}

// writeTable prints rows under a header, aligned in columns.
func writeTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
