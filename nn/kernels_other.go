//go:build !amd64 || purego

package nn

// avx2Kernels is false: the scalar loops do all the work.
const avx2Kernels = false

func poolBN2x2AVX2(a0, a1, a2, a3, mean, inv, gamma, beta, y *float32, codes *uint8, n int) {
	panic("nn: poolBN2x2AVX2 without the amd64 kernel")
}

func bnDxAVX2(ds, xs, mean, inv, ca, cx, c0, do *float32, co *uint8, code uint32, zero float32, n int) {
	panic("nn: bnDxAVX2 without the amd64 kernel")
}

func bnPartialsAVX2(sg, sb *float64, xs, mean, inv, do *float32, co *uint8, code uint32, zero float32, n int) {
	panic("nn: bnPartialsAVX2 without the amd64 kernel")
}

func bnStatsAVX2(acc *float64, x *float32, rows, c int) {
	panic("nn: bnStatsAVX2 without the amd64 kernel")
}

func addColSumsAVX2(dst, m *float32, rows, cols, n int) {
	panic("nn: addColSumsAVX2 without the amd64 kernel")
}

func vmaxAVX2(dst, src *float32, n int) { panic("nn: vmaxAVX2 without the amd64 kernel") }

func pool2BiasAVX2(d, a, b, bias *float32, n int, relu bool) {
	panic("nn: pool2BiasAVX2 without the amd64 kernel")
}
