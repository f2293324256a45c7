package nn

import (
	"fmt"
	"math"
)

// pool is max or average pooling over k×k windows (no padding) on NHWC
// activations.
//
// A ReLU directly before a max pooling is fused into it (see [fuseReLUPool]):
// max and ReLU commute, so the pool takes the maximum of the raw inputs and
// clamps it at zero, and its backward pass lets the gradient through only
// where the clamped maximum is positive, which is exactly what the separate
// ReLU's backward pass would have done. Values and gradients are bit for bit
// those of the unfused pair; the ReLU layer passes its input through.
//
// With the ReLU fused and non-overlapping windows (stride = kernel), the
// pooling records for each output one byte, its code: 1 + the position in
// the window of the first maximum when the output is positive (the only
// case where a gradient flows), 0 otherwise. Its backward pass then writes
// each input gradient once, without a scatter. A batch norm directly before
// the ReLU is fused too (see [fuseBNPool]): the pooling applies its
// per-channel affine map to each input as it reads it, so the normalized
// activations are never stored, and the batch norm's backward pass takes the
// pooled gradient and the codes (see [batchNorm.backwardPooled]). Values and
// gradients stay bit for bit those of the separate layers: each value goes
// through the same float32 operations in the same order.
type pool struct {
	max       bool
	relu      bool // a preceding ReLU is fused into this max pooling
	k, stride int
	h, w, c   int
	oh, ow    int
	n         int
	y, dx     []float32
	arg       []int32    // max pooling: index within the sample of each output's maximum
	codes     []uint8    // coded pooling: see above
	bn        *batchNorm // a batch norm fused into this coded pooling
	dy        []float32  // the pooled gradient of the last backward, when bn is set
}

// coded reports whether the pooling records window codes rather than
// argmax indices: a max pooling with a fused ReLU, stride = kernel, and at
// most 254 positions per window.
func (l *pool) coded() bool { return l.max && l.relu && l.k == l.stride && l.k*l.k < 255 }

func (l *pool) setup(in []int, _ *builder) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("pooling needs an image input (H, W, C), got shape %v", in)
	}
	if l.k <= 0 || l.stride <= 0 {
		return nil, fmt.Errorf("pooling needs kernel and stride > 0, got %d, %d", l.k, l.stride)
	}
	l.h, l.w, l.c = in[0], in[1], in[2]
	l.oh, l.ow = (l.h-l.k)/l.stride+1, (l.w-l.k)/l.stride+1
	if l.k > l.h || l.k > l.w {
		return nil, fmt.Errorf("pooling window %d larger than input %dx%d", l.k, l.h, l.w)
	}
	return []int{l.oh, l.ow, l.c}, nil
}

func (l *pool) forward(x []float32, n int, train bool) []float32 {
	l.n = n
	in, out := l.h*l.w*l.c, l.oh*l.ow*l.c
	l.y = grow(l.y, n*out)
	if l.coded() {
		if cap(l.codes) < n*out {
			l.codes = make([]uint8, n*out)
		}
		l.codes = l.codes[:n*out]
		parallelFor(n, in, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				l.codedSample(x[i*in:(i+1)*in], l.y[i*out:(i+1)*out], l.codes[i*out:(i+1)*out])
			}
		})
		return l.y
	}
	if l.max {
		if cap(l.arg) < n*out {
			l.arg = make([]int32, n*out)
		}
		l.arg = l.arg[:n*out]
	}
	parallelFor(n, in, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xs, ys := x[i*in:(i+1)*in], l.y[i*out:(i+1)*out]
			if l.max {
				l.maxSample(xs, ys, l.arg[i*out:(i+1)*out])
			} else {
				l.avgSample(xs, ys)
			}
		}
	})
	return l.y
}

