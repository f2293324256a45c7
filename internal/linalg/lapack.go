package linalg

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// The float64 factorizations below are what the kernel library needs: a
// symmetric rank-k update (Gram matrices), Cholesky factor, solve and
// condition estimate (SPD systems), a mixed-precision SPD solver ([Dsposv]),
// LU factor, solve and condition estimate (general and asymmetric systems)
// and the top-k eigenpairs of a symmetric matrix ([DsyevTop], and
// [SymEigTopKrylov] for k ≪ n: kernel PCA, Nyström).
//
// As for the GEMMs, matrices are row-major with an explicit leading
// dimension and callers own all memory. Symmetric matrices are read from and
// written to their lower triangle (i >= j); the strict upper triangle is
// neither read nor written. In the OpenBLAS build the lower triangle of a
// row-major matrix is handed to LAPACK as the upper triangle of the same
// memory read column-major, so no LAPACK call copies or transposes its
// input. Cholesky and SYRK are blocked here, in Go, over the build's serial
// kernels and parallelized over goroutines like the GEMMs (see
// blockedPotrfT), which measured faster than OpenBLAS's own threads on the
// shared 2-core machines.

// NotPositiveDefiniteError is returned by [Dpotrf] when the matrix is not
// (numerically) positive definite.
type NotPositiveDefiniteError struct {
	// Minor is the order (1-based) of the leading minor that is not positive
	// definite, or 0 when the implementation does not report it.
	Minor int
}

// Error reports the failing minor when known.
func (e *NotPositiveDefiniteError) Error() string {
	if e.Minor > 0 {
		return fmt.Sprintf("linalg: matrix is not positive definite (leading minor of order %d)", e.Minor)
	}
	return "linalg: matrix is not positive definite"
}

// SingularError is returned by [Dgetrf] when an exactly zero pivot occurs.
type SingularError struct {
	// Index is the 1-based index of the first zero pivot, or 0 when the
	// implementation does not report it.
	Index int
}

// Error reports the zero pivot when known.
func (e *SingularError) Error() string {
	if e.Index > 0 {
		return fmt.Sprintf("linalg: matrix is exactly singular (zero pivot %d)", e.Index)
	}
	return "linalg: matrix is exactly singular"
}

// ErrEigen is returned by [DsyevTop] when the eigensolver fails to converge.
var ErrEigen = errors.New("linalg: symmetric eigensolver did not converge")

// Dsyrk computes the lower triangle of C = alpha*A*Aᵀ + beta*C (trans false,
// A is n×k) or C = alpha*Aᵀ*A + beta*C (trans true, A is k×n). C is n×n; its
// strict upper triangle is not referenced.
func Dsyrk(trans bool, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	if n == 0 {
		return
	}
	ar, ac := n, k
	if trans {
		ar, ac = k, n
	}
	if !fits(len(a), ar, ac, lda) || !fits(len(c), n, n, ldc) {
		panic("linalg: syrk slice too short for its shape")
	}
	parSyrk(trans, n, k, alpha, a, lda, beta, c, ldc)
}

// Dpotrf computes the Cholesky factorization A = L*Lᵀ of the n×n symmetric
// positive definite matrix whose lower triangle is in a, overwriting it with
// L. Orders above 512 use all cores: the pure-Go build through a blocked
// algorithm over goroutines, the OpenBLAS build through a blocked algorithm
// whose products run on OpenBLAS's threads. It returns a *[NotPositiveDefiniteError] when A is not positive
// definite; a is then partly overwritten.
func Dpotrf(n int, a []float64, lda int) error {
	if n == 0 {
		return nil
	}
	if !fits(len(a), n, n, lda) {
		panic("linalg: potrf slice too short for its shape")
	}
	return blockedPotrf(n, a, lda)
}

// Dpotrs solves A*X = B using the Cholesky factor L computed by [Dpotrf].
// B is n×nrhs and is overwritten by X.
func Dpotrs(n, nrhs int, a []float64, lda int, b []float64, ldb int) {
	if n == 0 || nrhs == 0 {
		return
	}
	if !fits(len(a), n, n, lda) || !fits(len(b), n, nrhs, ldb) {
		panic("linalg: potrs slice too short for its shape")
	}
	dpotrs(n, nrhs, a, lda, b, ldb)
}

