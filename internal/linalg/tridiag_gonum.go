//go:build !openblas

package linalg

import (
	"runtime"
	"sync"
)

// dsytrdLower reduces the symmetric n×n matrix whose lower triangle is in a
// (row-major) to tridiagonal form T = Qᵀ·A·Q, as LAPACK's unblocked dsytd2
// (lower) does: on return d and e hold T's diagonal and subdiagonal, and
// the reflectors H(i) = I − τᵢ·vᵢ·vᵢᵀ with Q = H(0)⋯H(n−2) are stored as
// dsytrd stores them (vᵢ below the subdiagonal of column i, tau[i] = τᵢ).
//
// Every step is a symmetric matrix–vector product and a rank-2 update of
// the trailing lower triangle, each in one row-wise pass split over the
// cores. gonum's Dsytrd spends its time in a Dsymv that reads the lower
// triangle of a row-major matrix down its columns (6 s of the 2,048 × 2,048
// tridiagonalization of a full-scale Nyström KPCA fit).
func dsytrdLower(n int, a []float64, lda int, d, e, tau []float64) {
	workers := runtime.GOMAXPROCS(0)
	v := make([]float64, n)
	w := make([]float64, n)
	parts := make([][]float64, workers)
	for p := range parts {
		parts[p] = make([]float64, n)
	}
	for i := 0; i < n-1; i++ {
		m := n - i - 1 // the trailing matrix A[i+1:, i+1:]
		col := a[(i+1)*lda+i:]
		beta, taui := lapackImpl.Dlarfg(m, col[0], col[min(lda, len(col)-1):], lda)
		col[0], e[i], tau[i] = beta, beta, taui
		d[i] = a[i*lda+i]
		if taui == 0 {
			continue
		}
		// v = (1, A[i+2:, i]), contiguous (the unit is implied in a).
		v[0] = 1
		for r := 1; r < m; r++ {
			v[r] = col[r*lda]
		}
		t := a[(i+1)*lda+i+1:] // the trailing matrix, leading dimension lda
		// w = τ·A22·v − ½τ²(vᵀA22v)·v
		bounds := triBounds(m, min(workers, max(1, m/64)))
		symvLowerPar(m, t, lda, v[:m], w[:m], bounds, parts)
		var vw float64
		for r := range m {
			w[r] *= taui
			vw += w[r] * v[r]
		}
		alpha := -0.5 * taui * vw
		for r := range m {
			w[r] += alpha * v[r]
		}
		// A22 −= v·wᵀ + w·vᵀ (lower).
		parFor(len(bounds)-1, func(p int) {
			for r := bounds[p]; r < bounds[p+1]; r++ {
				row := t[r*lda : r*lda+r+1]
				vr, wr := v[r], w[r]
				vv, ww := v[:len(row)], w[:len(row)]
				for c := range row {
					row[c] -= vr*ww[c] + wr*vv[c]
				}
			}
		})
	}
	d[n-1] = a[(n-1)*lda+n-1]
}

// symvLowerPar sets y = A·x for the m×m symmetric matrix whose lower
// triangle is in a (row-major): rows [bounds[p], bounds[p+1]) on goroutine
// p, each accumulating its column contributions into parts[p].
func symvLowerPar(m int, a []float64, lda int, x, y []float64, bounds []int, parts [][]float64) {
	np := len(bounds) - 1
	var wg sync.WaitGroup
	for p := range np {
		wg.Go(func() {
			acc := parts[p][:m]
			clear(acc)
			for r := bounds[p]; r < bounds[p+1]; r++ {
				row := a[r*lda : r*lda+r]
				xr := x[r]
				xx, aa := x[:len(row)], acc[:len(row)]
				var s float64
				for c, arc := range row {
					s += arc * xx[c]
					aa[c] += arc * xr
				}
				acc[r] += s + a[r*lda+r]*xr
			}
		})
	}
	wg.Wait()
	copy(y, parts[0][:m])
	for p := 1; p < np; p++ {
		for r, v := range parts[p][:m] {
			y[r] += v
		}
	}
}
