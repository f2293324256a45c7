package train

import (
	"errors"
	"fmt"
	"math"
)

// PBFGS is DLDR's P-BFGS (Li et al., "Low Dimensional Trajectory Hypothesis
// is True: DNNs Can Be Trained in Tiny Subspaces", TPAMI 2022): BFGS on the
// d coordinates of a [Subspace] with an Armijo backtracking line search on
// the same mini-batch, following the official P_plus_BFGS:
//
//	g_k = P∇L_B(w)
//	y = g_k − g_{k−1}, s = previous step; if yᵀs > 1e-20:
//	    ρ = 1/yᵀs,  H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ    (H₀ = I)
//	d = −H g_k
//	step = 0.4^m·d for the first m in 0..19 with
//	    L_B(w + Pᵀ step) < L_B(w) + 0.4·0.4^m·g_kᵀd    (else 0.4^20·d)
//	w ← w + Pᵀ step
//
// The curvature pair mixes gradients of different mini-batches, so yᵀs can
// be ≤ 0; the update of H is then skipped. A trial whose loss is not finite
// (the closure fails with [ErrNonFiniteLoss]) counts as rejected, as a NaN
// or infinite loss fails the official comparison. There is no learning
// rate, momentum or weight decay.
//
// The trials run the closure in training mode, like the official code; when
// the model is a [BNController] they leave batch-norm running statistics
// untouched (the official code restores its whole state after each trial
// for the same reason), so only the first evaluation of each step updates
// them. Dropout draws new masks in every trial, which makes the line search
// noisy: use networks without dropout. Each trial evaluates the closure,
// gradient included, so a step costs 1 + (accepted trial + 1) gradient
// evaluations. Use large batches: the official runs use 1024, and with 128
// the line search thrashes.
type PBFGS struct {
	Basis     *Subspace
	h         []float64 // d×d inverse-Hessian approximation
	gPrev, s  []float64
	g, dir, y []float64
	hy, pdir  []float64
	w0        []float32
	k         int
	stats     PBFGSStats
}

// PBFGSStats counts what P-BFGS did.
type PBFGSStats struct {
	Steps        int `json:"steps"`         // updates made
	Trials       int `json:"trials"`        // line-search loss evaluations
	Failed       int `json:"failed"`        // steps where no trial met the Armijo condition (step 0.4^20·d)
	NonFinite    int `json:"non_finite"`    // trials rejected for a NaN or infinite loss
	SkippedPairs int `json:"skipped_pairs"` // curvature pairs with yᵀs ≤ 1e-20, not used
}

// NewPBFGS returns P-BFGS in basis.
func NewPBFGS(basis *Subspace) (*PBFGS, error) {
	if basis == nil || basis.Dim == 0 || len(basis.P) != basis.Dim*basis.D {
		return nil, fmt.Errorf("train: P-BFGS needs a non-empty subspace")
	}
	d := basis.Dim
	o := &PBFGS{Basis: basis, h: make([]float64, d*d), gPrev: make([]float64, d), s: make([]float64, d),
		g: make([]float64, d), dir: make([]float64, d), y: make([]float64, d), hy: make([]float64, d),
		pdir: make([]float64, basis.D)}
	for i := 0; i < d; i++ {
		o.h[i*d+i] = 1
	}
	return o, nil
}

// SetLR does nothing: the line search chooses the step.
func (o *PBFGS) SetLR(float64) {}

// LR returns 1, the initial step of the line search.
func (o *PBFGS) LR() float64 { return 1 }

// Stats returns the counts of steps, line-search trials and skipped
// curvature updates so far.
func (o *PBFGS) Stats() PBFGSStats { return o.stats }

// The official constants: backtracking factor ρ (its 0.55 is overwritten by
// 0.4), Armijo constant σ, and the most trials per step.
const (
	pbfgsBacktrack = 0.4
	pbfgsArmijo    = 0.4
	pbfgsTrials    = 20
)

// Step makes one P-BFGS update; it returns the loss at the starting point.
func (o *PBFGS) Step(p Params, c Closure) (float64, error) {
	loss, err := c()
	if err != nil {
		return loss, err
	}
	b, d := o.Basis, o.Basis.Dim
	g := p.Grads()
	w := p.Weights()
	if len(g) != b.D || len(w) != b.D {
		return loss, fmt.Errorf("train: P-BFGS subspace of dimension-%d vectors for %d weights", b.D, len(w))
	}
	for j := 0; j < d; j++ {
		pj := b.P[j*b.D : (j+1)*b.D]
		var dot float64
		for i, v := range g {
			dot += pj[i] * float64(v)
		}
		o.g[j] = dot
	}
	if o.k > 0 {
		var ys float64
		for j := range o.y {
			o.y[j] = o.g[j] - o.gPrev[j]
			ys += o.y[j] * o.s[j]
		}
		if ys > 1e-20 {
			o.bfgsUpdate(o.y, 1/ys)
		} else {
			o.stats.SkippedPairs++
		}
	}
	var gd float64
	for i := 0; i < d; i++ {
		var v float64
		for j := 0; j < d; j++ {
			v -= o.h[i*d+j] * o.g[j]
		}
		o.dir[i] = v
		gd += o.g[i] * v
	}
	// pdir = Pᵀ dir, the search direction in weight space.
	clear(o.pdir)
	for j, dj := range o.dir {
		pj := b.P[j*b.D : (j+1)*b.D]
		for i, v := range pj {
			o.pdir[i] += dj * v
		}
	}
	o.w0 = grow32(o.w0, len(w))
	copy(o.w0, w)
	scale := math.Pow(pbfgsBacktrack, pbfgsTrials)
	accepted := false
	for m, t := 0, 1.0; m < pbfgsTrials; m, t = m+1, t*pbfgsBacktrack {
		o.move(w, t)
		o.stats.Trials++
		lt, err := perturbedPass(p, c)
		if errors.Is(err, ErrNonFiniteLoss) {
			o.stats.NonFinite++
			continue
		}
		if err != nil {
			copy(w, o.w0)
			return loss, fmt.Errorf("train: P-BFGS line search: %w", err)
		}
		if lt < loss+pbfgsArmijo*t*gd {
			scale, accepted = t, true
			break
		}
	}
	if !accepted {
		o.stats.Failed++
	}
	o.move(w, scale)
	for j := range o.s {
		o.s[j] = scale * o.dir[j]
	}
	copy(o.gPrev, o.g)
	o.k++
	o.stats.Steps++
	return loss, nil
}

// move sets w = w0 + t·Pᵀdir.
func (o *PBFGS) move(w []float32, t float64) {
	for i, v := range o.pdir {
		w[i] = o.w0[i] + float32(t*v)
	}
}

// bfgsUpdate applies H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, expanded as
// H − ρ(s (yᵀH) + (H y) sᵀ) + (ρ² yᵀHy + ρ) s sᵀ (H symmetric).
func (o *PBFGS) bfgsUpdate(y []float64, rho float64) {
	d := o.Basis.Dim
	hy := o.hy
	var yhy float64
	for i := 0; i < d; i++ {
		var v float64
		for j := 0; j < d; j++ {
			v += o.h[i*d+j] * y[j]
		}
		hy[i] = v
		yhy += y[i] * v
	}
	c := rho*rho*yhy + rho
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			o.h[i*d+j] += -rho*(o.s[i]*hy[j]+hy[i]*o.s[j]) + c*o.s[i]*o.s[j]
		}
	}
}
