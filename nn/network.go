package nn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/model"
)

// inferenceChunk bounds the batch the classifier methods push through the
// network at once, and so the memory they use.
const inferenceChunk = 256

// Network is a feed-forward network built from a [Spec].
type Network struct {
	spec    Spec
	layers  seq
	head    *dense // the last layer; its input is the penultimate feature vector
	st      *state
	params  []*Param
	buffers []*Buffer
	w, g, b []float32 // flat weights, gradients, buffers
	inShape []int     // public C, H, W (or D)
	hwc     []int     // internal H, W, C (or D)
	inSize  int
	xbuf    []float32 // input transposed to NHWC
	dxbuf   []float32 // input gradient transposed back to NCHW
	logits  []float32
	dlogits []float32
	n       int
	// inferred: the last pass was [Network.Infer], which keeps nothing for
	// a backward pass.
	inferred bool
}

var (
	_ model.Classifier       = (*Network)(nil)
	_ model.InputGrader      = (*Network)(nil)
	_ model.ParamGrader      = (*Network)(nil)
	_ model.FeatureExtractor = (*Network)(nil)
	_ model.Cloner           = (*Network)(nil)
)

// New builds a network from spec and initializes its weights with PyTorch's
// default initialization, drawn from a generator seeded with seed.
func New(spec Spec, seed uint64) (*Network, error) {
	net, b, err := build(spec)
	if err != nil {
		return nil, err
	}
	net.alloc(b, seed)
	return net, nil
}

// Size limits that keep a hostile spec (from a checkpoint, say) from
// exhausting memory before anything is checked.
const (
	maxDim    = 1 << 16
	maxValues = 1 << 28
)

// build checks spec and sets up its layers without allocating weights.
func build(spec Spec) (*Network, *builder, error) {
	if len(spec.InputShape) != 1 && len(spec.InputShape) != 3 {
		return nil, nil, fmt.Errorf("nn: input shape %v must be [C H W] or [D]", spec.InputShape)
	}
	for _, d := range spec.InputShape {
		if d <= 0 || d > maxDim {
			return nil, nil, fmt.Errorf("nn: input shape %v has a dimension outside [1, %d]", spec.InputShape, maxDim)
		}
	}
	if prod(spec.InputShape) > maxValues {
		return nil, nil, fmt.Errorf("nn: input shape %v is too large", spec.InputShape)
	}
	if spec.NumClasses < 2 {
		return nil, nil, fmt.Errorf("nn: %d classes; need at least 2", spec.NumClasses)
	}
	if len(spec.Layers) == 0 || spec.Layers[len(spec.Layers)-1].Kind != KindDense || spec.Layers[len(spec.Layers)-1].Out != spec.NumClasses {
		return nil, nil, fmt.Errorf("nn: the last layer must be dense with %d outputs", spec.NumClasses)
	}
	if err := checkSpecs(spec.Layers); err != nil {
		return nil, nil, fmt.Errorf("nn: %w", err)
	}
	layers, err := newSeq(spec.Layers)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: %w", err)
	}
	net := &Network{
		spec:    spec,
		layers:  layers,
		head:    layers[len(layers)-1].(*dense),
		st:      &state{bnMomentum: 0.1},
		inShape: append([]int(nil), spec.InputShape...),
		inSize:  prod(spec.InputShape),
	}
	net.hwc = net.inShape
	if len(net.inShape) == 3 {
		net.hwc = []int{net.inShape[1], net.inShape[2], net.inShape[0]}
	}
	b := &builder{st: net.st}
	if _, err := layers.setup(net.hwc, b); err != nil {
		return nil, nil, fmt.Errorf("nn: %w", err)
	}
	net.params, net.buffers = b.params, b.buffers
	var np, nb int
	for _, p := range net.params {
		np += p.Size()
	}
	for _, bf := range net.buffers {
		nb += prod(bf.Shape)
	}
	if np > maxValues || nb > maxValues {
		return nil, nil, fmt.Errorf("nn: architecture %q has %d parameters, more than %d", spec.Name, np, maxValues)
	}
	net.w, net.g, net.b = make([]float32, 0, np), nil, make([]float32, 0, nb)
	return net, b, nil
}

// checkSpecs bounds the sizes in layer specs.
func checkSpecs(ls []LayerSpec) error {
	for i, l := range ls {
		if l.Out < 0 || l.Out > maxDim || l.Kernel < 0 || l.Kernel > maxDim || l.Stride < 0 || l.Stride > maxDim || l.Pad < 0 || l.Pad > maxDim {
			return fmt.Errorf("layer %d (%s): size out of range", i, l.Kind)
		}
		if err := checkSpecs(l.Body); err != nil {
			return fmt.Errorf("layer %d body: %w", i, err)
		}
		if err := checkSpecs(l.Shortcut); err != nil {
			return fmt.Errorf("layer %d shortcut: %w", i, err)
		}
	}
	return nil
}

