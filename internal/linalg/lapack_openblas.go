//go:build openblas

package linalg

/*
#cgo LDFLAGS: -llapacke -lopenblas
#include <cblas.h>
#include <lapacke.h>
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
*/
import "C"

import (
	"runtime"
	"sync"
)

// Row-major/column-major bridge. The memory of a row-major n×n matrix A read
// column-major is Aᵀ. For a symmetric matrix that is A again, and its
// row-major lower triangle is the column-major upper triangle, so the
// symmetric routines call LAPACK with uplo 'U' on the same memory. For the
// general LU, LAPACK factors Aᵀ = P·L·U column-major; read row-major the
// same memory holds Uᵀ in its lower triangle and Lᵀ (unit) in its strict
// upper triangle, so A = Uᵀ·Lᵀ·Pᵀ and both A·X = B and Aᵀ·X = B are solved by
// row-major triangular solves plus row interchanges, without a copy.

// OpenBLAS runs single-threaded by default in this package (see
// openblas.go: its spinning threads fight the Go scheduler during many small
// products). SYRK is therefore blocked over goroutines in lapack.go; the
// Cholesky factorization of a large matrix ([potrfThreads]), the LU
// factorization and the eigensolver run with GOMAXPROCS OpenBLAS threads
// for the duration of the call (a few big products, where OpenBLAS's
// threads, sharing packed operands, beat the goroutine-blocked algorithms),
// restoring the previous setting afterwards. Such calls are serialized so
// the setting is not changed under another one.
var threadsMu sync.Mutex

// bigFlops is the work above which a call uses OpenBLAS threads.
const bigFlops = 1 << 24

func withThreads(flops float64, f func()) {
	if flops < bigFlops || runtime.GOMAXPROCS(0) < 2 {
		f()
		return
	}
	threadsMu.Lock()
	defer threadsMu.Unlock()
	prev := C.openblas_get_num_threads()
	C.openblas_set_num_threads(C.int(runtime.GOMAXPROCS(0)))
	defer C.openblas_set_num_threads(prev)
	f()
}

// oneThread runs f with OpenBLAS on one thread; it is called inside
// [withThreads], whose lock keeps other calls from changing the setting.
func oneThread(f func()) {
	prev := C.openblas_get_num_threads()
	C.openblas_set_num_threads(1)
	defer C.openblas_set_num_threads(prev)
	f()
}

// dpotrfThreads and spotrfThreads factor a large matrix on OpenBLAS's
// threads with [potrfThreads].
func dpotrfThreads(n int, a []float64, lda int) error {
	return potrfThreads(n, a, lda, threadOps[float64]{dpotrf1, dtrtri1, dtrmm1, dsyrk1})
}

func spotrfThreads(n int, a []float32, lda int) error {
	return potrfThreads(n, a, lda, threadOps[float32]{spotrf1, strtri1, strmm1, ssyrk1})
}

// threadOps are the kernels [potrfThreads] calls.
type threadOps[T float32 | float64] struct {
	potrf func(n int, a []T, lda int, off int) error
	trtri func(n int, a []T, lda int)
	// trmm sets B := alpha·op(L)·B (left) or alpha·B·op(L) (right) for the
	// lower triangular L, op(L) = Lᵀ with trans.
	trmm func(left, trans bool, m, n int, alpha T, l []T, ldl int, b []T, ldb int)
	syrk func(trans bool, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int)
}

// threadBlock is the panel width of [potrfThreads].
const threadBlock = 256

// potrfThreads is a right-looking blocked Cholesky (lower, row-major) whose
// panel products run on OpenBLAS's threads: per panel, the factor of the
// diagonal block and its explicit inverse ([factorInverse], on one thread:
// its products are too small to split, and on two threads the 16 blocks
// of n = 4000 took 12–16 ms instead of 7.3), the panel times that inverse
// (TRMM), and the trailing update (SYRK).
//
// LAPACK's own threaded potrf solves the panel with TRSM, which OpenBLAS
// runs at a third of its GEMM rate here (27 vs 80 GFLOP/s per core); TRMM
// runs at 60–70. At n = 4000 on 2 cores this measured 116–140 GFLOP/s over
// a day's runs, 76–88% of DGEMM, against 106–126 for dpotrf; with the
// diagonal blocks on one thread, 135–141 (83–88% in three interleaved
// rounds on a quiet machine, 81–84% before). Panel widths of 128, 192,
// 320 and 384 measured slower.
// Multiplying by the inverse of a diagonal block is what the
// goroutine-blocked algorithm in lapack.go does too; see
// TestCholeskyIllConditionedBackwardError for its backward error.
func potrfThreads[T float32 | float64](n int, a []T, lda int, ops threadOps[T]) (err error) {
	nb := min(threadBlock, n)
	inv := make([]T, nb*nb)
	withThreads(float64(n)*float64(n)*float64(n)/3, func() {
		for k := 0; k < n; k += nb {
			kb := min(nb, n-k)
			oneThread(func() { err = factorInverse(kb, a[k*lda+k:], lda, inv, kb, k, ops) })
			if err != nil {
				return
			}
			m := n - k - kb
			if m == 0 {
				return
			}
			panel := a[(k+kb)*lda+k:]
			ops.trmm(false, true, m, kb, 1, inv, kb, panel, lda)
			ops.syrk(false, m, kb, -1, panel, lda, 1, a[(k+kb)*lda+k+kb:], lda)
		}
	})
	return err
}

