package train

import (
	"fmt"
	"math"
)

// PBFGS is DLDR's P-BFGS (Li et al., "Low Dimensional Trajectory Hypothesis
// is True: DNNs can be Trained in Tiny Subspaces", TPAMI 2022): BFGS on the
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
// There is no learning rate, momentum or weight decay. The line-search
// trials leave batch-norm running statistics alone when the model is a
// [BNController]. Use large batches (the official runs use 1024).
type PBFGS struct {
	Basis      *Subspace
	h          []float64 // d×d inverse-Hessian approximation
	gPrev, s   []float64
	g, dir, tr []float64
	w0         []float32
	k          int
}

// NewPBFGS returns P-BFGS in basis.
func NewPBFGS(basis *Subspace) (*PBFGS, error) {
	if basis == nil || basis.Dim == 0 {
		return nil, fmt.Errorf("train: P-BFGS needs a non-empty subspace")
	}
	d := basis.Dim
	o := &PBFGS{Basis: basis, h: make([]float64, d*d), gPrev: make([]float64, d), s: make([]float64, d),
		g: make([]float64, d), dir: make([]float64, d), tr: make([]float64, d)}
	for i := 0; i < d; i++ {
		o.h[i*d+i] = 1
	}
	return o, nil
}

// SetLR does nothing: the line search chooses the step.
func (o *PBFGS) SetLR(float64) {}

// LR returns 1, the initial step of the line search.
func (o *PBFGS) LR() float64 { return 1 }

// Step makes one P-BFGS update; it returns the loss at the starting point.
func (o *PBFGS) Step(p Params, c Closure) (float64, error) {
	loss, err := c()
	if err != nil {
		return loss, err
	}
	b, d := o.Basis, o.Basis.Dim
	g := p.Grads()
	if len(g) != b.D {
		return loss, fmt.Errorf("train: subspace of dimension-%d vectors for %d weights", b.D, len(g))
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
		y := o.tr
		for j := range y {
			y[j] = o.g[j] - o.gPrev[j]
			ys += y[j] * o.s[j]
		}
		if ys > 1e-20 {
			o.bfgsUpdate(y, 1/ys)
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
	w := p.Weights()
	o.w0 = grow32(o.w0, len(w))
	copy(o.w0, w)
	scale := math.Pow(0.4, 20)
	for m, t := 0, 1.0; m < 20; m, t = m+1, t*0.4 {
		o.move(w, t)
		lt, err := perturbedPass(p, c)
		if err != nil {
			copy(w, o.w0)
			return loss, fmt.Errorf("train: P-BFGS line search: %w", err)
		}
		if lt < loss+0.4*t*gd {
			scale = t
			break
		}
	}
	o.move(w, scale)
	for j := range o.s {
		o.s[j] = scale * o.dir[j]
	}
	copy(o.gPrev, o.g)
	o.k++
	return loss, nil
}

// move sets w = w0 + t·Pᵀdir.
func (o *PBFGS) move(w []float32, t float64) {
	b := o.Basis
	for i := range w {
		var v float64
		for j, dj := range o.dir {
			v += dj * b.P[j*b.D+i]
		}
		w[i] = o.w0[i] + float32(t*v)
	}
}

// bfgsUpdate applies H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, expanded as
// H − ρ(s (yᵀH) + (H y) sᵀ) + (ρ² yᵀHy + ρ) s sᵀ (H symmetric).
func (o *PBFGS) bfgsUpdate(y []float64, rho float64) {
	d := o.Basis.Dim
	hy := make([]float64, d)
	var yhy float64
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			hy[i] += o.h[i*d+j] * y[j]
		}
		yhy += y[i] * hy[i]
	}
	c := rho*rho*yhy + rho
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			o.h[i*d+j] += -rho*(o.s[i]*hy[j]+hy[i]*o.s[j]) + c*o.s[i]*o.s[j]
		}
	}
}
