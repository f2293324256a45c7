package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// MapSpec is a serializable fully convolutional architecture with several
// output maps (a detector's per-scale prediction heads), optionally with a
// siamese stem: the C input channels are split into Groups images of
// C/Groups channels each, every one goes through the same Shared layers
// (one set of weights), and their outputs are concatenated along channels
// (group order). The merged map then goes through the Trunk, and every
// head reads the trunk's output after its first At layers (At = 0: the
// merged map).
//
// Unlike a [Spec], a MapSpec needs no final dense layer: outputs are
// feature maps. [NewMapNet] builds it.
type MapSpec struct {
	Name       string      `json:"name"`
	InputShape []int       `json:"input_shape"` // C, H, W
	Groups     int         `json:"groups,omitempty"`
	Shared     []LayerSpec `json:"shared,omitempty"`
	Trunk      []LayerSpec `json:"trunk"`
	Heads      []MapHead   `json:"heads"`
}

// MapHead is one output of a [MapSpec]: Layers applied to the trunk's
// output after its first At layers.
type MapHead struct {
	Name   string      `json:"name"`
	At     int         `json:"at"`
	Layers []LayerSpec `json:"layers"`
}

// MapNet is a network built from a [MapSpec]: a fully convolutional network
// whose outputs are one or more feature maps. Parameters and buffers live in
// flat vectors as in a [Network] ([MapNet.Weights], [MapNet.Grads],
// [MapNet.Params]). Inputs are NCHW; outputs and their gradients are NHWC
// (for each sample, each pixel's channels are contiguous), the order in
// which a detector reads per-cell predictions. A MapNet is not safe for
// concurrent use.
type MapNet struct {
	spec    MapSpec
	shared  seq
	trunk   []layer
	heads   []seq
	st      *state
	params  []*Param
	buffers []*Buffer
	w, g, b []float32
	groups  int
	gc      int   // channels per group
	sh      []int // shared output shape (H, W, C)
	taps    [][]int
	outs    [][]int // head output shapes (H, W, C)
	n       int
	xbuf    []float32 // input as Groups·n NHWC images
	merged  []float32
	tapOut  [][]float32 // trunk outputs of the last forward, by tap
	acc     [][]float32 // gradient sums at the taps
	dmerged []float32
	dshared []float32
	dx      []float32
	outv    [][]float32
}

// NewMapNet builds a network from spec and initializes its weights with
// PyTorch's defaults from a generator seeded with seed.
func NewMapNet(spec MapSpec, seed uint64) (*MapNet, error) {
	net, b, err := buildMap(spec)
	if err != nil {
		return nil, err
	}
	net.alloc(b, seed)
	return net, nil
}

