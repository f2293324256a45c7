//go:build !openblas

package linalg

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// TestInverseIteration checks the eigenvectors of the tridiagonal forms of
// RBF Gram matrices (one large cluster of tiny eigenvalues, across several
// blocks of invIterBlock vectors), of a matrix with three eigenvalues each
// repeated across block boundaries, and of edge sizes, for all and for
// some eigenvectors: residual ‖T·y − λ·y‖ at the level of ε·‖T‖ and
// orthonormal columns. Orthogonalizing only within a block fails it.
func TestInverseIteration(t *testing.T) {
	for _, tc := range []struct {
		name string
		n, k int
	}{
		{"rbf-2", 2, 2}, {"rbf-3", 3, 1}, {"rbf-all", 150, 150}, {"rbf-blocks", 300, 300},
		{"rbf-top", 200, 37}, {"repeated", 64, 64}, {"repeated-blocks", 200, 200},
	} {
		r := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.k)))
		a := make([]float64, tc.n*tc.n)
		if strings.HasPrefix(tc.name, "repeated") {
			for i := range tc.n {
				a[i*tc.n+i] = float64(1 + i%3) // eigenvalues 1, 2, 3, each many times
			}
		} else {
			const dim = 3
			x := make([]float64, tc.n*dim)
			for i := range x {
				x[i] = r.NormFloat64()
			}
			for i := range tc.n {
				for j := range i + 1 {
					var s float64
					for c := range dim {
						v := x[i*dim+c] - x[j*dim+c]
						s += v * v
					}
					a[i*tc.n+j] = math.Exp(-0.5 * s)
				}
			}
		}
		n, k := tc.n, tc.k
		d, e, tau := make([]float64, n), make([]float64, n-1), make([]float64, n-1)
		work := make([]float64, 1)
		lapackImpl.Dsytrd('L', n, a, n, d, e, tau, work, -1)
		work = make([]float64, int(work[0]))
		lapackImpl.Dsytrd('L', n, a, n, d, e, tau, work, len(work))
		ev, ee := append([]float64(nil), d...), append([]float64(nil), e...)
		if !lapackImpl.Dsterf(n, ev, ee) {
			t.Fatalf("%s: dsterf failed", tc.name)
		}
		sort.Float64s(ev)
		lam := make([]float64, k)
		for j := range lam {
			lam[j] = ev[n-1-j]
		}
		y := make([]float64, n*k)
		if err := tridiagInverseIteration(n, d, e, lam, y, k); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var tnorm float64
		for i := range n {
			s := math.Abs(d[i])
			if i > 0 {
				s += math.Abs(e[i-1])
			}
			if i < n-1 {
				s += math.Abs(e[i])
			}
			tnorm = max(tnorm, s)
		}
		var worstRes, worstOrth float64
		for j := range k {
			var res float64
			for i := range n {
				v := (d[i] - lam[j]) * y[i*k+j]
				if i > 0 {
					v += e[i-1] * y[(i-1)*k+j]
				}
				if i < n-1 {
					v += e[i] * y[(i+1)*k+j]
				}
				res += v * v
			}
			worstRes = max(worstRes, math.Sqrt(res)/tnorm)
			for p := range j + 1 {
				var dot float64
				for i := range n {
					dot += y[i*k+j] * y[i*k+p]
				}
				if p == j {
					dot--
				}
				worstOrth = max(worstOrth, math.Abs(dot))
			}
		}
		if worstRes > 1e-13 || worstOrth > 1e-12 {
			t.Errorf("%s: worst residual %.2g·‖T‖, worst |YᵀY − I| %.2g", tc.name, worstRes, worstOrth)
		}
		t.Logf("%s: worst residual %.2g·‖T‖, worst |YᵀY − I| %.2g", tc.name, worstRes, worstOrth)
	}
}

// BenchmarkDsyevTopRBFAll times the full eigendecomposition of a 1024×1024
// RBF Gram matrix, the Nyström landmark step of the KPCA OoD detector.
func BenchmarkDsyevTopRBFAll(b *testing.B) {
	const n, dim = 1024, 16
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float64, n*dim)
	for i := range x {
		x[i] = r.NormFloat64() / 4
	}
	a0 := make([]float64, n*n)
	for i := range n {
		for j := range i + 1 {
			var s float64
			for c := range dim {
				v := x[i*dim+c] - x[j*dim+c]
				s += v * v
			}
			a0[i*n+j] = math.Exp(-0.5 * s)
		}
	}
	a, w, z := make([]float64, n*n), make([]float64, n), make([]float64, n*n)
	b.ResetTimer()
	for range b.N {
		copy(a, a0)
		if err := DsyevTop(n, a, n, n, w, z, n); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDsytrdLower compares the tridiagonal reduction with gonum's Dsytrd
// (blocked, an independent implementation of the same reflectors): d, e,
// τ and the stored reflectors, for sizes around the parallel split and a
// leading dimension larger than the order.
func TestDsytrdLower(t *testing.T) {
	for _, n := range []int{2, 3, 17, 150, 301} {
		r := rand.New(rand.NewPCG(uint64(n), 7))
		lda := n + 3
		a := make([]float64, n*lda)
		for i := range n {
			for j := range i + 1 {
				a[i*lda+j] = r.NormFloat64()
			}
		}
		ref := append([]float64(nil), a...)
		d, e, tau := make([]float64, n), make([]float64, n-1), make([]float64, n-1)
		dsytrdLower(n, a, lda, d, e, tau)
		rd, re, rtau := make([]float64, n), make([]float64, n-1), make([]float64, n-1)
		work := make([]float64, 1)
		lapackImpl.Dsytrd('L', n, ref, lda, rd, re, rtau, work, -1)
		work = make([]float64, int(work[0]))
		lapackImpl.Dsytrd('L', n, ref, lda, rd, re, rtau, work, len(work))
		check := func(what string, got, want []float64) {
			t.Helper()
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-11*(1+math.Abs(want[i])) {
					t.Fatalf("n=%d: %s[%d] = %v, gonum %v", n, what, i, got[i], want[i])
				}
			}
		}
		check("d", d, rd)
		check("e", e, re)
		check("tau", tau, rtau)
		for i := 0; i < n-1; i++ {
			for row := i + 1; row < n; row++ {
				if g, w := a[row*lda+i], ref[row*lda+i]; math.Abs(g-w) > 1e-11*(1+math.Abs(w)) {
					t.Fatalf("n=%d: reflector %d entry %d = %v, gonum %v", n, i, row, g, w)
				}
			}
		}
	}
}
