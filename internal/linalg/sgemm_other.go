//go:build !openblas && (!amd64 || purego)

package linalg

// useAsmSgemm is false where there is no micro-kernel: gonum's portable
// Sgemm runs.
const useAsmSgemm = false

func sgemmAsm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	panic("linalg: no SGEMM micro-kernel on this architecture")
}
