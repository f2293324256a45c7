package attack

import (
	"context"
	"fmt"
	"math"
)

// Bandits is the bandit attack with time (and optionally data) priors of
// Ilyas et al. (2019), Bandits-TD, as in the SignHunter framework bundled
// with UniG (robustness.md §3.4). A prior v (the image shape, or a
// Tile×Tile grid per channel upsampled by nearest neighbour when Tile > 0)
// tracks the gradient of the objective. Per step:
//
//	u ~ N(0, I)/√dim(v);  q± = up(v ± δ·u)
//	l± = L(x + η·q±/‖q±‖)                      (2 probe queries)
//	g  = (l₊ − l₋)/(η·δ) · u
//	v  ← exponentiated-gradient step on [−1, 1] (L∞), v + lr_o·g (L2)
//	x  ← Π(x + h·sign(up(v)))  (L∞),  Π(x + h·up(v)/‖up(v)‖)  (L2)
//
// with L the cross-entropy to maximise (internally: the objective to
// minimise, negated). The EG step is computed in the equivalent, overflow-
// free form v ← tanh(lr_o·g + atanh(v)). The new iterate is queried once
// (the success check), so a step costs 3 queries. Probes are clipped to
// [0, 1] and never count as successes. Bandits needs a finite budget.
type Bandits struct {
	Threat
	// FDEta is the finite-difference step η (0.1).
	FDEta float64 `json:"fd_eta"`
	// ImageLR is the image step h (0.01).
	ImageLR float64 `json:"image_lr"`
	// OnlineLR is the prior learning rate lr_o (100).
	OnlineLR float64 `json:"online_lr"`
	// Exploration is δ (1.0).
	Exploration float64 `json:"exploration"`
	// Tile is the side of the data-prior grid; 0 (the UniG harness) keeps
	// the prior at image size. Tiling needs image inputs.
	Tile int `json:"tile"`
}

// NewBandits returns Bandits with the UniG CIFAR-10 settings: L∞,
// ε = 8/255, η = 0.1, h = 0.01, lr_o = 100, δ = 1, no tiling,
// cross-entropy.
func NewBandits() *Bandits {
	return &Bandits{Threat: Threat{Norm: LInf, Eps: 8.0 / 255}, FDEta: 0.1, ImageLR: 0.01, OnlineLR: 100, Exploration: 1}
}

func init() { Register("bandits", func() Attack { return NewBandits() }) }

// Name is "bandits".
func (a *Bandits) Name() string { return "bandits" }

// egStep is the exponentiated-gradient step of the prior on [−1, 1]:
// with r = (v+1)/2, v' = 2·r·e^{lr·g}/(r·e^{lr·g} + (1−r)·e^{−lr·g}) − 1,
// which equals tanh(lr·g + atanh(v)).
func egStep(v, g, lr float64) float64 {
	return math.Tanh(lr*g + math.Atanh(v))
}

// Run attacks x through o; see [Attack.Run].
func (a *Bandits) Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	r, err := newRunner(ctx, a.Name(), o, x, y, opts, &a.Threat, LossCE, true)
	if err != nil {
		return nil, err
	}
	for _, p := range []float64{a.FDEta, a.ImageLR, a.OnlineLR, a.Exploration} {
		if !(p > 0) || math.IsInf(p, 0) {
			return nil, fmt.Errorf("attack: bandits: fd_eta, image_lr, online_lr and exploration must be positive and finite (got %v, %v, %v, %v)",
				a.FDEta, a.ImageLR, a.OnlineLR, a.Exploration)
		}
	}
	if o.Budget() == 0 {
		return nil, fmt.Errorf("attack: bandits: needs a finite query budget (OracleOptions.Budget)")
	}
	n, d := r.n, r.d
	// up maps pixel j to its prior index; nil means the identity.
	var up []int
	dp := d
	if a.Tile < 0 {
		return nil, fmt.Errorf("attack: bandits: negative tile %d", a.Tile)
	}
	if a.Tile > 0 {
		c, h, w, ok := imageDims(o.shape)
		if !ok {
			return nil, fmt.Errorf("attack: bandits: tiling needs image inputs C×H×W, got shape %v", o.shape)
		}
		t := a.Tile
		dp = c * t * t
		up = make([]int, d)
		for ch := range c {
			for rr := range h {
				for cc := range w {
					// torch's nearest upsampling: src = ⌊dst·in/out⌋.
					up[ch*h*w+rr*w+cc] = ch*t*t + (rr*t/h)*t + cc*t/w
				}
			}
		}
	}
	at := func(v []float64, j int) float64 {
		if up == nil {
			return v[j]
		}
		return v[up[j]]
	}
	xcur := append([]float32(nil), x...)
	adv := func(i int) []float32 { return xcur[i*d : (i+1)*d] }
	if err := r.clean(); err != nil {
		return r.finish(nil, err)
	}
	r.reserve(2*n, false)
	prior := make([]float64, n*dp)
	noise := make([]float64, n*dp)
	q := make([]float64, dp)
	img := make([]float64, d)
	invSqrt := 1 / math.Sqrt(float64(dp))
	for len(r.active) > 0 {
		r.begin()
		for _, i := range r.active {
			if !r.has(i, 3) {
				continue
			}
			v, u := prior[i*dp:(i+1)*dp], noise[i*dp:(i+1)*dp]
			for j := range u {
				u[j] = r.rng.NormFloat64() * invSqrt
			}
			xc := xcur[i*d : (i+1)*d]
			for _, sg := range [2]float64{1, -1} {
				for j := range q {
					q[j] = v[j] + sg*a.Exploration*u[j]
				}
				var nrm float64
				for j := range img {
					img[j] = at(q, j)
					nrm += img[j] * img[j]
				}
				nrm = math.Sqrt(nrm)
				if nrm == 0 {
					nrm = math.SmallestNonzeroFloat64
				}
				row := r.stage(i, false)
				f := a.FDEta / nrm
				for j, xv := range xc {
					row[j] = float32(min(max(float64(xv)+f*img[j], 0), 1))
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
			// The objective is minimised; the reference ascends the loss.
			est := (r.ql[p+1] - r.ql[p]) / (a.FDEta * a.Exploration)
			v, u := prior[i*dp:(i+1)*dp], noise[i*dp:(i+1)*dp]
			for j := range v {
				if a.Norm == LInf {
					v[j] = egStep(v[j], est*u[j], a.OnlineLR)
				} else {
					v[j] += a.OnlineLR * est * u[j]
				}
			}
			xc := xcur[i*d : (i+1)*d]
			if a.Norm == LInf {
				for j := range xc {
					switch g := at(v, j); {
					case g > 0:
						xc[j] += float32(a.ImageLR)
					case g < 0:
						xc[j] -= float32(a.ImageLR)
					}
				}
			} else {
				var nrm float64
				for j := range xc {
					g := at(v, j)
					nrm += g * g
				}
				if nrm = math.Sqrt(nrm); nrm > 0 {
					f := a.ImageLR / nrm
					for j := range xc {
						xc[j] = float32(float64(xc[j]) + f*at(v, j))
					}
				}
			}
			project(a.Norm, a.Eps, xc, r.xi(i))
		}
		r.begin()
		for _, i := range r.active {
			if r.attacking(i) {
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
		if err := r.endRound(); err != nil {
			return r.finish(adv, err)
		}
	}
	return r.finish(adv, nil)
}
