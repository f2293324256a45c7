//go:build amd64 && !purego

#include "textflag.h"

// XHAT sets Y0 = x̂ = (x − mean)·inv and D sets Y2 = d, the gradient that
// reaches the input from its pooling window: do + zero where the window's
// code equals Y14, +0 elsewhere (windowGrad); 8 channels at AX, rounded
// after each operation as the scalar Go code is. Y1 is clobbered.
#define XHAT(xs, mean, inv) \
	VMOVUPS (xs)(AX*4), Y0     \
	VSUBPS  (mean)(AX*4), Y0, Y0 \
	VMULPS  (inv)(AX*4), Y0, Y0

#define D(do, co) \
	VPMOVZXBD (co)(AX*1), Y1   \
	VPCMPEQD  Y14, Y1, Y1      \
	VMOVUPS   (do)(AX*4), Y2   \
	VADDPS    Y15, Y2, Y2      \
	VANDPS    Y1, Y2, Y2

// func bnDxAVX2(ds, xs, mean, inv, ca, cx, c0, do *float32, co *uint8, code uint32, zero float32, n int)
TEXT ·bnDxAVX2(SB), NOSPLIT, $0-88
	MOVQ ds+0(FP), DI
	MOVQ xs+8(FP), SI
	MOVQ mean+16(FP), R8
	MOVQ inv+24(FP), R9
	MOVQ ca+32(FP), R10
	MOVQ cx+40(FP), R11
	MOVQ c0+48(FP), R12
	MOVQ do+56(FP), R13
	MOVQ co+64(FP), BX
	MOVL code+72(FP), AX
	MOVL AX, X14
	VPBROADCASTD X14, Y14
	VBROADCASTSS zero+76(FP), Y15
	MOVQ n+80(FP), CX
	XORQ AX, AX

dxloop:
	XHAT(SI, R8, R9)
	D(R13, BX)
	VMULPS  (R10)(AX*4), Y2, Y3 // ca·d
	VMULPS  (R11)(AX*4), Y0, Y4 // cx·x̂
	VADDPS  Y4, Y3, Y3
	VADDPS  (R12)(AX*4), Y3, Y3 // + c0
	VMOVUPS Y3, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, CX
	JLT     dxloop
	VZEROUPPER
	RET

// func bnPartialsAVX2(sg, sb *float64, xs, mean, inv, do *float32, co *uint8, code uint32, zero float32, n int)
TEXT ·bnPartialsAVX2(SB), NOSPLIT, $0-72
	MOVQ sg+0(FP), DI
	MOVQ sb+8(FP), DX
	MOVQ xs+16(FP), SI
	MOVQ mean+24(FP), R8
	MOVQ inv+32(FP), R9
	MOVQ do+40(FP), R13
	MOVQ co+48(FP), BX
	MOVL code+56(FP), AX
	MOVL AX, X14
	VPBROADCASTD X14, Y14
	VBROADCASTSS zero+60(FP), Y15
	MOVQ n+64(FP), CX
	XORQ AX, AX

ploop:
	XHAT(SI, R8, R9)
	D(R13, BX)
	VMULPS       Y0, Y2, Y3 // d·x̂ in float32
	VCVTPS2PD    X3, Y4
	VEXTRACTF128 $1, Y3, X5
	VCVTPS2PD    X5, Y5
	VADDPD       (DI)(AX*8), Y4, Y4
	VMOVUPD      Y4, (DI)(AX*8)
	VADDPD       32(DI)(AX*8), Y5, Y5
	VMOVUPD      Y5, 32(DI)(AX*8)
	VCVTPS2PD    X2, Y4
	VEXTRACTF128 $1, Y2, X5
	VCVTPS2PD    X5, Y5
	VADDPD       (DX)(AX*8), Y4, Y4
	VMOVUPD      Y4, (DX)(AX*8)
	VADDPD       32(DX)(AX*8), Y5, Y5
	VMOVUPD      Y5, 32(DX)(AX*8)
	ADDQ         $8, AX
	CMPQ         AX, CX
	JLT          ploop
	VZEROUPPER
	RET

// func bnStatsAVX2(acc *float64, x *float32, rows, c int)
TEXT ·bnStatsAVX2(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rows+16(FP), DX
	MOVQ c+24(FP), CX
	LEAQ (DI)(CX*8), R8 // the sums of squares
	TESTQ DX, DX
	JEQ  sdone

srow:
	XORQ AX, AX

scol:
	VMOVUPS      (SI)(AX*4), Y0
	VCVTPS2PD    X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD    X2, Y2
	VADDPD       (DI)(AX*8), Y1, Y3
	VMOVUPD      Y3, (DI)(AX*8)
	VADDPD       32(DI)(AX*8), Y2, Y4
	VMOVUPD      Y4, 32(DI)(AX*8)
	VMULPD       Y1, Y1, Y1
	VMULPD       Y2, Y2, Y2
	VADDPD       (R8)(AX*8), Y1, Y1
	VMOVUPD      Y1, (R8)(AX*8)
	VADDPD       32(R8)(AX*8), Y2, Y2
	VMOVUPD      Y2, 32(R8)(AX*8)
	ADDQ         $8, AX
	CMPQ         AX, CX
	JLT          scol
	LEAQ         (SI)(CX*4), SI
	DECQ         DX
	JNZ          srow

sdone:
	VZEROUPPER
	RET

// func addColSumsAVX2(dst, m *float32, rows, cols, n int)
TEXT ·addColSumsAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ m+8(FP), SI
	MOVQ rows+16(FP), DX
	MOVQ cols+24(FP), R8
	MOVQ n+32(FP), CX
	TESTQ DX, DX
	JEQ  cdone

crow:
	XORQ AX, AX

ccol:
	VMOVUPS (DI)(AX*4), Y0
	VADDPS  (SI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, CX
	JLT     ccol
	LEAQ    (SI)(R8*4), SI
	DECQ    DX
	JNZ     crow

cdone:
	VZEROUPPER
	RET

// GOMAX sets dst to Go's max(x, y) in 8 lanes: the larger, +0 for a pair
// of zeros of either sign, NaN if either is NaN (all bits set). t is
// clobbered.
#define GOMAX(x, y, dst, t) \
	VMAXPS y, x, dst          \
	VMAXPS x, y, t            \
	VANDPS t, dst, dst        \
	VCMPPS $3, y, x, t        \
	VORPS  t, dst, dst

// func vmaxAVX2(dst, src *float32, n int)
TEXT ·vmaxAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX

mloop:
	VMOVUPS (DI)(AX*4), Y0
	VMOVUPS (SI)(AX*4), Y1
	GOMAX(Y0, Y1, Y2, Y3)
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, CX
	JLT     mloop
	VZEROUPPER
	RET

// func pool2BiasAVX2(d, a, b, bias *float32, n int, relu bool)
TEXT ·pool2BiasAVX2(SB), NOSPLIT, $0-41
	MOVQ   d+0(FP), DI
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DX
	MOVQ   bias+24(FP), R8
	MOVQ   n+32(FP), CX
	MOVBQZX relu+40(FP), R9
	VXORPS Y5, Y5, Y5
	XORQ   AX, AX

ploop2:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y1
	GOMAX(Y0, Y1, Y2, Y3)
	VADDPS  (R8)(AX*4), Y2, Y2
	TESTQ   R9, R9
	JEQ     pstore
	GOMAX(Y2, Y5, Y4, Y3)
	VMOVAPS Y4, Y2

pstore:
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, CX
	JLT     ploop2
	VZEROUPPER
	RET
