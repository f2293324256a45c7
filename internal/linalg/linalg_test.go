package linalg

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naive computes the reference product in float64.
func naive(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += av * bv
			}
			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
		}
	}
}

func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct{ m, n, k int }{{1, 1, 1}, {3, 5, 7}, {64, 33, 17}, {130, 70, 300}, {5, 4, 0}, {40, 5, 50}, {300, 9, 700}}
	for _, tc := range cases {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				lda, ldb := tc.k+2, tc.n+1
				ar, br := tc.m, tc.k
				if ta {
					lda, ar = tc.m+3, tc.k
				}
				if tb {
					ldb, br = tc.k+1, tc.n
				}
				a := make([]float64, ar*lda)
				b := make([]float64, br*ldb)
				c := make([]float64, tc.m*(tc.n+2))
				for i := range a {
					a[i] = rng.NormFloat64()
				}
				for i := range b {
					b[i] = rng.NormFloat64()
				}
				for i := range c {
					c[i] = rng.NormFloat64()
				}
				want := append([]float64(nil), c...)
				naive(ta, tb, tc.m, tc.n, tc.k, 1.5, a, lda, b, ldb, 0.5, want, tc.n+2)

				got := append([]float64(nil), c...)
				Dgemm(ta, tb, tc.m, tc.n, tc.k, 1.5, a, lda, b, ldb, 0.5, got, tc.n+2)
				a32, b32, c32 := to32(a), to32(b), to32(c)
				Sgemm(ta, tb, tc.m, tc.n, tc.k, 1.5, a32, lda, b32, ldb, 0.5, c32, tc.n+2)
				for i := range want {
					if math.Abs(got[i]-want[i]) > 1e-9*(1+math.Abs(want[i])) {
						t.Fatalf("%s Dgemm %v ta=%v tb=%v: c[%d]=%v want %v", Backend(), tc, ta, tb, i, got[i], want[i])
					}
					if math.Abs(float64(c32[i])-want[i]) > 1e-3*(1+math.Abs(want[i])) {
						t.Fatalf("%s Sgemm %v ta=%v tb=%v: c[%d]=%v want %v", Backend(), tc, ta, tb, i, c32[i], want[i])
					}
				}
			}
		}
	}
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func BenchmarkSgemm256(b *testing.B) {
	n := 256
	x := make([]float32, n*n)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	c := make([]float32, n*n)
	b.SetBytes(int64(2 * n * n * n)) // reported MB/s = MFLOP/s
	for b.Loop() {
		Sgemm(false, false, n, n, n, 1, x, n, x, n, 0, c, n)
	}
}
