//go:build !amd64 || purego

package nn

// poolKernel is false: the scalar loop pools every channel.
const poolKernel = false

func poolBN2x2AVX2(a0, a1, a2, a3, mean, inv, gamma, beta, y *float32, codes *uint8, n int) {
	panic("nn: poolBN2x2AVX2 without the amd64 kernel")
}
