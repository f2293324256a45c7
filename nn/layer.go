package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Param is one trainable tensor. W and G are views into the network's flat
// weight and gradient vectors.
type Param struct {
	Name  string // e.g. "layers.3.weight"
	Shape []int  // e.g. [out, kh, kw, in] for a convolution, [out, in] for dense
	W     []float32
	G     []float32
}

// Size is the number of values in p.
func (p *Param) Size() int { return prod(p.Shape) }

// Buffer is one non-trainable state tensor (batch-norm running statistics),
// a view into the network's flat buffer vector.
type Buffer struct {
	Name  string
	Shape []int
	Data  []float32
}

// state is shared by all layers of a network: the mode switches a training
// method can flip between passes.
type state struct {
	bnMomentum    float32 // batch-norm running-statistics momentum (PyTorch convention)
	bnFrozen      bool    // batch norm uses running statistics even in training mode
	skipParamGrad bool    // backward computes input gradients only
	rng           *rand.Rand

	dual *dualGroup // the fusing weight shared by dual batch norms (dualbn.go)
}

// builder collects parameter and buffer declarations during setup.
type builder struct {
	prefix  string
	params  []*Param
	buffers []*Buffer
	st      *state
	init    []func(r *rand.Rand) // initializers, run once weights are allocated
}

func (b *builder) param(name string, shape []int, init func(w []float32, r *rand.Rand)) *Param {
	p := &Param{Name: b.prefix + name, Shape: shape}
	b.params = append(b.params, p)
	b.init = append(b.init, func(r *rand.Rand) { init(p.W, r) })
	return p
}

func (b *builder) buffer(name string, shape []int, fill float32) *Buffer {
	bf := &Buffer{Name: b.prefix + name, Shape: shape}
	b.buffers = append(b.buffers, bf)
	b.init = append(b.init, func(*rand.Rand) {
		for i := range bf.Data {
			bf.Data[i] = fill
		}
	})
	return bf
}

// uniformInit is PyTorch's default for linear and convolution layers:
// U(-1/√fanIn, 1/√fanIn) for weights and biases alike.
func uniformInit(fanIn int) func(w []float32, r *rand.Rand) {
	bound := 1 / math.Sqrt(float64(fanIn))
	return func(w []float32, r *rand.Rand) {
		for i := range w {
			w[i] = float32((2*r.Float64() - 1) * bound)
		}
	}
}

func constInit(v float32) func(w []float32, r *rand.Rand) {
	return func(w []float32, _ *rand.Rand) {
		for i := range w {
			w[i] = v
		}
	}
}

// layer is one step of a network. Shapes are per sample, in the engine's
// internal order (H, W, C for images; D for vectors).
type layer interface {
	// setup declares parameters and returns the output shape.
	setup(in []int, b *builder) ([]int, error)
	// forward computes the output of n inputs; the returned slice is owned
	// by the layer (or aliases x) and valid until the next forward.
	forward(x []float32, n int, train bool) []float32
	// backward takes the gradient of the output of the last forward,
	// accumulates parameter gradients and returns the input gradient
	// (owned by the layer) when needDX is set.
	backward(dy []float32, needDX bool) []float32
}

func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

func newLayer(s LayerSpec) (layer, error) {
	switch s.Kind {
	case KindDense:
		return &dense{out: s.Out}, nil
	case KindConv:
		return &conv{out: s.Out, k: s.Kernel, stride: max(s.Stride, 1), pad: s.Pad}, nil
	case KindMaxPool, KindAvgPool:
		st := s.Stride
		if st == 0 {
			st = s.Kernel
		}
		return &pool{max: s.Kind == KindMaxPool, k: s.Kernel, stride: st}, nil
	case KindGlobalAvg:
		return &globalAvg{}, nil
	case KindBatchNorm:
		return &batchNorm{}, nil
	case KindDualBN:
		return &dualBN{}, nil
	case KindReLU:
		return &relu{}, nil
	case KindDropout:
		return &dropout{rate: s.Rate}, nil
	case KindFlatten:
		return &flatten{}, nil
	case KindSigmoid, KindTanh, KindLeakyReLU:
		return &actFn{kind: s.Kind, slope: float32(s.Rate)}, nil
	case KindAffine:
		return &affine{scale: s.Scale, shift: s.Shift}, nil
	case KindPad:
		return newPad(s.Pads, s.Fill)
	case KindConcat:
		return newConcat(s.Branches)
	case KindSlice:
		return newSlice(s.Channels)
	case KindUpsample:
		return newUpsample(s.Stride)
	case KindResidual:
		body, err := newSeq(s.Body)
		if err != nil {
			return nil, err
		}
		short, err := newSeq(s.Shortcut)
		if err != nil {
			return nil, err
		}
		return &residual{body: body, short: short}, nil
	}
	return nil, fmt.Errorf("unknown layer kind %q", s.Kind)
}

// seq is a chain of layers.
type seq []layer

func newSeq(specs []LayerSpec) (seq, error) {
	s := make(seq, len(specs))
	for i, sp := range specs {
		l, err := newLayer(sp)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		s[i] = l
	}
	fuseReLUPool(s)
	fuseBNPool(s)
	return s, nil
}

// fuseReLUPool lets each max pooling that directly follows a ReLU apply the
// ReLU itself (see [pool]); the results are unchanged, one pass over the
// activations and the ReLU's branchy backward pass are saved.
func fuseReLUPool(s seq) {
	for i := 1; i < len(s); i++ {
		r, ok := s[i-1].(*relu)
		p, ok2 := s[i].(*pool)
		if ok && ok2 && p.max {
			r.intoPool, p.relu = true, true
		}
	}
}

// fuseBNPool lets each max pooling that applies a fused ReLU (see
// [fuseReLUPool]) with non-overlapping windows also apply a batch norm
// directly before the ReLU (see [pool]): the batch norm then only computes
// its statistics in the forward pass, and in the backward pass reads the
// pooling's window codes instead of a materialized output gradient. A
// convolution before such a batch norm computes the batch norm's input
// gradient itself, band by band (see [conv.backward]).
func fuseBNPool(s seq) {
	for i := 2; i < len(s); i++ {
		bn, ok := s[i-2].(*batchNorm)
		r, ok2 := s[i-1].(*relu)
		p, ok3 := s[i].(*pool)
		if ok && ok2 && ok3 && r.intoPool && p.coded() {
			bn.pool, p.bn = p, bn
			if i >= 3 {
				if cv, ok := s[i-3].(*conv); ok && !(cv.k == 1 && cv.stride == 1 && cv.pad == 0) {
					bn.conv, cv.bnNext = cv, bn
				}
			}
		}
	}
}

func (s seq) setup(in []int, b *builder) ([]int, error) {
	prefix := b.prefix
	for i, l := range s {
		b.prefix = fmt.Sprintf("%s%d.", prefix, i)
		out, err := l.setup(in, b)
		if err != nil {
			return nil, fmt.Errorf("layer %s (input shape %v): %w", b.prefix[:len(b.prefix)-1], in, err)
		}
		in = out
	}
	b.prefix = prefix
	return in, nil
}

func (s seq) forward(x []float32, n int, train bool) []float32 {
	for _, l := range s {
		x = l.forward(x, n, train)
	}
	return x
}

func (s seq) backward(dy []float32, needDX bool) []float32 {
	for i := len(s) - 1; i >= 0; i-- {
		dy = s[i].backward(dy, needDX || i > 0)
	}
	return dy
}