// Dpocon estimates the reciprocal condition number 1/(‖A‖₁‖A⁻¹‖₁) of a
// symmetric positive definite matrix from its Cholesky factor (see [Dpotrf]).
// anorm is ‖A‖₁ of the original matrix (see [SymOneNorm]).
func Dpocon(n int, a []float64, lda int, anorm float64) float64 {
	if n == 0 {
		return 1
	}
	if !fits(len(a), n, n, lda) {
		panic("linalg: pocon slice too short for its shape")
	}
	if anorm == 0 {
		return 0
	}
	return dpocon(n, a, lda, anorm)
}

// Dgetrf computes an LU factorization with partial pivoting of the general
// n×n matrix A, overwriting a with the factors. ipiv (len n) receives pivot
// data whose meaning is private to the implementation: pass it unchanged to
// [Dgetrs]. It returns a *[SingularError] when a pivot is exactly zero; the
// factors are then complete but must not be used to solve.
func Dgetrf(n int, a []float64, lda int, ipiv []int) error {
	if n == 0 {
		return nil
	}
	if !fits(len(a), n, n, lda) || len(ipiv) < n {
		panic("linalg: getrf slice too short for its shape")
	}
	return dgetrf(n, a, lda, ipiv)
}

// Dgetrs solves A*X = B (trans false) or Aᵀ*X = B (trans true) using the LU
// factorization computed by [Dgetrf]. B is n×nrhs and is overwritten by X.
func Dgetrs(trans bool, n, nrhs int, a []float64, lda int, ipiv []int, b []float64, ldb int) {
	if n == 0 || nrhs == 0 {
		return
	}
	if !fits(len(a), n, n, lda) || !fits(len(b), n, nrhs, ldb) || len(ipiv) < n {
		panic("linalg: getrs slice too short for its shape")
	}
	dgetrs(trans, n, nrhs, a, lda, ipiv, b, ldb)
}

// Dgecon estimates the reciprocal condition number 1/(‖A‖₁‖A⁻¹‖₁) of a
// general matrix from its LU factorization (see [Dgetrf]). anorm is ‖A‖₁ of
// the original matrix (see [OneNorm]).
func Dgecon(n int, a []float64, lda int, anorm float64) float64 {
	if n == 0 {
		return 1
	}
	if !fits(len(a), n, n, lda) {
		panic("linalg: gecon slice too short for its shape")
	}
	if anorm == 0 {
		return 0
	}
	return dgecon(n, a, lda, anorm)
}

// DsyevTop computes the k largest eigenvalues of the n×n symmetric matrix
// whose lower triangle is in a, and their eigenvectors. w (len ≥ k) receives
// the eigenvalues in descending order; z (k×n, ldz ≥ n) receives the
// eigenvectors as rows: row j of z is the unit eigenvector of w[j]. The
// lower triangle of a is destroyed.
//
// The OpenBLAS build calls LAPACK's dsyevr (MRRR) for the index range; the
// pure-Go build reduces A to tridiagonal form (dsytrd), computes its
// eigenvalues (dsterf), finds the k eigenvectors by inverse iteration with
// reorthogonalization within clusters, and applies the Householder
// reflectors (dormqr).
func DsyevTop(n int, a []float64, lda int, k int, w []float64, z []float64, ldz int) error {
	if k < 0 || k > n {
		panic("linalg: syevtop k out of range")
	}
	if k == 0 {
		return nil
	}
	if !fits(len(a), n, n, lda) || len(w) < k || !fits(len(z), k, n, ldz) {
		panic("linalg: syevtop slice too short for its shape")
	}
	return dsyevTop(n, a, lda, k, w, z, ldz)
}

// OneNorm returns ‖A‖₁, the largest absolute column sum of the m×n matrix A.
func OneNorm(m, n int, a []float64, lda int) float64 {
	if m == 0 || n == 0 {
		return 0
	}
	if !fits(len(a), m, n, lda) {
		panic("linalg: onenorm slice too short for its shape")
	}
	sums := make([]float64, n)
	for i := 0; i < m; i++ {
		row := a[i*lda : i*lda+n]
		for j, v := range row {
			sums[j] += math.Abs(v)
		}
	}
	var mx float64
	for _, s := range sums {
		if s > mx || math.IsNaN(s) {
			mx = s
		}
	}
	return mx
}

