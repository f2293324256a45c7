// The body of the 6-row micro-kernels kern6x16 (float32, sgemm_amd64.s) and
// kern6x8 (float64, dgemm_amd64.s), included after their TEXT line:
//
//	func kernel(k int, a *T, rsa, csa int, b *T, c *T, ldc int, alpha, beta T, load int)
//
// C[0:6, 0:nr] = alpha * A·B (+ beta * C when load != 0), where A's element
// (r, p) is at a[r*rsa + p*csa] and B is a packed panel of k rows of nr
// elements (64 bytes). Twelve accumulators Y0–Y11 hold the tile, two ymm
// registers per row; Y12–Y13 hold a row of B. The including file defines
// the instructions for its element type (VBCAST, VFMA, VMUL, VMOVU, VXOR),
// ESHIFT (log2 of the element size) and the frame offsets BETA and LOAD.
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ rsa+16(FP), R9
	MOVQ csa+24(FP), R11
	MOVQ b+32(FP), BX
	SHLQ $ESHIFT, R9
	SHLQ $ESHIFT, R11
	LEAQ (R8)(R9*2), R10
	ADDQ R9, R10

	VXOR   Y0, Y0, Y0
	VXOR   Y1, Y1, Y1
	VXOR   Y2, Y2, Y2
	VXOR   Y3, Y3, Y3
	VXOR   Y4, Y4, Y4
	VXOR   Y5, Y5, Y5
	VXOR   Y6, Y6, Y6
	VXOR   Y7, Y7, Y7
	VXOR   Y8, Y8, Y8
	VXOR   Y9, Y9, Y9
	VXOR   Y10, Y10, Y10
	VXOR   Y11, Y11, Y11

	TESTQ CX, CX
	JEQ   epilogue

loop:
	VMOVU        (BX), Y12
	VMOVU        32(BX), Y13
	VBCAST       (R8), Y14
	VFMA         Y12, Y14, Y0
	VFMA         Y13, Y14, Y1
	VBCAST       (R8)(R9*1), Y15
	VFMA         Y12, Y15, Y2
	VFMA         Y13, Y15, Y3
	VBCAST       (R8)(R9*2), Y14
	VFMA         Y12, Y14, Y4
	VFMA         Y13, Y14, Y5
	VBCAST       (R10), Y15
	VFMA         Y12, Y15, Y6
	VFMA         Y13, Y15, Y7
	VBCAST       (R10)(R9*1), Y14
	VFMA         Y12, Y14, Y8
	VFMA         Y13, Y14, Y9
	VBCAST       (R10)(R9*2), Y15
	VFMA         Y12, Y15, Y10
	VFMA         Y13, Y15, Y11
	ADDQ         $64, BX
	ADDQ         R11, R8
	ADDQ         R11, R10
	DECQ         CX
	JNE          loop

epilogue:
	MOVQ         c+40(FP), DX
	MOVQ         ldc+48(FP), R11
	SHLQ         $ESHIFT, R11
	VBCAST       alpha+56(FP), Y14
	VMUL         Y14, Y0, Y0
	VMUL         Y14, Y1, Y1
	VMUL         Y14, Y2, Y2
	VMUL         Y14, Y3, Y3
	VMUL         Y14, Y4, Y4
	VMUL         Y14, Y5, Y5
	VMUL         Y14, Y6, Y6
	VMUL         Y14, Y7, Y7
	VMUL         Y14, Y8, Y8
	VMUL         Y14, Y9, Y9
	VMUL         Y14, Y10, Y10
	VMUL         Y14, Y11, Y11
	MOVQ         load+LOAD(FP), AX
	TESTQ        AX, AX
	JNE          update

	// beta == 0: C is written, never read (it may hold NaNs).
	VMOVU   Y0, (DX)
	VMOVU   Y1, 32(DX)
	ADDQ    R11, DX
	VMOVU   Y2, (DX)
	VMOVU   Y3, 32(DX)
	ADDQ    R11, DX
	VMOVU   Y4, (DX)
	VMOVU   Y5, 32(DX)
	ADDQ    R11, DX
	VMOVU   Y6, (DX)
	VMOVU   Y7, 32(DX)
	ADDQ    R11, DX
	VMOVU   Y8, (DX)
	VMOVU   Y9, 32(DX)
	ADDQ    R11, DX
	VMOVU   Y10, (DX)
	VMOVU   Y11, 32(DX)
	VZEROUPPER
	RET

update:
	VBCAST       beta+BETA(FP), Y15
	VFMA         (DX), Y15, Y0
	VFMA         32(DX), Y15, Y1
	VMOVU        Y0, (DX)
	VMOVU        Y1, 32(DX)
	ADDQ         R11, DX
	VFMA         (DX), Y15, Y2
	VFMA         32(DX), Y15, Y3
	VMOVU        Y2, (DX)
	VMOVU        Y3, 32(DX)
	ADDQ         R11, DX
	VFMA         (DX), Y15, Y4
	VFMA         32(DX), Y15, Y5
	VMOVU        Y4, (DX)
	VMOVU        Y5, 32(DX)
	ADDQ         R11, DX
	VFMA         (DX), Y15, Y6
	VFMA         32(DX), Y15, Y7
	VMOVU        Y6, (DX)
	VMOVU        Y7, 32(DX)
	ADDQ         R11, DX
	VFMA         (DX), Y15, Y8
	VFMA         32(DX), Y15, Y9
	VMOVU        Y8, (DX)
	VMOVU        Y9, 32(DX)
	ADDQ         R11, DX
	VFMA         (DX), Y15, Y10
	VFMA         32(DX), Y15, Y11
	VMOVU        Y10, (DX)
	VMOVU        Y11, 32(DX)
	VZEROUPPER
	RET
