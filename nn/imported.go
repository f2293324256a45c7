package nn

import (
	"fmt"
	"math"
	"slices"
)

// Layers that imported models (package onnx) need beyond trustml's own
// architectures: smooth activations, a fixed per-channel affine map (input
// normalization) and zero padding.

// actFn is an element-wise activation whose derivative is a function of its
// input and output: sigmoid, tanh and leaky ReLU.
type actFn struct {
	kind  string
	slope float32 // leaky ReLU: slope for negative inputs
	x, y  []float32
	dx    []float32
}

func (l *actFn) setup(in []int, _ *builder) ([]int, error) {
	if l.kind == KindLeakyReLU && (math.IsNaN(float64(l.slope)) || math.IsInf(float64(l.slope), 0)) {
		return nil, fmt.Errorf("leaky ReLU slope %v is not finite", l.slope)
	}
	return in, nil
}

func (l *actFn) forward(x []float32, _ int, _ bool) []float32 {
	l.x = x
	l.y = grow(l.y, len(x))
	y := l.y
	parallelFor(len(x), 8, func(lo, hi int) {
		for i, v := range x[lo:hi] {
			switch l.kind {
			case KindSigmoid:
				y[lo+i] = float32(1 / (1 + math.Exp(-float64(v))))
			case KindTanh:
				y[lo+i] = float32(math.Tanh(float64(v)))
			default:
				if v < 0 {
					v *= l.slope
				}
				y[lo+i] = v
			}
		}
	})
	return l.y
}

func (l *actFn) backward(dy []float32, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	l.dx = grow(l.dx, len(dy))
	x, y, dx := l.x, l.y, l.dx
	parallelFor(len(dy), 2, func(lo, hi int) {
		for i, d := range dy[lo:hi] {
			j := lo + i
			switch l.kind {
			case KindSigmoid:
				dx[j] = d * y[j] * (1 - y[j])
			case KindTanh:
				dx[j] = d * (1 - y[j]*y[j])
			default:
				if x[j] < 0 {
					d *= l.slope
				}
				dx[j] = d
			}
		}
	})
	return l.dx
}

// affine is the fixed map y = x·scale + shift per channel (the last axis),
// with scale and shift stored in the spec (not trainable, no buffers): the
// input normalization of an imported model.
type affine struct {
	scale, shift []float32
	c            int
	y, dx        []float32
}

func (l *affine) setup(in []int, _ *builder) ([]int, error) {
	l.c = in[len(in)-1]
	if len(l.scale) != l.c || len(l.shift) != l.c {
		return nil, fmt.Errorf("affine layer has %d scales and %d shifts for %d channels", len(l.scale), len(l.shift), l.c)
	}
	for i := range l.scale {
		if s, b := float64(l.scale[i]), float64(l.shift[i]); math.IsNaN(s) || math.IsInf(s, 0) || math.IsNaN(b) || math.IsInf(b, 0) {
			return nil, fmt.Errorf("affine layer channel %d: scale %v, shift %v not finite", i, s, b)
		}
	}
	return in, nil
}

func (l *affine) forward(x []float32, _ int, _ bool) []float32 {
	l.y = grow(l.y, len(x))
	c := l.c
	parallelFor(len(x)/c, 2*c, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ys := l.y[r*c : (r+1)*c]
			for j, v := range x[r*c : (r+1)*c] {
				ys[j] = v*l.scale[j] + l.shift[j]
			}
		}
	})
	return l.y
}

func (l *affine) backward(dy []float32, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	l.dx = grow(l.dx, len(dy))
	c := l.c
	for r := 0; r < len(dy)/c; r++ {
		dxs := l.dx[r*c : (r+1)*c]
		for j, d := range dy[r*c : (r+1)*c] {
			dxs[j] = d * l.scale[j]
		}
	}
	return l.dx
}

// pad surrounds each image with top, left, bottom and right pixels of
// zeros, or of the lowest float32 (which max pooling never picks over a
// real value).
type pad struct {
	top, left, bottom, right int
	fill                     float32
	h, w, c, oh, ow          int
	n                        int
	y, dx                    []float32
}

func newPad(p []int, fill string) (*pad, error) {
	var v float32
	switch fill {
	case "":
	case "lowest":
		v = -math.MaxFloat32
	default:
		return nil, fmt.Errorf("pad layer fill %q (want \"\" for zeros or \"lowest\")", fill)
	}
	if len(p) != 4 {
		return nil, fmt.Errorf("pad layer needs 4 pads (top, left, bottom, right), got %v", p)
	}
	for _, v := range p {
		if v < 0 || v > maxDim {
			return nil, fmt.Errorf("pad layer pads %v outside [0, %d]", p, maxDim)
		}
	}
	return &pad{top: p[0], left: p[1], bottom: p[2], right: p[3], fill: v}, nil
}

func (l *pad) setup(in []int, _ *builder) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("padding needs an image input (H, W, C), got shape %v", in)
	}
	l.h, l.w, l.c = in[0], in[1], in[2]
	l.oh, l.ow = l.h+l.top+l.bottom, l.w+l.left+l.right
	if l.oh > maxDim || l.ow > maxDim {
		return nil, fmt.Errorf("padded image %dx%d too large", l.oh, l.ow)
	}
	return []int{l.oh, l.ow, l.c}, nil
}

func (l *pad) forward(x []float32, n int, _ bool) []float32 {
	l.n = n
	in, out, row := l.h*l.w*l.c, l.oh*l.ow*l.c, l.w*l.c
	l.y = grow(l.y, n*out)
	for i := range l.y {
		l.y[i] = l.fill
	}
	for i := 0; i < n; i++ {
		for yy := 0; yy < l.h; yy++ {
			dst := l.y[i*out+((yy+l.top)*l.ow+l.left)*l.c:]
			copy(dst[:row], x[i*in+yy*row:i*in+(yy+1)*row])
		}
	}
	return l.y
}

