// Package linalg is trustml's single seam to dense linear algebra.
//
// Every matrix product in the network engine (float32) and the kernel
// library (float64) goes through the functions here, so that one build tag
// switches the whole toolkit between two implementations:
//
//   - the default, pure-Go build uses gonum's BLAS and LAPACK and always builds
//     (its float32 products run an assembly micro-kernel on amd64 CPUs with
//     AVX2 and FMA; the purego build tag forces gonum there too);
//   - the "openblas" build (go build -tags openblas) calls OpenBLAS through
//     cgo (Debian: libopenblas-dev, liblapacke-dev).
//
// Matrices are row-major slices with an explicit leading dimension, as in
// gonum's blas packages. Callers own all memory: nothing here allocates on the
// hot path.
package linalg

import (
	"runtime"
	"sync"
)

// Backend names the implementation compiled in: "gonum" or "openblas".
func Backend() string { return backend }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(X) is X or its transpose. op(A) is m×k, op(B) is k×n and
// C is m×n.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float64
// matrices; see [Sgemm].
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	dgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// splitFlops is the size of product worth splitting across goroutines.
const splitFlops = 1 << 21

// split runs f over row ranges [lo, hi) of an m-row result, or column
// ranges when there are too few rows; byRows tells which.
func split(m, n, k int, f func(byRows bool, lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || m*n*k < splitFlops {
		f(true, 0, m)
		return
	}
	byRows, size := true, m
	if m < 4*workers {
		byRows, size = false, n
	}
	chunk := (size + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < size; lo += chunk {
		hi := min(lo+chunk, size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(byRows, lo, hi)
		}()
	}
	wg.Wait()
}

// offA is the offset of row lo of op(A) in a; offB that of column lo of op(B).
func offA(trans bool, lo, lda, k int) int {
	if k == 0 {
		return 0
	}
	if trans {
		return lo
	}
	return lo * lda
}

func offB(trans bool, lo, ldb, k int) int {
	if k == 0 {
		return 0
	}
	if trans {
		return lo * ldb
	}
	return lo
}
