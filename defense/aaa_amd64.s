//go:build amd64 && !purego

#include "textflag.h"
#include "go_asm.h"

// ARGS loads a kernel's arguments: l in DI; b's vectors z, m, v, e in
// R8–R11, its step sizes and √(1 − β2ᵗ) in R12–R13 and the table in BX;
// k in CX.
#define ARGS \
	MOVQ l+0(FP), DI \
	MOVQ b+8(FP), AX \
	MOVQ aaaBufs_z(AX), R8 \
	MOVQ aaaBufs_m(AX), R9 \
	MOVQ aaaBufs_v(AX), R10 \
	MOVQ aaaBufs_e(AX), R11 \
	MOVQ aaaBufs_stepSize(AX), R12 \
	MOVQ aaaBufs_bc2Sqrt(AX), R13 \
	MOVQ aaaBufs_table(AX), BX \
	MOVQ aaaLanes_k(DI), CX

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

// func aaaSteps4(l *aaaLanes, b *aaaBufs)
//
// Sets e_j = exp(z_j − z_c), Σe and e_c for the starting logits z of four
// rows, one per float64 lane, then runs l.iters Adam steps of AAA on them,
// with the operations of exp and of the scalar loop in (*AAA).row in the
// same order (fused multiply-adds where they have math.FMA), so that every
// lane is bit-for-bit the scalar row. Needs AVX2 and FMA.
// Registers during the steps over j:
//	Y0 1/s   Y1 −gc/s Y2 gc   Y3 gm   Y4 c   Y5 i1   Y6 i2   Y7 j
//	Y8 best1 Y9 best2 Y10 n1  Y11 n2  Y12–Y15 temporaries
// and during the exponentials: Y0 Σe, Y1 e_c, Y4 c, Y7 j, Y8 the shift.
TEXT ·aaaSteps4(SB), NOSPLIT, $0-16
	ARGS
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
	VMULPD Y0, Y1, Y1                 // −gc·inv

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
	// g = e_j·(−gc·inv), + gc at c, + gm at i1, − gm at i2
	VMOVUPD   (R11)(SI*1), Y12
	VMULPD    Y1, Y12, Y12
	VPCMPEQQ  Y4, Y7, Y13
	VADDPD    Y2, Y12, Y14
	VBLENDVPD Y13, Y14, Y12, Y12
	VPCMPEQQ  Y5, Y7, Y13
	VADDPD    Y3, Y12, Y14
	VBLENDVPD Y13, Y14, Y12, Y12
	VPCMPEQQ  Y6, Y7, Y13
	VSUBPD    Y3, Y12, Y14
	VBLENDVPD Y13, Y14, Y12, Y12

	// m_j = fma(β1, m_j, g)
	VMOVUPD     (R9)(SI*1), Y13
	VFMADD132PD aaaLanes_b1(DI), Y12, Y13
	VMOVUPD     Y13, (R9)(SI*1)

	// v_j = fma(g, g, β2·v_j)
	VMOVUPD     (R10)(SI*1), Y15
	VMULPD      aaaLanes_b2(DI), Y15, Y15
	VFMADD231PD Y12, Y12, Y15
	VMOVUPD     Y15, (R10)(SI*1)

	// z_j = fma(−ssbc, m_j/(√v_j + epsbc), z_j)
	VSQRTPD      Y15, Y15
	VADDPD       aaaLanes_epsbc(DI), Y15, Y15
	VDIVPD       Y15, Y13, Y13
	VMOVUPD      (R8)(SI*1), Y14
	VFNMADD231PD aaaLanes_ssbc(DI), Y13, Y14
	VMOVUPD      Y14, (R8)(SI*1)

	// Top two, the first index on ties:
	// if z_j > best1 { best2, n2 = best1, n1; best1, n1 = z_j, j }
	// else if z_j > best2 { best2, n2 = z_j, j }
	// with minimum and maximum, which pick the operand these comparisons
	// pick (NaN skipped): best2 = max(min(best1, z_j), best2),
	// best1 = max(z_j, best1).
	VCMPPD    $0x1e, Y8, Y14, Y12
	VCMPPD    $0x1e, Y9, Y14, Y13
	VMINPD    Y14, Y8, Y15
	VMAXPD    Y8, Y14, Y8
	VMAXPD    Y9, Y15, Y9
	VBLENDVPD Y13, Y7, Y11, Y11
	VBLENDVPD Y12, Y10, Y11, Y11
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

	// e_j = exp(z_j − best1), Σe, e_c, as exp.
