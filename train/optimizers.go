package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/internal/registry"
	"github.com/trustml/trustml/nn"
)

// ErrUnknown is matched (errors.Is) by the error for a name that none of
// the package's registries (optimizers, averaging methods, DLDR methods)
// holds; the error lists the valid names.
var ErrUnknown = registry.ErrUnknown

// OptimizerConfig holds the hyperparameters of every registered optimizer.
// [DefaultOptimizerConfig] gives the defaults (the official run scripts');
// each optimizer reads only its own fields.
type OptimizerConfig struct {
	LR          float64 // base learning rate
	Momentum    float64 // SGD momentum
	WeightDecay float64 // coupled for sgd and adam, decoupled for adamw
	Nesterov    bool    // Nesterov momentum for sgd

	// Base is the optimizer the two-pass methods wrap: "sgd" (with LR,
	// Momentum, WeightDecay, Nesterov) or "adamw".
	Base string
	// Rho is SAM's and F-SAM's neighbourhood radius ρ; Adaptive makes SAM
	// ASAM (the "asam" name sets it).
	Rho      float64
	Adaptive bool
	// FSAMSigma and FSAMLambda are F-SAM's σ and λ.
	FSAMSigma, FSAMLambda float64
	// RWPGamma and RWPAlpha are RWP's γ and α.
	RWPGamma, RWPAlpha float64
	// ARWPStd and ARWPInc are ARWP's initial noise scale and its growth.
	ARWPStd, ARWPInc float64
	// MARWPSigma and MARWPLambda are m-ARWP's σ and λ.
	MARWPSigma, MARWPLambda float64
	// NoiseEta and NoiseBeta are the adaptive noise's η and β (ARWP, m-ARWP).
	NoiseEta, NoiseBeta float64
	// TotalSteps is the run's number of optimizer steps, over which ARWP's
	// noise grows (0: constant noise).
	TotalSteps int
	// Parallel gives rwp and marwp a replica of the network for their
	// two-worker form ([PairStepper]).
	Parallel bool
	// Seed seeds the weight noise of rwp, arwp and marwp.
	Seed uint64
	// FNGDDamping is fngd's and ngd's damping λ; FNGDReuseAfterEpoch is
	// the last epoch in which fngd solves for its coefficients ([FNGD]).
	FNGDDamping         float64
	FNGDReuseAfterEpoch int
	// KFAC configures kfac ([KFAC]); the zero value means [DefaultKFACConfig].
	KFAC KFACConfig
}

// DefaultOptimizerConfig returns the defaults of every optimizer: SGD lr
// 0.05, momentum 0.9 Nesterov, weight decay 5e-4, and the official run
// scripts' values of the flat-minima methods (ρ = 0.05 is the original SAM
// CIFAR-10 value; the F-SAM CIFAR-100 runs used 0.2).
func DefaultOptimizerConfig() OptimizerConfig {
	return OptimizerConfig{
		LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4, Nesterov: true,
		Base: "sgd", Rho: 0.05, FSAMSigma: 1, FSAMLambda: 0.6,
		RWPGamma: 0.01, RWPAlpha: 0.5, ARWPStd: 0.001, ARWPInc: 10,
		MARWPSigma: 0.015, MARWPLambda: 0.5, NoiseEta: 0.1, NoiseBeta: 0.99,
		Parallel: true, Seed: 1, FNGDDamping: 0.1, FNGDReuseAfterEpoch: 1,
	}
}

// OptimizerFactory builds an optimizer for net from cfg.
type OptimizerFactory func(net *nn.Network, cfg OptimizerConfig) (Optimizer, error)

// OptimizerInfo describes a registered optimizer.
type OptimizerInfo struct {
	New OptimizerFactory
	// BatchesPerUpdate is 2 for the methods that evaluate a clean and a
	// perturbed batch per update (rwp, marwp), else 1.
	BatchesPerUpdate int
	// Summary is a one-line description for help texts.
	Summary string
}

var optimizers = registry.New[OptimizerInfo]("optimizer")

// RegisterOptimizer adds an optimizer under name; it panics if the name
// is taken (call it from an init function).
func RegisterOptimizer(name string, info OptimizerInfo) { optimizers.Register(name, info) }

