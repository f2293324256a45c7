package nn

import "fmt"

// pool is max or average pooling over k×k windows (no padding) on NHWC
// activations.
//
// A ReLU directly before a max pooling is fused into it (see [fuseReLUPool]):
// max and ReLU commute, so the pool takes the maximum of the raw inputs and
// clamps it at zero, and its backward pass lets the gradient through only
// where the clamped maximum is positive, which is exactly what the separate
// ReLU's backward pass would have done. Values and gradients are bit for bit
// those of the unfused pair; the ReLU layer passes its input through.
type pool struct {
	max       bool
	relu      bool // a preceding ReLU is fused into this max pooling
	k, stride int
	h, w, c   int
	oh, ow    int
	n         int
	y, dx     []float32
	arg       []int32 // max pooling: index within the sample of each output's maximum
}

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
	l.dx = grow(l.dx, l.n*in)
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
