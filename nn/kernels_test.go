package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// specials are the values the kernel tests mix into their inputs: zeros of
// both signs, ±1, infinities, NaN, a subnormal and the ends of the float32
// range.
var specials = []float32{0, negZero32, 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40, 3e38, -3e38}

var negZero32 = float32(math.Copysign(0, -1))

// specialVal returns one of specials with probability p, else a normal
// deviate times scale.
func specialVal(rng *rand.Rand, p, scale float64) float32 {
	if rng.Float64() < p {
		return specials[rng.IntN(len(specials))]
	}
	return float32(scale * rng.NormFloat64())
}

// same32 and same64 report equal bits, or both NaN.
func same32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}
func same64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}

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
	if !avx2Kernels {
		t.Skip("no AVX2 pooling kernel on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(1, 7))
	val := func(p float64) float32 { return specialVal(rng, p, 1) }
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
				if !same32(y[j], wy[j]) || codes[j] != wcodes[j] {
					t.Fatalf("n=%d p=%g channel %d: kernel %g (code %d), scalar %g (code %d)", n, p, j, y[j], codes[j], wy[j], wcodes[j])
				}
			}
		}
	}
}

// TestBatchNormGradKernels: the AVX2 loops of the fused batch norm's
// backward pass (input gradient and γ/β partial sums) give bit for bit
// the scalar loops of batchNorm.dxRows and partialsPooled, with codes that
// do and do not name the position, zeros of both signs, infinities and
// NaNs.
func TestBatchNormGradKernels(t *testing.T) {
	if !avx2Kernels {
		t.Skip("no AVX2 kernels on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(3, 9))
	val := func(p float64) float32 { return specialVal(rng, p, 1) }
	for _, n := range []int{8, 16, 24, 64, 256} {
		for _, p := range []float64{0, 0.05, 0.5} {
			for _, idx := range []uint8{0, 1, 3} {
				for _, zero := range []float32{0, negZero32} {
					vecs := make([][]float32, 7) // xs, mean, inv, ca, cx, c0, do
					for i := range vecs {
						vecs[i] = make([]float32, n)
						for j := range vecs[i] {
							vecs[i][j] = val(p)
						}
					}
					xs, mean, inv, ca, cx, c0, do := vecs[0], vecs[1], vecs[2], vecs[3], vecs[4], vecs[5], vecs[6]
					co := make([]uint8, n)
					for j := range co {
						co[j] = uint8(rng.IntN(5))
					}
					ds, want := make([]float32, n), make([]float32, n)
					bnDxAVX2(&ds[0], &xs[0], &mean[0], &inv[0], &ca[0], &cx[0], &c0[0], &do[0], &co[0], uint32(idx)+1, zero, n)
					sg, sb := make([]float64, n), make([]float64, n)
					wg, wb := make([]float64, n), make([]float64, n)
					for j := range sg {
						sg[j], sb[j] = float64(val(p)), float64(val(p))
						wg[j], wb[j] = sg[j], sb[j]
					}
					bnPartialsAVX2(&sg[0], &sb[0], &xs[0], &mean[0], &inv[0], &do[0], &co[0], uint32(idx)+1, zero, n)
					for j := range n {
						d := windowGrad(do[j], co[j], idx, zero)
						xh := (xs[j] - mean[j]) * inv[j]
						want[j] = ca[j]*d + cx[j]*xh + c0[j]
						wg[j] += float64(d * xh)
						wb[j] += float64(d)
						if !same32(ds[j], want[j]) || !same64(sg[j], wg[j]) || !same64(sb[j], wb[j]) {
							t.Fatalf("n=%d p=%g idx=%d channel %d: kernel dx %g γ %g β %g, scalar %g %g %g", n, p, idx, j, ds[j], sg[j], sb[j], want[j], wg[j], wb[j])
						}
					}
				}
			}
		}
	}
}

// TestStatsAndColSumKernels: the AVX2 loops of the batch norm's statistics
// (float64 sums and sums of squares per channel) and of the bias gradient's
// column sums give bit for bit the scalar loops, over several rows, with
// zeros of both signs, infinities and NaNs.
func TestStatsAndColSumKernels(t *testing.T) {
	if !avx2Kernels {
		t.Skip("no AVX2 kernels on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(5, 11))
	val := func(p float64) float32 { return specialVal(rng, p, 3) }
	for _, c := range []int{8, 16, 64} {
		for _, rows := range []int{1, 3, 50} {
			for _, p := range []float64{0, 0.05} {
				x := make([]float32, rows*c)
				for i := range x {
					x[i] = val(p)
				}
				acc, want := make([]float64, 2*c), make([]float64, 2*c)
				for j := range acc {
					acc[j] = float64(val(p))
					want[j] = acc[j]
				}
				bnStatsAVX2(&acc[0], &x[0], rows, c)
				for r := range rows {
					for j, v := range x[r*c : (r+1)*c] {
						f := float64(v)
						want[j] += f
						want[c+j] += f * f
					}
				}
				for j := range acc {
					if !same64(acc[j], want[j]) {
						t.Fatalf("stats c=%d rows=%d p=%g: acc[%d] = %v, scalar %v", c, rows, p, j, acc[j], want[j])
					}
				}
				for _, cols := range []int{c, c + 3} {
					m := make([]float32, rows*cols)
					for i := range m {
						m[i] = val(p)
					}
					dst, ref := make([]float32, cols), make([]float32, cols)
					for j := range dst {
						dst[j] = val(p)
						ref[j] = dst[j]
					}
					addColSums(dst, m, rows, cols)
					for r := range rows {
						for j, v := range m[r*cols : (r+1)*cols] {
							ref[j] += v
						}
					}
					for j := range dst {
						if !same32(dst[j], ref[j]) {
							t.Fatalf("column sums rows=%d cols=%d p=%g: dst[%d] = %v, scalar %v", rows, cols, p, j, dst[j], ref[j])
						}
					}
				}
			}
		}
	}
}

// TestPool2EpilogueKernels: the AVX2 loops of the inference pooling
// epilogue (vertical maximum, then horizontal maximum, bias and ReLU) give
// Go's max bit for bit: +0 for zeros of either sign in either order, NaN
// when either value is NaN.
func TestPool2EpilogueKernels(t *testing.T) {
	if !avx2Kernels {
		t.Skip("no AVX2 kernels on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(8, 13))
	val := func(p float64) float32 { return specialVal(rng, p, 1) }
	for _, n := range []int{8, 16, 64, 256} {
		for _, p := range []float64{0, 0.3, 1} {
			a, b, bias := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range a {
				a[i], b[i], bias[i] = val(p), val(p), val(p)
			}
			dst := append([]float32(nil), a...)
			vmaxAVX2(&dst[0], &b[0], n)
			for i := range dst {
				if want := max(a[i], b[i]); !same32(dst[i], want) {
					t.Fatalf("vmax n=%d p=%g: max(%v, %v) = %v, want %v", n, p, a[i], b[i], dst[i], want)
				}
			}
			for _, relu := range []bool{false, true} {
				d := make([]float32, n)
				pool2BiasAVX2(&d[0], &a[0], &b[0], &bias[0], n, relu)
				for i := range d {
					want := max(a[i], b[i]) + bias[i]
					if relu {
						want = max(want, 0)
					}
					if !same32(d[i], want) {
						t.Fatalf("pool2 n=%d p=%g relu=%v: %v, %v, bias %v: got %v, want %v", n, p, relu, a[i], b[i], bias[i], d[i], want)
					}
				}
			}
		}
	}
}
