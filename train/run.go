package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
)

// RunConfig configures [Run], the whole of "trustml train": a network of
// an architecture trained on a labelled data set, checkpointed after every
// epoch and evaluated on the test split.
type RunConfig struct {
	Train, Test *data.Dataset // required, with class labels
	Arch        string        // nn.Architectures
	// Init, if set, starts from this network's weights and batch-norm
	// statistics (fine-tuning); it must have Arch's architecture on Train.
	Init *nn.Network
	// InitName names Init in errors and the checkpoint's metadata.
	InitName string

	Optimizer       string // a name of [OptimizerNames]
	OptimizerConfig OptimizerConfig
	Schedule        string // cosine, step or constant ([ParseSchedule])
	Epochs, Steps   int    // as in [Config]
	BatchSize       int
	LabelSmoothing  float64
	Augment         Augment // ignored for non-image data
	Seed            uint64  // initialization, shuffling, augmentation, label noise

	// Holdout leaves out this seeded, stratified fraction of Train (the
	// held-out split of a soup with the same HoldoutSeed).
	Holdout     float64
	HoldoutSeed uint64
	// LabelNoise replaces this fraction of Train's labels by a different
	// random class (seeded by Seed).
	LabelNoise float64

	// Out is the checkpoint written (atomically) after every epoch and at
	// the end; empty writes nothing.
	Out string
	// SaveEvery also keeps a checkpoint every N epochs as OUT-epNNN.ckpt
	// ([EpochPath]), and the initial weights as OUT-ep000.ckpt.
	SaveEvery int
	// Meta is copied into every checkpoint's metadata (e.g. the command).
	Meta     map[string]string
	Progress progress.Reporter

	// Adversarial, if its Method is set, trains adversarially
	// ([Adversarial]; a zero Seed takes Seed) and evaluates clean, FGSM and
	// PGD accuracy on held-out images before training and after every
	// epoch, as RobustEval says, detecting catastrophic overfitting
	// ([DetectCO]).
	Adversarial Adversarial
	RobustEval  RobustEval
	// AdversarialSubspace, if positive, makes the run Sub-AT ([SubAT]
	// documents the phases): the adversarial run above samples the
	// trajectory, then training restarts from w₀ inside its top
	// AdversarialSubspace principal directions for SubspaceEpochs epochs
	// (0: Epochs) of projected SGD with SubspaceLR (0: 1).
	AdversarialSubspace int
	SubspaceEpochs      int
	SubspaceLR          float64
	// SOME, if its Heads is set, trains the multi-head form of Arch
	// ([nn.MultiHead]) as a smoothed ensemble with noise Augment.NoiseSigma.
	SOME SOME
}

// RunResult is what [Run] returns.
type RunResult struct {
	Net        *nn.Network            `json:"-"`
	History    []EpochStats           `json:"history"`
	Test       metrics.Classification `json:"test"`
	TestData   string                 `json:"-"`
	Checkpoint string                 `json:"checkpoint"`
	Seconds    float64                `json:"seconds"`
	// Robust is the per-epoch robust evaluation of adversarial training
	// (epoch 0: before training).
	Robust []RobustEpoch `json:"robust,omitempty"`
	// COEpoch is the first epoch of catastrophic overfitting, 0 if none.
	COEpoch int `json:"co_epoch,omitempty"`
	// Restored is the epoch whose weights were restored when training
	// stopped at catastrophic overfitting (RobustEval.StopOnCO); 0 if it
	// did not stop.
	Restored int `json:"restored_epoch,omitempty"`
	// BestRobust is a copy of the network at the evaluation with the best
	// PGD accuracy (Wong et al.'s early stopping), for adversarial
	// training; nil otherwise.
	BestRobust *nn.Network `json:"-"`
	// BestEpoch is the epoch of BestRobust.
	BestEpoch int `json:"best_epoch,omitempty"`
	// SubAT is the sampling run of Sub-AT (AdversarialSubspace); the
	// fields above then describe the subspace training.
	SubAT *SubATSampling `json:"sub_at_sampling,omitempty"`
}

