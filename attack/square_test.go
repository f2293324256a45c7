package attack

import (
	"context"
	"math"
	"testing"

	"github.com/trustml/trustml/model"
)

// TestSquarePSchedule checks SquareP against the table of robustness.md
// §2.2: p_init up to it' = 10, then halved at 10, 50, 200, 500, 1000, 2000,
// 4000, 6000, 8000, and p_init again beyond 10000.
func TestSquarePSchedule(t *testing.T) {
	const p0 = 0.8
	cases := []struct {
		it, nIters int
		div        float64
	}{
		{0, 10000, 1}, {10, 10000, 1}, {11, 10000, 2}, {50, 10000, 2},
		{51, 10000, 4}, {200, 10000, 4}, {201, 10000, 8}, {500, 10000, 8},
		{501, 10000, 16}, {1000, 10000, 16}, {1001, 10000, 32}, {2000, 10000, 32},
		{2001, 10000, 64}, {4000, 10000, 64}, {4001, 10000, 128}, {6000, 10000, 128},
		{6001, 10000, 256}, {8000, 10000, 256}, {8001, 10000, 512}, {10000, 10000, 512},
		{10001, 10000, 1},
		// Compressed schedules (UniG passes n_iters = budget): it' = it·10000/n.
		{1, 100, 4},       // it' = 100 ∈ (50, 200]
		{2, 100, 4},       // it' = 200
		{3, 100, 8},       // it' = 300
		{99, 100, 512},    // it' = 9900
		{625, 2500, 64},   // it' = 2500 ∈ (2000, 4000]
		{2499, 2500, 512}, // it' = 9996
	}
	for _, c := range cases {
		if got, want := SquareP(p0, c.it, c.nIters), p0/c.div; got != want {
			t.Errorf("SquareP(%v, %d, %d) = %v, want %v", p0, c.it, c.nIters, got, want)
		}
	}
}

// recorder keeps a copy of every input a classifier was queried with.
type recorder struct {
	model.Classifier
	inputs [][]float32
}

func (r *recorder) Logits(ctx context.Context, dst, x []float32) error {
	d := model.InputSize(r.Classifier)
	for i := 0; i < len(x)/d; i++ {
		r.inputs = append(r.inputs, append([]float32(nil), x[i*d:(i+1)*d]...))
	}
	return r.Classifier.Logits(ctx, dst, x)
}

// TestSquareWindows: on a model that rejects every candidate, each L∞
// candidate differs from the initialisation only inside one window (of side
// ≤ 4 = round(√(0.3·64)) here) and only by flipping ±ε; the reference's
// windows never reach the last row or column, CoverEdges' do.
func TestSquareWindows(t *testing.T) {
	for _, cover := range []bool{false, true} {
		rec := &recorder{Classifier: &constModel{shape: []int{2, 8, 8}, z: []float32{2, 1}}}
		o, _ := NewOracle(rec, OracleOptions{Budget: 400})
		x := make([]float32, 128)
		for j := range x {
			x[j] = 0.3 + 0.4*float32(j%5)/5
		}
		a := NewSquare()
		a.Eps, a.PInit, a.CoverEdges = 0.1, 0.3, cover
		if _, err := a.Run(context.Background(), o, x, []int{0}, RunOptions{Rand: seeded(5)}); err != nil {
			t.Fatal(err)
		}
		// Query 1 is the clean input, query 2 the initialisation.
		init := rec.inputs[1]
		for j, v := range init {
			if math.Abs(math.Abs(float64(v)-float64(x[j]))-0.1) > 1e-6 {
				t.Fatalf("initialisation moved pixel %d by %v, want ±ε", j, v-x[j])
			}
		}
		edge := false
		for q, in := range rec.inputs[2:] {
			r0, r1, c0, c1 := 8, -1, 8, -1
			for j, v := range in {
				if v != init[j] {
					rr, cc := (j%64)/8, j%8
					r0, r1, c0, c1 = min(r0, rr), max(r1, rr), min(c0, cc), max(c1, cc)
				}
			}
			if r1 < 0 {
				t.Fatalf("candidate %d equals the current best point", q)
			}
			if r1-r0 >= 4 || c1-c0 >= 4 {
				t.Errorf("candidate %d changes rows %d–%d, columns %d–%d: not one window", q, r0, r1, c0, c1)
			}
			for j, v := range in {
				if math.Abs(math.Abs(float64(v)-float64(x[j]))-0.1) > 1e-6 {
					t.Fatalf("candidate %d moved pixel %d by %v, want ±ε", q, j, v-x[j])
				}
			}
			if r1 == 7 || c1 == 7 {
				edge = true
			}
		}
		if edge != cover {
			t.Errorf("CoverEdges=%v: windows reached the last row/column: %v", cover, edge)
		}
	}
}

// TestMetaPseudoGauss: the L2 update pattern has unit norm, positive top
// half, negative bottom half.
func TestMetaPseudoGauss(t *testing.T) {
	for _, s := range []int{3, 5, 8, 11} {
		p := make([]float64, s*s)
		metaPseudoGauss(p, s)
		var n float64
		for j, v := range p {
			n += v * v
			if (j/s < s/2) != (v > 0) {
				t.Errorf("s=%d: value %v at row %d has the wrong sign", s, v, j/s)
			}
		}
		if math.Abs(n-1) > 1e-12 {
			t.Errorf("s=%d: squared norm %v, want 1", s, n)
		}
	}
}

