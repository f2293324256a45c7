package attack

import (
	"context"
	"fmt"
	"math"

	"github.com/trustml/trustml/model"
)

// MIFGSM is the momentum iterative fast gradient sign method (Dong et al.,
// "Boosting Adversarial Attacks with Momentum", CVPR 2018), a white-box
// attack made for transfer: Steps steps of size α = Eps/Steps (StepSize 0)
// from the clean input, each along the sign of the accumulated gradient
//
//	g ← Decay·g + ∇/‖∇‖₁,   x ← Π(x + α·sign(g))
//
// (L2: x ← Π(x + α·g/‖g‖₂)), where ∇ is the input gradient of the
// cross-entropy, normalised per sample by its L1 norm, and Π projects onto
// the threat set. With Decay 0 it is I-FGSM (BIM). Run stops a sample at
// the first iterate that fools the model, as [PGD.Run] does; [MIFGSM.Perturb]
// runs all steps, as a transfer attack crafted on a surrogate does.
type MIFGSM struct {
	Threat
	// Steps is the number of iterations T (10).
	Steps int `json:"steps"`
	// StepSize is α; 0 means Eps/Steps, the paper's choice, so that T
	// steps can just reach the ball's vertices.
	StepSize float64 `json:"step_size"`
	// Decay is the momentum decay factor μ (1.0, the paper's).
	Decay   float64 `json:"decay"`
	scratch []float32
}

// NewMIFGSM returns L∞ MI-FGSM with ε = 8/255, 10 steps of ε/10 and decay 1,
// ascending the cross-entropy.
func NewMIFGSM() *MIFGSM {
	return &MIFGSM{Threat: Threat{Norm: LInf, Eps: 8.0 / 255}, Steps: 10, Decay: 1}
}

func init() { Register("mi-fgsm", func() Attack { return NewMIFGSM() }) }

// Name is "mi-fgsm".
func (a *MIFGSM) Name() string { return "mi-fgsm" }

func (a *MIFGSM) alpha() float64 {
	if a.StepSize > 0 {
		return a.StepSize
	}
	return a.Eps / float64(a.Steps)
}

func (a *MIFGSM) validate() error {
	if err := a.Threat.validate(a.Name()); err != nil {
		return err
	}
	if a.Steps < 1 {
		return fmt.Errorf("attack: %s: steps %d must be at least 1", a.Name(), a.Steps)
	}
	if a.StepSize < 0 || math.IsNaN(a.StepSize) || math.IsInf(a.StepSize, 0) {
		return fmt.Errorf("attack: %s: step_size %v must be ≥ 0 and finite", a.Name(), a.StepSize)
	}
	if !(a.Decay >= 0) || math.IsInf(a.Decay, 0) {
		return fmt.Errorf("attack: %s: decay %v must be ≥ 0 and finite", a.Name(), a.Decay)
	}
	return nil
}

// momentumStep accumulates the gradient gr of one sample into its momentum
// g (g ← decay·g + gr/‖gr‖₁) and moves v by α along it (descending the
// objective, which the attacks of this package minimise), then projects v
// onto the threat set around x0.
func momentumStep(t *Threat, alpha, decay float64, v, g, gr, x0 []float32) {
	var l1 float64
	for _, u := range gr {
		l1 += math.Abs(float64(u))
	}
	if l1 == 0 {
		l1 = 1 // a zero gradient adds nothing
	}
	for j, u := range gr {
		g[j] = float32(decay*float64(g[j]) + float64(u)/l1)
	}
	descend(t.Norm, alpha, v, g)
	project(t.Norm, t.Eps, v, x0)
}

// Run attacks x through o; see [Attack.Run]. opts.Rand is not used. The
// queries are gradient evaluations: 1 clean + 1 per step + 1 final check.
func (a *MIFGSM) Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	r, err := newRunner(ctx, a.Name(), o, x, y, opts, &a.Threat, LossCE, false)
	if err != nil {
		return nil, err
	}
	if _, ok := o.c.(model.InputGrader); !ok {
		return nil, noGradients(a.Name())
	}
	n, d := r.n, r.d
	xcur := append([]float32(nil), x...)
	mom := make([]float32, n*d)
	adv := func(i int) []float32 { return xcur[i*d : (i+1)*d] }
	if err := r.clean(); err != nil {
		return r.finish(nil, err)
	}
	r.reserve(n, true)
	al := a.alpha()
	for range a.Steps {
		if len(r.active) == 0 {
			break
		}
		r.begin()
		for _, i := range r.active {
			if r.o.Remaining(i) >= 2 { // keep one query for the final check
				copy(r.stage(i, true), xcur[i*d:(i+1)*d])
			}
		}
		if r.m == 0 {
			break
		}
		if err := r.flushGrad(); err != nil {
			return r.finish(adv, err)
		}
		for j := range r.m {
			i := r.qi[j]
			if !r.attacking(i) {
				continue
			}
			r.res.Loss[i] = r.ql[j]
			momentumStep(&a.Threat, al, a.Decay, xcur[i*d:(i+1)*d], mom[i*d:(i+1)*d], r.qg[j*d:(j+1)*d], r.xi(i))
		}
		if err := r.endRound(); err != nil {
			return r.finish(adv, err)
		}
	}
	r.begin()
	for _, i := range r.active {
		if r.has(i, 1) {
			copy(r.stage(i, true), xcur[i*d:(i+1)*d])
		}
	}
	if err := r.flush(); err != nil {
		return r.finish(adv, err)
	}
	for j := range r.m {
		if i := r.qi[j]; r.attacking(i) {
			r.res.Loss[i] = r.ql[j]
		}
	}
	return r.finish(adv, r.endRound())
}

// Perturb writes into dst (len(x), not overlapping x) the MI-FGSM
// adversarial examples of the batch x with labels y after all Steps
// computed directly on g (no oracle, no early stop), as a transfer attack
// crafted on a surrogate model. It reuses internal buffers across calls,
// so an MIFGSM value must not be used by two goroutines at once.
func (a *MIFGSM) Perturb(ctx context.Context, g model.InputGrader, dst, x []float32, y []int) error {
	if err := a.validate(); err != nil {
		return err
	}
	// perturb validates the batch and runs no step with steps 0; the
	// momentum loop below then runs on the checked arguments.
	if err := perturb(ctx, a.Name(), &a.Threat, 0, nil, false, nil, &a.scratch, g, dst, x, y); err != nil {
		return err
	}
	if len(y) == 0 {
		return nil
	}
	n, d := len(y), len(x)/len(y)
	if len(a.scratch) < 2*len(x) {
		a.scratch = make([]float32, 2*len(x))
	}
	gx, mom := a.scratch[:len(x)], a.scratch[len(x):2*len(x)]
	clear(mom)
	loss := a.Loss.resolve(LossCE).Func(y, false)
	al := a.alpha()
	for range a.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := g.InputGrad(ctx, gx, dst, loss); err != nil {
			return fmt.Errorf("attack: %s: %w", a.Name(), err)
		}
		for i := range n {
			s := i * d
			momentumStep(&a.Threat, al, a.Decay, dst[s:s+d], mom[s:s+d], gx[s:s+d], x[s:s+d])
		}
	}
	return nil
}