// maxSample max-pools one sample xs into ys, recording in arg the index of
// the first maximum of each window (the one the gradient goes to).
func (l *pool) maxSample(xs, ys []float32, arg []int32) {
	c := l.c
	for oy := 0; oy < l.oh; oy++ {
		for ox := 0; ox < l.ow; ox++ {
			o := (oy*l.ow + ox) * c
			first := ((oy*l.stride)*l.w + ox*l.stride) * c
			yo, ao := ys[o:o+c], arg[o:o+c]
			copy(yo, xs[first:first+c])
			for ch := range ao {
				ao[ch] = int32(first + ch)
			}
			for ky := 0; ky < l.k; ky++ {
				for kx := 0; kx < l.k; kx++ {
					if ky == 0 && kx == 0 {
						continue
					}
					p := ((oy*l.stride+ky)*l.w + ox*l.stride + kx) * c
					xp := xs[p : p+c]
					for ch, v := range xp {
						if v > yo[ch] {
							yo[ch] = v
							ao[ch] = int32(p + ch)
						}
					}
				}
			}
			if l.relu {
				for ch, v := range yo {
					yo[ch] = max(v, 0)
				}
			}
		}
	}
}

// codedSample max-pools one sample xs into ys through the fused batch norm
// (when set) and ReLU, recording the window codes.
func (l *pool) codedSample(xs, ys []float32, codes []uint8) {
	c, k := l.c, l.k
	var mean, inv, g, b []float32
	if l.bn != nil {
		mean, inv, g, b = l.bn.mean32[:c], l.bn.inv32[:c], l.bn.gamma.W[:c], l.bn.beta.W[:c]
	}
	for oy := 0; oy < l.oh; oy++ {
		for ox := 0; ox < l.ow; ox++ {
			o := (oy*l.ow + ox) * c
			yo, co := ys[o:o+c], codes[o:o+c]
			if k == 2 {
				p0 := (2*oy*l.w + 2*ox) * c
				p2 := p0 + l.w*c
				a0, a1, a2, a3 := xs[p0:p0+c], xs[p0+c:p0+2*c], xs[p2:p2+c], xs[p2+c:p2+2*c]
				if l.bn != nil {
					a0, a1, a2, a3 = a0[:len(yo)], a1[:len(yo)], a2[:len(yo)], a3[:len(yo)]
					co = co[:len(yo)]
					mean, inv, g, b := mean[:len(yo)], inv[:len(yo)], g[:len(yo)], b[:len(yo)]
					ch0 := 0
					if avx2Kernels && len(yo) >= 8 {
						ch0 = len(yo) &^ 7
						poolBN2x2AVX2(&a0[0], &a1[0], &a2[0], &a3[0], &mean[0], &inv[0], &g[0], &b[0], &yo[0], &co[0], ch0)
					}
					for ch := ch0; ch < len(yo); ch++ {
						m, s, gg, bb := mean[ch], inv[ch], g[ch], b[ch]
						// max4, inlined by hand (it is over the
						// compiler's inlining budget).
						// float32(·) keeps each product rounded (no fused
						// multiply-add), as the AVX2 kernel computes it.
						v0, v1, v2, v3 := float32(gg*((a0[ch]-m)*s))+bb, float32(gg*((a1[ch]-m)*s))+bb, float32(gg*((a2[ch]-m)*s))+bb, float32(gg*((a3[ch]-m)*s))+bb
						bits, code := math.Float32bits(v0), uint32(1)
						msk := -b2u(v1 > v0)
						bits, code = bits&^msk|math.Float32bits(v1)&msk, code&^msk|2&msk
						msk = -b2u(v2 > math.Float32frombits(bits))
						bits, code = bits&^msk|math.Float32bits(v2)&msk, code&^msk|3&msk
						msk = -b2u(v3 > math.Float32frombits(bits))
						bits, code = bits&^msk|math.Float32bits(v3)&msk, code&^msk|4&msk
						best := math.Float32frombits(bits)
						code &= -b2u(best > 0)
						yo[ch], co[ch] = max(best, 0), uint8(code)
					}
				} else {
					a0, a1, a2, a3 = a0[:len(yo)], a1[:len(yo)], a2[:len(yo)], a3[:len(yo)]
					co = co[:len(yo)]
					for ch := range yo {
						yo[ch], co[ch] = max4(a0[ch], a1[ch], a2[ch], a3[ch])
					}
				}
				continue
			}
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					p := ((oy*k+ky)*l.w + ox*k + kx) * c
					idx := uint8(ky*k + kx)
					for ch, v := range xs[p : p+c] {
						if l.bn != nil {
							v = g[ch]*((v-mean[ch])*inv[ch]) + b[ch]
						}
						if idx == 0 || v > yo[ch] {
							yo[ch], co[ch] = v, idx
						}
					}
				}
			}
			for ch, v := range yo {
				code := co[ch] + 1
				if !(v > 0) {
					code = 0
				}
				yo[ch], co[ch] = max(v, 0), code
			}
		}
	}
}