// alloc allocates the flat vectors (sized by build), points the tensors
// into them and initializes the weights from seed.
func (net *Network) alloc(b *builder, seed uint64) {
	np, nb := cap(net.w), cap(net.b)
	net.w, net.g, net.b = make([]float32, np), make([]float32, np), make([]float32, nb)
	off := 0
	for _, p := range net.params {
		p.W, p.G = net.w[off:off+p.Size():off+p.Size()], net.g[off:off+p.Size():off+p.Size()]
		off += p.Size()
	}
	off = 0
	for _, bf := range net.buffers {
		s := prod(bf.Shape)
		bf.Data = net.b[off : off+s : off+s]
		off += s
	}
	r := rand.New(rand.NewPCG(seed, 0))
	for _, f := range b.init {
		f(r)
	}
	net.st.rng = rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

// Spec returns the network's architecture.
func (net *Network) Spec() Spec { return net.spec }

// InputShape implements [model.Classifier].
func (net *Network) InputShape() []int { return append([]int(nil), net.inShape...) }

// NumClasses implements [model.Classifier].
func (net *Network) NumClasses() int { return net.spec.NumClasses }

// NumParams is the number of trainable values.
func (net *Network) NumParams() int { return len(net.w) }

// Params returns the trainable tensors in a fixed order; their W and G are
// views into [Network.Weights] and [Network.Grads].
func (net *Network) Params() []*Param { return net.params }

// Buffers returns the non-trainable state tensors (batch-norm running means
// and variances), views into [Network.BufferData].
func (net *Network) Buffers() []*Buffer { return net.buffers }

// Weights is the flat vector of all trainable values; writing to it changes
// the network.
func (net *Network) Weights() []float32 { return net.w }

// Grads is the flat gradient vector, aligned with [Network.Weights].
func (net *Network) Grads() []float32 { return net.g }

// BufferData is the flat vector of all buffers.
func (net *Network) BufferData() []float32 { return net.b }

// ZeroGrad sets all gradients to zero.
func (net *Network) ZeroGrad() { clear32(net.g) }

// SetBNMomentum sets the momentum of batch-norm running statistics (PyTorch
// convention, default 0.1). Momentum 0 leaves them untouched while training
// mode still normalizes with batch statistics, as SAM-style second passes
// require.
func (net *Network) SetBNMomentum(m float32) { net.st.bnMomentum = m }

// BNMomentum returns the current batch-norm momentum.
func (net *Network) BNMomentum() float32 { return net.st.bnMomentum }

// FreezeBN makes batch norm use its running statistics even in training
// mode (and never update them) while frozen is true.
func (net *Network) FreezeBN(frozen bool) { net.st.bnFrozen = frozen }

// HasBatchNorm reports whether the network has batch-norm layers.
func (net *Network) HasBatchNorm() bool { return len(net.buffers) > 0 }

// SetSeed reseeds the generator used by dropout.
func (net *Network) SetSeed(seed uint64) {
	net.st.rng = rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

// Forward runs n inputs x (NCHW, n×InputSize values) through the network and
// returns the n×K logits, owned by the network and valid until the next
// call. In training mode batch norm uses batch statistics and dropout is
// active; a following [Network.Backward] differentiates this pass.
func (net *Network) Forward(x []float32, n int, train bool) []float32 {
	if len(x) != n*net.inSize {
		panic(fmt.Sprintf("nn: Forward got %d values for %d inputs of size %d", len(x), n, net.inSize))
	}
	net.n = n
	net.inferred = false
	in := x
	if len(net.inShape) == 3 {
		// A copy in any case: a convolution's backward pass reads its
		// input again, and the caller may change x before Backward.
		net.xbuf = grow(net.xbuf, len(x))
		if net.inShape[0] > 1 {
			nchwToNHWC(net.xbuf, x, n, net.inShape[0], net.inShape[1]*net.inShape[2])
		} else {
			copy(net.xbuf, x)
		}
		in = net.xbuf
	}
	net.logits = net.layers.forward(in, n, train)
	return net.logits
}

// Backward back-propagates dlogits (n×K, the gradient of the loss with
// respect to the logits of the last Forward), accumulating parameter
// gradients into [Network.Grads]. When needInput is set it returns the
// gradient with respect to the input (NCHW), owned by the network.
func (net *Network) Backward(dlogits []float32, needInput bool) []float32 {
	if net.inferred {
		panic("nn: Backward after Infer; differentiate a Forward pass")
	}
	dx := net.layers.backward(dlogits, needInput)
	if !needInput {
		return nil
	}
	if len(net.inShape) == 3 && net.inShape[0] > 1 {
		net.dxbuf = grow(net.dxbuf, len(dx))
		nhwcToNCHW(net.dxbuf, dx, net.n, net.inShape[0], net.inShape[1]*net.inShape[2])
		return net.dxbuf
	}
	return dx
}

func nchwToNHWC(dst, src []float32, n, c, hw int) {
	for i := 0; i < n; i++ {
		s, d := src[i*c*hw:(i+1)*c*hw], dst[i*c*hw:(i+1)*c*hw]
		for ch := 0; ch < c; ch++ {
			for p := 0; p < hw; p++ {
				d[p*c+ch] = s[ch*hw+p]
			}
		}
	}
}

func nhwcToNCHW(dst, src []float32, n, c, hw int) {
	for i := 0; i < n; i++ {
		s, d := src[i*c*hw:(i+1)*c*hw], dst[i*c*hw:(i+1)*c*hw]
		for ch := 0; ch < c; ch++ {
			for p := 0; p < hw; p++ {
				d[ch*hw+p] = s[p*c+ch]
			}
		}
	}
}

// ErrNonFinite is returned (wrapped) when an input contains NaN or ±Inf.
var ErrNonFinite = errors.New("nn: non-finite input value")

func (net *Network) checkInput(x []float32) (int, error) {
	if len(x)%net.inSize != 0 {
		return 0, fmt.Errorf("%w: input has %d values, not a multiple of the input size %d (shape %v)", model.ErrShape, len(x), net.inSize, net.inShape)
	}
	for i, v := range x {
		if v != v || v > 3e38 || v < -3e38 {
			return 0, fmt.Errorf("%w at index %d (sample %d)", ErrNonFinite, i, i/net.inSize)
		}
	}
	return len(x) / net.inSize, nil
}

// Logits implements [model.Classifier] in inference mode through
// [Network.Infer], in chunks of at most 256 inputs.
func (net *Network) Logits(ctx context.Context, dst, x []float32) error {
	n, err := net.checkInput(x)
	if err != nil {
		return err
	}
	k := net.spec.NumClasses
	if len(dst) != n*k {
		return fmt.Errorf("%w: logits destination has %d values, want %d×%d", model.ErrShape, len(dst), n, k)
	}
	for lo := 0; lo < n; lo += inferenceChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+inferenceChunk, n)
		out := net.Infer(x[lo*net.inSize:hi*net.inSize], hi-lo)
		copy(dst[lo*k:hi*k], out)
	}
	return nil
}

