//go:build amd64 && !openblas && !purego

#include "textflag.h"

#define VBCAST VBROADCASTSS
#define VFMA VFMADD231PS
#define VMUL VMULPS
#define VMOVU VMOVUPS
#define VXOR VXORPS
#define ESHIFT 2
#define BETA 60
#define LOAD 64

// func kern6x16(k int, a *float32, rsa, csa int, b *float32, c *float32, ldc int, alpha, beta float32, load int)
//
// The 6×16 float32 tile; the body is shared with kern6x8 (gemm6_amd64.h).
TEXT ·kern6x16(SB), NOSPLIT, $0-72
#include "gemm6_amd64.h"

// func kern6x32z(k int, a *float32, rsa, csa int, b *float32, c *float32, ldc int, alpha, beta float32, load int)
//
// The 6×32 float32 tile in zmm registers (AVX-512F; gemm6_amd64.h with GEMM6_ZMM).
TEXT ·kern6x32z(SB), NOSPLIT, $0-72
#define GEMM6_ZMM
#include "gemm6_amd64.h"
#undef GEMM6_ZMM
