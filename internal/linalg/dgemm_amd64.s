//go:build amd64 && !openblas && !purego

#include "textflag.h"

#define VBCAST VBROADCASTSD
#define VFMA VFMADD231PD
#define VMUL VMULPD
#define VMOVU VMOVUPD
#define VXOR VXORPD
#define ESHIFT 3
#define BETA 64
#define LOAD 72

// func kern6x8(k int, a *float64, rsa, csa int, b *float64, c *float64, ldc int, alpha, beta float64, load int)
//
// The 6×8 float64 tile; the body is shared with kern6x16 (gemm6_amd64.h).
TEXT ·kern6x8(SB), NOSPLIT, $0-80
#include "gemm6_amd64.h"

// func kern6x16z(k int, a *float64, rsa, csa int, b *float64, c *float64, ldc int, alpha, beta float64, load int)
//
// The 6×16 float64 tile in zmm registers (AVX-512F; gemm6_amd64.h with GEMM6_ZMM).
TEXT ·kern6x16z(SB), NOSPLIT, $0-80
#define GEMM6_ZMM
#include "gemm6_amd64.h"
#undef GEMM6_ZMM
