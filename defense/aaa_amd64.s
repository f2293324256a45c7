//go:build amd64 && !purego

#include "textflag.h"
#include "go_asm.h"

// SIGN sets dst to sign(x): 1 where x > 0, −1 where x < 0, 0 otherwise
// (NaN included). zero is clobbered (set to 0), tmp is clobbered.
#define SIGN(x, zero, tmp, dst) \
	VXORPD   zero, zero, zero; \
	VCMPPD   $0x1e, zero, x, dst; \
	VANDPD   aaaLanes_one(DI), dst, dst; \
	VCMPPD   $0x11, zero, x, tmp; \
	VANDPD   aaaLanes_mone(DI), tmp, tmp; \
	VORPD    tmp, dst, dst

// PREF sets the lanes' calibration target pref to pc, the top-1
// probability of the starting logits, at the first step when l.prefPc is
// set (temperature 1: the scalar code's pref is then computed by the same
// operations as the first step's pc).
#define PREF(pc, skip, off) \
	TESTQ AX, AX; \
	JNZ   skip; \
	CMPQ  aaaLanes_prefPc(DI), $0; \
	JEQ   skip; \
	VMOVUPD pc, aaaLanes_pref+off(DI); \
skip:

// func aaaSteps4(l *aaaLanes)
//
// Sets e_j = exp(z_j − z_c), Σe and e_c for the starting logits z of four
// rows, one per float64 lane, then runs l.iters Adam steps of AAA on them,
// with the operations of expShifted and of the scalar loop in (*AAA).row
// in the same order (no fused multiply-add), so that every lane is
// bit-for-bit the scalar row.
// Registers during the steps over j:
//	Y0 1/s   Y1 −gc   Y2 gc   Y3 gm   Y4 c   Y5 i1   Y6 i2   Y7 j
//	Y8 best1 Y9 best2 Y10 n1  Y11 n2  Y12–Y15 temporaries
// and during the exponentials: Y0 Σe, Y1 e_c, Y4 c, Y7 j, Y8 the shift.
TEXT ·aaaSteps4(SB), NOSPLIT, $0-8
	MOVQ l+0(FP), DI
	MOVQ aaaLanes_z(DI), R8
	MOVQ aaaLanes_m(DI), R9
	MOVQ aaaLanes_v(DI), R10
	MOVQ aaaLanes_e(DI), R11
	MOVQ aaaLanes_stepSize(DI), R12
	MOVQ aaaLanes_bc2Sqrt(DI), R13
	MOVQ aaaLanes_table(DI), BX
	MOVQ aaaLanes_k(DI), CX
	SHLQ $5, CX                       // k×32 bytes
	MOVQ aaaLanes_iters(DI), DX
	MOVQ $-1, AX                      // it; −1: the first exponentials

	VMOVUPD aaaLanes_c(DI), Y4
	VMOVUPD aaaLanes_i1(DI), Y5
	VMOVUPD aaaLanes_i2(DI), Y6

	// The first exponentials, of the logits shifted by z_c.
	VMOVUPD aaaLanes_zi1(DI), Y8
	JMP  first

step:

	// Adam's step size and ε for this step, as the scalar code.
	VMOVSD       (R12)(AX*8), X12
	VMULSD       (R13)(AX*8), X12, X12
	VBROADCASTSD X12, Y12
	VMOVUPD      Y12, aaaLanes_ssbc(DI)
	VBROADCASTSD (R13)(AX*8), Y13
	VMULPD       aaaLanes_eps(DI), Y13, Y13
	VMOVUPD      Y13, aaaLanes_epsbc(DI)

	// inv = 1/s; pc = e_c·inv
	VMOVUPD aaaLanes_one(DI), Y0
	VDIVPD  aaaLanes_s(DI), Y0, Y0
	VMULPD  aaaLanes_ec(DI), Y0, Y12
	PREF(Y12, pref4, 0)

	// gc = κ·sign(pc − pref)·pc
	VSUBPD aaaLanes_pref(DI), Y12, Y13
	SIGN(Y13, Y14, Y15, Y2)
	VMULPD aaaLanes_kappa(DI), Y2, Y2
	VMULPD Y12, Y2, Y2
	VXORPD aaaLanes_signBit(DI), Y2, Y1

	// gm = sign(z_i1 − z_i2 − t)
	VMOVUPD aaaLanes_zi1(DI), Y13
	VSUBPD  aaaLanes_zi2(DI), Y13, Y13
	VSUBPD  aaaLanes_t(DI), Y13, Y13
	SIGN(Y13, Y14, Y15, Y3)

	VMOVUPD aaaLanes_negInf(DI), Y8
	VMOVUPD Y8, Y9
	VPCMPEQQ Y10, Y10, Y10            // n1 = −1
	VPCMPEQQ Y11, Y11, Y11            // n2 = −1
	VPXOR    Y7, Y7, Y7               // j = 0
	XORQ     SI, SI

