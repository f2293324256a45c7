package fastexp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps returns the distance between a and b in units in the last place.
func ulps(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / (math.Nextafter(b, math.Inf(1)) - b)
}

func TestInPlaceAgreesWithMathExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		lo, hi float64
	}{
		{"small", -1, 1},
		{"rbf range", -50, 0},
		{"wide", -708, 709},
		{"tiny", -1e-12, 1e-12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := make([]float64, 100000)
			for i := range x {
				x[i] = tc.lo + (tc.hi-tc.lo)*rng.Float64()
			}
			want := make([]float64, len(x))
			for i, v := range x {
				want[i] = math.Exp(v)
			}
			InPlace(x)
			worst := 0.0
			for i := range x {
				worst = max(worst, ulps(x[i], want[i]))
			}
			if worst > 2 {
				t.Errorf("worst error %.1f ulp, want ≤ 2", worst)
			}
		})
	}
}

func TestInPlaceSpecialValues(t *testing.T) {
	tests := []float64{0, math.Copysign(0, -1), -708, 709, -708.5, -745, -746, -1000, 709.5, 710, 1000,
		math.Inf(1), math.Inf(-1), math.NaN(), 1, -1, 1e-300, math.Ln2, 64 * math.Ln2}
	for _, v := range tests {
		x := []float64{v}
		InPlace(x)
		want := math.Exp(v)
		switch {
		case math.IsNaN(want):
			if !math.IsNaN(x[0]) {
				t.Errorf("exp(%g) = %g, want NaN", v, x[0])
			}
		case ulps(x[0], want) > 1:
			t.Errorf("exp(%g) = %g, want %g", v, x[0], want)
		}
	}
}

func BenchmarkInPlace(b *testing.B) {
	x := make([]float64, 10000)
	for b.Loop() {
		for i := range x {
			x[i] = -float64(i%5000) / 100
		}
		InPlace(x)
	}
}

func BenchmarkMathExp(b *testing.B) {
	x := make([]float64, 10000)
	for b.Loop() {
		for i := range x {
			x[i] = -float64(i%5000) / 100
		}
		for i, v := range x {
			x[i] = math.Exp(v)
		}
	}
}
