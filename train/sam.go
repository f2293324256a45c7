package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/trustml/trustml/nn"
)

// BNController is a model whose batch-norm running statistics can be kept
// out of a forward pass by setting their momentum to 0; [nn.Network]
// implements it. The two-pass optimizers use it for their perturbed pass.
type BNController interface {
	BNMomentum() float32
	SetBNMomentum(m float32)
}

// TensorParams is a model that exposes its trainable tensors with their
// shapes, in the order (and covering exactly the values) of
// Params.Weights; [nn.Network] implements it. The random-weight-perturbation
// optimizers use it to scale noise per filter (a slice along the first
// axis). Models without it are treated as one 1-D tensor.
type TensorParams interface {
	Params() []*nn.Param
}

var (
	_ BNController = (*nn.Network)(nil)
	_ TensorParams = (*nn.Network)(nil)
)

// perturbedPass evaluates c with batch-norm running statistics frozen
// (momentum 0) when p supports it, restoring the momentum afterwards.
func perturbedPass(p Params, c Closure) (float64, error) {
	bn, ok := p.(BNController)
	if !ok {
		return c()
	}
	m := bn.BNMomentum()
	bn.SetBNMomentum(0)
	defer bn.SetBNMomentum(m)
	return c()
}

func grow32(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func checkBase(name string, base Updater) error {
	if base == nil {
		return fmt.Errorf("train: %s needs a base optimizer", name)
	}
	return nil
}

func validPositive(v float64) bool { return v > 0 && !math.IsInf(v, 0) }

func validNonNeg(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

// ascend perturbs w in place by ρ·d/(‖d‖+1e-12) (global norm), or in the
// adaptive variant by ρ·w²⊙d/(‖|w|⊙d‖+1e-12).
func ascend(w, d []float32, rho float64, adaptive bool) {
	var ss float64
	for i, di := range d {
		v := float64(di)
		if adaptive {
			v *= math.Abs(float64(w[i]))
		}
		ss += v * v
	}
	scale := float32(rho / (math.Sqrt(ss) + 1e-12))
	for i, di := range d {
		e := scale * di
		if adaptive {
			e *= w[i] * w[i]
		}
		w[i] += e
	}
}

// SAM is sharpness-aware minimization (Foret et al., ICLR 2021) around a base
// optimizer, as in the reference implementation the flat-minima papers
// vendor: with g = ∇L_B(w), the second pass evaluates ∇L_B(w+e) on the same
// batch at e = ρ·g/(‖g‖+1e-12), ‖·‖ the global norm over all tensors, and
// the base optimizer updates the restored w with that gradient (adding its
// own weight decay and momentum). Batch-norm running statistics are left
// untouched by the second pass when the model is a [BNController].
type SAM struct {
	Base     Updater
	Rho      float64 // neighbourhood radius ρ (0.05 CIFAR-10 in the paper; 0.2 in F-SAM's CIFAR-100 runs)
	Adaptive bool    // ASAM's scale-invariant perturbation ρ·w²⊙g/‖|w|⊙g‖
	w0       []float32
}

// NewSAM returns SAM around base with radius rho > 0.
func NewSAM(base Updater, rho float64, adaptive bool) (*SAM, error) {
	if err := checkBase("SAM", base); err != nil {
		return nil, err
	}
	if !validPositive(rho) {
		return nil, fmt.Errorf("train: SAM radius ρ must be positive and finite, got %g", rho)
	}
	return &SAM{Base: base, Rho: rho, Adaptive: adaptive}, nil
}

// SetLR sets the base optimizer's learning rate.
func (o *SAM) SetLR(lr float64) { o.Base.SetLR(lr) }

// LR returns the base optimizer's learning rate.
func (o *SAM) LR() float64 { return o.Base.LR() }

// Step evaluates c at w and at w+e and updates p. It returns the loss at w.
func (o *SAM) Step(p Params, c Closure) (float64, error) {
	loss, err := c()
	if err != nil {
		return loss, err
	}
	w, g := p.Weights(), p.Grads()
	o.w0 = grow32(o.w0, len(w))
	copy(o.w0, w)
	ascend(w, g, o.Rho, o.Adaptive)
	return loss, secondPass("SAM", o.Base, p, c, o.w0)
}

// secondPass evaluates c at the perturbed weights with BN statistics frozen,
// restores w0 and applies base with the perturbed gradient.
func secondPass(name string, base Updater, p Params, c Closure, w0 []float32) error {
	_, err := perturbedPass(p, c)
	w := p.Weights()
	copy(w, w0)
	if err != nil {
		return fmt.Errorf("train: %s perturbed pass: %w", name, err)
	}
	base.Update(w, p.Grads())
	return nil
}

// FSAM is Friendly SAM (Li et al., CVPR 2024): SAM whose ascent direction
// is the batch gradient minus σ times an exponential moving average m of
// past batch gradients (an estimate of the full gradient), following the
// official FriendlySAM.first_step:
//
//	step 1:  m = g, d = g
//	later:   d = g − σ·m (old m), then m = λ·m + (1−λ)·g
//	e = ρ·d/(‖d‖+1e-12)       (global norm)
//
// With σ = 0 it is SAM.
type FSAM struct {
	Base   Updater
	Rho    float64 // radius ρ (official run: 0.2)
	Sigma  float64 // weight σ of the removed full-gradient estimate (official: 1)
	Lambda float64 // EMA factor λ (official run.sh: 0.6)
	m, d   []float32
	w0     []float32
}

// NewFSAM returns F-SAM around base; it needs ρ > 0, σ ≥ 0 and λ ∈ [0, 1).
func NewFSAM(base Updater, rho, sigma, lambda float64) (*FSAM, error) {
	if err := checkBase("F-SAM", base); err != nil {
		return nil, err
	}
	var errs []error
	if !validPositive(rho) {
		errs = append(errs, fmt.Errorf("radius ρ must be positive and finite, got %g", rho))
	}
	if !validNonNeg(sigma) {
		errs = append(errs, fmt.Errorf("σ must be ≥ 0 and finite, got %g", sigma))
	}
	if !(lambda >= 0 && lambda < 1) {
		errs = append(errs, fmt.Errorf("EMA factor λ must be in [0, 1), got %g", lambda))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("train: F-SAM: %w", errors.Join(errs...))
	}
	return &FSAM{Base: base, Rho: rho, Sigma: sigma, Lambda: lambda}, nil
}

// SetLR sets the base optimizer's learning rate.
func (o *FSAM) SetLR(lr float64) { o.Base.SetLR(lr) }

// LR returns the base optimizer's learning rate.
func (o *FSAM) LR() float64 { return o.Base.LR() }

// Step evaluates c at w and at w+e and updates p. It returns the loss at w.
func (o *FSAM) Step(p Params, c Closure) (float64, error) {
	loss, err := c()
	if err != nil {
		return loss, err
	}
	w, g := p.Weights(), p.Grads()
	o.d = grow32(o.d, len(g))
	if o.m == nil {
		o.m = append([]float32(nil), g...)
		copy(o.d, g)
	} else {
		sigma, lam := float32(o.Sigma), float32(o.Lambda)
		for i, gi := range g {
			o.d[i] = gi - sigma*o.m[i]
			o.m[i] = lam*o.m[i] + (1-lam)*gi
		}
	}
	o.w0 = grow32(o.w0, len(w))
	copy(o.w0, w)
	ascend(w, o.d, o.Rho, false)
	return loss, secondPass("F-SAM", o.Base, p, c, o.w0)
}