adam:
	// g = −gc·(e_j·inv), + gc at c, + gm at i1, − gm at i2
	VMOVUPD   (R11)(SI*1), Y12
	VMULPD    Y0, Y12, Y12
	VMULPD    Y12, Y1, Y12
	VPCMPEQQ  Y4, Y7, Y13
	VADDPD    Y2, Y12, Y14
	VBLENDVPD Y13, Y14, Y12, Y12
	VPCMPEQQ  Y5, Y7, Y13
	VADDPD    Y3, Y12, Y14
	VBLENDVPD Y13, Y14, Y12, Y12
	VPCMPEQQ  Y6, Y7, Y13
	VSUBPD    Y3, Y12, Y14
	VBLENDVPD Y13, Y14, Y12, Y12

	// m_j += w1·(g − m_j)
	VMOVUPD (R9)(SI*1), Y13
	VSUBPD  Y13, Y12, Y14
	VMULPD  aaaLanes_w1(DI), Y14, Y14
	VADDPD  Y14, Y13, Y13
	VMOVUPD Y13, (R9)(SI*1)

	// v_j = b2·v_j + w2·g·g
	VMULPD  aaaLanes_w2(DI), Y12, Y14
	VMULPD  Y12, Y14, Y14
	VMOVUPD (R10)(SI*1), Y15
	VMULPD  aaaLanes_b2(DI), Y15, Y15
	VADDPD  Y14, Y15, Y15
	VMOVUPD Y15, (R10)(SI*1)

	// z_j −= ssbc·m_j/(√v_j + epsbc)
	VSQRTPD Y15, Y15
	VADDPD  aaaLanes_epsbc(DI), Y15, Y15
	VMULPD  aaaLanes_ssbc(DI), Y13, Y13
	VDIVPD  Y15, Y13, Y13
	VMOVUPD (R8)(SI*1), Y14
	VSUBPD  Y13, Y14, Y14
	VMOVUPD Y14, (R8)(SI*1)

	// Top two, the first index on ties:
	// if z_j > best1 { best2, n2 = best1, n1; best1, n1 = z_j, j }
	// else if z_j > best2 { best2, n2 = z_j, j }
	VCMPPD    $0x1e, Y8, Y14, Y12
	VCMPPD    $0x1e, Y9, Y14, Y13
	VPANDN    Y13, Y12, Y13
	VBLENDVPD Y12, Y8, Y9, Y9
	VBLENDVPD Y12, Y10, Y11, Y11
	VBLENDVPD Y13, Y14, Y9, Y9
	VBLENDVPD Y13, Y7, Y11, Y11
	VBLENDVPD Y12, Y14, Y8, Y8
	VBLENDVPD Y12, Y7, Y10, Y10

	VPADDQ aaaLanes_incr(DI), Y7, Y7
	ADDQ   $32, SI
	CMPQ   SI, CX
	JLT    adam

	// i1, i2 = n1, n2 (a lane whose n2 < 0 met a NaN: the scalar code
	// stops it there, and its row is reverted either way).
	VMOVDQU Y10, Y5
	VMOVDQU Y11, Y6
	VMOVUPD Y8, aaaLanes_zi1(DI)
	VMOVUPD Y9, aaaLanes_zi2(DI)

	// e_j = exp(z_j − best1), Σe, e_c: expShifted's Tang method.
first:
	VXORPD  Y0, Y0, Y0
	VMOVUPD aaaLanes_ec(DI), Y1
	VPXOR   Y7, Y7, Y7
	XORQ    SI, SI

expo:
	VMOVUPD (R8)(SI*1), Y12
	VSUBPD  Y8, Y12, Y12
	VMOVUPD aaaLanes_expMin(DI), Y13
	VMAXPD  Y12, Y13, Y12             // max(x, −708), NaN kept
	VMULPD  aaaLanes_invLn2(DI), Y12, Y13
	VADDPD  aaaLanes_shifter(DI), Y13, Y13      // t
	VSUBPD  aaaLanes_shifter(DI), Y13, Y14      // kf
	VMULPD  aaaLanes_ln2Hi(DI), Y14, Y15
	VSUBPD  Y15, Y12, Y12
	VMULPD  aaaLanes_ln2Lo(DI), Y14, Y14
	VSUBPD  Y14, Y12, Y12             // r
	VMULPD  Y12, Y12, Y14             // r²
	VMULPD  aaaLanes_c120(DI), Y12, Y15
	VADDPD  aaaLanes_c24(DI), Y15, Y15
	VMULPD  Y14, Y15, Y15             // r²·(1/24 + r/120)
	VMULPD  aaaLanes_sixth(DI), Y12, Y2
	VADDPD  aaaLanes_half(DI), Y2, Y2
	VADDPD  Y15, Y2, Y2
	VMULPD  Y14, Y2, Y2
	VADDPD  aaaLanes_one(DI), Y12, Y12
	VADDPD  Y2, Y12, Y12              // p
	VPAND   aaaLanes_mask63(DI), Y13, Y14
	VPSRLQ  $6, Y13, Y15
	VPSLLQ  $52, Y15, Y15             // (k>>6)<<52
	VPCMPEQQ   Y3, Y3, Y3
	VPGATHERQQ Y3, (BX)(Y14*8), Y2    // expBits[k&63]
	VPADDQ  Y15, Y2, Y2
	VMULPD  Y12, Y2, Y2               // e_j
	VMOVUPD Y2, (R11)(SI*1)
	VADDPD  Y2, Y0, Y0
	VPCMPEQQ  Y4, Y7, Y3
	VBLENDVPD Y3, Y2, Y1, Y1
	VPADDQ aaaLanes_incr(DI), Y7, Y7
	ADDQ   $32, SI
	CMPQ   SI, CX
	JLT    expo

	VMOVUPD Y0, aaaLanes_s(DI)
	VMOVUPD Y1, aaaLanes_ec(DI)
	INCQ    AX
	CMPQ    AX, DX
	JLT     step

