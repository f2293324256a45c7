//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// avx2Kernels reports whether the AVX2 loops of this file (pooling, batch
// norm, bias gradient, inference epilogue) run on this CPU; each is bit for
// bit the scalar loop it replaces (kernels_test.go).
var avx2Kernels = cpu.X86.HasAVX2

// poolBN2x2AVX2 is the 2×2 branch of pool.codedSample with a fused batch
// norm, 8 channels at a time (n a multiple of 8): for each channel the
// four window values a0…a3 are normalized as gamma·((a − mean)·inv) + beta, the
// first maximum is kept, y = max(best, 0) and codes = its position + 1, or
// 0 when best ≤ 0. Bit for bit the scalar loop (no fused multiply-add).
//
//go:noescape
func poolBN2x2AVX2(a0, a1, a2, a3, mean, inv, gamma, beta, y *float32, codes *uint8, n int)

// bnDxAVX2 is the loop of batchNorm.dxRows over a row's channels, 8 at a
// time (n a multiple of 8): ds = ca·d + cx·x̂ + c0 with x̂ = (x − mean)·inv
// and d = do + zero where the pooling's code is code (the window position
// + 1), +0 elsewhere ([windowGrad]). Bit for bit the scalar loop.
//
//go:noescape
func bnDxAVX2(ds, xs, mean, inv, ca, cx, c0, do *float32, co *uint8, code uint32, zero float32, n int)

// bnPartialsAVX2 is the loop of batchNorm.partialsPooled over a row's
// channels, 8 at a time: sg += float64(d·x̂), sb += float64(d), with d and x̂
// as in [bnDxAVX2]. Bit for bit the scalar loop.
//
//go:noescape
func bnPartialsAVX2(sg, sb *float64, xs, mean, inv, do *float32, co *uint8, code uint32, zero float32, n int)

// bnStatsAVX2 adds the rows×c values of x (row-major) and their squares,
// converted to float64, to acc[0:c] and acc[c:2c], row by row, 8 channels
// at a time (c a multiple of 8): the batch norm's statistics pass, bit for
// bit the scalar loop.
//
//go:noescape
func bnStatsAVX2(acc *float64, x *float32, rows, c int)

// addColSumsAVX2 adds the first n columns (a multiple of 8) of the
// rows×cols matrix m to dst, row by row: addColSums, bit for bit.
//
//go:noescape
func addColSumsAVX2(dst, m *float32, rows, cols, n int)

// vmaxAVX2 sets dst[i] = max(dst[i], src[i]) (Go's max) for i < n, a
// multiple of 8.
//
//go:noescape
func vmaxAVX2(dst, src *float32, n int)

// pool2BiasAVX2 sets d[i] = max(max(a[i], b[i])+bias[i], 0) with relu,
// max(a[i], b[i])+bias[i] without (Go's max), for i < n, a multiple of 8:
// the horizontal half of conv.pool2Epilogue.
//
//go:noescape
func pool2BiasAVX2(d, a, b, bias *float32, n int, relu bool)
