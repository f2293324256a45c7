//go:build !openblas && (!amd64 || purego)

package linalg

// useAsmDgemm is false where there is no micro-kernel: gonum's portable
// Dgemm and Dsyrk run.
const useAsmDgemm = false

func dgemmAsm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	panic("linalg: no DGEMM micro-kernel on this architecture")
}

func dgemmAsm1(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	panic("linalg: no DGEMM micro-kernel on this architecture")
}

func dsyrkAsm1(trans bool, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	panic("linalg: no DGEMM micro-kernel on this architecture")
}

func sgemmAsm1(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	panic("linalg: no SGEMM micro-kernel on this architecture")
}

func ssyrkAsm1(trans bool, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	panic("linalg: no SGEMM micro-kernel on this architecture")
}