done:
	VZEROUPPER
	RET

// ZSIGN sets dst to sign(x) as SIGN does, with AVX-512 masks K1, K2;
// zero is clobbered. Z23 holds 1.
#define ZSIGN(x, zero, dst) \
	VPXORQ   zero, zero, zero; \
	VPXORQ   dst, dst, dst; \
	VCMPPD   $0x1e, zero, x, K1; \
	VCMPPD   $0x11, zero, x, K2; \
	VMOVAPD  Z23, K1, dst; \
	VMOVUPD  aaaLanes_mone(DI), K2, dst

// func aaaSteps8(l *aaaLanes)
//
// aaaSteps4 on eight lanes with AVX-512: the same operations in the same
// order, on zmm registers, with masked operations in place of blends.
// The exponential's table of 64 entries sits in Z24–Z31 and is read with
// four two-register permutes and two masked selects instead of a gather.
// Registers:
//	Z0 1/s (Σe in the exponentials)  Z1 −gc (e_c)  Z2 gc  Z3 gm
//	Z4 c  Z5 i1  Z6 i2  Z7 j  Z8 best1  Z9 best2  Z10 n1  Z11 n2
//	Z12–Z15 temporaries (and Z2, Z3, Z9, Z10 in the exponentials)
//	Z16 w1  Z17 w2  Z18 b2  Z19 ssbc  Z20 epsbc  Z21 1 (int)  Z22 −708
//	Z23 1  Z24–Z31 expBits
TEXT ·aaaSteps8(SB), NOSPLIT, $0-8
	MOVQ l+0(FP), DI
	MOVQ aaaLanes_z(DI), R8
	MOVQ aaaLanes_m(DI), R9
	MOVQ aaaLanes_v(DI), R10
	MOVQ aaaLanes_e(DI), R11
	MOVQ aaaLanes_stepSize(DI), R12
	MOVQ aaaLanes_bc2Sqrt(DI), R13
	MOVQ aaaLanes_table(DI), BX
	MOVQ aaaLanes_k(DI), CX
	SHLQ $6, CX                       // k×64 bytes
	MOVQ aaaLanes_iters(DI), DX
	MOVQ $-1, AX                      // it; −1: the first exponentials

	VMOVDQU64 aaaLanes_c(DI), Z4
	VMOVDQU64 aaaLanes_i1(DI), Z5
	VMOVDQU64 aaaLanes_i2(DI), Z6
	VMOVUPD   aaaLanes_w1(DI), Z16
	VMOVUPD   aaaLanes_w2(DI), Z17
	VMOVUPD   aaaLanes_b2(DI), Z18
	VMOVDQU64 aaaLanes_incr(DI), Z21
	VMOVUPD   aaaLanes_expMin(DI), Z22
	VMOVUPD   aaaLanes_one(DI), Z23
	VMOVDQU64 0(BX), Z24
	VMOVDQU64 64(BX), Z25
	VMOVDQU64 128(BX), Z26
	VMOVDQU64 192(BX), Z27
	VMOVDQU64 256(BX), Z28
	VMOVDQU64 320(BX), Z29
	VMOVDQU64 384(BX), Z30
	VMOVDQU64 448(BX), Z31

	VMOVUPD aaaLanes_zi1(DI), Z8
	JMP  zfirst

