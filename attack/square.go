package attack

import (
	"context"
	"fmt"
	"math"
)

// Square is the Square attack (Andriushchenko et al., ECCV 2020), a random
// search over square-shaped updates, in its L∞ and L2 versions
// (robustness.md §2). Inputs must be images (shape C×H×W or H×W).
//
// Each iteration proposes, for every sample still being attacked, one
// candidate that changes a random s×s window (s from the p-schedule
// [SquareP]) and keeps it if the loss strictly decreases. The run ends when
// a sample is fooled, when its budget is spent, or after NIters iterations
// (initialisation included), whichever comes first.
//
// With Loss [LossUp] or [LossBi] it is the AAA paper's adaptive attack on
// AAA (up-Square, bi-Square): the objective is the margin, and the
// acceptance rule changes as those losses describe.
type Square struct {
	Threat
	// PInit is the initial fraction of pixels changed per iteration:
	// 0.05 (L∞) / 0.1 (L2) for standard models, 0.3 for robust ones (AAA).
	PInit float64 `json:"p_init"`
	// NIters is the iteration count the p-schedule is spread over (10000 in
	// the reference and AAA). It is kept apart from the query budget: with a
	// 2500-query budget and NIters 10000 (AAA) the schedule is not
	// compressed, as it is in the UniG harness (NIters = budget).
	NIters int `json:"n_iters"`
	// CoverEdges draws window corners in [0, H−s] × [0, W−s]. The reference
	// draws them in [0, H−s) × [0, W−s) (numpy's randint excludes the upper
	// bound), so after the initialisation its windows never touch the last
	// row and column: 6 % of a 32×32 image, 23 % of an 8×8 one. False (the
	// default) reproduces the reference.
	CoverEdges bool `json:"cover_edges"`
}

// NewSquare returns the L∞ Square attack with the reference defaults:
// ε = 8/255, p_init = 0.05, 10000 iterations, margin loss (cross-entropy
// when targeted).
func NewSquare() *Square {
	return &Square{Threat: Threat{Norm: LInf, Eps: 8.0 / 255}, PInit: 0.05, NIters: 10000}
}

// NewSquareL2 returns the L2 Square attack with the reference defaults:
// ε = 0.5, p_init = 0.1, 10000 iterations.
func NewSquareL2() *Square {
	return &Square{Threat: Threat{Norm: L2, Eps: 0.5}, PInit: 0.1, NIters: 10000}
}

func init() {
	Register("square", func() Attack { return NewSquare() })
	Register("square-l2", func() Attack { return NewSquareL2() })
	// The AAA paper's adaptive attacks (its Table 6), L∞.
	for _, l := range []Loss{LossUp, LossBi} {
		Register(l.String()+"-square", func() Attack { a := NewSquare(); a.Loss = l; return a })
	}
}

// Name is "square" (L∞) or "square-l2", prefixed by "up-" or "bi-" for the
// adaptive rules LossUp and LossBi.
func (a *Square) Name() string {
	name := "square"
	if a.Norm == L2 {
		name = "square-l2"
	}
	if a.Loss.Adaptive() {
		name = a.Loss.String() + "-" + name
	}
	return name
}

// SquareP is the p-schedule of the Square attack: the fraction of pixels
// changed at iteration it (0-based, after the initialisation) of nIters.
// The iteration is rescaled to it' = ⌊it/nIters·10000⌋ and p is p_init up to
// it' = 10, then halved at 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000;
// beyond 10000 it returns to p_init, as in the reference code.
func SquareP(pInit float64, it, nIters int) float64 {
	if nIters <= 0 {
		return pInit
	}
	i := int(float64(it) / float64(nIters) * 10000)
	switch {
	case 10 < i && i <= 50:
		return pInit / 2
	case 50 < i && i <= 200:
		return pInit / 4
	case 200 < i && i <= 500:
		return pInit / 8
	case 500 < i && i <= 1000:
		return pInit / 16
	case 1000 < i && i <= 2000:
		return pInit / 32
	case 2000 < i && i <= 4000:
		return pInit / 64
	case 4000 < i && i <= 6000:
		return pInit / 128
	case 6000 < i && i <= 8000:
		return pInit / 256
	case 8000 < i && i <= 10000:
		return pInit / 512
	}
	return pInit
}