first:
	VXORPD  Y0, Y0, Y0
	VMOVUPD aaaLanes_ec(DI), Y1
	VPXOR   Y7, Y7, Y7
	XORQ    SI, SI

expo:
	VMOVUPD      (R8)(SI*1), Y12
	VSUBPD       Y8, Y12, Y12
	VMOVUPD      aaaLanes_expMin(DI), Y13
	VMAXPD       Y12, Y13, Y12                 // x = max(x, −708), NaN kept
	VMOVUPD      aaaLanes_shifter(DI), Y13
	VFMADD231PD  aaaLanes_invLn2(DI), Y12, Y13 // t
	VSUBPD       aaaLanes_shifter(DI), Y13, Y14 // kf
	VFNMADD231PD aaaLanes_ln2Hi(DI), Y14, Y12
	VFNMADD231PD aaaLanes_ln2Lo(DI), Y14, Y12  // r
	VMOVUPD      aaaLanes_coef+128(DI), Y15
	VFMADD231PD  aaaLanes_coef(DI), Y12, Y15   // q = c₆r + c₅
	VFMADD213PD  aaaLanes_coef+256(DI), Y12, Y15
	VFMADD213PD  aaaLanes_coef+384(DI), Y12, Y15
	VFMADD213PD  aaaLanes_coef+512(DI), Y12, Y15
	VFMADD213PD  aaaLanes_one(DI), Y12, Y15
	VFMADD213PD  aaaLanes_one(DI), Y12, Y15    // p
	VPAND        aaaLanes_mask15(DI), Y13, Y14
	VPSLLQ       $48, Y13, Y13                 // k<<48 (see expTable)
	VPCMPEQQ     Y3, Y3, Y3
	VPGATHERQQ   Y3, (BX)(Y14*8), Y2           // expTable[k&15]
	VPADDQ       Y13, Y2, Y2
	VMULPD       Y15, Y2, Y2                   // e_j
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

// ZCONSTS loads the AVX-512 kernels' constants (see aaaSteps16).
#define ZCONSTS \
	VMOVUPD   aaaLanes_b1(DI), Z16 \
	VMOVUPD   aaaLanes_b2(DI), Z18 \
	VMOVUPD   aaaLanes_shifter(DI), Z20 \
	VMOVDQU64 aaaLanes_incr(DI), Z21 \
	VMOVUPD   aaaLanes_expMin(DI), Z22 \
	VMOVUPD   aaaLanes_one(DI), Z23 \
	VMOVDQU64 0(BX), Z24 \
	VMOVDQU64 64(BX), Z25 \
	VMOVUPD   aaaLanes_invLn2(DI), Z29 \
	VMOVUPD   aaaLanes_ln2Hi(DI), Z30 \
	VMOVUPD   aaaLanes_ln2Lo(DI), Z31

// ZADAM is one element j of the Adam step of a group of 8 lanes in the
// AVX-512 kernels, as in aaaSteps4, for the group whose vectors sit at byte
// off of each row of the block and whose lanes at byte loff of l's fields. It uses Z8–Z11
// (best1, n1), Z26–Z28 (−gc/s, gc, gm), Z12–Z15 and K1–K3. It keeps the
// top logit: best1 = max(z_j, best1), which picks the operand the scalar
// comparison picks (NaN skipped, the first index on ties); the group's
// exponentials then find the second (see ZEXP).
#define ZADAM(off, loff) \
	VMOVUPD      off(R11)(SI*1), Z12; \
	VMULPD       Z26, Z12, Z12; \
	VPCMPEQQ     aaaLanes_c+loff(DI), Z7, K1; \
	VADDPD       Z27, Z12, K1, Z12; \
	VPCMPEQQ     aaaLanes_i1+loff(DI), Z7, K2; \
	VADDPD       Z28, Z12, K2, Z12; \
	VPCMPEQQ     aaaLanes_i2+loff(DI), Z7, K3; \
	VSUBPD       Z28, Z12, K3, Z12; \
	VMOVUPD      off(R9)(SI*1), Z13; \
	VFMADD132PD  Z16, Z12, Z13; \
	VMOVUPD      Z13, off(R9)(SI*1); \
	VMOVUPD      off(R10)(SI*1), Z15; \
	VMULPD       Z18, Z15, Z15; \
	VFMADD231PD  Z12, Z12, Z15; \
	VMOVUPD      Z15, off(R10)(SI*1); \
	VSQRTPD      Z15, Z15; \
	VADDPD       aaaLanes_epsbc+loff(DI), Z15, Z15; \
	VDIVPD       Z15, Z13, Z13; \
	VMOVUPD      off(R8)(SI*1), Z14; \
	VFNMADD231PD Z19, Z13, Z14; \
	VMOVUPD      Z14, off(R8)(SI*1); \
	VCMPPD       $0x1e, Z8, Z14, K1; \
	VMAXPD       Z8, Z14, Z8; \
	VMOVDQA64    Z7, K1, Z10