// max4 is the ReLU of the maximum of a 2×2 window in scan order, and its
// code: 1 + the position of the first maximum when positive, 0 otherwise.
func max4(v0, v1, v2, v3 float32) (float32, uint8) {
	// Branch-free, as the comparisons are random (a branch would
	// mispredict often): each selection is an AND-OR of the bits under a
	// mask built from the comparison.
	b, code := math.Float32bits(v0), uint32(1)
	m := -b2u(v1 > v0)
	b, code = b&^m|math.Float32bits(v1)&m, code&^m|2&m
	m = -b2u(v2 > math.Float32frombits(b))
	b, code = b&^m|math.Float32bits(v2)&m, code&^m|3&m
	m = -b2u(v3 > math.Float32frombits(b))
	b, code = b&^m|math.Float32bits(v3)&m, code&^m|4&m
	best := math.Float32frombits(b)
	code &= -b2u(best > 0)
	return max(best, 0), uint8(code)
}

// b2u is 1 for true and 0 for false.
func b2u(b bool) uint32 {
	var u uint32
	if b {
		u = 1
	}
	return u
}

// windowGrad is the gradient reaching the input at window position idx
// (0-based) of the output with code and gradient d: d itself (plus zero, so
// that −0 becomes +0, as in a scatter into zeroed memory) when the code
// names that position, +0 otherwise.
func windowGrad(d float32, code, idx uint8, zero float32) float32 {
	var m uint32
	if code == idx+1 {
		m = ^uint32(0)
	}
	return math.Float32frombits(math.Float32bits(d+zero) & m)
}

// zero32 is a zero the compiler cannot fold, for d + 0 in [windowGrad].
var zero32 float32

func (l *pool) avgSample(xs, ys []float32) {
	c := l.c
	inv := 1 / float32(l.k*l.k)
	for oy := 0; oy < l.oh; oy++ {
		for ox := 0; ox < l.ow; ox++ {
			o := (oy*l.ow + ox) * c
			yo := ys[o : o+c]
			clear32(yo)
			for ky := 0; ky < l.k; ky++ {
				for kx := 0; kx < l.k; kx++ {
					p := ((oy*l.stride+ky)*l.w + ox*l.stride + kx) * c
					for ch, v := range xs[p : p+c] {
						yo[ch] += v
					}
				}
			}
			for ch := range yo {
				yo[ch] *= inv
			}
		}
	}
}

