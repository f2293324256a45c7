package attack

import (
	"context"
	"fmt"
	"math"
	"math/bits"
)

// SignHunter is the sign-flip attack of Al-Dujaili & O'Reilly (2020) as in
// the SignHunter framework bundled with UniG (robustness.md §3.2). It keeps
// a sign vector s ∈ {±1}^d (all +1 at the start of a round) and an anchor
// x₀ (the clean input at first) and only ever queries vertices
// Π(x₀ + ε·s) (L2: Π(x₀ + ε·s/√d), the framework's l2_step). At level h
// the coordinates are split into 2^h contiguous chunks of length ⌈d/2^h⌉;
// each step flips the next chunk and keeps the flip if the loss did not get
// worse. After the level with chunks of length 1 the attack restarts with
// x₀ ← the current best vertex.
//
// SignHunter is deterministic: it draws no random numbers. It needs a
// finite oracle budget. Queries: 1 per step, plus 1 at the start of every
// round for the all-ones vertex (the reference also re-queries the anchor,
// whose score it already knows).
type SignHunter struct {
	Threat
}

// NewSignHunter returns SignHunter with the UniG CIFAR-10 setting: L∞,
// ε = 8/255, cross-entropy.
func NewSignHunter() *SignHunter {
	return &SignHunter{Threat: Threat{Norm: LInf, Eps: 8.0 / 255}}
}

func init() { Register("signhunter", func() Attack { return NewSignHunter() }) }

// Name is "signhunter".
func (a *SignHunter) Name() string { return "signhunter" }

// Run attacks x through o; see [Attack.Run]. opts.Rand is not used.
func (a *SignHunter) Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	r, err := newRunner(ctx, a.Name(), o, x, y, opts, &a.Threat, LossCE, false)
	if err != nil {
		return nil, err
	}
	if o.Budget() == 0 {
		return nil, fmt.Errorf("attack: signhunter: needs a finite query budget (OracleOptions.Budget)")
	}
	n, d := r.n, r.d
	xcur := append([]float32(nil), x...)
	adv := func(i int) []float32 { return xcur[i*d : (i+1)*d] }
	if err := r.clean(); err != nil {
		return r.finish(nil, err)
	}
	xo := append([]float32(nil), x...)
	sgn := make([]int8, n*d)
	lvl := make([]int, n)
	pos := make([]int, n)
	start := make([]bool, n)
	best := make([]float64, n)
	for i := range start {
		start[i] = true
	}
	top := bits.Len(uint(d - 1)) // ⌈log₂ d⌉
	step := a.Eps
	if a.Norm == L2 {
		step = a.Eps / math.Sqrt(float64(d))
	}
	vertex := func(row []float32, i int) {
		xoi, si := xo[i*d:(i+1)*d], sgn[i*d:(i+1)*d]
		for j, v := range xoi {
			row[j] = float32(float64(v) + step*float64(si[j]))
			row[j] = min(max(row[j], 0), 1)
		}
		project(a.Norm, a.Eps, row, r.xi(i))
	}
	chunk := func(i int) (int, int) {
		cl := (d + 1<<lvl[i] - 1) >> lvl[i]
		s := pos[i] * cl
		return s, min(d, s+cl)
	}
	r.reserve(n, false)
	for len(r.active) > 0 {
		// Round starts: the all-ones vertex sets the reference loss. It is
		// queried on its own so that a sample it fools is not queried again.
		r.begin()
		for _, i := range r.active {
			if start[i] && r.has(i, 2) {
				si := sgn[i*d : (i+1)*d]
				for j := range si {
					si[j] = 1
				}
				vertex(r.stage(i, true), i)
			}
		}
		if r.m > 0 {
			if err := r.flush(); err != nil {
				return r.finish(adv, err)
			}
			for j := range r.m {
				if i := r.qi[j]; r.attacking(i) {
					best[i], start[i] = r.ql[j], false
					r.res.Loss[i] = r.ql[j]
					copy(xcur[i*d:(i+1)*d], r.row(j))
				}
			}
		}
		// One flip per sample.
		r.begin()
		for _, i := range r.active {
			if !r.attacking(i) || start[i] || !r.has(i, 1) {
				continue
			}
			s, e := chunk(i)
			for j := s; j < e; j++ {
				sgn[i*d+j] = -sgn[i*d+j]
			}
			vertex(r.stage(i, true), i)
		}
		if err := r.flush(); err != nil {
			return r.finish(adv, err)
		}
		for j := range r.m {
			i := r.qi[j]
			if !r.attacking(i) {
				continue
			}
			s, e := chunk(i)
			if l := r.ql[j]; l <= best[i] {
				best[i] = l
				r.res.Loss[i] = l
				copy(xcur[i*d:(i+1)*d], r.row(j))
			} else {
				for q := s; q < e; q++ {
					sgn[i*d+q] = -sgn[i*d+q]
				}
			}
			pos[i]++
			if pos[i] == 1<<lvl[i] || e == d {
				lvl[i]++
				pos[i] = 0
				if lvl[i] == top+1 {
					copy(xo[i*d:(i+1)*d], xcur[i*d:(i+1)*d])
					lvl[i] = 0
					start[i] = true
				}
			}
		}
		if err := r.endRound(); err != nil {
			return r.finish(adv, err)
		}
	}
	return r.finish(adv, nil)
}
