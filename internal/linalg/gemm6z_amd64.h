// The body of the AVX-512 6-row micro-kernels kern6x32z (float32,
// sgemm_amd64.s) and kern6x16z (float64, dgemm_amd64.s): gemm6_amd64.h with
// zmm registers, so a packed row of B is 128 bytes (nr = 32 or 16). Twelve
// accumulators Z0–Z11 hold the tile, two zmm registers per row; Z12–Z13
// hold a row of B. It uses AVX-512F instructions only (VPXORQ, not the
// AVX-512DQ VXORPD, zeroes the accumulators). The including file defines
// VBCAST, VFMA, VMUL, VMOVU, ESHIFT, BETA and LOAD as for gemm6_amd64.h.
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ rsa+16(FP), R9
	MOVQ csa+24(FP), R11
	MOVQ b+32(FP), BX
	SHLQ $ESHIFT, R9
	SHLQ $ESHIFT, R11
	LEAQ (R8)(R9*2), R10
	ADDQ R9, R10

	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	VPXORQ Z11, Z11, Z11

	TESTQ CX, CX
	JEQ   epilogue

loop:
	VMOVU        (BX), Z12
	VMOVU        64(BX), Z13
	VBCAST       (R8), Z14
	VFMA         Z12, Z14, Z0
	VFMA         Z13, Z14, Z1
	VBCAST       (R8)(R9*1), Z15
	VFMA         Z12, Z15, Z2
	VFMA         Z13, Z15, Z3
	VBCAST       (R8)(R9*2), Z14
	VFMA         Z12, Z14, Z4
	VFMA         Z13, Z14, Z5
	VBCAST       (R10), Z15
	VFMA         Z12, Z15, Z6
	VFMA         Z13, Z15, Z7
	VBCAST       (R10)(R9*1), Z14
	VFMA         Z12, Z14, Z8
	VFMA         Z13, Z14, Z9
	VBCAST       (R10)(R9*2), Z15
	VFMA         Z12, Z15, Z10
	VFMA         Z13, Z15, Z11
	ADDQ         $128, BX
	ADDQ         R11, R8
	ADDQ         R11, R10
	DECQ         CX
	JNE          loop

epilogue:
	MOVQ         c+40(FP), DX
	MOVQ         ldc+48(FP), R11
	SHLQ         $ESHIFT, R11
	VBCAST       alpha+56(FP), Z14
	VMUL         Z14, Z0, Z0
	VMUL         Z14, Z1, Z1
	VMUL         Z14, Z2, Z2
	VMUL         Z14, Z3, Z3
	VMUL         Z14, Z4, Z4
	VMUL         Z14, Z5, Z5
	VMUL         Z14, Z6, Z6
	VMUL         Z14, Z7, Z7
	VMUL         Z14, Z8, Z8
	VMUL         Z14, Z9, Z9
	VMUL         Z14, Z10, Z10
	VMUL         Z14, Z11, Z11
	MOVQ         load+LOAD(FP), AX
	TESTQ        AX, AX
	JNE          update

	// beta == 0: C is written, never read (it may hold NaNs).
	VMOVU   Z0, (DX)
	VMOVU   Z1, 64(DX)
	ADDQ    R11, DX
	VMOVU   Z2, (DX)
	VMOVU   Z3, 64(DX)
	ADDQ    R11, DX
	VMOVU   Z4, (DX)
	VMOVU   Z5, 64(DX)
	ADDQ    R11, DX
	VMOVU   Z6, (DX)
	VMOVU   Z7, 64(DX)
	ADDQ    R11, DX
	VMOVU   Z8, (DX)
	VMOVU   Z9, 64(DX)
	ADDQ    R11, DX
	VMOVU   Z10, (DX)
	VMOVU   Z11, 64(DX)
	VZEROUPPER
	RET

update:
	VBCAST       beta+BETA(FP), Z15
	VFMA         (DX), Z15, Z0
	VFMA         64(DX), Z15, Z1
	VMOVU        Z0, (DX)
	VMOVU        Z1, 64(DX)
	ADDQ         R11, DX
	VFMA         (DX), Z15, Z2
	VFMA         64(DX), Z15, Z3
	VMOVU        Z2, (DX)
	VMOVU        Z3, 64(DX)
	ADDQ         R11, DX
	VFMA         (DX), Z15, Z4
	VFMA         64(DX), Z15, Z5
	VMOVU        Z4, (DX)
	VMOVU        Z5, 64(DX)
	ADDQ         R11, DX
	VFMA         (DX), Z15, Z6
	VFMA         64(DX), Z15, Z7
	VMOVU        Z6, (DX)
	VMOVU        Z7, 64(DX)
	ADDQ         R11, DX
	VFMA         (DX), Z15, Z8
	VFMA         64(DX), Z15, Z9
	VMOVU        Z8, (DX)
	VMOVU        Z9, 64(DX)
	ADDQ         R11, DX
	VFMA         (DX), Z15, Z10
	VFMA         64(DX), Z15, Z11
	VMOVU        Z10, (DX)
	VMOVU        Z11, 64(DX)
	VZEROUPPER
	RET