// SymOneNorm returns ‖A‖₁ (= ‖A‖∞) of the n×n symmetric matrix whose lower
// triangle is in a.
func SymOneNorm(n int, a []float64, lda int) float64 {
	if n == 0 {
		return 0
	}
	if !fits(len(a), n, n, lda) {
		panic("linalg: symonenorm slice too short for its shape")
	}
	if n >= 1000 {
		return parSymOneNorm(n, a, lda)
	}
	sums := make([]float64, n)
	for i := 0; i < n; i++ {
		row := a[i*lda : i*lda+i+1]
		for j, v := range row[:i] {
			av := math.Abs(v)
			sums[i] += av
			sums[j] += av
		}
		sums[i] += math.Abs(row[i])
	}
	var mx float64
	for _, s := range sums {
		if s > mx || math.IsNaN(s) {
			mx = s
		}
	}
	return mx
}

// fits reports whether a slice of length l holds a rows×cols row-major
// matrix with leading dimension ld.
func fits(l, rows, cols, ld int) bool {
	return rows == 0 || cols == 0 || (ld >= cols && l >= (rows-1)*ld+cols)
}

// Parallel blocked algorithms over the serial kernels of the build
// (dgemm1, dsyrk1, dtrsm1, dpotrf1: gonum's, or single-threaded OpenBLAS).
// Splitting work over goroutines, as the GEMMs of this package do, keeps
// the Go scheduler in charge of the cores, which measured faster than
// OpenBLAS's own threads on a shared machine.

// parBlock is the panel width of the blocked Cholesky.
const parBlock = 256

// parMinFlops is the work below which the serial kernel is called directly.
const parMinFlops = 1 << 22

// parFor runs f(p) for p in [0, parts) on GOMAXPROCS goroutines, handing
// out indices in order.
func parFor(parts int, f func(p int)) {
	workers := min(runtime.GOMAXPROCS(0), parts)
	if workers <= 1 {
		for p := 0; p < parts; p++ {
			f(p)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				p := int(next.Add(1) - 1)
				if p >= parts {
					return
				}
				f(p)
			}
		}()
	}
	wg.Wait()
}

// triBounds splits rows [0, m) of a lower triangle into parts of about
// equal area.
func triBounds(m, parts int) []int {
	b := make([]int, parts+1)
	for p := 1; p <= parts; p++ {
		b[p] = int(math.Round(float64(m) * math.Sqrt(float64(p)/float64(parts))))
	}
	return b
}

// lookAheadBounds splits rows [0, m) of a lower triangle into a first
// block of first rows and parts blocks of about equal area after it.
func lookAheadBounds(m, first, parts int) []int {
	if first >= m {
		return []int{0, m}
	}
	b := make([]int, parts+2)
	b[1] = first
	f2, m2 := float64(first)*float64(first), float64(m)*float64(m)
	for p := 1; p <= parts; p++ {
		b[p+1] = max(b[p], int(math.Round(math.Sqrt(f2+(m2-f2)*float64(p)/float64(parts)))))
	}
	b[parts+1] = m
	return b
}

// parSyrk computes the lower triangle of C = alpha·op(A)·op(A)ᵀ + beta·C by
// row blocks: a GEMM left of each diagonal block and a SYRK on it.
func parSyrk(trans bool, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || float64(n)*float64(n)*float64(k) < parMinFlops {
		dsyrk1(trans, n, k, alpha, a, lda, beta, c, ldc)
		return
	}
	parts := 4 * workers
	bounds := triBounds(n, parts)
	parFor(parts, func(p int) {
		lo, hi := bounds[p], bounds[p+1]
		if hi <= lo {
			return
		}
		// Row lo of op(A): row lo of A, or column lo of A when trans.
		off := lo * lda
		if trans {
			off = lo
		}
		if lo > 0 {
			dgemm1(trans, !trans, hi-lo, lo, k, alpha, a[off:], lda, a, lda, beta, c[lo*ldc:], ldc)
		}
		dsyrk1(trans, hi-lo, k, alpha, a[off:], lda, beta, c[lo*ldc+lo:], ldc)
	})
}

// cholOps are the serial kernels the blocked Cholesky runs on, in float64
// (dOps) or float32 (sOps, for [Dsposv]).
type cholOps[T float32 | float64] struct {
	potrf func(n int, a []T, lda int, off int) error
	trtri func(n int, a []T, lda int)
	gemm  func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)
	syrk  func(trans bool, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int)
	// whole, when the build has one, factors a large matrix at once on
	// the library's own threads (OpenBLAS: potrfThreads, 1.3–1.6× the
	// blocked algorithm below on 2 cores at n = 4000 in float64).
	whole func(n int, a []T, lda int) error
}

var (
	dOps = cholOps[float64]{potrf: dpotrf1, trtri: dtrtri1, gemm: dgemm1, syrk: dsyrk1, whole: dpotrfThreads}
	sOps = cholOps[float32]{potrf: spotrf1, trtri: strtri1, gemm: sgemm1, syrk: ssyrk1, whole: spotrfThreads}
)

