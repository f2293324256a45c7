package attack

import (
	"context"
	"fmt"
	"math"
)

// SimBA is the simple black-box attack of Guo et al. (2019) with the UniG
// settings (robustness.md §3.3): walk through the coordinates of an
// orthonormal basis in random order; for each, try a step of −StepSize,
// keep it if the loss decreases, otherwise try +StepSize and keep it if the
// loss decreases. The basis is the pixel basis (DCT false) or the 2-D DCT
// over the whole image restricted to its low-frequency FreqDims×FreqDims
// block per channel (DCT true, "SimBA-DCT").
//
// The pixel perturbation (IDCT of the coefficients, or the coefficients
// themselves) is projected onto the threat set: clamped to [−ε, ε] for L∞
// (the reference's linf_bound), scaled onto the ball for L2 (the reference
// has no L2 bound), then the image is clipped to [0, 1]. The reference
// applies no bound to the pixel variant; here every attack respects ε.
//
// One coordinate order (a permutation drawn from RunOptions.Rand) is shared
// by all samples, as in the reference. The attack ends for a sample when it
// is fooled, its budget is spent or the coordinates run out. Queries: the
// "+" step is queried only when "−" did not improve.
type SimBA struct {
	Threat
	// StepSize is ε_s, the step along one basis vector (0.2).
	StepSize float64 `json:"step_size"`
	// DCT selects the low-frequency DCT basis instead of pixels.
	DCT bool `json:"dct"`
	// FreqDims is the side of the low-frequency block (32; capped at the
	// image size). Only used with DCT.
	FreqDims int `json:"freq_dims"`
}

// NewSimBA returns pixel SimBA: ε_s = 0.2, L∞ bound 8/255, probability loss.
func NewSimBA() *SimBA {
	return &SimBA{Threat: Threat{Norm: LInf, Eps: 8.0 / 255}, StepSize: 0.2, FreqDims: 32}
}

// NewSimBADCT returns SimBA-DCT: ε_s = 0.2, 32×32 low-frequency block, L∞
// bound 8/255, probability loss.
func NewSimBADCT() *SimBA {
	a := NewSimBA()
	a.DCT = true
	return a
}

func init() {
	Register("simba", func() Attack { return NewSimBA() })
	Register("simba-dct", func() Attack { return NewSimBADCT() })
}

// Name is "simba" or "simba-dct".
func (a *SimBA) Name() string {
	if a.DCT {
		return "simba-dct"
	}
	return "simba"
}

// DCTBasis returns the orthonormal 1-D DCT-II basis of length n truncated
// to its first f frequencies: f rows of n values, row u being
// α_u·cos(π(2t+1)u/(2n)) with α_0 = √(1/n), α_u = √(2/n). It is the inverse
// DCT (scipy's idct with norm="ortho") of the unit vectors, and the 2-D
// basis image of frequencies (u, v) is the outer product of rows u and v.
func DCTBasis(n, f int) []float64 {
	b := make([]float64, f*n)
	for u := range f {
		a := math.Sqrt(2 / float64(n))
		if u == 0 {
			a = math.Sqrt(1 / float64(n))
		}
		for t := range n {
			b[u*n+t] = a * math.Cos(math.Pi*float64((2*t+1)*u)/float64(2*n))
		}
	}
	return b
}

// Run attacks x through o; see [Attack.Run].
func (a *SimBA) Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	r, err := newRunner(ctx, a.Name(), o, x, y, opts, &a.Threat, LossProb, true)
	if err != nil {
		return nil, err
	}
	if !(a.StepSize > 0) || math.IsInf(a.StepSize, 0) {
		return nil, fmt.Errorf("attack: %s: step_size %v must be positive and finite", a.Name(), a.StepSize)
	}
	sr := &simbaRun{SimBA: a, r: r, d: r.d}
	if a.DCT {
		c, h, w, ok := imageDims(o.shape)
		if !ok {
			return nil, fmt.Errorf("attack: simba-dct: needs image inputs C×H×W, got shape %v", o.shape)
		}
		if a.FreqDims < 1 {
			return nil, fmt.Errorf("attack: simba-dct: freq_dims %d must be at least 1", a.FreqDims)
		}
		sr.c, sr.h, sr.w = c, h, w
		sr.f = min(a.FreqDims, h, w)
		sr.bh, sr.bw = DCTBasis(h, sr.f), DCTBasis(w, sr.f)
	}
	return sr.run()
}

type simbaRun struct {
	*SimBA
	r       *runner
	d       int
	c, h, w int       // DCT only
	f       int       // DCT block side
	bh, bw  []float64 // 1-D bases, f×h and f×w
	pert    []float32 // pixel perturbation before projection, n×d
	pn2     []float64 // ‖pert_i‖² (L2)
	xcur    []float32 // current image per sample
	best    []float64
}