// factorLeaf is the order below which [factorInverse] calls LAPACK (a 256
// block took 0.48 ms with 32, 0.56 with 16, 0.59 with 64, 0.82 with 128).
const factorLeaf = 32

// factorInverse factors the n×n diagonal block in a (A = L·Lᵀ, L over A)
// and sets inv (leading dimension ldi) to L⁻¹, recursively by halves down
// to factorLeaf: L₁₁ and L₁₁⁻¹, L₂₁ = A₂₁·L₁₁⁻ᵀ, A₂₂ − L₂₁·L₂₁ᵀ = L₂₂·L₂₂ᵀ
// and L₂₂⁻¹, then the inverse's lower block −L₂₂⁻¹·L₂₁·L₁₁⁻¹. These blocks
// are on the factorization's serial path, and LAPACK's potrf and trtri of
// a whole 256 block took 0.98 ms here (with OpenBLAS's threads on, as
// inside [potrfThreads]), this 0.48 ms. off is the block's offset in the
// whole matrix, for error reporting.
func factorInverse[T float32 | float64](n int, a []T, lda int, inv []T, ldi, off int, ops threadOps[T]) error {
	if n <= factorLeaf {
		if err := ops.potrf(n, a, lda, off); err != nil {
			return err
		}
		invertFactor(n, a, lda, inv, ldi, ops.trtri)
		return nil
	}
	h := n / 2
	if err := factorInverse(h, a, lda, inv, ldi, off, ops); err != nil {
		return err
	}
	a21 := a[h*lda:]
	ops.trmm(false, true, n-h, h, 1, inv, ldi, a21, lda)
	ops.syrk(false, n-h, h, -1, a21, lda, 1, a[h*lda+h:], lda)
	if err := factorInverse(n-h, a[h*lda+h:], lda, inv[h*ldi+h:], ldi, off+h, ops); err != nil {
		return err
	}
	// inv₂₁ = −L₂₂⁻¹·(L₂₁·L₁₁⁻¹).
	i21 := inv[h*ldi:]
	for r := range n - h {
		copy(i21[r*ldi:r*ldi+h], a21[r*lda:r*lda+h])
	}
	ops.trmm(false, false, n-h, h, 1, inv, ldi, i21, ldi)
	ops.trmm(true, false, n-h, h, -1, inv[h*ldi+h:], ldi, i21, ldi)
	for r := range h {
		clear(inv[r*ldi+r+1 : r*ldi+n])
	}
	return nil
}

// dtrmm1 and strmm1 are threadOps.trmm: B := alpha·op(L)·B (left) or
// alpha·B·op(L) (right) in place, L lower triangular.
func dtrmm1(left, trans bool, m, n int, alpha float64, l []float64, ldl int, b []float64, ldb int) {
	C.cblas_dtrmm(C.CblasRowMajor, cside(left), C.CblasLower, ctrans(trans), C.CblasNonUnit,
		C.blasint(m), C.blasint(n), C.double(alpha), p64(l), C.blasint(ldl), p64(b), C.blasint(ldb))
}

func strmm1(left, trans bool, m, n int, alpha float32, l []float32, ldl int, b []float32, ldb int) {
	C.cblas_strmm(C.CblasRowMajor, cside(left), C.CblasLower, ctrans(trans), C.CblasNonUnit,
		C.blasint(m), C.blasint(n), C.float(alpha), p32(l), C.blasint(ldl), p32(b), C.blasint(ldb))
}

func cside(left bool) C.enum_CBLAS_SIDE {
	if left {
		return C.CblasLeft
	}
	return C.CblasRight
}

func dsyrk1(trans bool, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	C.cblas_dsyrk(C.CblasRowMajor, C.CblasLower, ctrans(trans), C.blasint(n), C.blasint(k),
		C.double(alpha), p64(a), C.blasint(lda), C.double(beta), p64(c), C.blasint(ldc))
}