func blockedPotrf(n int, a []float64, lda int) error { return blockedPotrfT(n, a, lda, dOps) }

// invertFactor sets inv (kb×kb, row-major, leading dimension ldi) to the
// inverse of the lower triangular kb×kb factor in l, with trtri.
func invertFactor[T float32 | float64](kb int, l []T, ldl int, inv []T, ldi int, trtri func(n int, a []T, lda int)) {
	for i := 0; i < kb; i++ {
		row := inv[i*ldi : i*ldi+kb]
		copy(row[:i+1], l[i*ldl:i*ldl+i+1])
		clear(row[i+1:])
	}
	trtri(kb, inv, ldi)
}

// blockedPotrfT is a right-looking blocked Cholesky (lower, row-major):
// per panel, solve the panel below the factored diagonal block in row
// blocks, then update the trailing lower triangle in row blocks of equal
// area (GEMM + SYRK), all on goroutines. The update's first row block is
// the next diagonal block, which the goroutine that updated it then
// factors and inverts while the others go on with the update (a
// look-ahead of one panel: the serial diagonal blocks, 13% of the time at
// n = 4000 on 2 cores, no longer wait for the whole update).
func blockedPotrfT[T float32 | float64](n int, a []T, lda int, ops cholOps[T]) error {
	if n <= 2*parBlock || runtime.GOMAXPROCS(0) < 2 {
		return ops.potrf(n, a, lda, 0)
	}
	if ops.whole != nil {
		return ops.whole(n, a, lda)
	}
	workers := runtime.GOMAXPROCS(0)
	inv := make([]T, parBlock*parBlock)
	maxRows := max(32, (n+2*workers-1)/(2*workers))
	tmps := make([][]T, 2*workers+1)
	for i := range tmps {
		tmps[i] = make([]T, maxRows*parBlock)
	}
	// diag factors the diagonal block at k and sets inv to its inverse.
	diag := func(k int) error {
		kb := min(parBlock, n-k)
		if err := ops.potrf(kb, a[k*lda+k:], lda, k); err != nil {
			return err
		}
		invertFactor(kb, a[k*lda+k:], lda, inv, kb, ops.trtri)
		return nil
	}
	if err := diag(0); err != nil {
		return err
	}
	for k := 0; k < n; k += parBlock {
		kb := min(parBlock, n-k)
		m := n - k - kb
		if m == 0 {
			break
		}
		// Panel P = A[k+kb:n, k:k+kb] · L_kk⁻ᵀ as a GEMM with the explicit
		// inverse of the small diagonal factor (a flat single-threaded
		// OpenBLAS dtrsm measured 13 GFLOP/s here, a quarter of its GEMM;
		// the backward error stays at the level of the substitution, see
		// TestCholeskyIllConditionedBackwardError).
		rows := max(32, (m+2*workers-1)/(2*workers))
		np := (m + rows - 1) / rows // ≤ 2·workers < len(tmps)
		parFor(np, func(p int) {
			lo := k + kb + p*rows
			hi := min(lo+rows, n)
			tmp := tmps[p]
			for i := lo; i < hi; i++ {
				copy(tmp[(i-lo)*kb:(i-lo+1)*kb], a[i*lda+k:i*lda+k+kb])
			}
			ops.gemm(false, true, hi-lo, kb, kb, 1, tmp, kb, inv, kb, 0, a[lo*lda+k:], lda)
		})
		// Trailing update A[k+kb:, k+kb:] −= P·Pᵀ (lower); row block 0 is
		// the next diagonal block, factored as soon as it is updated (the
		// panel above no longer reads inv).
		t0 := k + kb
		bounds := lookAheadBounds(m, min(parBlock, m), 4*workers)
		var diagErr error
		parFor(len(bounds)-1, func(p int) {
			lo, hi := bounds[p], bounds[p+1]
			pr := a[(t0+lo)*lda+k:]
			if lo > 0 {
				ops.gemm(false, true, hi-lo, lo, kb, -1, pr, lda, a[t0*lda+k:], lda, 1, a[(t0+lo)*lda+t0:], lda)
			}
			ops.syrk(false, hi-lo, kb, -1, pr, lda, 1, a[(t0+lo)*lda+t0+lo:], lda)
			if p == 0 {
				diagErr = diag(t0)
			}
		})
		if diagErr != nil {
			return diagErr
		}
	}
	return nil
}
