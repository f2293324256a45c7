//go:build openblas

package linalg

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
*/
import "C"

import "unsafe"

const backend = "openblas"

// OpenBLAS's own threads busy-wait between calls and fight the Go
// scheduler for the cores (measured: a third of a training step spent
// spinning). So OpenBLAS runs single-threaded, and large products are split
// over goroutines here instead.
func init() { C.openblas_set_num_threads(1) }

func ctrans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

// The slices are checked by the callers' shapes; cblas reads exactly the
// declared extents. Empty slices never reach here (m, n > 0 is checked), but
// k may be 0, in which case a and b may be empty.
func p32(x []float32) *C.float {
	if len(x) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&x[0]))
}

func p64(x []float64) *C.double {
	if len(x) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(&x[0]))
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	split(m, n, k, func(byRows bool, lo, hi int) {
		pa, pb, pc := a, b, c
		mm, nn := m, n
		if byRows {
			mm = hi - lo
			pa = a[offA(transA, lo, lda, k):]
			pc = c[lo*ldc:]
		} else {
			nn = hi - lo
			pb = b[offB(transB, lo, ldb, k):]
			pc = c[lo:]
		}
		C.cblas_sgemm(C.CblasRowMajor, ctrans(transA), ctrans(transB), C.blasint(mm), C.blasint(nn), C.blasint(k),
			C.float(alpha), p32(pa), C.blasint(lda), p32(pb), C.blasint(ldb), C.float(beta), p32(pc), C.blasint(ldc))
	})
}

func dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	split(m, n, k, func(byRows bool, lo, hi int) {
		pa, pb, pc := a, b, c
		mm, nn := m, n
		if byRows {
			mm = hi - lo
			pa = a[offA(transA, lo, lda, k):]
			pc = c[lo*ldc:]
		} else {
			nn = hi - lo
			pb = b[offB(transB, lo, ldb, k):]
			pc = c[lo:]
		}
		C.cblas_dgemm(C.CblasRowMajor, ctrans(transA), ctrans(transB), C.blasint(mm), C.blasint(nn), C.blasint(k),
			C.double(alpha), p64(pa), C.blasint(lda), p64(pb), C.blasint(ldb), C.double(beta), p64(pc), C.blasint(ldc))
	})
}