func (s *simbaRun) run() (*Result, error) {
	r := s.r
	n, d := r.n, s.d
	s.xcur = append([]float32(nil), r.x...)
	adv := func(i int) []float32 { return s.xcur[i*d : (i+1)*d] }
	if err := r.clean(); err != nil {
		return r.finish(nil, err)
	}
	coords := d
	if s.DCT {
		coords = s.c * s.f * s.f
	}
	perm := r.rng.Perm(coords)
	s.pert = make([]float32, n*d)
	s.pn2 = make([]float64, n)
	s.best = append([]float64(nil), r.res.Loss...)
	lossMinus := make([]float64, n)
	needPlus := make([]bool, n)
	for k := 0; k < coords && len(r.active) > 0; k++ {
		coord := perm[k]
		r.begin()
		for _, i := range r.active {
			if r.has(i, 1) {
				s.candidate(r.stage(i, true), i, coord, -1)
			}
		}
		if err := r.flush(); err != nil {
			return r.finish(adv, err)
		}
		for j := range r.m {
			i := r.qi[j]
			needPlus[i] = false
			if !r.attacking(i) {
				continue
			}
			if l := r.ql[j]; l < s.best[i] {
				s.accept(i, coord, -1, l, r.row(j))
			} else {
				needPlus[i], lossMinus[i] = true, l
			}
		}
		r.begin()
		for _, i := range r.active {
			if needPlus[i] && r.attacking(i) && r.has(i, 1) {
				s.candidate(r.stage(i, true), i, coord, +1)
			}
		}
		if err := r.flush(); err != nil {
			return r.finish(adv, err)
		}
		for j := range r.m {
			i := r.qi[j]
			if !r.attacking(i) {
				continue
			}
			if l := r.ql[j]; l < min(s.best[i], lossMinus[i]) {
				s.accept(i, coord, +1, l, r.row(j))
			}
		}
		if err := r.endRound(); err != nil {
			return r.finish(adv, err)
		}
	}
	return r.finish(adv, nil)
}

// dctCoord returns the channel-plane offset and the two 1-D basis rows of
// DCT coordinate coord (channel, u, v in row-major order).
func (s *simbaRun) dctCoord(coord int) (off int, bu, bv []float64) {
	ff := s.f * s.f
	ch, uv := coord/ff, coord%ff
	u, v := uv/s.f, uv%s.f
	return ch * s.h * s.w, s.bh[u*s.h : (u+1)*s.h], s.bw[v*s.w : (v+1)*s.w]
}

// candidate writes into row the image for pert_i + sign·ε_s·e_coord.
func (s *simbaRun) candidate(row []float32, i, coord int, sign float64) {
	d, x0 := s.d, s.r.xi(i)
	p := s.pert[i*d : (i+1)*d]
	step := sign * s.StepSize
	if s.Norm == LInf {
		copy(row, s.xcur[i*d:(i+1)*d])
		if !s.DCT {
			row[coord] = clampBox(float64(x0[coord])+float64(p[coord])+step, x0[coord], s.Eps)
			return
		}
		off, bu, bv := s.dctCoord(coord)
		for a, fu := range bu {
			for b, fv := range bv {
				j := off + a*s.w + b
				row[j] = clampBox(float64(x0[j])+float64(p[j])+step*fu*fv, x0[j], s.Eps)
			}
		}
		return
	}
	// L2: the new perturbation's norm decides a global scale.
	n2 := s.pn2[i] + step*step // basis vectors have unit norm
	if !s.DCT {
		n2 += 2 * step * float64(p[coord])
	} else {
		off, bu, bv := s.dctCoord(coord)
		var dot float64
		for a, fu := range bu {
			for b, fv := range bv {
				dot += float64(p[off+a*s.w+b]) * fu * fv
			}
		}
		n2 += 2 * step * dot
	}
	f := 1.0
	if nrm := math.Sqrt(max(n2, 0)); nrm > s.Eps {
		f = s.Eps / nrm
	}
	for j, v := range p {
		row[j] = float32(float64(x0[j]) + f*float64(v))
	}
	if !s.DCT {
		row[coord] = float32(float64(x0[coord]) + f*(float64(p[coord])+step))
	} else {
		off, bu, bv := s.dctCoord(coord)
		for a, fu := range bu {
			for b, fv := range bv {
				j := off + a*s.w + b
				row[j] = float32(float64(x0[j]) + f*(float64(p[j])+step*fu*fv))
			}
		}
	}
	for j := range row {
		row[j] = min(max(row[j], 0), 1)
	}
	fixL2(s.Eps, row, x0)
}

// accept makes the candidate the current point of sample i.
func (s *simbaRun) accept(i, coord int, sign float64, loss float64, row []float32) {
	d := s.d
	p := s.pert[i*d : (i+1)*d]
	step := sign * s.StepSize
	if !s.DCT {
		p[coord] = float32(float64(p[coord]) + step)
	} else {
		off, bu, bv := s.dctCoord(coord)
		for a, fu := range bu {
			for b, fv := range bv {
				j := off + a*s.w + b
				p[j] = float32(float64(p[j]) + step*fu*fv)
			}
		}
	}
	if s.Norm == L2 {
		var n2 float64
		for _, v := range p {
			n2 += float64(v) * float64(v)
		}
		s.pn2[i] = n2
	}
	s.best[i] = loss
	s.r.res.Loss[i] = loss
	copy(s.xcur[i*d:(i+1)*d], row)
}
