//go:build !openblas

package linalg

import (
	"sync"

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

// sgemm runs the AVX2/FMA micro-kernel of sgemm_amd64.go where the CPU has
// AVX2 and FMA, and gonum's portable Sgemm otherwise: on other
// architectures, older CPUs and under the purego build tag.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if useAsmSgemm {
		sgemmAsm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	sgemmGonum(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmGonum is sgemm on gonum's Sgemm, the portable path. gonum runs a
// product serially unless both m and n are large, so products
// with a long inner dimension (weight gradients) would use one core; they
// are split over goroutines here, as in the OpenBLAS build.
//
// gonum computes A·Bᵀ with one dot product per element, several times slower
// than A·B (measured 6.8 against 28 GFLOP/s on the CNN's shapes), so Bᵀ is
// materialized first when it is small next to the product.
func sgemmGonum(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transB && !transA && m >= 16 && n*k <= maxTransposed {
		bt := transposed32(b, ldb, n, k)
		defer pool32.Put(bt)
		b, ldb, transB = *bt, n, false
	}
	if transA && !transB && n < 16 && m > 2*n && m*n <= maxTransposed {
		// Aᵀ·B with a narrow B runs axpys of length n; compute the
		// transpose Bᵀ·A (axpys of length m) and transpose it back.
		p := pool32.Get().(*[]float32)
		if cap(*p) < m*n {
			*p = make([]float32, m*n)
		}
		t := (*p)[:m*n]
		sgemmGonum(true, false, n, m, k, alpha, b, ldb, a, lda, 0, t, m)
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				if beta == 0 {
					row[j] = t[j*m+i]
				} else {
					row[j] = beta*row[j] + t[j*m+i]
				}
			}
		}
		*p = t
		pool32.Put(p)
		return
	}
	split(m, n, k, func(byRows bool, lo, hi int) {
		if byRows {
			impl.Sgemm(trans(transA), trans(transB), hi-lo, n, k, alpha, a[offA(transA, lo, lda, k):], lda, b, ldb, beta, c[lo*ldc:], ldc)
		} else {
			impl.Sgemm(trans(transA), trans(transB), m, hi-lo, k, alpha, a, lda, b[offB(transB, lo, ldb, k):], ldb, beta, c[lo:], ldc)
		}
	})
}

// dgemm runs the float64 AVX2/FMA micro-kernel of dgemm_amd64.go where the
// CPU has AVX2 and FMA, and gonum's portable Dgemm otherwise.
func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if useAsmDgemm {
		dgemmAsm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	dgemmGonum(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// dgemmGonum is dgemm on gonum's Dgemm, split over goroutines, with Bᵀ
// materialized as in sgemmGonum.
func dgemmGonum(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if transB && !transA && m >= 16 && n*k <= maxTransposed {
		bt := transposed64(b, ldb, n, k)
		defer pool64.Put(bt)
		b, ldb, transB = *bt, n, false
	}
	split(m, n, k, func(byRows bool, lo, hi int) {
		if byRows {
			impl.Dgemm(trans(transA), trans(transB), hi-lo, n, k, alpha, a[offA(transA, lo, lda, k):], lda, b, ldb, beta, c[lo*ldc:], ldc)
		} else {
			impl.Dgemm(trans(transA), trans(transB), m, hi-lo, k, alpha, a, lda, b[offB(transB, lo, ldb, k):], ldb, beta, c[lo:], ldc)
		}
	})
}

// maxTransposed bounds the size of a right-hand matrix worth transposing.
const maxTransposed = 1 << 22

var (
	pool32 = sync.Pool{New: func() any { return new([]float32) }}
	pool64 = sync.Pool{New: func() any { return new([]float64) }}
)

// transposed32 returns the k×n transpose of the n×k matrix b, in a pooled
// buffer.
func transposed32(b []float32, ldb, n, k int) *[]float32 {
	p := pool32.Get().(*[]float32)
	if cap(*p) < n*k {
		*p = make([]float32, n*k)
	}
	t := (*p)[:n*k]
	for j := 0; j < n; j++ {
		for q, v := range b[j*ldb : j*ldb+k] {
			t[q*n+j] = v
		}
	}
	*p = t
	return p
}

func transposed64(b []float64, ldb, n, k int) *[]float64 {
	p := pool64.Get().(*[]float64)
	if cap(*p) < n*k {
		*p = make([]float64, n*k)
	}
	t := (*p)[:n*k]
	for j := 0; j < n; j++ {
		for q, v := range b[j*ldb : j*ldb+k] {
			t[q*n+j] = v
		}
	}
	*p = t
	return p
}