func buildMap(spec MapSpec) (*MapNet, *builder, error) {
	if len(spec.InputShape) != 3 {
		return nil, nil, fmt.Errorf("nn: map network input shape %v must be [C H W]", spec.InputShape)
	}
	for _, d := range spec.InputShape {
		if d <= 0 || d > maxDim {
			return nil, nil, fmt.Errorf("nn: input shape %v has a dimension outside [1, %d]", spec.InputShape, maxDim)
		}
	}
	if prod(spec.InputShape) > maxValues {
		return nil, nil, fmt.Errorf("nn: input shape %v is too large", spec.InputShape)
	}
	g := max(spec.Groups, 1)
	if spec.Groups < 0 || spec.InputShape[0]%g != 0 {
		return nil, nil, fmt.Errorf("nn: %d input channels cannot be split into %d groups", spec.InputShape[0], spec.Groups)
	}
	if len(spec.Heads) == 0 || len(spec.Heads) > 64 {
		return nil, nil, fmt.Errorf("nn: map network has %d heads: want 1…64", len(spec.Heads))
	}
	for _, part := range [][]LayerSpec{spec.Shared, spec.Trunk} {
		if err := checkSpecs(part); err != nil {
			return nil, nil, fmt.Errorf("nn: %w", err)
		}
	}
	net := &MapNet{spec: spec, st: &state{bnMomentum: 0.1}, groups: g, gc: spec.InputShape[0] / g}
	var err error
	if net.shared, err = newSeq(spec.Shared); err != nil {
		return nil, nil, fmt.Errorf("nn: shared: %w", err)
	}
	if net.trunk, err = newSeq(spec.Trunk); err != nil {
		return nil, nil, fmt.Errorf("nn: trunk: %w", err)
	}
	for i, h := range spec.Heads {
		if h.At < 0 || h.At > len(spec.Trunk) {
			return nil, nil, fmt.Errorf("nn: head %d (%s) at trunk layer %d: want 0…%d", i, h.Name, h.At, len(spec.Trunk))
		}
		if err := checkSpecs(h.Layers); err != nil {
			return nil, nil, fmt.Errorf("nn: head %d: %w", i, err)
		}
		s, err := newSeq(h.Layers)
		if err != nil {
			return nil, nil, fmt.Errorf("nn: head %d (%s): %w", i, h.Name, err)
		}
		net.heads = append(net.heads, s)
	}
	b := &builder{st: net.st, prefix: "shared."}
	in := []int{spec.InputShape[1], spec.InputShape[2], net.gc}
	if net.sh, err = net.shared.setup(in, b); err != nil {
		return nil, nil, fmt.Errorf("nn: shared: %w", err)
	}
	if len(net.sh) != 3 {
		return nil, nil, fmt.Errorf("nn: shared layers give shape %v, want an image (H, W, C)", net.sh)
	}
	cur := []int{net.sh[0], net.sh[1], g * net.sh[2]}
	net.taps = [][]int{cur}
	for i, l := range net.trunk {
		b.prefix = fmt.Sprintf("trunk.%d.", i)
		if cur, err = l.setup(cur, b); err != nil {
			return nil, nil, fmt.Errorf("nn: trunk layer %d (input shape %v): %w", i, net.taps[i], err)
		}
		net.taps = append(net.taps, cur)
	}
	for i, h := range net.heads {
		b.prefix = fmt.Sprintf("heads.%d.", i)
		out, err := h.setup(net.taps[spec.Heads[i].At], b)
		if err != nil {
			return nil, nil, fmt.Errorf("nn: head %d (%s): %w", i, spec.Heads[i].Name, err)
		}
		if len(out) != 3 {
			return nil, nil, fmt.Errorf("nn: head %d (%s) gives shape %v, want a map (H, W, C)", i, spec.Heads[i].Name, out)
		}
		net.outs = append(net.outs, out)
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
	net.w, net.b = make([]float32, 0, np), make([]float32, 0, nb)
	net.tapOut, net.acc = make([][]float32, len(net.taps)), make([][]float32, len(net.taps))
	net.outv = make([][]float32, len(net.heads))
	return net, b, nil
}

func (net *MapNet) alloc(b *builder, seed uint64) {
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
func (net *MapNet) Spec() MapSpec { return net.spec }

// OutputShapes returns the shape (H, W, C) of every head's output map.
func (net *MapNet) OutputShapes() [][]int {
	out := make([][]int, len(net.outs))
	for i, s := range net.outs {
		out[i] = slices.Clone(s)
	}
	return out
}

// Params returns the trainable tensors in a fixed order ("shared.…",
// "trunk.…", "heads.i.…"), views into [MapNet.Weights] and [MapNet.Grads].
func (net *MapNet) Params() []*Param { return net.params }

// Weights is the flat vector of all trainable values.
func (net *MapNet) Weights() []float32 { return net.w }

// Grads is the flat gradient vector, aligned with [MapNet.Weights].
func (net *MapNet) Grads() []float32 { return net.g }

// BufferData is the flat vector of all buffers (batch-norm statistics).
func (net *MapNet) BufferData() []float32 { return net.b }

// ZeroGrad sets all gradients to zero.
func (net *MapNet) ZeroGrad() { clear32(net.g) }

// WithInput returns a copy of the network for inputs of another height and
// width (the same layers, weights and buffers): a fully convolutional
// network trained on crops detects on whole images this way.
func (net *MapNet) WithInput(h, w int) (*MapNet, error) {
	spec := net.spec
	spec.InputShape = []int{net.spec.InputShape[0], h, w}
	c, b, err := buildMap(spec)
	if err != nil {
		return nil, err
	}
	c.alloc(b, 0)
	if len(c.w) != len(net.w) || len(c.b) != len(net.b) {
		return nil, errors.New("nn: the architecture's parameters depend on the input size")
	}
	copy(c.w, net.w)
	copy(c.b, net.b)
	c.st.bnMomentum, c.st.bnFrozen = net.st.bnMomentum, net.st.bnFrozen
	return c, nil
}

// Forward runs n inputs x (NCHW, n·C·H·W values) through the network and
// returns every head's output map (n·H·W·C values each, NHWC), owned by the
// network and valid until the next call. In training mode batch norm uses
// batch statistics; a following [MapNet.Backward] differentiates this pass.
func (net *MapNet) Forward(x []float32, n int, train bool) [][]float32 {
	c, h, w := net.spec.InputShape[0], net.spec.InputShape[1], net.spec.InputShape[2]
	if len(x) != n*c*h*w {
		panic(fmt.Sprintf("nn: MapNet.Forward got %d values for %d inputs of shape %v", len(x), n, net.spec.InputShape))
	}
	net.n = n
	g, gc, hw := net.groups, net.gc, h*w
	// Group j of sample i becomes image j·n+i, NHWC.
	net.xbuf = grow(net.xbuf, len(x))
	for i := 0; i < n; i++ {
		for j := 0; j < g; j++ {
			nchwToNHWC(net.xbuf[(j*n+i)*gc*hw:(j*n+i+1)*gc*hw], x[(i*c+j*gc)*hw:(i*c+(j+1)*gc)*hw], 1, gc, hw)
		}
	}
	s := net.shared.forward(net.xbuf, g*n, train)
	if g == 1 {
		net.merged = s
	} else {
		pix, sc := net.sh[0]*net.sh[1], net.sh[2]
		net.merged = grow(net.merged, n*pix*g*sc)
		for i := 0; i < n; i++ {
			for j := 0; j < g; j++ {
				src := s[(j*n+i)*pix*sc:]
				dst := net.merged[i*pix*g*sc+j*sc:]
				for p := 0; p < pix; p++ {
					copy(dst[p*g*sc:p*g*sc+sc], src[p*sc:(p+1)*sc])
				}
			}
		}
	}
	cur := net.merged
	net.tapOut[0] = cur
	for i, l := range net.trunk {
		cur = l.forward(cur, n, train)
		net.tapOut[i+1] = cur
	}
	for i, hd := range net.heads {
		net.outv[i] = hd.forward(net.tapOut[net.spec.Heads[i].At], n, train)
	}
	return net.outv
}

// Backward back-propagates dys, the gradients of a loss with respect to
// every head's output of the last [MapNet.Forward] (NHWC, as Forward
// returned them; a nil entry counts as zero), accumulating parameter
// gradients into [MapNet.Grads]. With needInput it returns the gradient
// with respect to the input (NCHW), owned by the network.
func (net *MapNet) Backward(dys [][]float32, needInput bool) []float32 {
	if len(dys) != len(net.heads) {
		panic(fmt.Sprintf("nn: MapNet.Backward got %d output gradients for %d heads", len(dys), len(net.heads)))
	}
	n := net.n
	have := make([]bool, len(net.taps))
	for i, hd := range net.heads {
		if dys[i] == nil {
			continue
		}
		if len(dys[i]) != n*prod(net.outs[i]) {
			panic(fmt.Sprintf("nn: head %d gradient has %d values, want %d", i, len(dys[i]), n*prod(net.outs[i])))
		}
		at := net.spec.Heads[i].At
		d := hd.backward(dys[i], true)
		net.acc[at] = grow(net.acc[at], len(d))
		if !have[at] {
			copy(net.acc[at], d)
			have[at] = true
		} else {
			for j, v := range d {
				net.acc[at][j] += v
			}
		}
	}
	last := len(net.trunk)
	if !have[last] {
		net.acc[last] = grow(net.acc[last], n*prod(net.taps[last]))
		clear32(net.acc[last])
	}
	d := net.acc[last]
	for i := last - 1; i >= 0; i-- {
		d = net.trunk[i].backward(d, true)
		if have[i] {
			for j, v := range net.acc[i] {
				d[j] += v
			}
		}
	}
	g := net.groups
	ds := d
	if g > 1 {
		pix, sc := net.sh[0]*net.sh[1], net.sh[2]
		net.dshared = grow(net.dshared, g*n*pix*sc)
		for i := 0; i < n; i++ {
			for j := 0; j < g; j++ {
				dst := net.dshared[(j*n+i)*pix*sc:]
				src := d[i*pix*g*sc+j*sc:]
				for p := 0; p < pix; p++ {
					copy(dst[p*sc:(p+1)*sc], src[p*g*sc:p*g*sc+sc])
				}
			}
		}
		ds = net.dshared
	} else if len(net.shared) > 0 {
		net.dshared = grow(net.dshared, len(d))
		copy(net.dshared, d) // d may be a trunk layer's buffer that the shared layers reuse
		ds = net.dshared
	}
	dxh := ds
	if len(net.shared) > 0 {
		dxh = net.shared.backward(ds, needInput)
	}
	if !needInput {
		return nil
	}
	c, h, w := net.spec.InputShape[0], net.spec.InputShape[1], net.spec.InputShape[2]
	gc, hw := net.gc, h*w
	net.dx = grow(net.dx, n*c*hw)
	for i := 0; i < n; i++ {
		for j := 0; j < g; j++ {
			nhwcToNCHW(net.dx[(i*c+j*gc)*hw:(i*c+(j+1)*gc)*hw], dxh[(j*n+i)*gc*hw:(j*n+i+1)*gc*hw], 1, gc, hw)
		}
	}
	return net.dx
}
