package pwl

import (
	"math"
	"math/rand/v2"
	"testing"
)

// xorData is the XOR problem on [-1, 1]²: no linear model separates it.
func xorData(seed uint64, n int) ([]float64, []int) {
	r := rand.New(rand.NewPCG(seed, 6))
	var x []float64
	var y []int
	for range n {
		a, b := 2*r.Float64()-1, 2*r.Float64()-1
		x = append(x, a, b)
		if (a > 0) != (b > 0) {
			y = append(y, 1)
		} else {
			y = append(y, 0)
		}
	}
	return x, y
}

func accuracy(predict func([]float64) []float64, x []float64, y []int, d int) float64 {
	ok := 0
	for i, c := range y {
		p := predict(x[i*d : (i+1)*d])
		best := 0
		for o, v := range p {
			if v > p[best] {
				best = o
			}
		}
		if best == c {
			ok++
		}
	}
	return float64(ok) / float64(len(y))
}

// sampledPieces counts the linear pieces of f along the segment from x0
// to x1 numerically: the maximal runs of at least two consecutive grid
// steps with the same slope vector (a step holding a kink has a slope of
// its own and forms a run of one).
func sampledPieces(f func([]float64) []float64, x0, x1 []float64, steps int) int {
	at := func(s int) []float64 {
		u := float64(s) / float64(steps)
		x := make([]float64, len(x0))
		for j := range x {
			x[j] = x0[j] + u*(x1[j]-x0[j])
		}
		return f(x)
	}
	prevOut := at(0)
	var prevSlope []float64
	run, pieces := 0, 0
	for s := 1; s <= steps; s++ {
		out := at(s)
		slope := make([]float64, len(out))
		for o := range out {
			slope[o] = out[o] - prevOut[o]
		}
		same := prevSlope != nil
		for o := range slope {
			if same && math.Abs(slope[o]-prevSlope[o]) > 1e-9*(1+math.Abs(slope[o])) {
				same = false
			}
		}
		if same {
			run++
			if run == 2 {
				pieces++
			}
		} else {
			run = 1
		}
		prevOut, prevSlope = out, slope
	}
	return pieces
}

func TestHingingAndLattice(t *testing.T) {
	x, y := xorData(5, 300)
	r := rand.New(rand.NewPCG(1, 2))
	hh, err := FitHinging(x, y, 2, 2, 4, 3, 1e-3, r)
	if err != nil {
		t.Fatal(err)
	}
	lat, err := FitLattice(x, y, 2, 2, 3, 3, 400, 0.05, r)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func([]float64) []float64{"hinging": hh.Predict, "lattice": lat.Predict} {
		if acc := accuracy(f, x, y, 2); acc < 0.9 {
			t.Errorf("%s: XOR training accuracy %.3f, want ≥ 0.9", name, acc)
		}
	}
	// Exact piece counts against fine sampling, on random segments.
	for i := range 20 {
		x0 := []float64{2*r.Float64() - 1, 2*r.Float64() - 1}
		x1 := []float64{2*r.Float64() - 1, 2*r.Float64() - 1}
		for name, m := range map[string]interface {
			Predict([]float64) []float64
			LinePieces(x0, x1 []float64) int
		}{"hinging": hh, "lattice": lat} {
			got, want := m.LinePieces(x0, x1), sampledPieces(m.Predict, x0, x1, 20000)
			if got != want {
				t.Errorf("%s, segment %d: %d pieces, %d by sampling", name, i, got, want)
			}
		}
	}
	// Predict is the formula: the sum of max/min hinges, the max-min of
	// planes.
	xs := []float64{0.3, -0.7}
	var want float64
	for k := range hh.K {
		a, b := hh.plane(k, true, xs), hh.plane(k, false, xs)
		if hh.Max[k] {
			want += math.Max(a, b)
		} else {
			want += math.Min(a, b)
		}
	}
	if got := hh.Predict(xs)[0]; math.Abs(got-want) > 1e-12 {
		t.Errorf("hinging output %v, formula %v", got, want)
	}
	want = math.Inf(-1)
	for i := range lat.M {
		lo := math.Inf(1)
		for j := range lat.J {
			lo = math.Min(lo, lat.plane(i*lat.J+j, xs))
		}
		want = math.Max(want, lo)
	}
	if got := lat.Predict(xs)[0]; got != want {
		t.Errorf("lattice output %v, formula %v", got, want)
	}
	for _, err := range []error{
		func() error { _, err := FitHinging(x, y, 3, 2, 4, 3, 1e-3, r); return err }(),
		func() error { _, err := FitLattice(x, y, 2, 2, 0, 3, 10, 0.05, r); return err }(),
		func() error { _, err := FitLattice(x, []int{5}, 2, 2, 2, 2, 10, 0.05, r); return err }(),
	} {
		if err == nil {
			t.Error("invalid input: no error")
		}
	}
}
