package attack

import (
	"context"
	"fmt"
	"math"
)

// NES is the natural-evolution-strategies attack of Ilyas et al. (2018)
// as configured in the SignHunter framework bundled with UniG
// (robustness.md §3.1): per step, Samples antithetic Gaussian probes
// u ~ N(0, I)/√d estimate the gradient
// g = Σ (L(x+σu) − L(x−σu))/(2σ) · u, then x ← Π(x − LR·sign(g)) (L∞) or
// Π(x − LR·g/‖g‖) (L2, the framework's l2_step). L is the attack objective,
// minimised (by default log p_y, i.e. the cross-entropy is maximised).
//
// Probes are clipped to [0, 1] but not projected onto the ball and never
// count as successes; the new iterate of every step is queried once (the
// success check). A step costs 2·Samples+1 queries; when the budget left is
// smaller, the step uses ⌊(left−1)/2⌋ pairs, and the sample stops when not
// even one pair fits. NES needs a finite oracle budget.
type NES struct {
	Threat
	// Sigma is the finite-difference step η (CIFAR: 2.55/255 = 0.01;
	// ImageNet: 0.1).
	Sigma float64 `json:"sigma"`
	// LR is the image step size (CIFAR: 2/255; ImageNet: 0.02).
	LR float64 `json:"lr"`
	// Samples is the number q of antithetic pairs per step (CIFAR: 20;
	// ImageNet: 100).
	Samples int `json:"samples"`
}

// NewNES returns NES with the CIFAR-10 settings of the UniG harness
// converted to the [0, 1] scale: ε = 8/255, σ = 0.01, lr = 2/255, q = 20,
// L∞, cross-entropy.
func NewNES() *NES {
	return &NES{Threat: Threat{Norm: LInf, Eps: 8.0 / 255}, Sigma: 2.55 / 255, LR: 2.0 / 255, Samples: 20}
}

func init() { Register("nes", func() Attack { return NewNES() }) }

// Name is "nes".
func (a *NES) Name() string { return "nes" }

// Run attacks x through o; see [Attack.Run].
func (a *NES) Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	r, err := newRunner(ctx, a.Name(), o, x, y, opts, &a.Threat, LossCE, true)
	if err != nil {
		return nil, err
	}
	if !(a.Sigma > 0) || !(a.LR > 0) || a.Samples < 1 || math.IsInf(a.Sigma, 0) || math.IsInf(a.LR, 0) {
		return nil, fmt.Errorf("attack: nes: need sigma > 0, lr > 0 and samples ≥ 1 (got %v, %v, %d)", a.Sigma, a.LR, a.Samples)
	}
	if o.Budget() == 0 {
		return nil, fmt.Errorf("attack: nes: needs a finite query budget (OracleOptions.Budget)")
	}
	n, d := r.n, r.d
	xcur := append([]float32(nil), x...)
	adv := func(i int) []float32 { return xcur[i*d : (i+1)*d] }
	if err := r.clean(); err != nil {
		return r.finish(nil, err)
	}
	bs := o.opts.BatchSize
	maxRows := max(2*n, bs+1)
	r.reserve(maxRows, false)
	g := make([]float32, n*d)
	u := make([]float32, (maxRows/2+1)*d)
	left := make([]int, n) // pairs left in the current step
	invSqrtD := 1 / math.Sqrt(float64(d))
	for len(r.active) > 0 {
		pending := 0
		for _, i := range r.active {
			left[i] = 0
			if !r.has(i, 3) {
				continue
			}
			left[i] = min(a.Samples, (o.Remaining(i)-1)/2)
			pending += left[i]
			clear(g[i*d : (i+1)*d])
		}
		// Probe pairs, several per sample and call when few samples remain.
		per := max(1, min(a.Samples, bs/(2*max(len(r.active), 1))))
		for pending > 0 {
			r.begin()
			for _, i := range r.active {
				if !r.attacking(i) { // failed during this step
					pending -= left[i]
					left[i] = 0
				}
				for t := 0; t < per && left[i] > 0; t++ {
					left[i]--
					pending--
					uj := u[(r.m/2)*d : (r.m/2+1)*d]
					for j := range uj {
						uj[j] = float32(r.rng.NormFloat64() * invSqrtD)
					}
					xc := xcur[i*d : (i+1)*d]
					plus, minus := r.stage(i, false), r.stage(i, false)
					for j, v := range xc {
						plus[j] = min(max(v+float32(a.Sigma)*uj[j], 0), 1)
						minus[j] = min(max(v-float32(a.Sigma)*uj[j], 0), 1)
					}
				}
			}
			if err := r.flush(); err != nil {
				return r.finish(adv, err)
			}
			for p := 0; p < r.m; p += 2 {
				i := r.qi[p]
				if !r.attacking(i) {
					continue
				}
				df := float32((r.ql[p] - r.ql[p+1]) / (2 * a.Sigma))
				gi, uj := g[i*d:(i+1)*d], u[(p/2)*d:(p/2+1)*d]
				for j := range gi {
					gi[j] += df * uj[j]
				}
			}
		}
		// Step and check.
		r.begin()
		for _, i := range r.active {
			if !r.attacking(i) {
				continue
			}
			xc, gi, x0 := xcur[i*d:(i+1)*d], g[i*d:(i+1)*d], r.xi(i)
			descend(a.Norm, a.LR, xc, gi)
			project(a.Norm, a.Eps, xc, x0)
			copy(r.stage(i, true), xc)
		}
		if err := r.flush(); err != nil {
			return r.finish(adv, err)
		}
		for j := range r.m {
			if i := r.qi[j]; r.attacking(i) {
				r.res.Loss[i] = r.ql[j]
			}
		}
		if err := r.endRound(); err != nil {
			return r.finish(adv, err)
		}
	}
	return r.finish(adv, nil)
}

// descend moves x against the gradient estimate g: by lr·sign(g) (L∞,
// sign(0) = 0) or by lr·g/‖g‖ (L2).
func descend(norm Norm, lr float64, x, g []float32) {
	if norm == LInf {
		s := float32(lr)
		for j, v := range g {
			switch {
			case v > 0:
				x[j] -= s
			case v < 0:
				x[j] += s
			}
		}
		return
	}
	var nrm float64
	for _, v := range g {
		nrm += float64(v) * float64(v)
	}
	nrm = math.Sqrt(nrm)
	if nrm == 0 {
		return
	}
	f := lr / nrm
	for j, v := range g {
		x[j] = float32(float64(x[j]) - f*float64(v))
	}
}