func dgemm1(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	C.cblas_dgemm(C.CblasRowMajor, ctrans(transA), ctrans(transB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), p64(a), C.blasint(lda), p64(b), C.blasint(ldb), C.double(beta), p64(c), C.blasint(ldc))
}

func ssyrk1(trans bool, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	C.cblas_ssyrk(C.CblasRowMajor, C.CblasLower, ctrans(trans), C.blasint(n), C.blasint(k),
		C.float(alpha), p32(a), C.blasint(lda), C.float(beta), p32(c), C.blasint(ldc))
}

func sgemm1(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	C.cblas_sgemm(C.CblasRowMajor, ctrans(transA), ctrans(transB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), p32(a), C.blasint(lda), p32(b), C.blasint(ldb), C.float(beta), p32(c), C.blasint(ldc))
}

// spotrf1 factors a float32 diagonal block (single-threaded OpenBLAS).
func spotrf1(n int, a []float32, lda int, off int) error {
	info := C.LAPACKE_spotrf_work(C.LAPACK_COL_MAJOR, 'U', C.lapack_int(n), p32(a), C.lapack_int(lda))
	if info > 0 {
		return &NotPositiveDefiniteError{Minor: off + int(info)}
	}
	if info < 0 {
		panic("linalg: spotrf argument error")
	}
	return nil
}

// strtri1 inverts the n×n lower triangular float32 matrix in place.
func strtri1(n int, a []float32, lda int) {
	if info := C.LAPACKE_strtri_work(C.LAPACK_COL_MAJOR, 'U', 'N', C.lapack_int(n), p32(a), C.lapack_int(lda)); info != 0 {
		panic("linalg: strtri of a Cholesky diagonal block failed")
	}
}

// spotrs1 solves L·Lᵀ·X = B with the float32 factor L (B n×nrhs,
// overwritten).
func spotrs1(n, nrhs int, l []float32, ldl int, b []float32, ldb int) {
	C.cblas_strsm(C.CblasRowMajor, C.CblasLeft, C.CblasLower, C.CblasNoTrans, C.CblasNonUnit,
		C.blasint(n), C.blasint(nrhs), 1, p32(l), C.blasint(ldl), p32(b), C.blasint(ldb))
	C.cblas_strsm(C.CblasRowMajor, C.CblasLeft, C.CblasLower, C.CblasTrans, C.CblasNonUnit,
		C.blasint(n), C.blasint(nrhs), 1, p32(l), C.blasint(ldl), p32(b), C.blasint(ldb))
}

// dtrtri1 inverts the n×n lower triangular matrix in place (the
// column-major upper triangle of the same memory).
func dtrtri1(n int, a []float64, lda int) {
	if info := C.LAPACKE_dtrtri_work(C.LAPACK_COL_MAJOR, 'U', 'N', C.lapack_int(n), p64(a), C.lapack_int(lda)); info != 0 {
		panic("linalg: dtrtri of a Cholesky diagonal block failed")
	}
}

// dpotrf1 factors the n×n block (single-threaded OpenBLAS, see
// openblas.go); off is the block's offset in the whole matrix, for error
// reporting.
func dpotrf1(n int, a []float64, lda int, off int) error {
	info := C.LAPACKE_dpotrf_work(C.LAPACK_COL_MAJOR, 'U', C.lapack_int(n), p64(a), C.lapack_int(lda))
	if info > 0 {
		return &NotPositiveDefiniteError{Minor: off + int(info)}
	}
	if info < 0 {
		panic("linalg: dpotrf argument error")
	}
	return nil
}

func dpotrs(n, nrhs int, a []float64, lda int, b []float64, ldb int) {
	// L·Y = B, then Lᵀ·X = Y.
	C.cblas_dtrsm(C.CblasRowMajor, C.CblasLeft, C.CblasLower, C.CblasNoTrans, C.CblasNonUnit,
		C.blasint(n), C.blasint(nrhs), 1, p64(a), C.blasint(lda), p64(b), C.blasint(ldb))
	C.cblas_dtrsm(C.CblasRowMajor, C.CblasLeft, C.CblasLower, C.CblasTrans, C.CblasNonUnit,
		C.blasint(n), C.blasint(nrhs), 1, p64(a), C.blasint(lda), p64(b), C.blasint(ldb))
}

func dpocon(n int, a []float64, lda int, anorm float64) float64 {
	work := make([]float64, 3*n)
	iwork := make([]C.lapack_int, n)
	var rcond C.double
	info := C.LAPACKE_dpocon_work(C.LAPACK_COL_MAJOR, 'U', C.lapack_int(n), p64(a), C.lapack_int(lda),
		C.double(anorm), &rcond, p64(work), &iwork[0])
	if info != 0 {
		panic("linalg: dpocon argument error")
	}
	return float64(rcond)
}