// ZEXP is one element j of a group's exponentials in the AVX-512 kernels,
// as in aaaSteps4: e_j = exp(z_j − shift) with the shift in Z0 and Σe in
// Z1, for the group at off and loff as in ZADAM. It also keeps the second
// logit, best2 and n2 in Z9 and Z11: the top of the logits other than the
// top one's (l.i1), which is what the scalar loop's top two find as the
// second (best2 = max(z_j, best2) over j ≠ n1, NaN skipped, the first
// index on ties). It uses Z3–Z6, K4 and K5.
#define ZEXP(off, loff) \
	VMOVUPD      off(R8)(SI*1), Z3; \
	VPCMPQ       $4, aaaLanes_i1+loff(DI), Z7, K5; \
	VCMPPD       $0x1e, Z9, Z3, K5, K4; \
	VMAXPD       Z9, Z3, K5, Z9; \
	VMOVDQA64    Z7, K4, Z11; \
	VSUBPD       Z0, Z3, Z3; \
	VMAXPD       Z3, Z22, Z3; \
	VMOVAPD      Z20, Z4; \
	VFMADD231PD  Z29, Z3, Z4; \
	VSUBPD       Z20, Z4, Z5; \
	VFNMADD231PD Z30, Z5, Z3; \
	VFNMADD231PD Z31, Z5, Z3; \
	VMOVUPD      aaaLanes_coef+128(DI), Z6; \
	VFMADD231PD  aaaLanes_coef(DI), Z3, Z6; \
	VFMADD213PD  aaaLanes_coef+256(DI), Z3, Z6; \
	VFMADD213PD  aaaLanes_coef+384(DI), Z3, Z6; \
	VFMADD213PD  aaaLanes_coef+512(DI), Z3, Z6; \
	VFMADD213PD  Z23, Z3, Z6; \
	VFMADD213PD  Z23, Z3, Z6; \
	VPSLLQ       $48, Z4, Z5; \
	VPERMI2PD    Z25, Z24, Z4; \
	VPADDQ       Z5, Z4, Z4; \
	VMULPD       Z6, Z4, Z4; \
	VMOVUPD      Z4, off(R11)(SI*1); \
	VADDPD       Z4, Z1, Z1

// ZEC sets Z2 to e_c of the group at lanes loff after its exponentials:
// the shift is the top logit z_i1, so e_c = exp(0) = 1 exactly where the
// original top class c is i1, as the exponentials give it; only a group
// with a lane whose top class changed reads e_c back with a gather (at
// element c·width + lane of e, l.cIdx). It uses Z3 and K4.
#define ZEC(loff, skip) \
	VMOVAPD      Z23, Z2; \
	VMOVDQU64    aaaLanes_i1+loff(DI), Z3; \
	VPCMPQ       $4, aaaLanes_c+loff(DI), Z3, K4; \
	KORTESTW     K4, K4; \
	JZ           skip; \
	VMOVDQU64    aaaLanes_cIdx+loff(DI), Z3; \
	VGATHERQPD   (R11)(Z3*8), K4, Z2; \
skip:

// ZSTART is the start of step AX of the group at lanes loff, as in
// aaaSteps4: it sets its Adam ε (epsbc) and Z26–Z28 to −gc/s, gc and gm,
// and resets the top logit Z8 and Z10. It uses Z3 and Z12–Z15.
#define ZSTART(loff, skip) \
	VBROADCASTSD (R13)(AX*8), Z13; \
	VMULPD       aaaLanes_eps+loff(DI), Z13, Z14; \
	VMOVUPD      Z14, aaaLanes_epsbc+loff(DI); \
	VDIVPD       aaaLanes_s+loff(DI), Z23, Z3; \
	VMULPD       aaaLanes_ec+loff(DI), Z3, Z12; \
	PREF(Z12, skip, loff); \
	VSUBPD       aaaLanes_pref+loff(DI), Z12, Z13; \
	VFIXUPIMMPD  $0, aaaLanes_signFix(DI), Z13, Z15; \
	VMULPD       aaaLanes_kappa(DI), Z15, Z15; \
	VMULPD       Z12, Z15, Z27; \
	VPXORQ       aaaLanes_signBit(DI), Z27, Z15; \
	VMULPD       Z3, Z15, Z26; \
	VMOVUPD      aaaLanes_zi1+loff(DI), Z13; \
	VSUBPD       aaaLanes_zi2+loff(DI), Z13, Z13; \
	VSUBPD       aaaLanes_t+loff(DI), Z13, Z13; \
	VFIXUPIMMPD  $0, aaaLanes_signFix(DI), Z13, Z28; \
	VMOVUPD      aaaLanes_negInf(DI), Z8; \
	VPTERNLOGQ   $0xff, Z10, Z10, Z10

// ZSECOND resets the second logit, Z9 and Z11, before a group's
// exponentials.
#define ZSECOND \
	VMOVUPD      aaaLanes_negInf(DI), Z9; \
	VPTERNLOGQ   $0xff, Z11, Z11, Z11

// func aaaSteps16(l *aaaLanes, b *aaaBufs)
//
// aaaSteps4 on sixteen lanes with AVX-512, in two groups of eight (A:
// lanes 0–7, B: lanes 8–15) half a step apart: A's Adam loop over j runs interleaved with B's
// exponentials, then A's exponentials with B's Adam loop, so that each
// group's waits (its top logit before its exponentials, its Σe before its
// next step) overlap the other group's work. The same arithmetic in the
// same order per lane, on zmm registers, with masked operations in place
// of blends; the exponential's table of 16 entries sits in Z24–Z25 and is
// read with one two-register permute instead of a gather; the Adam loop
// finds the top logit and the exponentials the second (ZEXP), and e_c is
// set after them (ZEC). B's exponentials after its last step are not
// computed: nothing reads them.
// Registers: Z0–Z2 shift, Σe, e_c and Z9, Z11 best2, n2 of the group in
// its exponentials, Z3–Z6 their temporaries; Z8, Z10 best1, n1 and
// Z26–Z28 −gc/s, gc, gm of the group in its Adam step, Z12–Z15 its
// temporaries; Z7 j, Z16 β1,
// Z18 β2, Z19 ssbc, Z20 shifter, Z21 1 (int), Z22 −708, Z23 1,
// Z24–Z25 expTable, Z29 16/ln2, Z30–Z31 ln2/16 (hi, lo).
TEXT ·aaaSteps16(SB), NOSPLIT, $0-16
	ARGS
	SHLQ $7, CX                       // k×128 bytes
	MOVQ aaaLanes_iters(DI), DX
	TESTQ DX, DX
	JEQ   ydone                       // no step: nothing reads the exponentials

	ZCONSTS
	XORQ      AX, AX                  // the step

	// A's first exponentials, of its logits shifted by z_c (e_c = 1).
	VMOVUPD aaaLanes_zi1(DI), Z0
	VPXORQ  Z1, Z1, Z1
	ZSECOND
	VPXORQ  Z7, Z7, Z7
	XORQ    SI, SI

yfirst:
	ZEXP(0, 0)
	VPADDQ Z21, Z7, Z7
	ADDQ   $128, SI
	CMPQ   SI, CX
	JLT    yfirst

	VMOVUPD   Z1, aaaLanes_s(DI)
	VMOVUPD   Z23, aaaLanes_ec(DI)
	VMOVUPD   Z9, aaaLanes_zi2(DI)
	VMOVDQU64 Z11, aaaLanes_i2(DI)
	VMOVUPD aaaLanes_zi1+64(DI), Z0   // B's first shift

ystep:
	// Step AX's ssbc, then A's start; B's exponentials of step AX − 1
	// (its first at step 0) with A's Adam step.
	VMOVSD       (R12)(AX*8), X12
	VMULSD       (R13)(AX*8), X12, X12
	VBROADCASTSD X12, Z19
	ZSTART(0, prefA)
	VPXORQ  Z1, Z1, Z1
	ZSECOND
	VPXORQ  Z7, Z7, Z7
	XORQ    SI, SI