// FeatureDim implements [model.FeatureExtractor]: the input size of the last
// layer.
func (net *Network) FeatureDim() int { return net.head.in }

// Features implements [model.FeatureExtractor] in inference mode through
// [Network.Infer].
func (net *Network) Features(ctx context.Context, dst, x []float32) error {
	n, err := net.checkInput(x)
	if err != nil {
		return err
	}
	f := net.head.in
	if len(dst) != n*f {
		return fmt.Errorf("%w: features destination has %d values, want %d×%d", model.ErrShape, len(dst), n, f)
	}
	for lo := 0; lo < n; lo += inferenceChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+inferenceChunk, n)
		net.Infer(x[lo*net.inSize:hi*net.inSize], hi-lo)
		copy(dst[lo*f:hi*f], net.head.x[:(hi-lo)*f])
	}
	return nil
}

// gradPass runs one inference-mode forward and backward pass over the whole
// batch with the given loss.
func (net *Network) gradPass(ctx context.Context, x []float32, loss model.LossFunc, needInput bool) (float64, []float32, error) {
	n, err := net.checkInput(x)
	if err != nil {
		return 0, nil, err
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	k := net.spec.NumClasses
	logits := net.Forward(x, n, false)
	net.dlogits = grow(net.dlogits, len(logits))
	clear32(net.dlogits)
	l := loss(logits, net.dlogits, n, k)
	return l, net.Backward(net.dlogits, needInput), nil
}

// InputGrad implements [model.InputGrader]. The whole batch goes through in
// one pass, so loss sees all of it; parameter gradients are not computed.
func (net *Network) InputGrad(ctx context.Context, gx, x []float32, loss model.LossFunc) (float64, error) {
	if len(gx) != len(x) {
		return 0, fmt.Errorf("%w: input gradient has %d values, input %d", model.ErrShape, len(gx), len(x))
	}
	net.st.skipParamGrad = true
	defer func() { net.st.skipParamGrad = false }()
	l, dx, err := net.gradPass(ctx, x, loss, true)
	if err != nil {
		return 0, err
	}
	copy(gx, dx)
	return l, nil
}

// ParamGrad implements [model.ParamGrader]. It overwrites [Network.Grads].
func (net *Network) ParamGrad(ctx context.Context, g, x []float32, loss model.LossFunc) (float64, error) {
	if len(g) != len(net.w) {
		return 0, fmt.Errorf("%w: parameter gradient has %d values, want %d", model.ErrShape, len(g), len(net.w))
	}
	net.ZeroGrad()
	l, _, err := net.gradPass(ctx, x, loss, false)
	if err != nil {
		return 0, err
	}
	copy(g, net.g)
	return l, nil
}

// Clone implements [model.Cloner]: an independent network with the same
// architecture, weights and buffers.
func (net *Network) Clone() model.Classifier { return net.Copy() }

// Copy returns an independent copy of the network with the same weights,
// buffers and settings (gradients are zero).
func (net *Network) Copy() *Network {
	c, err := New(net.spec, 0)
	if err != nil {
		panic("nn: rebuilding a valid spec failed: " + err.Error())
	}
	copy(c.w, net.w)
	copy(c.b, net.b)
	c.st.bnMomentum, c.st.bnFrozen = net.st.bnMomentum, net.st.bnFrozen
	return c
}