func (l *pad) backward(dy []float32, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	in, out, row := l.h*l.w*l.c, l.oh*l.ow*l.c, l.w*l.c
	l.dx = grow(l.dx, l.n*in)
	for i := 0; i < l.n; i++ {
		for yy := 0; yy < l.h; yy++ {
			src := dy[i*out+((yy+l.top)*l.ow+l.left)*l.c:]
			copy(l.dx[i*in+yy*row:i*in+(yy+1)*row], src[:row])
		}
	}
	return l.dx
}

// concat runs every branch on the same input and concatenates their
// outputs along the channel (last) axis, in branch order; an empty branch
// passes the input through. Branch outputs must agree in all other axes.
type concat struct {
	branches []seq
	outC     []int // channels of each branch's output
	c        int   // channels of the output
	inLen    int   // values per sample of the input
	n, rows  int
	y, dx    []float32
	dyb      [][]float32 // per-branch output gradients
}

func newConcat(branches [][]LayerSpec) (*concat, error) {
	if len(branches) < 2 {
		return nil, fmt.Errorf("concat layer needs at least 2 branches, got %d", len(branches))
	}
	l := &concat{}
	for i, b := range branches {
		if err := checkSpecs(b); err != nil {
			return nil, fmt.Errorf("branch %d: %w", i, err)
		}
		s, err := newSeq(b)
		if err != nil {
			return nil, fmt.Errorf("branch %d: %w", i, err)
		}
		l.branches = append(l.branches, s)
	}
	return l, nil
}

func (l *concat) setup(in []int, b *builder) ([]int, error) {
	prefix := b.prefix
	defer func() { b.prefix = prefix }()
	var first []int
	l.inLen, l.c, l.outC = prod(in), 0, nil
	for i, br := range l.branches {
		b.prefix = fmt.Sprintf("%sbranches.%d.", prefix, i)
		out, err := br.setup(in, b)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			first = out
		} else if len(out) != len(first) || !slices.Equal(out[:len(out)-1], first[:len(first)-1]) {
			return nil, fmt.Errorf("concat branch %d output %v does not match branch 0 output %v but for channels", i, out, first)
		}
		l.outC = append(l.outC, out[len(out)-1])
		l.c += out[len(out)-1]
	}
	l.dyb = make([][]float32, len(l.branches))
	out := append([]int(nil), first...)
	out[len(out)-1] = l.c
	return out, nil
}

func (l *concat) forward(x []float32, n int, train bool) []float32 {
	l.n = n
	off := 0
	for i, br := range l.branches {
		o := br.forward(x, n, train)
		ci := l.outC[i]
		if i == 0 {
			l.rows = len(o) / ci
			l.y = grow(l.y, l.rows*l.c)
		}
		for r := 0; r < l.rows; r++ {
			copy(l.y[r*l.c+off:r*l.c+off+ci], o[r*ci:(r+1)*ci])
		}
		off += ci
	}
	return l.y
}

func (l *concat) backward(dy []float32, needDX bool) []float32 {
	off := 0
	if needDX {
		l.dx = grow(l.dx, l.n*l.inLen)
		clear32(l.dx)
	}
	for i, br := range l.branches {
		ci := l.outC[i]
		l.dyb[i] = grow(l.dyb[i], l.rows*ci)
		d := l.dyb[i]
		for r := 0; r < l.rows; r++ {
			copy(d[r*ci:(r+1)*ci], dy[r*l.c+off:r*l.c+off+ci])
		}
		off += ci
		g := br.backward(d, needDX)
		if needDX {
			for j, v := range g {
				l.dx[j] += v
			}
		}
	}
	if !needDX {
		return nil
	}
	return l.dx
}

// slice keeps the channels [lo, hi) of the last axis: with concat, it
// splits a grouped convolution into one convolution per group.
type slice struct {
	lo, hi int
	c      int
	y, dx  []float32
}

func newSlice(ch []int) (*slice, error) {
	if len(ch) != 2 || ch[0] < 0 || ch[1] <= ch[0] || ch[1] > maxDim {
		return nil, fmt.Errorf("slice layer needs channels [lo, hi) with 0 ≤ lo < hi, got %v", ch)
	}
	return &slice{lo: ch[0], hi: ch[1]}, nil
}

func (l *slice) setup(in []int, _ *builder) ([]int, error) {
	l.c = in[len(in)-1]
	if l.hi > l.c {
		return nil, fmt.Errorf("slice of channels [%d, %d) from %d channels", l.lo, l.hi, l.c)
	}
	out := append([]int(nil), in...)
	out[len(out)-1] = l.hi - l.lo
	return out, nil
}

func (l *slice) forward(x []float32, _ int, _ bool) []float32 {
	rows, w := len(x)/l.c, l.hi-l.lo
	l.y = grow(l.y, rows*w)
	for r := 0; r < rows; r++ {
		copy(l.y[r*w:(r+1)*w], x[r*l.c+l.lo:r*l.c+l.hi])
	}
	return l.y
}

func (l *slice) backward(dy []float32, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	w := l.hi - l.lo
	rows := len(dy) / w
	l.dx = grow(l.dx, rows*l.c)
	clear32(l.dx)
	for r := 0; r < rows; r++ {
		copy(l.dx[r*l.c+l.lo:r*l.c+l.hi], dy[r*w:(r+1)*w])
	}
	return l.dx
}
