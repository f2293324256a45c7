//go:build !openblas

package linalg

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// stridedInverseIteration is tridiagInverseIteration as it was before its
// vectors were kept contiguous: the reference the fast one must match bit
// for bit.
func stridedInverseIteration(n int, d, e, lam []float64, y []float64, ldy int) {
	k := len(lam)
	var tnorm float64
	for i := 0; i < n; i++ {
		s := math.Abs(d[i])
		if i > 0 {
			s += math.Abs(e[i-1])
		}
		if i < n-1 {
			s += math.Abs(e[i])
		}
		tnorm = math.Max(tnorm, s)
	}
	if tnorm == 0 {
		tnorm = 1
	}
	eps := 2.220446049250313e-16
	ortol := 1e-3 * tnorm
	dl, dd, du, x := make([]float64, n-1), make([]float64, n), make([]float64, n-1), make([]float64, n)
	var seed uint64 = 0x9E3779B97F4A7C15
	next := func() float64 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return float64(seed>>11)/float64(1<<53) - 0.5
	}
	order := make([]int, k)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return lam[order[a]] > lam[order[b]] })
	for oi, j := range order {
		shift := lam[j]
		if oi > 0 {
			prev := order[oi-1]
			if math.Abs(lam[prev]-shift) < 10*eps*tnorm {
				shift = lam[prev] - 10*eps*tnorm
			}
		}
		for i := range x {
			x[i] = next()
		}
		for it := 0; it < 5; it++ {
			for i := 0; i < n; i++ {
				dd[i] = d[i] - shift
			}
			copy(dl, e)
			copy(du, e)
			if !lapackImpl.Dgtsv(n, 1, dl, dd, du, x, 1) {
				shift -= eps * tnorm
				for i := range x {
					x[i] = next()
				}
				continue
			}
			for pi := oi - 1; pi >= 0; pi-- {
				p := order[pi]
				if math.Abs(lam[p]-lam[j]) > ortol {
					break
				}
				var dot float64
				for i := 0; i < n; i++ {
					dot += x[i] * y[i*ldy+p]
				}
				for i := 0; i < n; i++ {
					x[i] -= dot * y[i*ldy+p]
				}
			}
			var nrm float64
			for _, v := range x {
				nrm += v * v
			}
			nrm = math.Sqrt(nrm)
			for i := range x {
				x[i] /= nrm
			}
		}
		for i := 0; i < n; i++ {
			y[i*ldy+j] = x[i]
		}
	}
}

// TestInverseIterationBitIdentical checks the contiguous inverse iteration
// against the strided reference on the tridiagonal forms of RBF Gram
// matrices (one large cluster of tiny eigenvalues), a matrix with a repeated
// eigenvalue, and edge sizes, for all and for some eigenvectors.
func TestInverseIterationBitIdentical(t *testing.T) {
	for _, tc := range []struct {
		name string
		n, k int
	}{
		{"rbf-2", 2, 2}, {"rbf-3", 3, 1}, {"rbf-all", 150, 150}, {"rbf-top", 200, 37}, {"repeated", 64, 64},
	} {
		r := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.k)))
		a := make([]float64, tc.n*tc.n)
		if tc.name == "repeated" {
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
		n := tc.n
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
		lam := make([]float64, tc.k)
		for j := range lam {
			lam[j] = ev[n-1-j]
		}
		got, want := make([]float64, n*tc.k), make([]float64, n*tc.k)
		if err := tridiagInverseIteration(n, d, e, lam, got, tc.k); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		stridedInverseIteration(n, d, e, lam, want, tc.k)
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%s: entry %d = %v, strided reference %v", tc.name, i, got[i], want[i])
			}
		}
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