zstep:

	VMOVSD       (R12)(AX*8), X12
	VMULSD       (R13)(AX*8), X12, X12
	VBROADCASTSD X12, Z19
	VBROADCASTSD (R13)(AX*8), Z20
	VMULPD       aaaLanes_eps(DI), Z20, Z20

	// inv = 1/s; pc = e_c·inv; gc = κ·sign(pc − pref)·pc
	VDIVPD aaaLanes_s(DI), Z23, Z0
	VMULPD aaaLanes_ec(DI), Z0, Z12
	PREF(Z12, pref8, 0)
	VSUBPD aaaLanes_pref(DI), Z12, Z13
	ZSIGN(Z13, Z14, Z2)
	VMULPD aaaLanes_kappa(DI), Z2, Z2
	VMULPD Z12, Z2, Z2
	VPXORQ aaaLanes_signBit(DI), Z2, Z1

	// gm = sign(z_i1 − z_i2 − t)
	VMOVUPD aaaLanes_zi1(DI), Z13
	VSUBPD  aaaLanes_zi2(DI), Z13, Z13
	VSUBPD  aaaLanes_t(DI), Z13, Z13
	ZSIGN(Z13, Z14, Z3)

	VMOVUPD    aaaLanes_negInf(DI), Z8
	VMOVAPD    Z8, Z9
	VPTERNLOGQ $0xff, Z10, Z10, Z10   // n1 = −1
	VPTERNLOGQ $0xff, Z11, Z11, Z11   // n2 = −1
	VPXORQ     Z7, Z7, Z7             // j = 0
	XORQ       SI, SI

zadam:
	VMOVUPD  (R11)(SI*1), Z12
	VMULPD   Z0, Z12, Z12
	VMULPD   Z12, Z1, Z12
	VPCMPEQQ Z4, Z7, K1
	VADDPD   Z2, Z12, K1, Z12
	VPCMPEQQ Z5, Z7, K2
	VADDPD   Z3, Z12, K2, Z12
	VPCMPEQQ Z6, Z7, K3
	VSUBPD   Z3, Z12, K3, Z12

	VMOVUPD (R9)(SI*1), Z13
	VSUBPD  Z13, Z12, Z14
	VMULPD  Z16, Z14, Z14
	VADDPD  Z14, Z13, Z13
	VMOVUPD Z13, (R9)(SI*1)

	VMULPD  Z17, Z12, Z14
	VMULPD  Z12, Z14, Z14
	VMOVUPD (R10)(SI*1), Z15
	VMULPD  Z18, Z15, Z15
	VADDPD  Z14, Z15, Z15
	VMOVUPD Z15, (R10)(SI*1)

	VSQRTPD Z15, Z15
	VADDPD  Z20, Z15, Z15
	VMULPD  Z19, Z13, Z13
	VDIVPD  Z15, Z13, Z13
	VMOVUPD (R8)(SI*1), Z14
	VSUBPD  Z13, Z14, Z14
	VMOVUPD Z14, (R8)(SI*1)

	VCMPPD    $0x1e, Z8, Z14, K1
	VCMPPD    $0x1e, Z9, Z14, K2
	KANDNW    K2, K1, K2
	VMOVAPD   Z8, K1, Z9
	VMOVDQA64 Z10, K1, Z11
	VMOVAPD   Z14, K2, Z9
	VMOVDQA64 Z7, K2, Z11
	VMOVAPD   Z14, K1, Z8
	VMOVDQA64 Z7, K1, Z10

	VPADDQ Z21, Z7, Z7
	ADDQ   $64, SI
	CMPQ   SI, CX
	JLT    zadam

	VMOVDQA64 Z10, Z5
	VMOVDQA64 Z11, Z6
	VMOVUPD   Z8, aaaLanes_zi1(DI)
	VMOVUPD   Z9, aaaLanes_zi2(DI)

zfirst:
	VPXORQ  Z0, Z0, Z0
	VMOVUPD aaaLanes_ec(DI), Z1
	VPXORQ  Z7, Z7, Z7
	XORQ    SI, SI

