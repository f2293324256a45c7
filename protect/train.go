package protect

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/train"
)

// TrainConfig is how [TrainEval] trains a fresh model on a (protected)
// training set, with the countermeasures a data user may try against the
// protection: augmentation, adversarial training and mixing in clean data.
// The base is SGD (momentum 0.9, Nesterov, weight decay 5e-4) with a cosine
// schedule.
type TrainConfig struct {
	Arch   string  // an architecture of nn.Architectures
	Epochs int     // passes over the training set
	Batch  int     // batch size
	LR     float64 // base learning rate
	Seed   uint64  // initialization, shuffling, augmentation, the clean subset

	// Augment trains with random crops (2-pixel zero padding) and
	// horizontal flips.
	Augment bool
	// AdvEps, if positive, trains adversarially with PGD (Madry et al.)
	// of AdvSteps steps (0: 10) in the L∞ ball of radius AdvEps, step
	// 2.5·AdvEps/AdvSteps from a random start.
	AdvEps   float64
	AdvSteps int
	// CleanFraction replaces this seeded random fraction of the protected
	// images by their clean originals (the data user also holds some
	// unprotected data).
	CleanFraction float64
}

// String describes the countermeasures: "plain", "crop+flip", "PGD-AT ε=0.0314 (3 steps)", "20% clean".
func (c TrainConfig) String() string {
	var s string
	add := func(t string) {
		if s != "" {
			s += ", "
		}
		s += t
	}
	if c.Augment {
		add("crop+flip")
	}
	if c.AdvEps > 0 {
		add(fmt.Sprintf("PGD-AT ε=%.4g (%d steps)", c.AdvEps, max(c.AdvSteps, 1)))
	}
	if c.CleanFraction > 0 {
		add(fmt.Sprintf("%g%% clean", 100*c.CleanFraction))
	}
	if s == "" {
		return "plain"
	}
	return s
}

func (c TrainConfig) validate() error {
	switch {
	case c.Epochs < 1 || c.Batch < 1:
		return fmt.Errorf("protect: training needs epochs ≥ 1 and batch ≥ 1, got %d and %d", c.Epochs, c.Batch)
	case !(c.LR > 0):
		return fmt.Errorf("protect: learning rate %v, want > 0", c.LR)
	case !(c.AdvEps >= 0 && c.AdvEps <= 1):
		return fmt.Errorf("protect: adversarial-training ε %v outside [0, 1]", c.AdvEps)
	case !(c.CleanFraction >= 0 && c.CleanFraction <= 1):
		return fmt.Errorf("protect: clean fraction %v outside [0, 1]", c.CleanFraction)
	}
	return nil
}

// mix returns the training set: protected, with a CleanFraction of its
// images (a seeded random subset) replaced by the same images of clean.
func (c TrainConfig) mix(protected, clean *data.Dataset) (*data.Dataset, error) {
	if c.CleanFraction == 0 {
		return protected, nil
	}
	if clean == nil || clean.Len() != protected.Len() || clean.SampleSize() != protected.SampleSize() {
		return nil, fmt.Errorf("protect: a clean fraction needs the clean originals of the %d protected images", protected.Len())
	}
	out := protected.Clone()
	out.X64 = nil
	n, s := out.Len(), out.SampleSize()
	k := int(c.CleanFraction*float64(n) + 0.5)
	r := rand.New(rand.NewPCG(c.Seed, 0x636c65616e))
	for _, i := range r.Perm(n)[:k] {
		if clean.Y[i] != protected.Y[i] {
			return nil, fmt.Errorf("protect: image %d is labelled %d in the clean set and %d in the protected one", i, clean.Y[i], protected.Y[i])
		}
		copy(out.X[i*s:(i+1)*s], clean.X[i*s:(i+1)*s])
	}
	out.Name = fmt.Sprintf("%s + %d clean", protected.Name, k)
	return out, nil
}

// fit trains a fresh network of tc on d and calls onEpoch (if set) with
// it after every epoch.
func fit(ctx context.Context, d *data.Dataset, tc TrainConfig, rep progress.Reporter, onEpoch func(*nn.Network) error) (*nn.Network, error) {
	spec, err := nn.SpecFor(tc.Arch, d.Shape, len(d.Classes))
	if err != nil {
		return nil, fmt.Errorf("protect: %w", err)
	}
	net, err := nn.New(spec, tc.Seed)
	if err != nil {
		return nil, fmt.Errorf("protect: %w", err)
	}
	oc := train.DefaultOptimizerConfig()
	oc.LR, oc.Seed = tc.LR, tc.Seed
	steps := tc.Epochs * max(1, d.Len()/min(tc.Batch, d.Len()))
	oc.TotalSteps = steps
	opt, err := train.NewOptimizer("sgd", net, oc)
	if err != nil {
		return nil, err
	}
	cfg := train.Config{Epochs: tc.Epochs, BatchSize: tc.Batch, Seed: tc.Seed, Optimizer: opt,
		Schedule: train.Cosine{Base: tc.LR}, Progress: rep}
	if tc.Augment {
		cfg.Augment = train.Augment{CropPad: 2, FlipH: true}
	}
	if tc.AdvEps > 0 {
		obj, err := train.NewAdversarialObjective(train.Adversarial{Method: "pgd", Eps: tc.AdvEps, Steps: tc.AdvSteps, Seed: tc.Seed})
		if err != nil {
			return nil, err
		}
		cfg.Objective = obj
	}
	if onEpoch != nil {
		cfg.OnEpoch = func(train.EpochStats) error { return onEpoch(net) }
	}
	if _, err := train.Fit(ctx, net, d.X, d.Y, cfg); err != nil {
		return nil, fmt.Errorf("protect: training on %s: %w", d.Name, err)
	}
	return net, nil
}

// TrainEval trains a fresh model as tc says on protected (with
// tc.CleanFraction of it replaced by the same images of clean, which may be
// nil otherwise) and returns its clean accuracy on test: how much of the
// protection survives the countermeasures of tc.
func TrainEval(ctx context.Context, protected, clean, test *data.Dataset, tc TrainConfig, rep progress.Reporter) (metrics.Classification, error) {
	if err := tc.validate(); err != nil {
		return metrics.Classification{}, err
	}
	if err := checkImages(protected); err != nil {
		return metrics.Classification{}, err
	}
	if err := test.CheckFits(protected.Shape, len(protected.Classes)); err != nil {
		return metrics.Classification{}, fmt.Errorf("protect: test set: %w", err)
	}
	d, err := tc.mix(protected, clean)
	if err != nil {
		return metrics.Classification{}, err
	}
	net, err := fit(ctx, d, tc, rep, nil)
	if err != nil {
		return metrics.Classification{}, err
	}
	m, _, err := metrics.EvaluateClassifier(ctx, net, test.X, test.Y)
	if err != nil {
		return m, fmt.Errorf("protect: evaluating on %s: %w", test.Name, err)
	}
	return m, nil
}