func (a *Square) validate(shape []int) (c, h, w int, err error) {
	if !(a.PInit > 0 && a.PInit <= 1) {
		return 0, 0, 0, fmt.Errorf("attack: %s: p_init %v outside (0, 1]", a.Name(), a.PInit)
	}
	if a.NIters < 1 {
		return 0, 0, 0, fmt.Errorf("attack: %s: n_iters %d must be at least 1", a.Name(), a.NIters)
	}
	c, h, w, ok := imageDims(shape)
	minSide := 2
	if a.Norm == L2 {
		minSide = 5
	}
	if !ok || min(h, w) < minSide {
		return 0, 0, 0, fmt.Errorf("attack: %s: needs image inputs C×H×W with H, W ≥ %d, got shape %v", a.Name(), minSide, shape)
	}
	return c, h, w, nil
}

// Run attacks x through o; see [Attack.Run].
func (a *Square) Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	def := LossMargin
	if opts.Targets != nil {
		def = LossCE
	}
	th := a.Threat
	rule := th.Loss
	if rule.Adaptive() {
		th.Loss = LossMargin // the observed margin
	}
	r, err := newRunner(ctx, a.Name(), o, x, y, opts, &th, def, true)
	if err != nil {
		return nil, err
	}
	c, h, w, err := a.validate(o.shape)
	if err != nil {
		return nil, err
	}
	sq := &squareRun{Square: a, r: r, c: c, h: h, w: w, d: r.d, rule: rule}
	if rule == LossBi {
		sq.up = make([]bool, r.n)
	}
	if a.CoverEdges {
		sq.edge = 1
	}
	return sq.run()
}

// squareRun holds the state of one run.
type squareRun struct {
	*Square
	r       *runner
	c, h, w int
	d       int
	edge    int       // 1 with CoverEdges
	rule    Loss      // LossUp, LossBi or another loss (accept decreases)
	up      []bool    // LossBi: the samples switched to the up rule
	xbest   []float32 // current best point of every sample
	best    []float64 // its loss
	signs   []float32 // per-channel signs, len c
	delta   []float64 // L2 scratch, len d
	dl      []float32 // L2: δ_i = xbest_i − x_i of every sample, n×d
	dn2     []float64 // L2: ‖δ_i‖²
	nw1     []float64 // L2 per-channel norms, len c
	nu      []float64
	pats    map[int][]float64 // L2 metaPseudoGauss(s) by s
	tileT   []bool
}

func (s *squareRun) run() (*Result, error) {
	r := s.r
	adv := func(i int) []float32 { return s.xbest[i*s.d : (i+1)*s.d] }
	if err := r.clean(); err != nil {
		return r.finish(nil, err)
	}
	s.xbest = append([]float32(nil), r.x...)
	s.best = make([]float64, r.n)
	s.signs = make([]float32, s.c)
	if s.Norm == L2 {
		s.delta = make([]float64, s.d)
		s.dl = make([]float32, r.n*s.d)
		s.dn2 = make([]float64, r.n)
		s.nw1 = make([]float64, s.c)
		s.nu = make([]float64, s.c)
		s.pats = map[int][]float64{}
	}
	if len(r.active) == 0 {
		return r.finish(adv, nil)
	}
	// Initialisation: one query, always accepted.
	r.begin()
	if s.Norm == L2 {
		s.initL2()
	} else {
		s.initLinf()
	}
	if err := s.accept(true); err != nil {
		return r.finish(adv, err)
	}
	for it := 0; it < s.NIters-1 && len(r.active) > 0; it++ {
		p := SquareP(s.PInit, it, s.NIters)
		r.begin()
		if s.Norm == L2 {
			s.stepL2(p)
		} else {
			s.stepLinf(p)
		}
		if err := s.accept(false); err != nil {
			return r.finish(adv, err)
		}
	}
	return r.finish(adv, nil)
}

// accept queries the staged candidates and keeps those that improve the
// loss (all of them when always is set).
func (s *squareRun) accept(always bool) error {
	r := s.r
	if err := r.flush(); err != nil {
		return err
	}
	for j := range r.m {
		i := r.qi[j]
		if !r.attacking(i) {
			continue
		}
		if l := r.ql[j]; always || s.improves(i, l) {
			s.best[i] = l
			r.res.Loss[i] = l
			row := r.row(j)
			copy(s.xbest[i*s.d:(i+1)*s.d], row)
			if s.Norm == L2 {
				dl, x0 := s.dl[i*s.d:(i+1)*s.d], r.xi(i)
				var n2 float64
				for q, v := range row {
					e := float32(float64(v) - float64(x0[q]))
					dl[q] = e
					n2 += float64(e) * float64(e)
				}
				s.dn2[i] = n2
			}
		}
	}
	return r.endRound()
}