zexpo:
	VMOVUPD (R8)(SI*1), Z12
	VSUBPD  Z8, Z12, Z12
	VMAXPD  Z12, Z22, Z12
	VMULPD  aaaLanes_invLn2(DI), Z12, Z13
	VADDPD  aaaLanes_shifter(DI), Z13, Z13
	VSUBPD  aaaLanes_shifter(DI), Z13, Z14
	VMULPD  aaaLanes_ln2Hi(DI), Z14, Z15
	VSUBPD  Z15, Z12, Z12
	VMULPD  aaaLanes_ln2Lo(DI), Z14, Z14
	VSUBPD  Z14, Z12, Z12
	VMULPD  Z12, Z12, Z14
	VMULPD  aaaLanes_c120(DI), Z12, Z15
	VADDPD  aaaLanes_c24(DI), Z15, Z15
	VMULPD  Z14, Z15, Z15
	VMULPD  aaaLanes_sixth(DI), Z12, Z2
	VADDPD  aaaLanes_half(DI), Z2, Z2
	VADDPD  Z15, Z2, Z2
	VMULPD  Z14, Z2, Z2
	VADDPD  Z23, Z12, Z12
	VADDPD  Z2, Z12, Z12
	VPANDQ  aaaLanes_mask63(DI), Z13, Z14
	VPSRLQ  $6, Z13, Z15
	VPSLLQ  $52, Z15, Z15
	// expBits[k&63]: entries 0–15, 16–31, 32–47, 48–63 by bits 0–3,
	// then selected by bits 4 and 5.
	VMOVDQA64 Z14, Z2
	VPERMI2PD Z25, Z24, Z2
	VMOVDQA64 Z14, Z3
	VPERMI2PD Z27, Z26, Z3
	VMOVDQA64 Z14, Z9
	VPERMI2PD Z29, Z28, Z9
	VMOVDQA64 Z14, Z10
	VPERMI2PD Z31, Z30, Z10
	VPTESTMQ  aaaLanes_bit4(DI), Z14, K1
	VMOVAPD   Z3, K1, Z2
	VMOVAPD   Z10, K1, Z9
	VPTESTMQ  aaaLanes_bit5(DI), Z14, K2
	VMOVAPD   Z9, K2, Z2
	VPADDQ  Z15, Z2, Z2
	VMULPD  Z12, Z2, Z2
	VMOVUPD Z2, (R11)(SI*1)
	VADDPD  Z2, Z0, Z0
	VPCMPEQQ Z4, Z7, K1
	VMOVAPD  Z2, K1, Z1
	VPADDQ Z21, Z7, Z7
	ADDQ   $64, SI
	CMPQ   SI, CX
	JLT    zexpo

	VMOVUPD Z0, aaaLanes_s(DI)
	VMOVUPD Z1, aaaLanes_ec(DI)
	INCQ    AX
	CMPQ    AX, DX
	JLT     zstep

zdone:
	VZEROUPPER
	RET

// func aaaSteps16(l *aaaLanes)
//
// aaaSteps8 on two groups of eight lanes (A: lanes 0–7, B: lanes 8–15),
// whose steps interleave so that one group's latency hides behind the
// other's work: each step of a lane is a long chain of dependent
// operations (the top-two scan, the exponentials' sum, the next step's
// division). The same operations in the same order per lane. Each group's
// per-step values 1/s, −gc, gc, gm, c, i1, i2 are read from l.
// Registers in the steps over j: Z8–Z11 best1, best2, n1, n2 of A; Z0–Z3
// those of B; in the exponentials: Z8–Z10 shift, Σe, e_c of A, Z0–Z2 of
// B. Z7 j, Z12–Z15 (and Z3–Z6, Z11 in the exponentials) temporaries,
// Z16–Z31 as in aaaSteps8.
TEXT ·aaaSteps16(SB), NOSPLIT, $0-8
	MOVQ l+0(FP), DI
	MOVQ aaaLanes_z(DI), R8
	MOVQ aaaLanes_m(DI), R9
	MOVQ aaaLanes_v(DI), R10
	MOVQ aaaLanes_e(DI), R11
	MOVQ aaaLanes_stepSize(DI), R12
	MOVQ aaaLanes_bc2Sqrt(DI), R13
	MOVQ aaaLanes_table(DI), BX
	MOVQ aaaLanes_k(DI), CX
	SHLQ $7, CX                       // k×128 bytes
	MOVQ aaaLanes_iters(DI), DX
	MOVQ $-1, AX                      // it; −1: the first exponentials

	VMOVUPD   aaaLanes_w1(DI), Z16
	VMOVUPD   aaaLanes_w2(DI), Z17
	VMOVUPD   aaaLanes_b2(DI), Z18
	VMOVDQU64 aaaLanes_incr(DI), Z21
	VMOVUPD   aaaLanes_expMin(DI), Z22
	VMOVUPD   aaaLanes_one(DI), Z23
	VMOVDQU64 0(BX), Z24
	VMOVDQU64 64(BX), Z25
	VMOVDQU64 128(BX), Z26
	VMOVDQU64 192(BX), Z27
	VMOVDQU64 256(BX), Z28
	VMOVDQU64 320(BX), Z29
	VMOVDQU64 384(BX), Z30
	VMOVDQU64 448(BX), Z31

	VMOVUPD aaaLanes_zi1(DI), Z8
	VMOVUPD aaaLanes_zi1+64(DI), Z0
	JMP  yfirst

