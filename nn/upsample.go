package nn

import "fmt"

// KindUpsample is nearest-neighbour upsampling of an image by the integer
// factor [LayerSpec.Stride]: output pixel (y, x) copies input pixel
// (y/Stride, x/Stride), as PyTorch's nn.Upsample(scale_factor=Stride,
// mode="nearest").
const KindUpsample = "upsample"

// upsample repeats every pixel f×f times on NHWC activations.
type upsample struct {
	f       int
	h, w, c int
	n       int
	y, dx   []float32
}

func newUpsample(f int) (*upsample, error) {
	if f < 1 || f > 64 {
		return nil, fmt.Errorf("upsample factor (stride) %d: want 1…64", f)
	}
	return &upsample{f: f}, nil
}

func (l *upsample) setup(in []int, _ *builder) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("upsampling needs an image input (H, W, C), got shape %v", in)
	}
	l.h, l.w, l.c = in[0], in[1], in[2]
	if l.h*l.f > maxDim || l.w*l.f > maxDim {
		return nil, fmt.Errorf("upsampled image %dx%d too large", l.h*l.f, l.w*l.f)
	}
	return []int{l.h * l.f, l.w * l.f, l.c}, nil
}

func (l *upsample) forward(x []float32, n int, _ bool) []float32 {
	l.n = n
	f, c := l.f, l.c
	ow := l.w * f
	in, out := l.h*l.w*c, l.h*f*ow*c
	l.y = grow(l.y, n*out)
	parallelFor(n, out, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xs, ys := x[i*in:(i+1)*in], l.y[i*out:(i+1)*out]
			for yy := 0; yy < l.h; yy++ {
				row := ys[yy*f*ow*c : (yy*f+1)*ow*c]
				for xx := 0; xx < l.w; xx++ {
					src := xs[(yy*l.w+xx)*c : (yy*l.w+xx+1)*c]
					for k := 0; k < f; k++ {
						copy(row[(xx*f+k)*c:(xx*f+k+1)*c], src)
					}
				}
				for k := 1; k < f; k++ {
					copy(ys[(yy*f+k)*ow*c:(yy*f+k+1)*ow*c], row)
				}
			}
		}
	})
	return l.y
}

func (l *upsample) backward(dy []float32, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	f, c := l.f, l.c
	ow := l.w * f
	in, out := l.h*l.w*c, l.h*f*ow*c
	l.dx = grow(l.dx, l.n*in)
	parallelFor(l.n, out, func(lo, hi int) {
		clear32(l.dx[lo*in : hi*in])
		for i := lo; i < hi; i++ {
			dxs, dys := l.dx[i*in:(i+1)*in], dy[i*out:(i+1)*out]
			for oy := 0; oy < l.h*f; oy++ {
				for ox := 0; ox < ow; ox++ {
					d := dxs[((oy/f)*l.w+ox/f)*c : ((oy/f)*l.w+ox/f+1)*c]
					for j, v := range dys[(oy*ow+ox)*c : (oy*ow+ox+1)*c] {
						d[j] += v
					}
				}
			}
		}
	})
	return l.dx
}