// improves applies the acceptance rule to a candidate of sample i with
// loss l: a decrease, or with the adaptive rules (robustness.md §1.3) an
// increase or a drop by more than AdaptiveJump. A LossBi sample switches to
// the up rule, accepting the candidate, when its margin jumps up by more
// than AdaptiveJump.
func (s *squareRun) improves(i int, l float64) bool {
	b := s.best[i]
	switch {
	case s.rule == LossUp || s.rule == LossBi && s.up[i]:
		return l > b || l < b-AdaptiveJump
	case s.rule == LossBi && l > b+AdaptiveJump:
		s.up[i] = true
		return true
	}
	return l < b
}

// initLinf stages the vertical-stripe initialisation: per sample and
// channel a row of ±ε signs broadcast along the height.
func (s *squareRun) initLinf() {
	r := s.r
	hw := s.h * s.w
	for _, i := range r.active {
		if !r.has(i, 1) {
			continue
		}
		row, x0 := r.stage(i, true), r.xi(i)
		for ch := range s.c {
			for col := range s.w {
				up := r.rng.IntN(2) == 1
				for rr := range s.h {
					j := ch*hw + rr*s.w + col
					lo, hi := boxBounds(x0[j], s.Eps)
					if up {
						row[j] = hi
					} else {
						row[j] = lo
					}
				}
			}
		}
	}
}

// stepLinf stages one L∞ iteration: per sample a random window whose
// per-channel signs are redrawn until the candidate differs from the
// current best point there.
func (s *squareRun) stepLinf(p float64) {
	r := s.r
	c, h, w, hw := s.c, s.h, s.w, s.h*s.w
	side := int(math.RoundToEven(math.Sqrt(p * float64(s.d) / float64(c))))
	side = min(max(side, 1), min(h, w)-1)
	for _, i := range r.active {
		if !r.has(i, 1) {
			continue
		}
		row, x0 := r.stage(i, true), r.xi(i)
		xb := s.xbest[i*s.d : (i+1)*s.d]
		copy(row, xb)
		r0, c0 := r.rng.IntN(h-side+s.edge), r.rng.IntN(w-side+s.edge)
		// The reference loops until the window changes; it always does
		// within a few draws when ε > 0. Cap the draws as a safety net.
		for try := 0; try < 1000; try++ {
			for ch := range c {
				s.signs[ch] = float32(2*r.rng.IntN(2) - 1)
			}
			changed := false
			for ch := 0; ch < c && !changed; ch++ {
				for rr := r0; rr < r0+side && !changed; rr++ {
					for cc := c0; cc < c0+side; cc++ {
						j := ch*hw + rr*w + cc
						if math.Abs(float64(s.boxVal(x0[j], s.signs[ch])-xb[j])) >= 1e-7 {
							changed = true
							break
						}
					}
				}
			}
			if changed {
				break
			}
		}
		for ch := range c {
			for rr := r0; rr < r0+side; rr++ {
				for cc := c0; cc < c0+side; cc++ {
					j := ch*hw + rr*w + cc
					row[j] = s.boxVal(x0[j], s.signs[ch])
				}
			}
		}
	}
}

// boxVal is clip(x0 ± ε, 0, 1), rounded inward.
func (s *squareRun) boxVal(x0, sign float32) float32 {
	lo, hi := boxBounds(x0, s.Eps)
	if sign > 0 {
		return hi
	}
	return lo
}

// pattern returns metaPseudoGauss(side), computed once per side.
func (s *squareRun) pattern(side int) []float64 {
	if p, ok := s.pats[side]; ok {
		return p
	}
	p := make([]float64, side*side)
	metaPseudoGauss(p, side)
	s.pats[side] = p
	return p
}

// patAt reads the side×side pattern at (i, j), transposed if t.
func patAt(p []float64, side, i, j int, t bool) float64 {
	if t {
		return p[j*side+i]
	}
	return p[i*side+j]
}

