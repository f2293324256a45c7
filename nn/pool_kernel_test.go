package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// poolBN2x2Scalar is the scalar 2×2 branch of codedSample with a fused
// batch norm, for one window of n channels: the reference of the kernel.
func poolBN2x2Scalar(a0, a1, a2, a3, mean, inv, g, b, y []float32, codes []uint8) {
	for ch := range y {
		v := [4]float32{}
		for i, a := range [4][]float32{a0, a1, a2, a3} {
			v[i] = float32(g[ch]*((a[ch]-mean[ch])*inv[ch])) + b[ch]
		}
		best, code := v[0], uint8(1)
		for i := 1; i < 4; i++ {
			if v[i] > best {
				best, code = v[i], uint8(i+1)
			}
		}
		if !(best > 0) {
			code = 0
		}
		y[ch], codes[ch] = max(best, 0), code
	}
}

// TestPoolBN2x2Kernel: the AVX2 kernel of the fused batch norm + ReLU +
// 2×2 max pooling gives bit for bit the scalar results and codes, ties,
// zeros of both signs, infinities and NaNs included.
func TestPoolBN2x2Kernel(t *testing.T) {
	if !poolKernel {
		t.Skip("no AVX2 pooling kernel on this CPU or build")
	}
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40, 3e38}
	rng := rand.New(rand.NewPCG(1, 7))
	val := func(p float64) float32 {
		if rng.Float64() < p {
			return special[rng.IntN(len(special))]
		}
		return float32(rng.NormFloat64())
	}
	for _, n := range []int{8, 16, 24, 64, 256} {
		for _, p := range []float64{0, 0.05, 0.5} {
			bufs := make([][]float32, 8)
			for i := range bufs {
				bufs[i] = make([]float32, n)
				for j := range bufs[i] {
					bufs[i][j] = val(p)
				}
			}
			// ties: some windows with equal values
			for j := 0; j < n; j += 5 {
				bufs[1][j] = bufs[0][j]
				bufs[3][j] = bufs[2][j]
			}
			y, codes := make([]float32, n), make([]uint8, n)
			wy, wcodes := make([]float32, n), make([]uint8, n)
			poolBN2x2AVX2(&bufs[0][0], &bufs[1][0], &bufs[2][0], &bufs[3][0], &bufs[4][0], &bufs[5][0], &bufs[6][0], &bufs[7][0], &y[0], &codes[0], n)
			poolBN2x2Scalar(bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], bufs[5], bufs[6], bufs[7], wy, wcodes)
			for j := range y {
				same := math.Float32bits(y[j]) == math.Float32bits(wy[j]) || (y[j] != y[j] && wy[j] != wy[j])
				if !same || codes[j] != wcodes[j] {
					t.Fatalf("n=%d p=%g channel %d: kernel %g (code %d), scalar %g (code %d)", n, p, j, y[j], codes[j], wy[j], wcodes[j])
				}
			}
		}
	}
}