// TestWriteL2Strict: the one-pass L2 write stays within ε in float64 for
// perturbations of every scale, clipped or not.
func TestWriteL2Strict(t *testing.T) {
	rng := seeded(7)
	for _, d := range []int{64, 3072} {
		s := &squareRun{Square: NewSquareL2(), delta: make([]float64, d)}
		x0, row := make([]float32, d), make([]float32, d)
		for trial := range 200 {
			s.Eps = []float64{1e-3, 0.05, 0.5, 3}[trial%4]
			for j := range x0 {
				x0[j] = rng.Float32()
				if trial%3 == 0 {
					x0[j] = float32(rng.IntN(2)) // on the bounds
				}
				s.delta[j] = rng.NormFloat64() * math.Pow(10, float64(trial%7-3))
			}
			s.writeL2(row, x0, -1)
			if dd := dist2(row, x0); dd > s.Eps {
				t.Fatalf("d=%d trial %d: ‖row−x0‖ = %.17g > ε = %v", d, trial, dd, s.Eps)
			}
			for _, v := range row {
				if v < 0 || v > 1 {
					t.Fatalf("value %v outside [0, 1]", v)
				}
			}
		}
	}
}

// TestSquareL2StepReference checks one L2 iteration against a direct,
// full-image transcription of the reference update (robustness.md §2.4),
// drawing the same random numbers.
func TestSquareL2StepReference(t *testing.T) {
	const c, h, w = 3, 10, 10
	const d = c * h * w
	m := &constModel{shape: []int{c, h, w}, z: []float32{1, 0}}
	o, _ := NewOracle(m, OracleOptions{})
	rng := seeded(11)
	x := make([]float32, d)
	for j := range x {
		x[j] = rng.Float32()
	}
	a := NewSquareL2()
	a.Eps = 0.7
	for trial := range 20 {
		r, err := newRunner(context.Background(), "square-l2", o, x, []int{0}, RunOptions{Rand: seeded(uint64(trial))}, &a.Threat, LossMargin, true)
		if err != nil {
			t.Fatal(err)
		}
		r.reserve(1, false)
		r.active = []int{0}
		s := &squareRun{Square: a, r: r, c: c, h: h, w: w, d: d,
			xbest: make([]float32, d), delta: make([]float64, d), dl: make([]float32, d), dn2: make([]float64, 1),
			signs: make([]float32, c), nw1: make([]float64, c), nu: make([]float64, c), pats: map[int][]float64{}}
		// A current best point inside the ball (sometimes on its surface).
		scale := []float64{0.2, 0.5, 1}[trial%3]
		var n2 float64
		g := make([]float64, d)
		for j := range g {
			g[j] = rng.NormFloat64()
			n2 += g[j] * g[j]
		}
		for j := range x {
			s.xbest[j] = clip01(float64(x[j]) + g[j]/math.Sqrt(n2)*a.Eps*scale)
			s.dl[j] = float32(float64(s.xbest[j]) - float64(x[j]))
			s.dn2[0] += float64(s.dl[j]) * float64(s.dl[j])
		}
		p := []float64{0.1, 0.05, 0.3}[trial%3]
		r.begin()
		s.stepL2(p)
		got := r.row(0)

		// Reference, with the same draws.
		rr := seeded(uint64(trial))
		side := max(int(math.RoundToEven(math.Sqrt(p*d/c))), 3)
		if side%2 == 0 {
			side++
		}
		side = min(side, h-1)
		h1, w1 := rr.IntN(h-side), rr.IntN(w-side)
		h2, w2 := rr.IntN(h-side), rr.IntN(w-side)
		tr := rr.Float64() > 0.5
		pat := make([]float64, side*side)
		metaPseudoGauss(pat, side)
		in := func(r0, c0, rw, cl int) bool { return rw >= r0 && rw < r0+side && cl >= c0 && cl < c0+side }
		delta := make([]float64, d)
		var img float64
		for j := range delta {
			delta[j] = float64(s.xbest[j]) - float64(x[j])
			img += delta[j] * delta[j]
		}
		newD := append([]float64(nil), delta...)
		for ch := range c {
			sg := float64(2*rr.IntN(2) - 1)
			var nw1, nu float64
			for rw := range h {
				for cl := range w {
					v := delta[ch*h*w+rw*w+cl]
					if in(h1, w1, rw, cl) {
						nw1 += v * v
					}
					if in(h1, w1, rw, cl) || in(h2, w2, rw, cl) {
						nu += v * v
					}
				}
			}
			nw1, nu = math.Sqrt(nw1), math.Sqrt(nu)
			upd := make([]float64, side*side)
			var nn float64
			for a2 := range side {
				for b := range side {
					pv := pat[a2*side+b]
					if tr {
						pv = pat[b*side+a2]
					}
					upd[a2*side+b] = pv*sg + delta[ch*h*w+(h1+a2)*w+w1+b]/(1e-10+nw1)
					nn += upd[a2*side+b] * upd[a2*side+b]
				}
			}
			f := math.Sqrt(max(a.Eps*a.Eps-img, 0)/c+nu*nu) / math.Sqrt(nn)
			for rw := range h {
				for cl := range w {
					if in(h2, w2, rw, cl) {
						newD[ch*h*w+rw*w+cl] = 0
					}
				}
			}
			for a2 := range side {
				for b := range side {
					newD[ch*h*w+(h1+a2)*w+w1+b] = upd[a2*side+b] * f
				}
			}
		}
		var nd float64
		for _, v := range newD {
			nd += v * v
		}
		for j := range x {
			want := math.Min(math.Max(float64(x[j])+newD[j]/math.Sqrt(nd)*a.Eps, 0), 1)
			if math.Abs(float64(got[j])-want) > 1e-6 {
				t.Fatalf("trial %d (p=%v side=%d): value %d = %v, reference %v", trial, p, side, j, got[j], want)
			}
		}
		if dist2(got, x) > a.Eps {
			t.Fatalf("trial %d: outside the ball", trial)
		}
	}
}