// initL2 stages the L2 initialisation: the image tiled with
// metaPseudoGauss squares of side H/5 (one random transpose per tile,
// shared by the batch; one random sign per sample, tile and channel),
// rescaled to norm ε and clipped.
func (s *squareRun) initL2() {
	r := s.r
	c, h, w, hw := s.c, s.h, s.w, s.h*s.w
	side := h / 5
	sp := (h - 5*side) / 2
	nh, nw := h/side, w/side
	pat := s.pattern(side)
	if s.tileT == nil {
		s.tileT = make([]bool, nh*nw)
	}
	for t := range s.tileT {
		s.tileT[t] = r.rng.Float64() > 0.5
	}
	for _, i := range r.active {
		if !r.has(i, 1) {
			continue
		}
		clear(s.delta)
		for ti := range nh {
			for tj := range nw {
				tr := s.tileT[ti*nw+tj]
				for ch := range c {
					sg := float64(2*r.rng.IntN(2) - 1)
					for a := range side {
						rr := sp + ti*side + a
						if rr >= h {
							break
						}
						for b := range side {
							cc := sp + tj*side + b
							if cc >= w {
								break
							}
							s.delta[ch*hw+rr*w+cc] += sg * patAt(pat, side, a, b, tr)
						}
					}
				}
			}
		}
		s.writeL2(r.stage(i, true), r.xi(i), -1)
	}
}

// writeL2 writes clip(x0 + δ/‖δ‖·ε, 0, 1) into row, strictly within the
// ball; nrm2 is ‖δ‖² (computed by the caller, or −1 to compute it here).
//
// δ is scaled to ε − 6e-8·√d rather than ε, which keeps the float32 result
// within ε without a second pass: clipping to [0, 1] only shortens each
// coordinate's move (x0 is in [0, 1]), and rounding a value of [0, 1] to
// float32 moves it by at most 2⁻²⁵ < 3e-8, so the rounding error has norm
// below 3e-8·√d. The radius shrinks by about 1e-6 relative.
func (s *squareRun) writeL2(row, x0 []float32, nrm2 float64) {
	if nrm2 < 0 {
		nrm2 = 0
		for _, v := range s.delta {
			nrm2 += v * v
		}
	}
	f := 0.0
	if nrm2 > 0 {
		f = max(s.Eps-6e-8*math.Sqrt(float64(len(x0))), 0) / math.Sqrt(nrm2)
	}
	delta := s.delta[:len(x0)]
	for j, x := range x0 {
		row[j] = clip01(float64(x) + f*delta[j])
	}
}

// stepL2 stages one L2 iteration: two random windows W1, W2 of odd side s
// (positions and pattern shared by the batch); per sample and channel W1
// gets a new pseudo-Gaussian bump plus its old content, rescaled to the
// budget left by the rest of the image and W2, and W2 is zeroed.
func (s *squareRun) stepL2(p float64) {
	r := s.r
	c, h, w, hw := s.c, s.h, s.w, s.h*s.w
	side := max(int(math.RoundToEven(math.Sqrt(p*float64(s.d)/float64(c)))), 3)
	if side%2 == 0 {
		side++
	}
	side = min(side, min(h, w)-1)
	h1, w1 := r.rng.IntN(h-side+s.edge), r.rng.IntN(w-side+s.edge)
	h2, w2 := r.rng.IntN(h-side+s.edge), r.rng.IntN(w-side+s.edge)
	pat := s.pattern(side)
	tr := r.rng.Float64() > 0.5
	// Intersection of the two windows, for the norm over W1 ∪ W2.
	ih0, ih1 := max(h1, h2), min(h1, h2)+side
	iw0, iw1 := max(w1, w2), min(w1, w2)+side
	eps2 := s.Eps * s.Eps
	ss := side * side
	margin := 6e-8 * math.Sqrt(float64(s.d)) // see writeL2
	for _, i := range r.active {
		if !r.has(i, 1) {
			continue
		}
		x0 := r.xi(i)
		dl := s.dl[i*s.d : (i+1)*s.d]
		for ch := range c {
			s.signs[ch] = float32(2*r.rng.IntN(2) - 1)
		}
		img := s.dn2[i]
		nrm2 := img // ‖δ‖² after the update, maintained below
		for ch := range c {
			off := ch * hw
			n1 := sumSq(dl[off:], w, h1, w1, side, side)
			n2 := sumSq(dl[off:], w, h2, w2, side, side)
			var ni float64
			if ih0 < ih1 && iw0 < iw1 {
				ni = sumSq(dl[off:], w, ih0, iw0, ih1-ih0, iw1-iw0)
			}
			s.nw1[ch] = math.Sqrt(n1)
			s.nu[ch] = math.Sqrt(max(n1+n2-ni, 0))
			nrm2 -= n1 + n2 - ni // W1 ∪ W2 is rewritten
		}
		// New W1 content per channel, into s.delta (c·s² values):
		// pattern·sign + δ_W1/‖δ_W1‖, rescaled to the budget ν.
		win := s.delta[:c*ss]
		for ch := range c {
			off := ch * hw
			inv := 1 / (1e-10 + s.nw1[ch])
			wc := win[ch*ss : (ch+1)*ss]
			var nn float64
			for a := range side {
				for b := range side {
					v := float64(s.signs[ch])*patAt(pat, side, a, b, tr) + float64(dl[off+(h1+a)*w+w1+b])*inv
					wc[a*side+b] = v
					nn += v * v
				}
			}
			nu := math.Sqrt(max(eps2-img, 0)/float64(c) + s.nu[ch]*s.nu[ch])
			f := 0.0
			if nn > 0 {
				f = nu / math.Sqrt(nn)
			}
			for q := range wc {
				wc[q] *= f
				nrm2 += wc[q] * wc[q]
			}
		}
		// x_new = clip(x + δ_new/‖δ_new‖·ε): the whole image from the
		// stored δ, then W2 (zeroed) and W1 (new) on top.
		f := 0.0
		if nrm2 > 0 {
			f = max(s.Eps-margin, 0) / math.Sqrt(nrm2)
		}
		row := r.stage(i, true)
		dl = dl[:len(x0)]
		for j, x := range x0 {
			row[j] = clip01(float64(x) + f*float64(dl[j]))
		}
		for ch := range c {
			off := ch * hw
			for a := range side {
				copy(row[off+(h2+a)*w+w2:off+(h2+a)*w+w2+side], x0[off+(h2+a)*w+w2:])
			}
			wc := win[ch*ss : (ch+1)*ss]
			for a := range side {
				for b := range side {
					j := off + (h1+a)*w + w1 + b
					row[j] = clip01(float64(x0[j]) + f*wc[a*side+b])
				}
			}
		}
	}
}

