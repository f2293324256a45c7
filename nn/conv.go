package nn

import (
	"fmt"

	"github.com/trustml/trustml/internal/linalg"
)

// conv is a 2-D convolution on NHWC activations, computed as im2col + GEMM:
// the patch matrix col has one row per output pixel (n·OH·OW rows) and
// K = kh·kw·C columns, and the output is col·Wᵀ with W of shape
// [out, kh, kw, in].
type conv struct {
	out, k, stride, pad int
	h, w, c             int // input
	oh, ow              int // output
	wt, b               *Param
	st                  *state
	n                   int
	x, col, y           []float32
	dcol, dx            []float32
	dy                  []float32 // the output gradient of the last backward ([Network.Taps])
	direct              bool      // 1×1, stride 1, no padding: col is x itself
	// The inference path (infer.go): folded weights (K×out) and bias, and
	// per-worker blocks.
	wf, bf  []float32
	scratch []*inferScratch
}

func (l *conv) setup(in []int, b *builder) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("convolution needs an image input (H, W, C), got shape %v", in)
	}
	if l.out <= 0 || l.k <= 0 || l.pad < 0 {
		return nil, fmt.Errorf("convolution needs out > 0, kernel > 0, pad ≥ 0 (got %d, %d, %d)", l.out, l.k, l.pad)
	}
	l.h, l.w, l.c = in[0], in[1], in[2]
	l.oh = (l.h+2*l.pad-l.k)/l.stride + 1
	l.ow = (l.w+2*l.pad-l.k)/l.stride + 1
	if l.k > l.h+2*l.pad || l.k > l.w+2*l.pad {
		return nil, fmt.Errorf("convolution kernel %d larger than padded input %dx%d", l.k, l.h+2*l.pad, l.w+2*l.pad)
	}
	l.direct = l.k == 1 && l.stride == 1 && l.pad == 0
	l.st = b.st
	fan := l.k * l.k * l.c
	l.wt = b.param("weight", []int{l.out, l.k, l.k, l.c}, uniformInit(fan))
	l.b = b.param("bias", []int{l.out}, uniformInit(fan))
	return []int{l.oh, l.ow, l.out}, nil
}

func (l *conv) kdim() int { return l.k * l.k * l.c }

func (l *conv) forward(x []float32, n int, _ bool) []float32 {
	l.x, l.n = x, n
	rows, K := n*l.oh*l.ow, l.kdim()
	if l.direct {
		l.col = x
	} else {
		l.col = grow(l.col, rows*K)
		parallelFor(n, l.oh*l.ow*K, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				l.im2col(x, i)
			}
		})
	}
	l.y = grow(l.y, rows*l.out)
	fillRows(l.y, l.b.W)
	linalg.Sgemm(false, true, rows, l.out, K, 1, l.col, K, l.wt.W, K, 1, l.y, l.out)
	return l.y
}

// im2col fills the patch rows of sample i.
func (l *conv) im2col(x []float32, i int) {
	K, c := l.kdim(), l.c
	xs := x[i*l.h*l.w*c : (i+1)*l.h*l.w*c]
	l.im2colRows(l.col[i*l.oh*l.ow*K:(i+1)*l.oh*l.ow*K], xs, 0, l.oh)
}

// im2colRows fills col with the patch rows of output rows oy0..oy1-1 of
// one sample xs (H×W×C), one row of K values per output pixel.
func (l *conv) im2colRows(col, xs []float32, oy0, oy1 int) {
	c := l.c
	p := 0
	for oy := oy0; oy < oy1; oy++ {
		for ox := 0; ox < l.ow; ox++ {
			iy0, ix0 := oy*l.stride-l.pad, ox*l.stride-l.pad
			for ky := 0; ky < l.k; ky++ {
				iy := iy0 + ky
				if iy < 0 || iy >= l.h {
					clear32(col[p : p+l.k*c])
					p += l.k * c
					continue
				}
				rowBase := iy * l.w
				if ix0 >= 0 && ix0+l.k <= l.w {
					// The whole kernel row is inside the image: its k
					// taps are k·c contiguous values.
					copy(col[p:p+l.k*c], xs[(rowBase+ix0)*c:(rowBase+ix0+l.k)*c])
					p += l.k * c
					continue
				}
				if c == 1 {
					// One value per tap: a copy call per value costs more
					// than the value.
					for kx := 0; kx < l.k; kx++ {
						ix := ix0 + kx
						v := float32(0)
						if ix >= 0 && ix < l.w {
							v = xs[rowBase+ix]
						}
						col[p] = v
						p++
					}
					continue
				}
				for kx := 0; kx < l.k; kx++ {
					ix := ix0 + kx
					if ix < 0 || ix >= l.w {
						clear32(col[p : p+c])
					} else {
						copy(col[p:p+c], xs[(rowBase+ix)*c:(rowBase+ix+1)*c])
					}
					p += c
				}
			}
		}
	}
}

// col2im adds the patch gradients of sample i into dx (which must be zeroed).
func (l *conv) col2im(dx []float32, i int) {
	K, c := l.kdim(), l.c
	dxs := dx[i*l.h*l.w*c : (i+1)*l.h*l.w*c]
	dcol := l.dcol[i*l.oh*l.ow*K : (i+1)*l.oh*l.ow*K]
	p := 0
	for oy := 0; oy < l.oh; oy++ {
		for ox := 0; ox < l.ow; ox++ {
			iy0, ix0 := oy*l.stride-l.pad, ox*l.stride-l.pad
			for ky := 0; ky < l.k; ky++ {
				iy := iy0 + ky
				if iy < 0 || iy >= l.h {
					p += l.k * c
					continue
				}
				rowBase := iy * l.w
				for kx := 0; kx < l.k; kx++ {
					ix := ix0 + kx
					if ix >= 0 && ix < l.w {
						d := dxs[(rowBase+ix)*c : (rowBase+ix+1)*c]
						for j, v := range dcol[p : p+c] {
							d[j] += v
						}
					}
					p += c
				}
			}
		}
	}
}

func (l *conv) backward(dy []float32, needDX bool) []float32 {
	rows, K := l.n*l.oh*l.ow, l.kdim()
	l.dy = dy
	if !l.st.skipParamGrad {
		linalg.Sgemm(true, false, l.out, K, rows, 1, dy, l.out, l.col, K, 1, l.wt.G, K)
		addColSums(l.b.G, dy, rows, l.out)
	}
	if !needDX {
		return nil
	}
	if l.direct {
		l.dx = grow(l.dx, rows*K)
		linalg.Sgemm(false, false, rows, K, l.out, 1, dy, l.out, l.wt.W, K, 0, l.dx, K)
		return l.dx
	}
	l.dcol = grow(l.dcol, rows*K)
	linalg.Sgemm(false, false, rows, K, l.out, 1, dy, l.out, l.wt.W, K, 0, l.dcol, K)
	l.dx = grow(l.dx, l.n*l.h*l.w*l.c)
	parallelFor(l.n, l.oh*l.ow*K, func(lo, hi int) {
		clear32(l.dx[lo*l.h*l.w*l.c : hi*l.h*l.w*l.c])
		for i := lo; i < hi; i++ {
			l.col2im(l.dx, i)
		}
	})
	return l.dx
}
