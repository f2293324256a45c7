//go:build amd64 && !openblas && !purego

#include "textflag.h"

// func kern6x16(k int, a *float32, rsa, csa int, b *float32, c *float32, ldc int, alpha, beta float32, load int)
//
// C[0:6, 0:16] = alpha * A·B (+ beta * C when load != 0), where A's element
// (r, p) is at a[r*rsa + p*csa] and B is a packed panel of k rows of 16.
// Twelve accumulators Y0–Y11 hold the 6×16 tile; Y12–Y13 hold a row of B.
TEXT ·kern6x16(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ rsa+16(FP), R9
	MOVQ csa+24(FP), R11
	MOVQ b+32(FP), BX
	SHLQ $2, R9
	SHLQ $2, R11
	LEAQ (R8)(R9*2), R10
	ADDQ R9, R10

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	TESTQ CX, CX
	JEQ   epilogue

loop:
	VMOVUPS      (BX), Y12
	VMOVUPS      32(BX), Y13
	VBROADCASTSS (R8), Y14
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VBROADCASTSS (R8)(R9*1), Y15
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS (R8)(R9*2), Y14
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VBROADCASTSS (R10), Y15
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (R10)(R9*1), Y14
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VBROADCASTSS (R10)(R9*2), Y15
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         $64, BX
	ADDQ         R11, R8
	ADDQ         R11, R10
	DECQ         CX
	JNE          loop

epilogue:
	MOVQ         c+40(FP), DX
	MOVQ         ldc+48(FP), R11
	SHLQ         $2, R11
	VBROADCASTSS alpha+56(FP), Y14
	VMULPS       Y14, Y0, Y0
	VMULPS       Y14, Y1, Y1
	VMULPS       Y14, Y2, Y2
	VMULPS       Y14, Y3, Y3
	VMULPS       Y14, Y4, Y4
	VMULPS       Y14, Y5, Y5
	VMULPS       Y14, Y6, Y6
	VMULPS       Y14, Y7, Y7
	VMULPS       Y14, Y8, Y8
	VMULPS       Y14, Y9, Y9
	VMULPS       Y14, Y10, Y10
	VMULPS       Y14, Y11, Y11
	MOVQ         load+64(FP), AX
	TESTQ        AX, AX
	JNE          update

	// beta == 0: C is written, never read (it may hold NaNs).
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ    R11, DX
	VMOVUPS Y2, (DX)
	VMOVUPS Y3, 32(DX)
	ADDQ    R11, DX
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ    R11, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ    R11, DX
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ    R11, DX
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	VZEROUPPER
	RET

update:
	VBROADCASTSS beta+60(FP), Y15
	VFMADD231PS  (DX), Y15, Y0
	VFMADD231PS  32(DX), Y15, Y1
	VMOVUPS      Y0, (DX)
	VMOVUPS      Y1, 32(DX)
	ADDQ         R11, DX
	VFMADD231PS  (DX), Y15, Y2
	VFMADD231PS  32(DX), Y15, Y3
	VMOVUPS      Y2, (DX)
	VMOVUPS      Y3, 32(DX)
	ADDQ         R11, DX
	VFMADD231PS  (DX), Y15, Y4
	VFMADD231PS  32(DX), Y15, Y5
	VMOVUPS      Y4, (DX)
	VMOVUPS      Y5, 32(DX)
	ADDQ         R11, DX
	VFMADD231PS  (DX), Y15, Y6
	VFMADD231PS  32(DX), Y15, Y7
	VMOVUPS      Y6, (DX)
	VMOVUPS      Y7, 32(DX)
	ADDQ         R11, DX
	VFMADD231PS  (DX), Y15, Y8
	VFMADD231PS  32(DX), Y15, Y9
	VMOVUPS      Y8, (DX)
	VMOVUPS      Y9, 32(DX)
	ADDQ         R11, DX
	VFMADD231PS  (DX), Y15, Y10
	VFMADD231PS  32(DX), Y15, Y11
	VMOVUPS      Y10, (DX)
	VMOVUPS      Y11, 32(DX)
	VZEROUPPER
	RET