// LookupOptimizer returns the registered optimizer name, or an error
// matching [ErrUnknown] that lists the names.
func LookupOptimizer(name string) (OptimizerInfo, error) { return optimizers.Lookup(name) }

// OptimizerNames lists the registered optimizers, sorted.
func OptimizerNames() []string { return optimizers.Names() }

// NewOptimizer builds the registered optimizer name for net with cfg.
func NewOptimizer(name string, net *nn.Network, cfg OptimizerConfig) (Optimizer, error) {
	info, err := optimizers.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	o, err := info.New(net, cfg)
	if err != nil {
		return nil, fmt.Errorf("train: optimizer %s: %w", name, err)
	}
	return o, nil
}

func newSGD(cfg OptimizerConfig) (*SGD, error) {
	return NewSGD(cfg.LR, cfg.Momentum, cfg.WeightDecay, cfg.Nesterov)
}

func newAdam(name string, cfg OptimizerConfig) (*Adam, error) {
	if !(cfg.LR > 0) || !(cfg.WeightDecay >= 0) {
		return nil, fmt.Errorf("%s needs lr > 0 and wd ≥ 0", name)
	}
	if name == "adam" {
		return NewAdam(cfg.LR, cfg.WeightDecay), nil
	}
	return NewAdamW(cfg.LR, cfg.WeightDecay), nil
}

// baseUpdater is the base optimizer that the two-pass methods wrap.
func baseUpdater(cfg OptimizerConfig) (Updater, error) {
	switch cfg.Base {
	case "sgd", "":
		return newSGD(cfg)
	case "adamw":
		return newAdam("adamw", cfg)
	}
	return nil, fmt.Errorf("unknown --base %q (sgd, adamw)", cfg.Base)
}

// wrapped registers a two-pass method built around the base optimizer.
func wrapped(f func(net *nn.Network, base Updater, cfg OptimizerConfig, r *rand.Rand) (Optimizer, error)) OptimizerFactory {
	return func(net *nn.Network, cfg OptimizerConfig) (Optimizer, error) {
		base, err := baseUpdater(cfg)
		if err != nil {
			return nil, err
		}
		return f(net, base, cfg, rand.New(rand.NewPCG(cfg.Seed, 0x4a7d)))
	}
}

