package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

func init() { register(newTrainCmd) }

type trainFlags struct {
	data    dataFlags
	cfg     train.RunConfig
	init    string
	out     string
	cropPad int
	flip    bool
	asJSON  bool
}

func newTrainCmd() *cobra.Command {
	f := trainFlags{cfg: train.RunConfig{OptimizerConfig: train.DefaultOptimizerConfig()}}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a classifier and save a checkpoint",
		Long: `Train a network (MLP, small CNN or small ResNet) with softmax cross-entropy,
SGD (PyTorch's rule, optionally Nesterov) or Adam/AdamW, a cosine, step or
constant learning-rate schedule, seeded shuffling and augmentation. The
checkpoint is written atomically after every epoch, so an interrupted or
failed run keeps its last good epoch. At the end the model is evaluated on
the test split and the metrics are stored in the checkpoint.

Optimizers (--optimizer):
` + optimizerHelp() + `
The flat-minima ones wrap the base optimizer chosen by --base (sgd with
--momentum/--nesterov/--wd, or adamw). sam, asam and fsam cost two gradient
evaluations per step. rwp and marwp use two batches per update (a clean one
and a perturbed one), as the official code does: each --steps/--epochs
budget makes half as many updates, so double it to match SGD's number of
updates. By default (--rwp-parallel) the two batches are evaluated
concurrently, the perturbed one on a replica of the network. Defaults are
the official run scripts' (ρ = 0.05 is the original SAM CIFAR-10 value and
the small-scale plan's; the F-SAM CIFAR-100 runs used 0.2).`,
		Example: `  # the default model shipped with trustml (full Fashion-MNIST, about 15 minutes on 2 cores)
  trustml train --data fashion-mnist --arch cnn-bn --epochs 15 --out zoo/fashion-cnn.ckpt

  # keep every epoch's weights for averaging (SWA/TWA) or DLDR, with 40% label noise
  trustml train --epochs 10 --save-every 1 --label-noise 0.4 --out /tmp/run.ckpt
  trustml average swa /tmp/run-ep00[6-9].ckpt /tmp/run-ep010.ckpt --out /tmp/swa.ckpt

  # Friendly SAM around SGD
  trustml train --optimizer fsam --rho 0.05 --epochs 2 --out /tmp/fsam.ckpt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrain(cmd, &f) },
	}
	fl, c, o := cmd.Flags(), &f.cfg, &f.cfg.OptimizerConfig
	f.data.add(cmd, data.DefaultName)
	fl.StringVar(&c.Arch, "arch", "cnn-bn", "architecture: "+strings.Join(nn.Architectures, ", "))
	fl.IntVar(&c.Epochs, "epochs", 15, "passes over the training set")
	fl.IntVar(&c.Steps, "steps", 0, "total optimizer steps (overrides --epochs when set)")
	fl.IntVar(&c.BatchSize, "batch", 128, "batch size")
	fl.StringVar(&c.Optimizer, "optimizer", "sgd", "optimizer: "+strings.Join(train.OptimizerNames(), ", "))
	fl.StringVar(&c.Schedule, "schedule", "cosine", "learning-rate schedule: cosine, step, constant")
	fl.Float64Var(&c.LabelSmoothing, "label-smoothing", 0, "label smoothing in [0, 1)")
	fl.IntVar(&f.cropPad, "crop-pad", 2, "random-crop augmentation padding in pixels (0 = off)")
	fl.BoolVar(&f.flip, "flip", true, "random horizontal flips")
	fl.Float64Var(&c.Augment.NoiseSigma, "noise-sigma", 0, "Gaussian noise augmentation N(0, σ²) per pixel, unclipped, for randomized smoothing (trustml certify --sigma)")
	fl.Uint64Var(&c.Seed, "seed", 1, "seed for initialization, shuffling, augmentation and dropout")
	fl.StringVar(&f.out, "out", "model.ckpt", "checkpoint file to write")
	fl.BoolVar(&f.asJSON, "json", false, "print the training history and final metrics as JSON")
	fl.Float64Var(&c.LabelNoise, "label-noise", 0, "symmetric label noise: this fraction of training labels is replaced by a different random class (seeded by --seed)")
	fl.IntVar(&c.SaveEvery, "save-every", 0, "also keep a checkpoint every N epochs as OUT-epNNN.ckpt (inputs for average swa|twa and dldr); 0 = off. The initial weights are kept as OUT-ep000.ckpt")
	fl.Float64Var(&c.Holdout, "holdout", 0, "leave out this seeded, stratified fraction of the training split (the held-out split of average soup --val-ratio with the same seed)")
	fl.Uint64Var(&c.HoldoutSeed, "holdout-seed", 1, "seed of the --holdout split")
	fl.StringVar(&f.init, "init", "", "start from this checkpoint's weights and batch-norm statistics (fine-tuning); it must have the architecture of --arch on --data")
	fl.Float64Var(&o.LR, "lr", o.LR, "base learning rate")
	fl.Float64Var(&o.Momentum, "momentum", o.Momentum, "SGD momentum")
	fl.BoolVar(&o.Nesterov, "nesterov", o.Nesterov, "Nesterov momentum (SGD)")
	fl.Float64Var(&o.WeightDecay, "wd", o.WeightDecay, "weight decay (coupled for sgd and adam, decoupled for adamw)")
	fl.StringVar(&o.Base, "base", o.Base, "base optimizer of the flat-minima optimizers: sgd or adamw")
	fl.Float64Var(&o.Rho, "rho", o.Rho, "SAM/F-SAM neighbourhood radius ρ")
	fl.BoolVar(&o.Adaptive, "asam", o.Adaptive, "SAM: adaptive (scale-invariant) perturbation ρ·w²⊙g/‖|w|⊙g‖")
	fl.Float64Var(&o.FSAMSigma, "fsam-sigma", o.FSAMSigma, "F-SAM: weight σ of the removed full-gradient estimate")
	fl.Float64Var(&o.FSAMLambda, "fsam-lambda", o.FSAMLambda, "F-SAM: EMA factor λ of the full-gradient estimate")
	fl.Float64Var(&o.RWPGamma, "rwp-gamma", o.RWPGamma, "RWP: noise scale γ relative to each filter's norm")
	fl.Float64Var(&o.RWPAlpha, "rwp-alpha", o.RWPAlpha, "RWP: weight α of the perturbed loss")
	fl.Float64Var(&o.ARWPStd, "arwp-std", o.ARWPStd, "ARWP: initial relative noise scale")
	fl.Float64Var(&o.ARWPInc, "arwp-inc", o.ARWPInc, "ARWP: the noise grows to std·(1+inc) along a cosine over the run")
	fl.Float64Var(&o.MARWPSigma, "marwp-sigma", o.MARWPSigma, "m-ARWP: relative noise scale σ")
	fl.Float64Var(&o.MARWPLambda, "marwp-lambda", o.MARWPLambda, "m-ARWP: weight λ of the perturbed gradient")
	fl.Float64Var(&o.NoiseEta, "noise-eta", o.NoiseEta, "ARWP/m-ARWP: adaptive noise strength η")
	fl.Float64Var(&o.NoiseBeta, "noise-beta", o.NoiseBeta, "ARWP/m-ARWP: EMA factor β of the squared perturbed gradients")
	fl.BoolVar(&o.Parallel, "rwp-parallel", o.Parallel, "RWP/m-ARWP: evaluate the clean and the noisy batch of an update concurrently on a replica")
	fl.StringVar(&c.Adversarial.Method, "adversarial", "", "adversarial training: "+strings.Join(train.AdversarialMethods, ", ")+" (default off)")
	fl.Float64Var(&c.Adversarial.Eps, "eps", 0.1, "adversarial training: L∞ radius on the [0, 1] input scale")
	fl.IntVar(&c.Adversarial.Steps, "adv-steps", 10, "adversarial training: inner steps of pgd and trades")
	fl.Float64Var(&c.Adversarial.Alpha, "alpha", 0, "adversarial training: step size (0: pgd/trades 2.5ε/steps, fgsm ε, fgsm-rs 1.25ε)")
	fl.Float64Var(&c.Adversarial.Beta, "beta", 6, "adversarial training: TRADES β")
	fl.BoolVar(&c.RobustEval.StopOnCO, "stop-on-co", false, "adversarial training: stop at catastrophic overfitting and keep the weights of the best PGD epoch")
	fl.IntVar(&c.AdversarialSubspace, "adversarial-subspace", 0, "Sub-AT: after the adversarial run, train adversarially again from its initialization inside the top DIM principal directions of its trajectory (0: off)")
	bindFlags(fl, &c.SOME)
	fl.StringVar(&c.RobustEval.Plot, "plot", "", "adversarial training: PNG of the per-epoch clean, FGSM and PGD accuracy")
	completeNames(cmd, "optimizer", train.OptimizerNames())
	return cmd
}

// optimizerHelp lists the registered optimizers with their summaries.
func optimizerHelp() string {
	var b strings.Builder
	for _, n := range train.OptimizerNames() {
		info, _ := train.LookupOptimizer(n)
		fmt.Fprintf(&b, "  %-9s%s\n", n, info.Summary)
	}
	return b.String()
}

func runTrain(cmd *cobra.Command, f *trainFlags) error {
	c := f.cfg
	if err := f.data.loadTrainTest(&c.Train, &c.Test); err != nil {
		return err
	}
	if f.init != "" {
		var err error
		if c.Init, _, err = nn.LoadFile(f.init); err != nil {
			return fmt.Errorf("--init: %w", err)
		}
		c.InitName = f.init
	}
	c.Augment.CropPad, c.Augment.FlipH, c.Out = f.cropPad, f.flip, f.out
	c.Meta, c.Progress = commandMeta(), newBar(cmd.ErrOrStderr())
	res, err := train.Run(cmd.Context(), c)
	return printResult(cmd, res, err, f.asJSON)
}