func dgetrf(n int, a []float64, lda int, ipiv []int) error {
	piv := make([]C.lapack_int, n)
	var info C.lapack_int
	withThreads(2*float64(n)*float64(n)*float64(n)/3, func() {
		info = C.LAPACKE_dgetrf_work(C.LAPACK_COL_MAJOR, C.lapack_int(n), C.lapack_int(n), p64(a), C.lapack_int(lda), &piv[0])
	})
	for i, p := range piv {
		ipiv[i] = int(p) - 1
	}
	if info > 0 {
		return &SingularError{Index: int(info)}
	}
	if info < 0 {
		panic("linalg: dgetrf argument error")
	}
	return nil
}

func dgetrs(trans bool, n, nrhs int, a []float64, lda int, ipiv []int, b []float64, ldb int) {
	swap := func(i int) {
		p := ipiv[i]
		if p != i {
			ri, rp := b[i*ldb:i*ldb+nrhs], b[p*ldb:p*ldb+nrhs]
			for j := range ri {
				ri[j], rp[j] = rp[j], ri[j]
			}
		}
	}
	if !trans {
		// A = Uᵀ·Lᵀ·Pᵀ: Uᵀ·Y = B, Lᵀ·W = Y, X = P·W.
		C.cblas_dtrsm(C.CblasRowMajor, C.CblasLeft, C.CblasLower, C.CblasNoTrans, C.CblasNonUnit,
			C.blasint(n), C.blasint(nrhs), 1, p64(a), C.blasint(lda), p64(b), C.blasint(ldb))
		C.cblas_dtrsm(C.CblasRowMajor, C.CblasLeft, C.CblasUpper, C.CblasNoTrans, C.CblasUnit,
			C.blasint(n), C.blasint(nrhs), 1, p64(a), C.blasint(lda), p64(b), C.blasint(ldb))
		for i := n - 1; i >= 0; i-- {
			swap(i)
		}
		return
	}
	// Aᵀ = P·L·U: B ← Pᵀ·B, L·W = B, U·X = W.
	for i := 0; i < n; i++ {
		swap(i)
	}
	C.cblas_dtrsm(C.CblasRowMajor, C.CblasLeft, C.CblasUpper, C.CblasTrans, C.CblasUnit,
		C.blasint(n), C.blasint(nrhs), 1, p64(a), C.blasint(lda), p64(b), C.blasint(ldb))
	C.cblas_dtrsm(C.CblasRowMajor, C.CblasLeft, C.CblasLower, C.CblasTrans, C.CblasNonUnit,
		C.blasint(n), C.blasint(nrhs), 1, p64(a), C.blasint(lda), p64(b), C.blasint(ldb))
}

func dgecon(n int, a []float64, lda int, anorm float64) float64 {
	// The memory holds the LU factors of Aᵀ, and ‖A‖₁ = ‖Aᵀ‖∞.
	work := make([]float64, 4*n)
	iwork := make([]C.lapack_int, n)
	var rcond C.double
	info := C.LAPACKE_dgecon_work(C.LAPACK_COL_MAJOR, 'I', C.lapack_int(n), p64(a), C.lapack_int(lda),
		C.double(anorm), &rcond, p64(work), &iwork[0])
	if info != 0 {
		panic("linalg: dgecon argument error")
	}
	return float64(rcond)
}

func dsyevTop(n int, a []float64, lda int, k int, w []float64, z []float64, ldz int) error {
	wall := make([]float64, n)
	isuppz := make([]C.lapack_int, 2*k)
	var m, info C.lapack_int
	// Column-major Z (n×k, ld ldz) is row-major z (k×n): rows are vectors.
	withThreads(float64(n)*float64(n)*float64(n), func() {
		info = C.LAPACKE_dsyevr(C.LAPACK_COL_MAJOR, 'V', 'I', 'U', C.lapack_int(n), p64(a), C.lapack_int(lda),
			0, 0, C.lapack_int(n-k+1), C.lapack_int(n), 0, &m, p64(wall), p64(z), C.lapack_int(ldz), &isuppz[0])
	})
	if info != 0 || int(m) != k {
		return ErrEigen
	}
	// dsyevr returns ascending order; reverse to descending.
	for i, j := 0, k-1; i < j; i, j = i+1, j-1 {
		wall[i], wall[j] = wall[j], wall[i]
		zi, zj := z[i*ldz:i*ldz+n], z[j*ldz:j*ldz+n]
		for t := range zi {
			zi[t], zj[t] = zj[t], zi[t]
		}
	}
	copy(w[:k], wall[:k])
	return nil
}