func init() {
	RegisterOptimizer("sgd", OptimizerInfo{BatchesPerUpdate: 1, Summary: "SGD (PyTorch's rule; momentum, Nesterov, weight decay)",
		New: func(_ *nn.Network, cfg OptimizerConfig) (Optimizer, error) { return newSGD(cfg) }})
	RegisterOptimizer("nesterov", OptimizerInfo{BatchesPerUpdate: 1, Summary: "SGD with Nesterov momentum (whatever Nesterov says)",
		New: func(_ *nn.Network, cfg OptimizerConfig) (Optimizer, error) {
			cfg.Nesterov = true
			return newSGD(cfg)
		}})
	for name, summary := range map[string]string{"adam": "Adam (PyTorch's; weight decay coupled)", "adamw": "AdamW (weight decay decoupled)"} {
		RegisterOptimizer(name, OptimizerInfo{BatchesPerUpdate: 1, Summary: summary,
			New: func(_ *nn.Network, cfg OptimizerConfig) (Optimizer, error) { return newAdam(name, cfg) }})
	}
	for name, summary := range map[string]string{"sam": "Sharpness-Aware Minimization (Foret et al., ICLR 2021): ρ",
		"asam": "adaptive SAM: the scale-invariant perturbation ρ·w²⊙g/‖|w|⊙g‖"} {
		RegisterOptimizer(name, OptimizerInfo{BatchesPerUpdate: 1, Summary: summary,
			New: wrapped(func(_ *nn.Network, base Updater, cfg OptimizerConfig, _ *rand.Rand) (Optimizer, error) {
				return NewSAM(base, cfg.Rho, cfg.Adaptive || name == "asam")
			})})
	}
	RegisterOptimizer("fngd", OptimizerInfo{BatchesPerUpdate: 1, Summary: "fast natural gradient: layer-wise SMW solve in epoch 1, coefficients reused after; λ",
		New: wrapped(func(net *nn.Network, base Updater, cfg OptimizerConfig, _ *rand.Rand) (Optimizer, error) {
			return NewFNGD(net, base, cfg.FNGDDamping, max(cfg.FNGDReuseAfterEpoch, 1))
		})})
	RegisterOptimizer("ngd", OptimizerInfo{BatchesPerUpdate: 1, Summary: "exact damped natural gradient (empirical Fisher, layer-wise SMW solve every step); λ",
		New: wrapped(func(net *nn.Network, base Updater, cfg OptimizerConfig, _ *rand.Rand) (Optimizer, error) {
			return NewFNGD(net, base, cfg.FNGDDamping, 0)
		})})
	RegisterOptimizer("fsam", OptimizerInfo{BatchesPerUpdate: 1, Summary: "Friendly SAM (Li et al., CVPR 2024): ρ, σ, λ",
		New: wrapped(func(_ *nn.Network, base Updater, cfg OptimizerConfig, _ *rand.Rand) (Optimizer, error) {
			return NewFSAM(base, cfg.Rho, cfg.FSAMSigma, cfg.FSAMLambda)
		})})
	RegisterOptimizer("rwp", OptimizerInfo{BatchesPerUpdate: 2, Summary: "random weight perturbation (Li et al.): γ, α; two batches per update",
		New: wrapped(func(net *nn.Network, base Updater, cfg OptimizerConfig, r *rand.Rand) (Optimizer, error) {
			o, err := NewRWP(base, cfg.RWPGamma, cfg.RWPAlpha, r)
			if err == nil && cfg.Parallel && net != nil {
				o.Parallel(net.Copy())
			}
			return o, err
		})})
	RegisterOptimizer("arwp", OptimizerInfo{BatchesPerUpdate: 1, Summary: "adaptive RWP (Li et al., TMLR 2024): std, inc, η, β",
		New: wrapped(func(_ *nn.Network, base Updater, cfg OptimizerConfig, r *rand.Rand) (Optimizer, error) {
			return NewARWP(base, cfg.ARWPStd, cfg.ARWPInc, cfg.NoiseEta, cfg.NoiseBeta, cfg.TotalSteps, r)
		})})
	RegisterOptimizer("marwp", OptimizerInfo{BatchesPerUpdate: 2, Summary: "m-ARWP (Li et al., TMLR 2024): σ, λ, η, β; two batches per update",
		New: wrapped(func(net *nn.Network, base Updater, cfg OptimizerConfig, r *rand.Rand) (Optimizer, error) {
			o, err := NewMARWP(base, cfg.MARWPSigma, cfg.MARWPLambda, cfg.NoiseEta, cfg.NoiseBeta, r)
			if err == nil && cfg.Parallel && net != nil {
				o.Parallel(net.Copy())
			}
			return o, err
		})})
}

// Counter wraps an optimizer and counts its gradient evaluations (closure
// calls) and steps, keeping a two-batch parallel form visible to [Fit].
// It is not safe for concurrent use.
type Counter struct {
	Optimizer
	// Evals counts closure calls (forward+backward passes over one batch);
	// Steps the calls of Step, Pairs those of StepPair.
	Evals, Steps, Pairs int
}

// Step counts the step and the closure calls the wrapped optimizer makes.
func (o *Counter) Step(p Params, c Closure) (float64, error) {
	o.Steps++
	return o.Optimizer.Step(p, func() (float64, error) { o.Evals++; return c() })
}

// Replica is the wrapped optimizer's replica, or nil when it has no
// two-batch parallel form.
func (o *Counter) Replica() Network {
	if ps, ok := o.Optimizer.(PairStepper); ok {
		return ps.Replica()
	}
	return nil
}

// StepPair makes the wrapped optimizer's two-batch update, counting two
// gradient evaluations.
func (o *Counter) StepPair(p Params, clean, noisy Closure) (float64, float64, error) {
	ps, ok := o.Optimizer.(PairStepper)
	if !ok {
		return 0, 0, fmt.Errorf("train: %T has no two-batch form", o.Optimizer)
	}
	// the two closures run concurrently: count them here, not inside
	o.Evals += 2
	o.Pairs++
	return ps.StepPair(p, clean, noisy)
}
