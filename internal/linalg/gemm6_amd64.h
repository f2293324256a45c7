// The body of the 6-row micro-kernels, included after their TEXT line:
// kern6x16 (float32, sgemm_amd64.s) and kern6x8 (float64, dgemm_amd64.s)
// in ymm registers (AVX2/FMA), and with GEMM6_ZMM defined kern6x32z and
// kern6x16z in zmm registers (AVX-512F only: VPXORQ, not the AVX-512DQ
// VXORPD, zeroes the accumulators):
//
//	func kernel(k int, a *T, rsa, csa int, b *T, c *T, ldc int, alpha, beta T, load int)
//
// C[0:6, 0:nr] = alpha * A·B (+ beta * C when load != 0), where A's element
// (r, p) is at a[r*rsa + p*csa] and B is a packed panel of k rows of nr
// elements (two vector registers: 64 bytes, or 128 with zmm). Twelve
// accumulators ACC0–ACC11 hold the tile, two registers per row; BROW0–BROW1
// hold a row of B. The including file defines the instructions for its
// element type (VBCAST, VFMA, VMUL, VMOVU, VXOR), ESHIFT (log2 of the
// element size) and the frame offsets BETA and LOAD.
#ifdef GEMM6_ZMM
#define VZERO VPXORQ
#define VBYTES 64
#define ROWBYTES 128
#define ACC0 Z0
#define ACC1 Z1
#define ACC2 Z2
#define ACC3 Z3
#define ACC4 Z4
#define ACC5 Z5
#define ACC6 Z6
#define ACC7 Z7
#define ACC8 Z8
#define ACC9 Z9
#define ACC10 Z10
#define ACC11 Z11
#define BROW0 Z12
#define BROW1 Z13
#define TMP0 Z14
#define TMP1 Z15
#else
#define VZERO VXOR
#define VBYTES 32
#define ROWBYTES 64
#define ACC0 Y0
#define ACC1 Y1
#define ACC2 Y2
#define ACC3 Y3
#define ACC4 Y4
#define ACC5 Y5
#define ACC6 Y6
#define ACC7 Y7
#define ACC8 Y8
#define ACC9 Y9
#define ACC10 Y10
#define ACC11 Y11
#define BROW0 Y12
#define BROW1 Y13
#define TMP0 Y14
#define TMP1 Y15
#endif
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ rsa+16(FP), R9
	MOVQ csa+24(FP), R11
	MOVQ b+32(FP), BX
	SHLQ $ESHIFT, R9
	SHLQ $ESHIFT, R11
	LEAQ (R8)(R9*2), R10
	ADDQ R9, R10

	VZERO  ACC0, ACC0, ACC0
	VZERO  ACC1, ACC1, ACC1
	VZERO  ACC2, ACC2, ACC2
	VZERO  ACC3, ACC3, ACC3
	VZERO  ACC4, ACC4, ACC4
	VZERO  ACC5, ACC5, ACC5
	VZERO  ACC6, ACC6, ACC6
	VZERO  ACC7, ACC7, ACC7
	VZERO  ACC8, ACC8, ACC8
	VZERO  ACC9, ACC9, ACC9
	VZERO  ACC10, ACC10, ACC10
	VZERO  ACC11, ACC11, ACC11

	TESTQ CX, CX
	JEQ   epilogue

loop:
	VMOVU        (BX), BROW0
	VMOVU        VBYTES(BX), BROW1
	VBCAST       (R8), TMP0
	VFMA         BROW0, TMP0, ACC0
	VFMA         BROW1, TMP0, ACC1
	VBCAST       (R8)(R9*1), TMP1
	VFMA         BROW0, TMP1, ACC2
	VFMA         BROW1, TMP1, ACC3
	VBCAST       (R8)(R9*2), TMP0
	VFMA         BROW0, TMP0, ACC4
	VFMA         BROW1, TMP0, ACC5
	VBCAST       (R10), TMP1
	VFMA         BROW0, TMP1, ACC6
	VFMA         BROW1, TMP1, ACC7
	VBCAST       (R10)(R9*1), TMP0
	VFMA         BROW0, TMP0, ACC8
	VFMA         BROW1, TMP0, ACC9
	VBCAST       (R10)(R9*2), TMP1
	VFMA         BROW0, TMP1, ACC10
	VFMA         BROW1, TMP1, ACC11
	ADDQ         $ROWBYTES, BX
	ADDQ         R11, R8
	ADDQ         R11, R10
	DECQ         CX
	JNE          loop

