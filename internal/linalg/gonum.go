//go:build !openblas

package linalg

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

const backend = "gonum"

var impl gonum.Implementation

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// gonum runs a product serially unless both m and n are large, so products
// with a long inner dimension (weight gradients) would use one core; they
// are split over goroutines here, as in the OpenBLAS build.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	split(m, n, k, func(byRows bool, lo, hi int) {
		if byRows {
			impl.Sgemm(trans(transA), trans(transB), hi-lo, n, k, alpha, a[offA(transA, lo, lda, k):], lda, b, ldb, beta, c[lo*ldc:], ldc)
		} else {
			impl.Sgemm(trans(transA), trans(transB), m, hi-lo, k, alpha, a, lda, b[offB(transB, lo, ldb, k):], ldb, beta, c[lo:], ldc)
		}
	})
}

func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	split(m, n, k, func(byRows bool, lo, hi int) {
		if byRows {
			impl.Dgemm(trans(transA), trans(transB), hi-lo, n, k, alpha, a[offA(transA, lo, lda, k):], lda, b, ldb, beta, c[lo*ldc:], ldc)
		} else {
			impl.Dgemm(trans(transA), trans(transB), m, hi-lo, k, alpha, a, lda, b[offB(transB, lo, ldb, k):], ldb, beta, c[lo:], ldc)
		}
	})
}
