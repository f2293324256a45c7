package train

import (
	"context"
	"fmt"
	"slices"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

// SubATSampling describes the sampling run of Sub-AT (Li et al.,
// "Subspace Adversarial Training", CVPR 2022; robustness.md §13), which
// [Run] makes when RunConfig.AdversarialSubspace is positive:
//
//  1. the configured adversarial run (e.g. FGSM-RS, Fast-AT) from w₀,
//     keeping w₀ and the weights at the middle and at the end of every
//     epoch (1 + 2·E samples, as the official code's mid-epoch and
//     epoch-end snapshots);
//  2. DLDR: the top AdversarialSubspace principal directions P of the
//     samples ([PCABasis]);
//  3. adversarial training again from w₀ (weights and batch-norm
//     statistics), every gradient projected g ← Pᵀ(P g) ([Projected]),
//     SGD with SubspaceLR (default 1), momentum 0.9, no weight decay, a
//     constant rate, with the same adversary, for SubspaceEpochs epochs.
//
// The paper gives the subspace adversary a larger radius (16/255 against
// 8/255) for its Fast variants; here it is the configured one.
type SubATSampling struct {
	Dim               int           `json:"dim"`
	Samples           int           `json:"samples"`
	ExplainedVariance float64       `json:"explained_variance_ratio"` // of the Dim directions
	Robust            []RobustEpoch `json:"robust"`                   // the sampling run's evaluations
	COEpoch           int           `json:"co_epoch,omitempty"`       // in the sampling run
	History           []EpochStats  `json:"history"`
	// Net is the sampling run's final network (Fast-AT alone).
	Net *nn.Network `json:"-"`
}

// subATRun holds the state of Sub-AT across [Run]'s two phases.
type subATRun struct {
	dim     int
	w0, b0  []float32
	sampler *stepSampler
	adv     *advRun
	phase2  bool
	res     SubATSampling
}

func newSubATRun(cfg *RunConfig, net *nn.Network, adv *advRun, n int) (*subATRun, error) {
	switch {
	case adv == nil:
		return nil, fmt.Errorf("train: --adversarial-subspace needs --adversarial (Sub-AT samples an adversarial run)")
	case cfg.AdversarialSubspace < 1:
		return nil, fmt.Errorf("train: --adversarial-subspace %d must be ≥ 1", cfg.AdversarialSubspace)
	case cfg.Steps > 0:
		return nil, fmt.Errorf("train: --adversarial-subspace samples per epoch; set --epochs, not --steps")
	case cfg.AdversarialSubspace > 2*cfg.Epochs:
		return nil, fmt.Errorf("train: --adversarial-subspace %d needs at least %d samples, but %d epochs give %d (w₀ and 2 per epoch): lower the dimension or train longer",
			cfg.AdversarialSubspace, cfg.AdversarialSubspace+1, cfg.Epochs, 2*cfg.Epochs+1)
	case cfg.SubspaceEpochs < 0 || cfg.SubspaceLR < 0:
		return nil, fmt.Errorf("train: subspace epochs %d and learning rate %g must be ≥ 0 (0: defaults)", cfg.SubspaceEpochs, cfg.SubspaceLR)
	}
	steps := n / min(max(cfg.BatchSize, 1), n)
	if cfg.BatchSize <= 0 {
		steps = n / min(128, n)
	}
	if steps < 2 {
		return nil, fmt.Errorf("train: Sub-AT samples twice per epoch, but an epoch has %d step", steps)
	}
	s := &subATRun{dim: cfg.AdversarialSubspace, w0: slices.Clone(net.Weights()), b0: slices.Clone(net.BufferData()), adv: adv}
	s.sampler = &stepSampler{perEpoch: 2, steps: steps, limit: cfg.Epochs * steps, samples: [][]float32{s.w0}}
	return s, nil
}

// wrap returns the sampling optimizer around opt.
func (s *subATRun) wrap(opt Optimizer) Optimizer {
	s.sampler.Optimizer = opt
	return s.sampler
}

// train runs phases 2 and 3 after the sampling run, whose history is hist.
func (s *subATRun) train(ctx context.Context, cfg *RunConfig, net *nn.Network, trainSet *data.Dataset, aug Augment, obj Objective, hist []EpochStats, onEpoch func(EpochStats) error) ([]EpochStats, error) {
	rep := s.adv.rep
	samples := s.sampler.samples
	if s.dim > len(samples)-1 {
		return hist, fmt.Errorf("train: Sub-AT: %d samples (the sampling run stopped early) span fewer than %d directions", len(samples), s.dim)
	}
	basis, variance, err := PCABasis(samples, s.dim)
	if err != nil {
		return hist, fmt.Errorf("train: Sub-AT: %w", err)
	}
	total, err := TotalVariance(samples)
	if err != nil {
		return hist, err
	}
	s.res = SubATSampling{Dim: s.dim, Samples: len(samples), Robust: s.adv.robustHistory(), COEpoch: s.adv.co, History: hist, Net: net.Copy()}
	for _, v := range variance {
		s.res.ExplainedVariance += v / total
	}
	rep.Log("Sub-AT: %d directions of %d samples explain %.2f%% of the variance; adversarial training in the subspace from w₀", s.dim, len(samples), 100*s.res.ExplainedVariance)
	copy(net.Weights(), s.w0)
	copy(net.BufferData(), s.b0)
	lr := cfg.SubspaceLR
	if lr == 0 {
		lr = 1
	}
	sgd, err := NewSGD(lr, 0.9, 0, false)
	if err != nil {
		return hist, err
	}
	opt, err := NewProjected(sgd, basis)
	if err != nil {
		return hist, err
	}
	epochs := cfg.SubspaceEpochs
	if epochs == 0 {
		epochs = cfg.Epochs
	}
	s.phase2 = true
	s.adv.reset()
	if err := s.adv.eval(ctx, net, 0); err != nil {
		return hist, err
	}
	return Fit(ctx, net, trainSet.X, trainSet.Y, Config{Epochs: epochs, BatchSize: cfg.BatchSize, Seed: cfg.Seed + 1,
		Augment: aug, Optimizer: opt, Progress: cfg.Progress, Objective: obj, OnEpoch: onEpoch})
}