epilogue:
	MOVQ         c+40(FP), DX
	MOVQ         ldc+48(FP), R11
	SHLQ         $ESHIFT, R11
	VBCAST       alpha+56(FP), TMP0
	VMUL         TMP0, ACC0, ACC0
	VMUL         TMP0, ACC1, ACC1
	VMUL         TMP0, ACC2, ACC2
	VMUL         TMP0, ACC3, ACC3
	VMUL         TMP0, ACC4, ACC4
	VMUL         TMP0, ACC5, ACC5
	VMUL         TMP0, ACC6, ACC6
	VMUL         TMP0, ACC7, ACC7
	VMUL         TMP0, ACC8, ACC8
	VMUL         TMP0, ACC9, ACC9
	VMUL         TMP0, ACC10, ACC10
	VMUL         TMP0, ACC11, ACC11
	MOVQ         load+LOAD(FP), AX
	TESTQ        AX, AX
	JNE          update

	// beta == 0: C is written, never read (it may hold NaNs).
	VMOVU   ACC0, (DX)
	VMOVU   ACC1, VBYTES(DX)
	ADDQ    R11, DX
	VMOVU   ACC2, (DX)
	VMOVU   ACC3, VBYTES(DX)
	ADDQ    R11, DX
	VMOVU   ACC4, (DX)
	VMOVU   ACC5, VBYTES(DX)
	ADDQ    R11, DX
	VMOVU   ACC6, (DX)
	VMOVU   ACC7, VBYTES(DX)
	ADDQ    R11, DX
	VMOVU   ACC8, (DX)
	VMOVU   ACC9, VBYTES(DX)
	ADDQ    R11, DX
	VMOVU   ACC10, (DX)
	VMOVU   ACC11, VBYTES(DX)
	VZEROUPPER
	RET

update:
	VBCAST       beta+BETA(FP), TMP1
	VFMA         (DX), TMP1, ACC0
	VFMA         VBYTES(DX), TMP1, ACC1
	VMOVU        ACC0, (DX)
	VMOVU        ACC1, VBYTES(DX)
	ADDQ         R11, DX
	VFMA         (DX), TMP1, ACC2
	VFMA         VBYTES(DX), TMP1, ACC3
	VMOVU        ACC2, (DX)
	VMOVU        ACC3, VBYTES(DX)
	ADDQ         R11, DX
	VFMA         (DX), TMP1, ACC4
	VFMA         VBYTES(DX), TMP1, ACC5
	VMOVU        ACC4, (DX)
	VMOVU        ACC5, VBYTES(DX)
	ADDQ         R11, DX
	VFMA         (DX), TMP1, ACC6
	VFMA         VBYTES(DX), TMP1, ACC7
	VMOVU        ACC6, (DX)
	VMOVU        ACC7, VBYTES(DX)
	ADDQ         R11, DX
	VFMA         (DX), TMP1, ACC8
	VFMA         VBYTES(DX), TMP1, ACC9
	VMOVU        ACC8, (DX)
	VMOVU        ACC9, VBYTES(DX)
	ADDQ         R11, DX
	VFMA         (DX), TMP1, ACC10
	VFMA         VBYTES(DX), TMP1, ACC11
	VMOVU        ACC10, (DX)
	VMOVU        ACC11, VBYTES(DX)
	VZEROUPPER
	RET

#undef VZERO
#undef VBYTES
#undef ROWBYTES
#undef ACC0
#undef ACC1
#undef ACC2
#undef ACC3
#undef ACC4
#undef ACC5
#undef ACC6
#undef ACC7
#undef ACC8
#undef ACC9
#undef ACC10
#undef ACC11
#undef BROW0
#undef BROW1
#undef TMP0
#undef TMP1