// clip01 rounds v, clipped to [0, 1], to float32.
func clip01(v float64) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return float32(v)
}

// sumSq is the sum of squares of the rh×rw rectangle at (r0, c0) of a
// row-major plane of width w.
func sumSq(p []float32, w, r0, c0, rh, rw int) float64 {
	var s float64
	for a := r0; a < r0+rh; a++ {
		for _, v := range p[a*w+c0 : a*w+c0+rw] {
			s += float64(v) * float64(v)
		}
	}
	return s
}

// pseudoGaussRect fills dst (a×b, row-major) with concentric rectangles
// around (a/2, b/2): ring k adds 1/(k+1)² to the (2k+1)×(2k+1) rectangle
// centred there (clipped), for k = 0 … max(a/2+1, b/2+1)−1; the result is
// scaled to unit L2 norm.
func pseudoGaussRect(dst []float64, a, b int) {
	clear(dst[:a*b])
	if a == 0 || b == 0 {
		return
	}
	xc, yc := a/2+1, b/2+1
	r0, c0 := xc-1, yc-1
	for k := range max(xc, yc) {
		v := 1 / float64((k+1)*(k+1))
		for i := max(r0, 0); i < min(r0+2*k+1, a); i++ {
			for j := max(c0, 0); j < min(c0+2*k+1, b); j++ {
				dst[i*b+j] += v
			}
		}
		r0--
		c0--
	}
	normalize(dst[:a*b])
}

// metaPseudoGauss fills dst (s×s) with the Square L2 update pattern: the top
// s/2 rows are pseudoGaussRect(s/2, s), the bottom rows its negative
// pseudoGaussRect(s−s/2, s), scaled to unit norm. The reference transposes
// it with probability 1/2; callers do that by reading it transposed.
func metaPseudoGauss(dst []float64, s int) {
	top := s / 2
	pseudoGaussRect(dst[:top*s], top, s)
	pseudoGaussRect(dst[top*s:s*s], s-top, s)
	for j := top * s; j < s*s; j++ {
		dst[j] = -dst[j]
	}
	normalize(dst[:s*s])
}

func normalize(v []float64) {
	var s float64
	for _, x := range v {
		s += x * x
	}
	if s == 0 {
		return
	}
	f := 1 / math.Sqrt(s)
	for j := range v {
		v[j] *= f
	}
}
