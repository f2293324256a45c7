package train

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
)

// AFARunConfig configures [RunAFA]: the fields mean what they mean in
// [RunConfig], with SGD as the optimizer.
type AFARunConfig struct {
	Train, Test *data.Dataset // required, with class labels
	// Arch is an architecture of [nn.Architectures] with batch norm
	// (cnn-small, cnn-bn, resnet8, resnet20); its batch norms are made dual
	// ([nn.WithDualBN]).
	Arch            string
	AFA             AFA // a zero Seed takes Seed
	OptimizerConfig OptimizerConfig
	Schedule        string // cosine, step or constant
	Epochs          int
	BatchSize       int
	Seed            uint64
	// Holdout leaves out this seeded, stratified fraction of Train for the
	// per-epoch robust evaluation (RobustEval; without a holdout the first
	// RobustEval.N test images).
	Holdout     float64
	HoldoutSeed uint64
	RobustEval  RobustEval
	Progress    progress.Reporter
}

// RunAFA trains a dual-batch-norm network with [AFA] and evaluates it as
// [Run] evaluates adversarial training: clean, FGSM and PGD accuracy at
// AFA.Eps on held-out images before training and after every epoch (with
// predicted fusing weights, the deployed model), catastrophic-overfitting
// detection, the best-PGD weights, and the test metrics.
func RunAFA(ctx context.Context, cfg AFARunConfig) (*RunResult, error) {
	switch {
	case cfg.Train == nil || cfg.Test == nil:
		return nil, errors.New("train: RunAFA needs a training and a test set")
	case cfg.Train.Y == nil:
		return nil, fmt.Errorf("train: data set %s has no class labels", cfg.Train.Name)
	case cfg.Epochs <= 0:
		return nil, fmt.Errorf("train: --epochs must be positive, got %d", cfg.Epochs)
	case cfg.Holdout != 0 && !(cfg.Holdout > 0 && cfg.Holdout < 1):
		return nil, fmt.Errorf("train: --holdout %g outside [0, 1)", cfg.Holdout)
	}
	if err := cfg.AFA.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.RobustEval.validate(); err != nil {
		return nil, err
	}
	trainSet := cfg.Train
	var held []int
	if cfg.Holdout != 0 {
		keep, out, err := data.StratifiedSplitIndices(trainSet, cfg.Holdout, cfg.HoldoutSeed)
		if err != nil {
			return nil, fmt.Errorf("train: --holdout: %w", err)
		}
		trainSet, held = trainSet.Subset(keep), out
	}
	spec, err := nn.SpecFor(cfg.Arch, trainSet.Shape, len(trainSet.Classes))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	net, err := nn.New(nn.WithDualBN(spec), cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if net.NumDualBN() == 0 {
		return nil, fmt.Errorf("train: AFA needs an architecture with batch norm; %s has none (try cnn-small, cnn-bn, resnet8)", cfg.Arch)
	}
	oc := cfg.OptimizerConfig
	oc.Seed = cfg.Seed
	oc.TotalSteps = cfg.Epochs * (trainSet.Len() / max(1, min(cfg.BatchSize, trainSet.Len())))
	opt, err := NewOptimizer("sgd", net, oc)
	if err != nil {
		return nil, err
	}
	sched, err := ParseSchedule(cfg.Schedule, oc.LR)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if cfg.AFA.Seed == 0 {
		cfg.AFA.Seed = cfg.Seed
	}
	obj, err := NewAFAObjective(cfg.AFA)
	if err != nil {
		return nil, err
	}
	rc := RunConfig{Test: cfg.Test, Adversarial: Adversarial{Method: "pgd", Eps: cfg.AFA.Eps}, RobustEval: cfg.RobustEval, Seed: cfg.Seed, Progress: cfg.Progress}
	adv, err := newAdvRun(&rc, cfg.Train, held)
	if err != nil {
		return nil, err
	}
	adv.title = fmt.Sprintf("%s on %s, evaluated at ε=%.3g", obj.Config(), cfg.Train.Name, cfg.AFA.Eps)
	rep := progress.Or(cfg.Progress)
	rep.Log("AFA training of %s (%d parameters) on %s: %d images, batch %d, sgd lr %g (%s); %s; robust evaluation on %s",
		net.Spec().Name, net.NumParams(), trainSet.Name, trainSet.Len(), cfg.BatchSize, oc.LR, cfg.Schedule, obj.Config(), adv.split)
	if err := adv.eval(ctx, net, 0); err != nil {
		return nil, err
	}
	start := time.Now()
	hist, err := Fit(ctx, net, trainSet.X, trainSet.Y, Config{
		Epochs: cfg.Epochs, BatchSize: cfg.BatchSize, Seed: cfg.Seed, Optimizer: opt, Schedule: sched,
		Progress: cfg.Progress, Objective: obj,
		OnEpoch: func(st EpochStats) error { return adv.eval(ctx, net, st.Epoch) },
	})
	if errors.Is(err, errStopCO) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: AFA: %w", err)
	}
	m, _, err := metrics.EvaluateClassifier(ctx, net, cfg.Test.X, cfg.Test.Y)
	if err != nil {
		return nil, fmt.Errorf("train: evaluating on %s: %w", cfg.Test.Name, err)
	}
	res := &RunResult{Net: net, History: hist, Test: m, TestData: cfg.Test.Name, Seconds: time.Since(start).Seconds(),
		Robust: adv.robustHistory(), COEpoch: adv.co, Restored: adv.restored, BestEpoch: adv.best.Epoch}
	res.BestRobust = net.Copy()
	copy(res.BestRobust.Weights(), adv.bestW)
	copy(res.BestRobust.BufferData(), adv.bestB)
	return res, nil
}