yab:
	ZADAM(0, 0)
	ZEXP(64, 64)
	VPADDQ Z21, Z7, Z7
	ADDQ   $128, SI
	CMPQ   SI, CX
	JLT    yab

	// B's e_c, Σe and second logit; A's top logit, i1 = n1.
	ZEC(64, ecB)
	VMOVUPD   Z1, aaaLanes_s+64(DI)
	VMOVUPD   Z2, aaaLanes_ec+64(DI)
	VMOVUPD   Z9, aaaLanes_zi2+64(DI)
	VMOVDQU64 Z11, aaaLanes_i2+64(DI)
	VMOVUPD   Z8, aaaLanes_zi1(DI)
	VMOVDQU64 Z10, aaaLanes_i1(DI)
	VMOVAPD   Z8, Z0                  // A's shift

	// B's start; A's exponentials with B's Adam step.
	ZSTART(64, prefB)
	VPXORQ  Z1, Z1, Z1
	ZSECOND
	VPXORQ  Z7, Z7, Z7
	XORQ    SI, SI

yba:
	ZEXP(0, 0)
	ZADAM(64, 64)
	VPADDQ Z21, Z7, Z7
	ADDQ   $128, SI
	CMPQ   SI, CX
	JLT    yba

	// A's e_c, Σe and second logit, i2 = n2 (a lane whose n2 < 0 met a
	// NaN: the scalar code stops it there, and its row is reverted either
	// way); B's top logit.
	ZEC(0, ecA)
	VMOVUPD   Z1, aaaLanes_s(DI)
	VMOVUPD   Z2, aaaLanes_ec(DI)
	VMOVUPD   Z9, aaaLanes_zi2(DI)
	VMOVDQU64 Z11, aaaLanes_i2(DI)
	VMOVUPD   Z8, aaaLanes_zi1+64(DI)
	VMOVDQU64 Z10, aaaLanes_i1+64(DI)
	VMOVAPD   Z8, Z0                  // B's shift
	INCQ      AX
	CMPQ      AX, DX
	JLT       ystep

ydone:
	VZEROUPPER
	RET

// func aaaSteps8(l *aaaLanes, b *aaaBufs)
//
// aaaSteps16 on one group of eight lanes: the same macros, one Adam loop
// and one loop of exponentials per step, registers as in aaaSteps16; the
// exponentials after the last step are not computed (nothing reads them).
TEXT ·aaaSteps8(SB), NOSPLIT, $0-16
	ARGS
	SHLQ $6, CX                       // k×64 bytes
	MOVQ aaaLanes_iters(DI), DX
	TESTQ DX, DX
	JEQ   zdone

	ZCONSTS
	XORQ      AX, AX                  // the step
	VMOVUPD   aaaLanes_zi1(DI), Z0    // the first shift, z_c

zexps:
	VPXORQ  Z1, Z1, Z1
	ZSECOND
	VPXORQ  Z7, Z7, Z7
	XORQ    SI, SI

zexpo:
	ZEXP(0, 0)
	VPADDQ Z21, Z7, Z7
	ADDQ   $64, SI
	CMPQ   SI, CX
	JLT    zexpo

	// e_c, Σe and the second logit, i2 = n2 (a lane whose n2 < 0 met a
	// NaN: the scalar code stops it there, and its row is reverted either
	// way).
	ZEC(0, ec8)
	VMOVUPD   Z1, aaaLanes_s(DI)
	VMOVUPD   Z2, aaaLanes_ec(DI)
	VMOVUPD   Z9, aaaLanes_zi2(DI)
	VMOVDQU64 Z11, aaaLanes_i2(DI)
	VMOVSD       (R12)(AX*8), X12
	VMULSD       (R13)(AX*8), X12, X12
	VBROADCASTSD X12, Z19
	ZSTART(0, pref8)
	VPXORQ  Z7, Z7, Z7
	XORQ    SI, SI

zadam:
	ZADAM(0, 0)
	VPADDQ Z21, Z7, Z7
	ADDQ   $64, SI
	CMPQ   SI, CX
	JLT    zadam

	// The top logit, i1 = n1.
	VMOVUPD   Z8, aaaLanes_zi1(DI)
	VMOVDQU64 Z10, aaaLanes_i1(DI)
	VMOVAPD   Z8, Z0                  // the next shift
	INCQ      AX
	CMPQ      AX, DX
	JLT       zexps

zdone:
	VZEROUPPER
	RET
