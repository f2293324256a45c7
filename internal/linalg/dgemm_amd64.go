//go:build amd64 && !openblas && !purego

package linalg

import "golang.org/x/sys/cpu"

// useAsmDgemm selects the float64 AVX2/FMA micro-kernel for the pure-Go
// build's DGEMM and SYRK, at run time, from the CPU's features.
var useAsmDgemm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The float64 kernels: 6×8 doubles in twelve ymm accumulators (AVX2/FMA)
// and 6×16 in twelve zmm (AVX-512F), with panels of B up to 256 deep and
// blocks of B of 512 KiB; dKernel is the widest the CPU runs.
var (
	dKernelAVX2   = &microKernel[float64]{mr: 6, nr: 8, kcMax: 256, bBlock: 1 << 16, kern: kern6x8}
	dKernelAVX512 = &microKernel[float64]{mr: 6, nr: 16, kcMax: 256, bBlock: 1 << 16, kern: kern6x16z}
	dKernel       = widest(dKernelAVX2, dKernelAVX512)
)

// kern6x8 and kern6x16z are the float64 micro-kernels (dgemm_amd64.s).
//
//go:noescape
func kern6x8(k int, a *float64, rsa, csa int, b *float64, c *float64, ldc int, alpha, beta float64, load int)

//go:noescape
func kern6x16z(k int, a *float64, rsa, csa int, b *float64, c *float64, ldc int, alpha, beta float64, load int)

// dgemmAsm is dgemm on the float64 micro-kernel, over goroutines; see
// gemmAsm.
func dgemmAsm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gemmAsm(dKernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// dgemmAsm1, dsyrkAsm1, sgemmAsm1 and ssyrkAsm1 are the serial float64 and
// float32 kernels of the blocked algorithms that split the work themselves
// (parSyrk, the Cholesky) on the micro-kernels: gemmAsm1 and syrkAsm1.
func dgemmAsm1(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gemmAsm1(dKernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func dsyrkAsm1(trans bool, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	syrkAsm1(dKernel, trans, n, k, alpha, a, lda, beta, c, ldc)
}

func sgemmAsm1(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmAsm1(sKernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func ssyrkAsm1(trans bool, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	syrkAsm1(sKernel, trans, n, k, alpha, a, lda, beta, c, ldc)
}

// gemmAsm1 is gemmAsm on the calling goroutine only.
func gemmAsm1[T float32 | float64](mk *microKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	gemmSerial(mk, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// syrkDiag is the order of the diagonal blocks of syrkAsm1, computed
// whole into a buffer, of which the lower triangle is kept.
const syrkDiag = 48

// syrkAsm1 computes the lower triangle of C = alpha·op(A)·op(A)ᵀ + beta·C
// (op(A) is n×k: A, or Aᵀ when trans) on the calling goroutine, by halves:
// the block below the diagonal is a GEMM, the two diagonal blocks are
// SYRKs, down to blocks of syrkDiag rows. The strict upper triangle of C
// is neither read nor written; with beta zero, C is not read.
func syrkAsm1[T float32 | float64](mk *microKernel[T], trans bool, n, k int, alpha T, a []T, lda int, beta T, c []T, ldc int) {
	if n < 0 || k < 0 {
		panic("linalg: syrk with a negative dimension")
	}
	if trans {
		checkGemm(true, false, n, n, k, len(a), lda, len(a), lda, len(c), ldc)
	} else {
		checkGemm(false, true, n, n, k, len(a), lda, len(a), lda, len(c), ldc)
	}
	if n == 0 {
		return
	}
	if n <= syrkDiag {
		p := getBuf[T](n * n)
		t := *p
		gemmAsm1(mk, trans, !trans, n, n, k, alpha, a, lda, a, lda, 0, t, n)
		for i := range n {
			row := c[i*ldc : i*ldc+i+1]
			for j, v := range t[i*n : i*n+i+1] {
				if beta == 0 {
					row[j] = v
				} else {
					row[j] = beta*row[j] + v
				}
			}
		}
		putBuf(p)
		return
	}
	h := (n/2 + syrkDiag - 1) / syrkDiag * syrkDiag
	off := offA(trans, h, lda, k)
	syrkAsm1(mk, trans, h, k, alpha, a, lda, beta, c, ldc)
	gemmAsm1(mk, trans, !trans, n-h, h, k, alpha, a[off:], lda, a, lda, beta, c[h*ldc:], ldc)
	syrkAsm1(mk, trans, n-h, k, alpha, a[off:], lda, beta, c[h*ldc+h:], ldc)
}