ystep:

	VMOVSD       (R12)(AX*8), X12
	VMULSD       (R13)(AX*8), X12, X12
	VBROADCASTSD X12, Z19
	VBROADCASTSD (R13)(AX*8), Z13
	VMULPD       aaaLanes_eps(DI), Z13, Z14
	VMOVUPD      Z14, aaaLanes_epsbc(DI)
	VMULPD       aaaLanes_eps+64(DI), Z13, Z14
	VMOVUPD      Z14, aaaLanes_epsbc+64(DI)


	// Group at lane offset 0: 1/s, −gc, gc, gm as in aaaSteps8.
	VDIVPD  aaaLanes_s(DI), Z23, Z12
	VMOVAPD Z12, Z24
	VMULPD  aaaLanes_ec(DI), Z12, Z12
	PREF(Z12, pref16a, 0)
	VSUBPD  aaaLanes_pref(DI), Z12, Z13
	VPXORQ   Z14, Z14, Z14
	VPXORQ   Z15, Z15, Z15
	VCMPPD   $0x1e, Z14, Z13, K1
	VCMPPD   $0x11, Z14, Z13, K2
	VMOVAPD  Z23, K1, Z15
	VMOVUPD  aaaLanes_mone(DI), K2, Z15
	VMULPD  aaaLanes_kappa(DI), Z15, Z15
	VMULPD  Z12, Z15, Z15
	VMOVAPD Z15, Z26
	VPXORQ  aaaLanes_signBit(DI), Z15, Z15
	VMOVAPD Z15, Z25
	VMOVUPD aaaLanes_zi1(DI), Z13
	VSUBPD  aaaLanes_zi2(DI), Z13, Z13
	VSUBPD  aaaLanes_t(DI), Z13, Z13
	VPXORQ   Z14, Z14, Z14
	VPXORQ   Z15, Z15, Z15
	VCMPPD   $0x1e, Z14, Z13, K1
	VCMPPD   $0x11, Z14, Z13, K2
	VMOVAPD  Z23, K1, Z15
	VMOVUPD  aaaLanes_mone(DI), K2, Z15
	VMOVAPD Z15, Z27
	VMOVUPD    aaaLanes_negInf(DI), Z8
	VMOVAPD    Z8, Z9
	VPTERNLOGQ $0xff, Z10, Z10, Z10
	VPTERNLOGQ $0xff, Z11, Z11, Z11

	// Group at lane offset 8: 1/s, −gc, gc, gm as in aaaSteps8.
	VDIVPD  aaaLanes_s+64(DI), Z23, Z12
	VMOVAPD Z12, Z28
	VMULPD  aaaLanes_ec+64(DI), Z12, Z12
	PREF(Z12, pref16b, 64)
	VSUBPD  aaaLanes_pref+64(DI), Z12, Z13
	VPXORQ   Z14, Z14, Z14
	VPXORQ   Z15, Z15, Z15
	VCMPPD   $0x1e, Z14, Z13, K1
	VCMPPD   $0x11, Z14, Z13, K2
	VMOVAPD  Z23, K1, Z15
	VMOVUPD  aaaLanes_mone(DI), K2, Z15
	VMULPD  aaaLanes_kappa(DI), Z15, Z15
	VMULPD  Z12, Z15, Z15
	VMOVAPD Z15, Z30
	VPXORQ  aaaLanes_signBit(DI), Z15, Z15
	VMOVAPD Z15, Z29
	VMOVUPD aaaLanes_zi1+64(DI), Z13
	VSUBPD  aaaLanes_zi2+64(DI), Z13, Z13
	VSUBPD  aaaLanes_t+64(DI), Z13, Z13
	VPXORQ   Z14, Z14, Z14
	VPXORQ   Z15, Z15, Z15
	VCMPPD   $0x1e, Z14, Z13, K1
	VCMPPD   $0x11, Z14, Z13, K2
	VMOVAPD  Z23, K1, Z15
	VMOVUPD  aaaLanes_mone(DI), K2, Z15
	VMOVAPD Z15, Z31
	VMOVUPD    aaaLanes_negInf(DI), Z0
	VMOVAPD    Z0, Z1
	VPTERNLOGQ $0xff, Z2, Z2, Z2
	VPTERNLOGQ $0xff, Z3, Z3, Z3

	VPXORQ Z7, Z7, Z7
	XORQ   SI, SI