func (l *pool) backward(dy []float32, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	in, out := l.h*l.w*l.c, l.oh*l.ow*l.c
	if l.bn != nil {
		// The batch norm reads the pooled gradient and the codes.
		l.dy = dy
		return dy
	}
	l.dx = grow(l.dx, l.n*in)
	if l.coded() {
		parallelFor(l.n, in, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				l.codedBackward(l.dx[i*in:(i+1)*in], dy[i*out:(i+1)*out], l.codes[i*out:(i+1)*out])
			}
		})
		return l.dx
	}
	inv := 1 / float32(l.k*l.k)
	parallelFor(l.n, in, func(lo, hi int) {
		clear32(l.dx[lo*in : hi*in])
		for i := lo; i < hi; i++ {
			dxs, dys := l.dx[i*in:(i+1)*in], dy[i*out:(i+1)*out]
			if l.max {
				ys := l.y[i*out : (i+1)*out]
				for o, a := range l.arg[i*out : (i+1)*out] {
					if !l.relu || ys[o] > 0 {
						dxs[a] += dys[o]
					}
				}
				continue
			}
			for oy := 0; oy < l.oh; oy++ {
				for ox := 0; ox < l.ow; ox++ {
					o := (oy*l.ow + ox) * l.c
					for ky := 0; ky < l.k; ky++ {
						for kx := 0; kx < l.k; kx++ {
							p := ((oy*l.stride+ky)*l.w + ox*l.stride + kx) * l.c
							for ch, v := range dys[o : o+l.c] {
								dxs[p+ch] += v * inv
							}
						}
					}
				}
			}
		}
	})
	return l.dx
}

// codedBackward writes the input gradient dxs of one sample from its pooled
// gradient dys and codes, each value once.
func (l *pool) codedBackward(dxs, dys []float32, codes []uint8) {
	c, k := l.c, l.k
	if l.h%k != 0 || l.w%k != 0 {
		clear32(dxs) // inputs outside every window
	}
	zero := zero32
	for oy := 0; oy < l.oh; oy++ {
		for ox := 0; ox < l.ow; ox++ {
			o := (oy*l.ow + ox) * c
			do, co := dys[o:o+c], codes[o:o+c]
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					p := ((oy*k+ky)*l.w + ox*k + kx) * c
					idx := uint8(ky*k + kx)
					d := dxs[p : p+c]
					for ch, code := range co {
						d[ch] = windowGrad(do[ch], code, idx, zero)
					}
				}
			}
		}
	}
}

// window locates input pixel (iy, ix) of a sample: the offset o of its
// output's values in the sample's pooled output and its position idx in the
// window, or ok = false when no window covers it.
func (l *pool) window(iy, ix int) (o int, idx uint8, ok bool) {
	k := l.k
	oy, ox := iy/k, ix/k
	if oy >= l.oh || ox >= l.ow {
		return 0, 0, false
	}
	return (oy*l.ow + ox) * l.c, uint8((iy-oy*k)*k + ix - ox*k), true
}

// globalAvg averages each channel over all pixels.
type globalAvg struct {
	hw, c int
	n     int
	y, dx []float32
}

func (l *globalAvg) setup(in []int, _ *builder) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("global average pooling needs an image input (H, W, C), got shape %v", in)
	}
	l.hw, l.c = in[0]*in[1], in[2]
	return []int{l.c}, nil
}

func (l *globalAvg) forward(x []float32, n int, _ bool) []float32 {
	l.n = n
	l.y = grow(l.y, n*l.c)
	clear32(l.y)
	inv := 1 / float32(l.hw)
	for i := 0; i < n; i++ {
		ys := l.y[i*l.c : (i+1)*l.c]
		xs := x[i*l.hw*l.c : (i+1)*l.hw*l.c]
		for p := 0; p < l.hw; p++ {
			for ch, v := range xs[p*l.c : (p+1)*l.c] {
				ys[ch] += v
			}
		}
		for ch := range ys {
			ys[ch] *= inv
		}
	}
	return l.y
}

func (l *globalAvg) backward(dy []float32, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	l.dx = grow(l.dx, l.n*l.hw*l.c)
	inv := 1 / float32(l.hw)
	for i := 0; i < l.n; i++ {
		dys := dy[i*l.c : (i+1)*l.c]
		for p := 0; p < l.hw; p++ {
			d := l.dx[(i*l.hw+p)*l.c : (i*l.hw+p+1)*l.c]
			for ch, v := range dys {
				d[ch] = v * inv
			}
		}
	}
	return l.dx
}
