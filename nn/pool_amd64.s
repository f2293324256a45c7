//go:build amd64 && !purego

#include "textflag.h"

// One window value: dst = g·((a − mean)·inv) + b, rounded after each
// operation as the scalar Go code does.
#define NORM(src, dst) \
	VMOVUPS (src)(AX*4), dst \
	VSUBPS  Y0, dst, dst     \
	VMULPS  Y1, dst, dst     \
	VMULPS  Y2, dst, dst     \
	VADDPS  Y3, dst, dst

// func poolBN2x2AVX2(a0, a1, a2, a3, mean, inv, gamma, beta, y *float32, codes *uint8, n int)
TEXT ·poolBN2x2AVX2(SB), NOSPLIT, $0-88
	VXORPS Y15, Y15, Y15
	MOVL $1, DX
	MOVL DX, X11
	VPBROADCASTD X11, Y11
	MOVL $2, DX
	MOVL DX, X12
	VPBROADCASTD X12, Y12
	MOVL $3, DX
	MOVL DX, X13
	VPBROADCASTD X13, Y13
	MOVL $4, DX
	MOVL DX, X14
	VPBROADCASTD X14, Y14
	MOVQ a0+0(FP), R8
	MOVQ a1+8(FP), R9
	MOVQ a2+16(FP), R10
	MOVQ a3+24(FP), R11
	MOVQ mean+32(FP), R12
	MOVQ inv+40(FP), R13
	MOVQ gamma+48(FP), BX
	MOVQ beta+56(FP), DX
	MOVQ y+64(FP), DI
	MOVQ codes+72(FP), SI
	MOVQ n+80(FP), CX
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPS (R12)(AX*4), Y0
	VMOVUPS (R13)(AX*4), Y1
	VMOVUPS (BX)(AX*4), Y2
	VMOVUPS (DX)(AX*4), Y3
	NORM(R8, Y4)
	NORM(R9, Y5)
	NORM(R10, Y6)
	NORM(R11, Y7)

	// best = v0, code = 1; then the first strictly greater value wins.
	VMOVAPS   Y11, Y8
	VCMPPS    $0x1e, Y4, Y5, Y9 // v1 > best
	VBLENDVPS Y9, Y5, Y4, Y4
	VBLENDVPS Y9, Y12, Y8, Y8
	VCMPPS    $0x1e, Y4, Y6, Y9 // v2 > best
	VBLENDVPS Y9, Y6, Y4, Y4
	VBLENDVPS Y9, Y13, Y8, Y8
	VCMPPS    $0x1e, Y4, Y7, Y9 // v3 > best
	VBLENDVPS Y9, Y7, Y4, Y4
	VBLENDVPS Y9, Y14, Y8, Y8

	// code = 0 unless best > 0; y = max(best, 0) as Go's max: best when
	// best > 0 or NaN, else +0.
	VCMPPS $0x1e, Y15, Y4, Y9 // best > 0
	VANDPS Y9, Y8, Y8
	VCMPPS $0x03, Y4, Y4, Y10 // best is NaN
	VORPS  Y10, Y9, Y9
	VANDPS Y9, Y4, Y4
	VMOVUPS Y4, (DI)(AX*4)

	// The 8 int32 codes (0…4) to bytes.
	VEXTRACTI128 $1, Y8, X10
	VPACKSSDW    X10, X8, X8
	VPACKUSWB    X8, X8, X8
	MOVQ         X8, (SI)(AX*1)
	ADDQ         $8, AX
	JMP          loop

done:
	VZEROUPPER
	RET