// RobustSummary is a line with the last robust evaluation and the epoch of
// catastrophic overfitting, or "" without adversarial training.
func (r *RunResult) RobustSummary() string {
	if len(r.Robust) == 0 {
		return ""
	}
	h := r.Robust[len(r.Robust)-1]
	return fmt.Sprintf("held-out (%d images) after epoch %d: clean %.2f%%, FGSM %.2f%%, PGD-10 %.2f%%; catastrophic overfitting at epoch %d (0: none); best PGD epoch %d\n",
		h.N, h.Epoch, 100*h.Clean, 100*h.FGSM, 100*h.PGD, r.COEpoch, r.BestEpoch)
}

// WriteText prints where the checkpoint went, the test metrics and, for
// adversarial training, [RunResult.RobustSummary].
func (r *RunResult) WriteText(w io.Writer) error {
	m := r.Test
	fmt.Fprintf(w, "saved %s after %s\n", r.Checkpoint, time.Duration(r.Seconds*float64(time.Second)).Round(time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "split\tn\taccuracy\tnll\tece")
	fmt.Fprintf(tw, "%s (test)\t%d\t%.2f%%\t%.4f\t%.2f%%\n", r.TestData, m.N, 100*m.Accuracy, m.NLL, 100*m.ECE)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprint(w, r.RobustSummary())
	return err
}

// EpochPath names the checkpoint kept after epoch ep by
// [RunConfig.SaveEvery]: model.ckpt → model-ep007.ckpt.
func EpochPath(out string, ep int) string {
	ext := filepath.Ext(out)
	return fmt.Sprintf("%s-ep%03d%s", strings.TrimSuffix(out, ext), ep, ext)
}

// Run trains a network as "trustml train" does. On failure after the first
// epoch, Out holds the last good epoch and the error says so.
func Run(ctx context.Context, cfg RunConfig) (*RunResult, error) {
	switch {
	case cfg.Train == nil || cfg.Test == nil:
		return nil, fmt.Errorf("train: Run needs a training and a test set")
	case cfg.Epochs <= 0 && cfg.Steps <= 0:
		return nil, fmt.Errorf("train: --epochs or --steps must be positive")
	case cfg.LabelSmoothing < 0 || cfg.LabelSmoothing >= 1:
		return nil, fmt.Errorf("train: --label-smoothing %g outside [0, 1)", cfg.LabelSmoothing)
	case cfg.Augment.CropPad < 0:
		return nil, fmt.Errorf("train: --crop-pad must be ≥ 0")
	case cfg.SaveEvery < 0:
		return nil, fmt.Errorf("train: --save-every must be ≥ 0, got %d", cfg.SaveEvery)
	case cfg.Train.Y == nil:
		return nil, fmt.Errorf("train: data set %s is a regression set; train needs class labels", cfg.Train.Name)
	case cfg.SOME.Heads != 0 && (cfg.Adversarial.Method != "" || cfg.LabelSmoothing != 0):
		return nil, fmt.Errorf("train: --some-heads cannot be combined with --adversarial or --label-smoothing (SOME's loss is its own cross-entropy)")
	}
	if err := cfg.SOME.Validate(cfg.Augment.NoiseSigma); err != nil {
		return nil, err
	}
	trainSet := cfg.Train
	var held []int
	if cfg.Adversarial.Method != "" {
		if err := cfg.Adversarial.Validate(); err != nil {
			return nil, err
		}
		if err := cfg.RobustEval.validate(); err != nil {
			return nil, err
		}
		if cfg.LabelSmoothing != 0 {
			return nil, fmt.Errorf("train: --label-smoothing is not supported with --adversarial (the adversarial loss is the plain cross-entropy or TRADES)")
		}
	}
	if cfg.Holdout != 0 {
		if !(cfg.Holdout > 0 && cfg.Holdout < 1) {
			return nil, fmt.Errorf("train: --holdout %g outside [0, 1)", cfg.Holdout)
		}
		keep, out, err := data.StratifiedSplitIndices(trainSet, cfg.Holdout, cfg.HoldoutSeed)
		if err != nil {
			return nil, fmt.Errorf("train: --holdout: %w", err)
		}
		trainSet, held = trainSet.Subset(keep), out
	}
	if cfg.LabelNoise != 0 {
		var err error
		if trainSet, _, err = data.SymmetricLabelNoise(trainSet, cfg.LabelNoise, cfg.Seed); err != nil {
			return nil, fmt.Errorf("train: --label-noise: %w", err)
		}
	}
	spec, err := nn.SpecFor(cfg.Arch, trainSet.Shape, len(trainSet.Classes))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if spec, err = cfg.SOME.Spec(spec); err != nil {
		return nil, err
	}
	net, err := nn.New(spec, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if cfg.Init != nil {
		if err := copyInit(net, cfg.Init, cfg.InitName); err != nil {
			return nil, err
		}
	}
	oc := cfg.OptimizerConfig
	oc.Seed = cfg.Seed
	if oc.TotalSteps = cfg.Steps; oc.TotalSteps <= 0 && cfg.BatchSize > 0 {
		oc.TotalSteps = cfg.Epochs * (trainSet.Len() / min(cfg.BatchSize, trainSet.Len()))
	}
	opt, err := NewOptimizer(cfg.Optimizer, net, oc)
	if err != nil {
		return nil, err
	}
	sched, err := ParseSchedule(cfg.Schedule, oc.LR)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	aug := cfg.Augment
	if len(trainSet.Shape) != 3 {
		aug = Augment{}
	}
	rep := progress.Or(cfg.Progress)
	rep.Log("training %s (%d parameters) on %s: %d images, batch %d, %s lr %g (%s)",
		spec.Name, net.NumParams(), trainSet.Name, trainSet.Len(), cfg.BatchSize, cfg.Optimizer, oc.LR, cfg.Schedule)
	meta := map[string]string{
		"data": trainSet.Name, "arch": spec.Name, "classes": strings.Join(trainSet.Classes, ","),
		"trained": time.Now().UTC().Format(time.RFC3339),
	}
	for k, v := range cfg.Meta {
		meta[k] = v
	}
	if cfg.Init != nil {
		meta["init"] = cfg.InitName
	}
	if cfg.Holdout != 0 {
		meta["holdout"] = fmt.Sprintf("%g (seed %d)", cfg.Holdout, cfg.HoldoutSeed)
	}
	if cfg.LabelNoise != 0 {
		meta["label_noise"] = fmt.Sprint(cfg.LabelNoise)
	}
	var adv *advRun
	var obj Objective
	if cfg.Adversarial.Method != "" {
		if cfg.Adversarial.Seed == 0 {
			cfg.Adversarial.Seed = cfg.Seed
		}
		o, err := NewAdversarialObjective(cfg.Adversarial)
		if err != nil {
			return nil, err
		}
		if adv, err = newAdvRun(&cfg, cfg.Train, held); err != nil {
			return nil, err
		}
		obj = o
		meta["adversarial"] = o.Config().String()
		rep.Log("adversarial training: %s; robust evaluation on %s", o.Config(), adv.split)
		if err := adv.eval(ctx, net, 0); err != nil {
			return nil, err
		}
	}
	if cfg.SOME.Heads != 0 {
		o, err := cfg.SOME.objective(&cfg, trainSet.Len())
		if err != nil {
			return nil, err
		}
		obj, aug.NoiseSigma = o, 0 // the objective draws the noise
		meta["some"] = o.cfg.String()
	}
	save := func(path string) error {
		if cfg.Out == "" {
			return nil
		}
		return nn.SaveFile(path, net, meta)
	}
	if cfg.SaveEvery > 0 {
		if err := save(EpochPath(cfg.Out, 0)); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	var sub *subATRun
	if cfg.AdversarialSubspace != 0 {
		if sub, err = newSubATRun(&cfg, net, adv, trainSet.Len()); err != nil {
			return nil, err
		}
		opt = sub.wrap(opt)
	}
	start := time.Now()
	onEpoch := func(st EpochStats) error {
		meta["epochs_done"] = fmt.Sprint(st.Epoch)
		if adv != nil {
			if err := adv.eval(ctx, net, st.Epoch); err != nil {
				if errors.Is(err, errStopCO) {
					meta["epochs_done"] = fmt.Sprint(adv.restored)
					if serr := save(cfg.Out); serr != nil {
						return serr
					}
				}
				return err
			}
		}
		if cfg.SaveEvery > 0 && st.Epoch%cfg.SaveEvery == 0 && (sub == nil || !sub.phase2) {
			if err := save(EpochPath(cfg.Out, st.Epoch)); err != nil {
				return err
			}
		}
		return save(cfg.Out)
	}
	hist, err := Fit(ctx, net, trainSet.X, trainSet.Y, Config{
		Epochs: cfg.Epochs, Steps: cfg.Steps, BatchSize: cfg.BatchSize, Seed: cfg.Seed,
		LabelSmoothing: cfg.LabelSmoothing, Augment: aug, Optimizer: opt, Schedule: sched,
		Progress: cfg.Progress, Objective: obj, OnEpoch: onEpoch,
	})
	if adv != nil && errors.Is(err, errStopCO) {
		err = nil
	}
	if err == nil && sub != nil {
		hist, err = sub.train(ctx, &cfg, net, trainSet, aug, obj, hist, onEpoch)
		if errors.Is(err, errStopCO) {
			err = nil
		}
		meta["sub_at_dim"] = fmt.Sprint(cfg.AdversarialSubspace)
	}
	if err != nil {
		if done := meta["epochs_done"]; done != "" {
			return nil, fmt.Errorf("training stopped; %s holds the last good epoch (%s): %w", cfg.Out, done, err)
		}
		return nil, fmt.Errorf("training stopped in its first epoch, before any checkpoint was written (%s was not touched): %w", cfg.Out, err)
	}
	m, _, err := metrics.EvaluateClassifier(ctx, net, cfg.Test.X, cfg.Test.Y)
	if err != nil {
		return nil, fmt.Errorf("train: evaluating on %s: %w", cfg.Test.Name, err)
	}
	if adv != nil && adv.co != 0 {
		meta["co_epoch"] = fmt.Sprint(adv.co)
	}
	meta["test_data"] = cfg.Test.Name
	meta["test_accuracy"] = fmt.Sprintf("%.4f", m.Accuracy)
	meta["test_ece"] = fmt.Sprintf("%.4f", m.ECE)
	meta["test_nll"] = fmt.Sprintf("%.4f", m.NLL)
	if err := save(cfg.Out); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	res := &RunResult{Net: net, History: hist, Test: m, TestData: cfg.Test.Name, Checkpoint: cfg.Out,
		Seconds: time.Since(start).Seconds()}
	if sub != nil {
		res.SubAT = &sub.res
	}
	if adv != nil {
		res.Robust, res.COEpoch, res.Restored = adv.robustHistory(), adv.co, adv.restored
		res.BestRobust, res.BestEpoch = net.Copy(), adv.best.Epoch
		copy(res.BestRobust.Weights(), adv.bestW)
		copy(res.BestRobust.BufferData(), adv.bestB)
	}
	return res, nil
}

// copyInit copies the weights and buffers of src into net, whose
// architecture it must have.
func copyInit(net, src *nn.Network, name string) error {
	if !src.Spec().Equal(net.Spec()) {
		ss, ns := src.Spec(), net.Spec()
		return fmt.Errorf("train: --init %s is %s on inputs %v with %d classes (%d parameters), but --arch %s on this data is %s on inputs %v with %d classes (%d parameters)",
			name, ss.Name, ss.InputShape, ss.NumClasses, src.NumParams(), ns.Name, ns.Name, ns.InputShape, ns.NumClasses, net.NumParams())
	}
	copy(net.Weights(), src.Weights())
	copy(net.BufferData(), src.BufferData())
	return nil
}