yadam:
	VMOVUPD  (R11)(SI*1), Z12
	VMULPD   Z24, Z12, Z12
	VMULPD   Z25, Z12, Z12
	VPCMPEQQ aaaLanes_c(DI), Z7, K1
	VADDPD   Z26, Z12, K1, Z12
	VPCMPEQQ aaaLanes_i1(DI), Z7, K2
	VADDPD   Z27, Z12, K2, Z12
	VPCMPEQQ aaaLanes_i2(DI), Z7, K3
	VSUBPD   Z27, Z12, K3, Z12
	VMOVUPD (R9)(SI*1), Z13
	VSUBPD  Z13, Z12, Z14
	VMULPD  Z16, Z14, Z14
	VADDPD  Z14, Z13, Z13
	VMOVUPD Z13, (R9)(SI*1)
	VMULPD  Z17, Z12, Z14
	VMULPD  Z12, Z14, Z14
	VMOVUPD (R10)(SI*1), Z15
	VMULPD  Z18, Z15, Z15
	VADDPD  Z14, Z15, Z15
	VMOVUPD Z15, (R10)(SI*1)
	VSQRTPD Z15, Z15
	VADDPD  aaaLanes_epsbc(DI), Z15, Z15
	VMULPD  Z19, Z13, Z13
	VDIVPD  Z15, Z13, Z13
	VMOVUPD (R8)(SI*1), Z14
	VSUBPD  Z13, Z14, Z14
	VMOVUPD Z14, (R8)(SI*1)
	VCMPPD    $0x1e, Z8, Z14, K1
	VCMPPD    $0x1e, Z9, Z14, K2
	KANDNW    K2, K1, K2
	VMOVAPD   Z8, K1, Z9
	VMOVDQA64 Z10, K1, Z11
	VMOVAPD   Z14, K2, Z9
	VMOVDQA64 Z7, K2, Z11
	VMOVAPD   Z14, K1, Z8
	VMOVDQA64 Z7, K1, Z10
	VMOVUPD  64(R11)(SI*1), Z12
	VMULPD   Z28, Z12, Z12
	VMULPD   Z29, Z12, Z12
	VPCMPEQQ aaaLanes_c+64(DI), Z7, K1
	VADDPD   Z30, Z12, K1, Z12
	VPCMPEQQ aaaLanes_i1+64(DI), Z7, K2
	VADDPD   Z31, Z12, K2, Z12
	VPCMPEQQ aaaLanes_i2+64(DI), Z7, K3
	VSUBPD   Z31, Z12, K3, Z12
	VMOVUPD 64(R9)(SI*1), Z13
	VSUBPD  Z13, Z12, Z14
	VMULPD  Z16, Z14, Z14
	VADDPD  Z14, Z13, Z13
	VMOVUPD Z13, 64(R9)(SI*1)
	VMULPD  Z17, Z12, Z14
	VMULPD  Z12, Z14, Z14
	VMOVUPD 64(R10)(SI*1), Z15
	VMULPD  Z18, Z15, Z15
	VADDPD  Z14, Z15, Z15
	VMOVUPD Z15, 64(R10)(SI*1)
	VSQRTPD Z15, Z15
	VADDPD  aaaLanes_epsbc+64(DI), Z15, Z15
	VMULPD  Z19, Z13, Z13
	VDIVPD  Z15, Z13, Z13
	VMOVUPD 64(R8)(SI*1), Z14
	VSUBPD  Z13, Z14, Z14
	VMOVUPD Z14, 64(R8)(SI*1)
	VCMPPD    $0x1e, Z0, Z14, K1
	VCMPPD    $0x1e, Z1, Z14, K2
	KANDNW    K2, K1, K2
	VMOVAPD   Z0, K1, Z1
	VMOVDQA64 Z2, K1, Z3
	VMOVAPD   Z14, K2, Z1
	VMOVDQA64 Z7, K2, Z3
	VMOVAPD   Z14, K1, Z0
	VMOVDQA64 Z7, K1, Z2
	VPADDQ Z21, Z7, Z7
	ADDQ   $128, SI
	CMPQ   SI, CX
	JLT    yadam

	VMOVDQU64 Z10, aaaLanes_i1(DI)
	VMOVDQU64 Z11, aaaLanes_i2(DI)
	VMOVUPD   Z8, aaaLanes_zi1(DI)
	VMOVUPD   Z9, aaaLanes_zi2(DI)
	VMOVDQU64 Z2, aaaLanes_i1+64(DI)
	VMOVDQU64 Z3, aaaLanes_i2+64(DI)
	VMOVUPD   Z0, aaaLanes_zi1+64(DI)
	VMOVUPD   Z1, aaaLanes_zi2+64(DI)
yfirst:
	// The table again: Z24–Z31 held the groups' 1/s, −gc, gc and gm.
	VMOVDQU64 0(BX), Z24
	VMOVDQU64 64(BX), Z25
	VMOVDQU64 128(BX), Z26
	VMOVDQU64 192(BX), Z27
	VMOVDQU64 256(BX), Z28
	VMOVDQU64 320(BX), Z29
	VMOVDQU64 384(BX), Z30
	VMOVDQU64 448(BX), Z31
	VPXORQ  Z9, Z9, Z9
	VMOVUPD aaaLanes_ec(DI), Z10
	VPXORQ  Z1, Z1, Z1
	VMOVUPD aaaLanes_ec+64(DI), Z2
	VPXORQ Z7, Z7, Z7
	XORQ   SI, SI

