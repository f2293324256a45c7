package linalg

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestParSpotrsVec: the blocked parallel solve with a float32 Cholesky
// factor agrees with the build's serial triangular solves, on orders
// around the block size.
func TestParSpotrsVec(t *testing.T) {
	for _, n := range []int{1, 2, 7, 255, 256, 257, 513, 700} {
		rng := rand.New(rand.NewPCG(uint64(n), 5))
		ld := n + 3
		l := make([]float32, n*ld)
		for i := 0; i < n; i++ {
			for j := 0; j < i; j++ {
				l[i*ld+j] = float32(rng.NormFloat64() / math.Sqrt(float64(n)))
			}
			l[i*ld+i] = float32(1 + rng.Float64())
			for j := i + 1; j < ld; j++ {
				l[i*ld+j] = float32(math.NaN()) // never read
			}
		}
		b := make([]float32, n)
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		want := append([]float32(nil), b...)
		for i := 0; i < n; i++ { // spotrs1 reads only the lower triangle
			for j := i + 1; j < ld; j++ {
				l[i*ld+j] = 0
			}
		}
		spotrs1(n, 1, l, ld, want, 1)
		for i := 0; i < n; i++ {
			for j := i + 1; j < ld; j++ {
				l[i*ld+j] = float32(math.NaN())
			}
		}
		got := append([]float32(nil), b...)
		parSpotrsVec(n, l, ld, got)
		var diff, norm float64
		for i := range got {
			diff = max(diff, math.Abs(float64(got[i]-want[i])))
			norm = max(norm, math.Abs(float64(want[i])))
		}
		if !(diff <= 1e-5*norm) {
			t.Errorf("n=%d: max difference %g (solution max %g)", n, diff, norm)
		}
	}
}