yexpo:
	VMOVUPD (R8)(SI*1), Z12
	VSUBPD  Z8, Z12, Z12
	VMAXPD  Z12, Z22, Z12
	VMULPD  aaaLanes_invLn2(DI), Z12, Z13
	VADDPD  aaaLanes_shifter(DI), Z13, Z13
	VSUBPD  aaaLanes_shifter(DI), Z13, Z14
	VMULPD  aaaLanes_ln2Hi(DI), Z14, Z15
	VSUBPD  Z15, Z12, Z12
	VMULPD  aaaLanes_ln2Lo(DI), Z14, Z14
	VSUBPD  Z14, Z12, Z12
	VMULPD  Z12, Z12, Z14
	VMULPD  aaaLanes_c120(DI), Z12, Z15
	VADDPD  aaaLanes_c24(DI), Z15, Z15
	VMULPD  Z14, Z15, Z15
	VMULPD  aaaLanes_sixth(DI), Z12, Z11
	VADDPD  aaaLanes_half(DI), Z11, Z11
	VADDPD  Z15, Z11, Z11
	VMULPD  Z14, Z11, Z11
	VADDPD  Z23, Z12, Z12
	VADDPD  Z11, Z12, Z12
	VPANDQ  aaaLanes_mask63(DI), Z13, Z14
	VPSRLQ  $6, Z13, Z15
	VPSLLQ  $52, Z15, Z15
	VMOVDQA64 Z14, Z3
	VPERMI2PD Z25, Z24, Z3
	VMOVDQA64 Z14, Z4
	VPERMI2PD Z27, Z26, Z4
	VMOVDQA64 Z14, Z5
	VPERMI2PD Z29, Z28, Z5
	VMOVDQA64 Z14, Z6
	VPERMI2PD Z31, Z30, Z6
	VPTESTMQ  aaaLanes_bit4(DI), Z14, K1
	VMOVAPD   Z4, K1, Z3
	VMOVAPD   Z6, K1, Z5
	VPTESTMQ  aaaLanes_bit5(DI), Z14, K2
	VMOVAPD   Z5, K2, Z3
	VPADDQ  Z15, Z3, Z3
	VMULPD  Z12, Z3, Z3
	VMOVUPD Z3, (R11)(SI*1)
	VADDPD  Z3, Z9, Z9
	VPCMPEQQ aaaLanes_c(DI), Z7, K1
	VMOVAPD  Z3, K1, Z10
	VMOVUPD 64(R8)(SI*1), Z12
	VSUBPD  Z0, Z12, Z12
	VMAXPD  Z12, Z22, Z12
	VMULPD  aaaLanes_invLn2(DI), Z12, Z13
	VADDPD  aaaLanes_shifter(DI), Z13, Z13
	VSUBPD  aaaLanes_shifter(DI), Z13, Z14
	VMULPD  aaaLanes_ln2Hi(DI), Z14, Z15
	VSUBPD  Z15, Z12, Z12
	VMULPD  aaaLanes_ln2Lo(DI), Z14, Z14
	VSUBPD  Z14, Z12, Z12
	VMULPD  Z12, Z12, Z14
	VMULPD  aaaLanes_c120(DI), Z12, Z15
	VADDPD  aaaLanes_c24(DI), Z15, Z15
	VMULPD  Z14, Z15, Z15
	VMULPD  aaaLanes_sixth(DI), Z12, Z11
	VADDPD  aaaLanes_half(DI), Z11, Z11
	VADDPD  Z15, Z11, Z11
	VMULPD  Z14, Z11, Z11
	VADDPD  Z23, Z12, Z12
	VADDPD  Z11, Z12, Z12
	VPANDQ  aaaLanes_mask63(DI), Z13, Z14
	VPSRLQ  $6, Z13, Z15
	VPSLLQ  $52, Z15, Z15
	VMOVDQA64 Z14, Z3
	VPERMI2PD Z25, Z24, Z3
	VMOVDQA64 Z14, Z4
	VPERMI2PD Z27, Z26, Z4
	VMOVDQA64 Z14, Z5
	VPERMI2PD Z29, Z28, Z5
	VMOVDQA64 Z14, Z6
	VPERMI2PD Z31, Z30, Z6
	VPTESTMQ  aaaLanes_bit4(DI), Z14, K1
	VMOVAPD   Z4, K1, Z3
	VMOVAPD   Z6, K1, Z5
	VPTESTMQ  aaaLanes_bit5(DI), Z14, K2
	VMOVAPD   Z5, K2, Z3
	VPADDQ  Z15, Z3, Z3
	VMULPD  Z12, Z3, Z3
	VMOVUPD Z3, 64(R11)(SI*1)
	VADDPD  Z3, Z1, Z1
	VPCMPEQQ aaaLanes_c+64(DI), Z7, K1
	VMOVAPD  Z3, K1, Z2
	VPADDQ Z21, Z7, Z7
	ADDQ   $128, SI
	CMPQ   SI, CX
	JLT    yexpo

	VMOVUPD Z9, aaaLanes_s(DI)
	VMOVUPD Z10, aaaLanes_ec(DI)
	VMOVUPD Z1, aaaLanes_s+64(DI)
	VMOVUPD Z2, aaaLanes_ec+64(DI)
	INCQ    AX
	CMPQ    AX, DX
	JLT     ystep

ydone:
	VZEROUPPER
	RET
