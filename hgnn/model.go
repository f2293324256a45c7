package hgnn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
)

// Arch names a branch architecture.
type Arch string

// The architectures of a branch.
const (
	// MLP is a two-layer perceptron on the features (no hypergraph).
	MLP Arch = "mlp"
	// HGNN is Feng et al.'s hypergraph network: Layers convolutions
	// X' = P (X Θ + b), ReLU and dropout between them.
	HGNN Arch = "hgnn"
	// ResHGNN is ResMHGNN's residual hypergraph network (GCNII-style):
	// an input linear layer, Layers residual convolutions
	// X' = ReLU((1-β_l) X̃ + β_l (X̃ Θ_l + b_l)) with X̃ = (1-α) P X + α X₀
	// (initial residual X₀, identity mapping with β_l = ln(λ/l + 1)),
	// and an output linear layer.
	ResHGNN Arch = "reshgnn"
)

// ErrConfig is wrapped by the errors of an invalid [Config] or input.
var ErrConfig = errors.New("hgnn: invalid configuration")

// Config configures a network and its full-batch training.
type Config struct {
	// Arch is the architecture of every branch.
	Arch Arch
	// Hidden is the width of the hidden layers.
	Hidden int
	// Layers is the number of hypergraph convolutions per branch (HGNN:
	// including the output one; ResHGNN: residual ones between the input
	// and output linear layers). The MLP has two layers whatever its value.
	Layers int
	// Alpha is ResHGNN's initial-residual weight α.
	Alpha float64
	// Lambda sets ResHGNN's identity-mapping weights β_l = ln(λ/l + 1).
	Lambda float64
	// Dropout is the dropout probability during training.
	Dropout float64
	// Epochs is the number of full-batch Adam steps.
	Epochs int
	// LR is Adam's learning rate.
	LR float64
	// WeightDecay is the L2 penalty added to the gradients (PyTorch Adam's
	// weight_decay).
	WeightDecay float64
	// Seed seeds the initialization and dropout.
	Seed uint64
}

// DefaultConfig is a two-layer ResHGNN with 64 hidden units, α 0.1, λ 0.5
// (the ResMHGNN code's), dropout 0.5, 200 Adam epochs at learning rate 0.01
// and weight decay 5e-4.
func DefaultConfig() Config {
	return Config{Arch: ResHGNN, Hidden: 64, Layers: 2, Alpha: 0.1, Lambda: 0.5, Dropout: 0.5,
		Epochs: 200, LR: 0.01, WeightDecay: 5e-4, Seed: 1}
}

func (c Config) validate() error {
	switch c.Arch {
	case MLP, HGNN, ResHGNN:
	default:
		return fmt.Errorf("%w: architecture %q, want %s, %s or %s", ErrConfig, c.Arch, MLP, HGNN, ResHGNN)
	}
	switch {
	case c.Hidden < 1:
		return fmt.Errorf("%w: hidden width %d, want ≥ 1", ErrConfig, c.Hidden)
	case c.Layers < 1 && c.Arch != MLP:
		return fmt.Errorf("%w: %d layers, want ≥ 1", ErrConfig, c.Layers)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("%w: dropout %v, want [0, 1)", ErrConfig, c.Dropout)
	case !(c.Alpha >= 0 && c.Alpha <= 1):
		return fmt.Errorf("%w: alpha %v, want [0, 1]", ErrConfig, c.Alpha)
	case !(c.Lambda >= 0) || math.IsInf(c.Lambda, 0):
		return fmt.Errorf("%w: lambda %v, want ≥ 0", ErrConfig, c.Lambda)
	case c.Epochs < 0:
		return fmt.Errorf("%w: %d epochs", ErrConfig, c.Epochs)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("%w: learning rate %v, want > 0", ErrConfig, c.LR)
	case !(c.WeightDecay >= 0):
		return fmt.Errorf("%w: weight decay %v, want ≥ 0", ErrConfig, c.WeightDecay)
	}
	return nil
}

// View is one view of the nodes: its features and the propagation matrix
// of its hypergraph. A network has one branch per view; their log-softmax
// outputs are averaged (ResMHGNN's fusion).
type View struct {
	// X holds one row of features per node.
	X *mat.Dense
	// P is the view's propagation matrix ([Hypergraph.Propagation]); an
	// MLP ignores it.
	P *Sparse
}

// NewView returns the view with features x and hypergraph h.
func NewView(x *mat.Dense, h *Hypergraph) (View, error) {
	if r, _ := x.Dims(); r != h.N {
		return View{}, fmt.Errorf("hgnn: view: %d feature rows for a hypergraph of %d nodes", r, h.N)
	}
	p, err := h.Propagation()
	return View{X: x, P: p}, err
}

// Model is a trained network with the views it was trained on
// (transductive: it predicts the nodes of those views).
type Model struct {
	cfg      Config
	classes  int
	n        int
	branches []*branch
	params   []float64
	grads    []float64
	rng      *rand.Rand
	// Losses holds the training loss after each epoch's forward pass.
	Losses []float64
}

// layer is a dense layer x W + b whose weights are views of the model's
// parameter and gradient vectors.
type layer struct {
	in, out int
	w, b    []float64
	gw, gb  []float64
}

// branch is one view's network with its forward caches.
type branch struct {
	arch   Arch
	n, d   int
	x      []float64
	p      *Sparse
	layers []*layer
	beta   []float64
	// caches: inputs of each layer, pre-activations, dropout masks.
	xin   [][]float64 // input of each dense layer (after dropout)
	pre   [][]float64 // pre-activation per hidden stage
	masks [][]float64 // dropout scales (nil: no dropout)
	xi    [][]float64 // ResHGNN: X̃ of each residual layer
	h0    []float64
	logit []float64
	tmp   []float64
	tmp2  []float64
	grad  []float64
	dxi   []float64
	dz    []float64
}

// newModel allocates and initializes the network for the views.
func newModel(views []View, classes int, cfg Config) (*Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(views) == 0 {
		return nil, fmt.Errorf("%w: no views", ErrConfig)
	}
	if classes < 2 {
		return nil, fmt.Errorf("%w: %d classes, want ≥ 2", ErrConfig, classes)
	}
	n, _ := views[0].X.Dims()
	m := &Model{cfg: cfg, classes: classes, n: n, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6867))}
	type shape struct{ in, out int }
	var shapes [][]shape
	for i, v := range views {
		r, d := v.X.Dims()
		if r != n {
			return nil, fmt.Errorf("%w: view %d has %d rows, view 0 has %d", ErrConfig, i, r, n)
		}
		if cfg.Arch != MLP && (v.P == nil || v.P.N != n) {
			return nil, fmt.Errorf("%w: view %d has no propagation matrix of %d nodes", ErrConfig, i, n)
		}
		var s []shape
		switch cfg.Arch {
		case MLP:
			s = []shape{{d, cfg.Hidden}, {cfg.Hidden, classes}}
		case HGNN:
			in := d
			for l := range cfg.Layers {
				out := cfg.Hidden
				if l == cfg.Layers-1 {
					out = classes
				}
				s = append(s, shape{in, out})
				in = out
			}
		case ResHGNN:
			s = append(s, shape{d, cfg.Hidden})
			for range cfg.Layers {
				s = append(s, shape{cfg.Hidden, cfg.Hidden})
			}
			s = append(s, shape{cfg.Hidden, classes})
		}
		shapes = append(shapes, s)
	}
	size := 0
	for _, s := range shapes {
		for _, sh := range s {
			size += sh.in*sh.out + sh.out
		}
	}
	m.params, m.grads = make([]float64, size), make([]float64, size)
	off := 0
	for i, v := range views {
		raw := v.X.RawMatrix()
		x := raw.Data
		if raw.Stride != raw.Cols {
			x = mat.DenseCopyOf(v.X).RawMatrix().Data
		}
		b := &branch{arch: cfg.Arch, n: n, d: raw.Cols, x: x, p: v.P}
		for _, sh := range shapes[i] {
			l := &layer{in: sh.in, out: sh.out}
			l.w, l.gw = m.params[off:off+sh.in*sh.out], m.grads[off:off+sh.in*sh.out]
			off += sh.in * sh.out
			l.b, l.gb = m.params[off:off+sh.out], m.grads[off:off+sh.out]
			off += sh.out
			bound := 1 / math.Sqrt(float64(sh.in)) // PyTorch's nn.Linear default
			for j := range l.w {
				l.w[j] = bound * (2*m.rng.Float64() - 1)
			}
			for j := range l.b {
				l.b[j] = bound * (2*m.rng.Float64() - 1)
			}
			b.layers = append(b.layers, l)
		}
		if cfg.Arch == ResHGNN {
			for l := 1; l <= cfg.Layers; l++ {
				b.beta = append(b.beta, math.Log(cfg.Lambda/float64(l)+1))
			}
		}
		m.branches = append(m.branches, b)
	}
	return m, nil
}

// gemm sets c = op(a) op(b) + beta c for row-major matrices; op(a) is
// m×k, op(b) k×n, c m×n.
func gemm(tA, tB bool, m, n, k int, a, b []float64, beta float64, c []float64) {
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	linalg.Dgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, n)
}

// forward computes dst = x W + b for n rows.
func (l *layer) forward(dst, x []float64, n int) {
	for i := range n {
		copy(dst[i*l.out:(i+1)*l.out], l.b)
	}
	gemm(false, false, n, l.out, l.in, x, l.w, 1, dst)
}

// backward accumulates the gradients of W and b for the input x and the
// output gradient dy, and sets dx = dy Wᵀ when dx is not nil.
func (l *layer) backward(dx, dy, x []float64, n int) {
	gemm(true, false, l.in, l.out, n, x, dy, 1, l.gw)
	for i := range n {
		for j, v := range dy[i*l.out : (i+1)*l.out] {
			l.gb[j] += v
		}
	}
	if dx != nil {
		gemm(false, true, n, l.in, l.out, dy, l.w, 0, dx)
	}
}

// buf returns s resized to n values, reusing its memory.
func buf(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// dropout returns the inverted-dropout scales for n values (nil when not
// training or p is 0) and applies them to x in place.
func (m *Model) dropout(mask, x []float64, train bool) []float64 {
	p := m.cfg.Dropout
	if !train || p == 0 {
		return nil
	}
	mask = buf(mask, len(x))
	keep := 1 / (1 - p)
	for i := range x {
		if m.rng.Float64() < p {
			mask[i] = 0
		} else {
			mask[i] = keep
		}
		x[i] *= mask[i]
	}
	return mask
}

func relu(x []float64) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// reluBack zeroes dy where the pre-activation was not positive.
func reluBack(dy, pre []float64) {
	for i, v := range pre {
		if v <= 0 {
			dy[i] = 0
		}
	}
}

func scale(x, mask []float64) {
	if mask == nil {
		return
	}
	for i := range x {
		x[i] *= mask[i]
	}
}

// ensure sizes the per-stage caches of b.
func (b *branch) ensure(stages int) {
	for len(b.xin) < stages {
		b.xin = append(b.xin, nil)
		b.pre = append(b.pre, nil)
		b.masks = append(b.masks, nil)
		b.xi = append(b.xi, nil)
	}
}

// forward runs the branch and leaves its logits in b.logit.
func (m *Model) forwardBranch(b *branch, train bool) {
	n, hid, cfg := b.n, m.cfg.Hidden, m.cfg
	switch b.arch {
	case MLP:
		b.ensure(2)
		b.xin[0] = buf(b.xin[0], n*b.d)
		copy(b.xin[0], b.x)
		b.masks[0] = m.dropout(b.masks[0], b.xin[0], train)
		b.pre[0] = buf(b.pre[0], n*hid)
		b.layers[0].forward(b.pre[0], b.xin[0], n)
		b.xin[1] = buf(b.xin[1], n*hid)
		copy(b.xin[1], b.pre[0])
		relu(b.xin[1])
		b.masks[1] = m.dropout(b.masks[1], b.xin[1], train)
		b.logit = buf(b.logit, n*m.classes)
		b.layers[1].forward(b.logit, b.xin[1], n)
	case HGNN:
		L := len(b.layers)
		b.ensure(L)
		b.xin[0] = b.x
		for l, ly := range b.layers {
			b.tmp = buf(b.tmp, n*ly.out)
			ly.forward(b.tmp, b.xin[l], n)
			if l == L-1 {
				b.logit = buf(b.logit, n*ly.out)
				b.p.MulTo(b.logit, b.tmp, ly.out)
				break
			}
			b.pre[l] = buf(b.pre[l], n*ly.out)
			b.p.MulTo(b.pre[l], b.tmp, ly.out)
			b.xin[l+1] = buf(b.xin[l+1], n*ly.out)
			copy(b.xin[l+1], b.pre[l])
			relu(b.xin[l+1])
			b.masks[l+1] = m.dropout(b.masks[l+1], b.xin[l+1], train)
		}
	case ResHGNN:
		L := cfg.Layers
		b.ensure(L + 2)
		// stage 0: input layer; stages 1..L: residual layers; L+1: output.
		b.xin[0] = buf(b.xin[0], n*b.d)
		copy(b.xin[0], b.x)
		b.masks[0] = m.dropout(b.masks[0], b.xin[0], train)
		b.pre[0] = buf(b.pre[0], n*hid)
		b.layers[0].forward(b.pre[0], b.xin[0], n)
		b.h0 = buf(b.h0, n*hid)
		copy(b.h0, b.pre[0])
		relu(b.h0)
		h := b.h0
		a, beta := cfg.Alpha, b.beta
		for l := 1; l <= L; l++ {
			b.xin[l] = buf(b.xin[l], n*hid) // dropped h_{l-1}
			copy(b.xin[l], h)
			b.masks[l] = m.dropout(b.masks[l], b.xin[l], train)
			b.xi[l] = buf(b.xi[l], n*hid)
			b.p.MulTo(b.xi[l], b.xin[l], hid)
			for j := range b.xi[l] {
				b.xi[l][j] = (1-a)*b.xi[l][j] + a*b.h0[j]
			}
			b.pre[l] = buf(b.pre[l], n*hid)
			b.layers[l].forward(b.pre[l], b.xi[l], n)
			for j := range b.pre[l] {
				b.pre[l][j] = (1-beta[l-1])*b.xi[l][j] + beta[l-1]*b.pre[l][j]
			}
			b.tmp = buf(b.tmp, n*hid)
			copy(b.tmp, b.pre[l])
			relu(b.tmp)
			h = b.tmp
		}
		b.xin[L+1] = buf(b.xin[L+1], n*hid)
		copy(b.xin[L+1], h)
		b.masks[L+1] = m.dropout(b.masks[L+1], b.xin[L+1], train)
		b.logit = buf(b.logit, n*m.classes)
		b.layers[L+1].forward(b.logit, b.xin[L+1], n)
	}
}

// backwardBranch accumulates the parameter gradients for the logit
// gradient dz (overwritten).
func (m *Model) backwardBranch(b *branch, dz []float64) {
	n, hid, cfg := b.n, m.cfg.Hidden, m.cfg
	switch b.arch {
	case MLP:
		b.grad = buf(b.grad, n*hid)
		b.layers[1].backward(b.grad, dz, b.xin[1], n)
		scale(b.grad, b.masks[1])
		reluBack(b.grad, b.pre[0])
		b.layers[0].backward(nil, b.grad, b.xin[0], n)
	case HGNN:
		dy := dz
		for l := len(b.layers) - 1; l >= 0; l-- {
			ly := b.layers[l]
			b.tmp = buf(b.tmp, n*ly.out)
			b.p.MulTo(b.tmp, dy, ly.out) // Pᵀ = P
			if l == 0 {
				ly.backward(nil, b.tmp, b.xin[0], n)
				break
			}
			b.grad = buf(b.grad, n*ly.in)
			ly.backward(b.grad, b.tmp, b.xin[l], n)
			scale(b.grad, b.masks[l])
			reluBack(b.grad, b.pre[l-1])
			b.tmp2 = buf(b.tmp2, len(b.grad))
			copy(b.tmp2, b.grad)
			dy = b.tmp2
		}
	case ResHGNN:
		L, a := cfg.Layers, cfg.Alpha
		dh := buf(b.grad, n*hid)
		b.grad = dh
		b.layers[L+1].backward(dh, dz, b.xin[L+1], n)
		scale(dh, b.masks[L+1])
		dh0 := buf(b.tmp2, n*hid)
		b.tmp2 = dh0
		clear(dh0)
		du := buf(b.tmp, n*hid)
		b.tmp = du
		dxi := buf(b.dxi, n*hid)
		b.dxi = dxi
		for l := L; l >= 1; l-- {
			beta := b.beta[l-1]
			reluBack(dh, b.pre[l]) // dh is now dz_l
			for j, v := range dh {
				du[j] = beta * v
			}
			b.layers[l].backward(dxi, du, b.xi[l], n)
			for j := range dxi {
				dxi[j] += (1 - beta) * dh[j]
				dh0[j] += a * dxi[j]
				dxi[j] *= 1 - a
			}
			b.p.MulTo(dh, dxi, hid)
			scale(dh, b.masks[l])
		}
		for j := range dh {
			dh[j] += dh0[j]
		}
		reluBack(dh, b.pre[0])
		b.layers[0].backward(nil, dh, b.xin[0], n)
	}
}

// step runs one forward pass and, when backward is set, accumulates the
// gradient of the loss: the mean over the labeled nodes of the negative
// log of the fused output, the average over branches of their log-softmax.
// It returns the loss and leaves the fused log-probabilities in out.
func (m *Model) step(y, labeled []int, train, backward bool, out []float64) float64 {
	C, B := m.classes, float64(len(m.branches))
	clear(out)
	if backward {
		clear(m.grads)
	}
	for _, b := range m.branches {
		m.forwardBranch(b, train)
		for i := range m.n {
			z := b.logit[i*C : (i+1)*C]
			mx := math.Inf(-1)
			for _, v := range z {
				mx = max(mx, v)
			}
			var s float64
			for _, v := range z {
				s += math.Exp(v - mx)
			}
			lse := mx + math.Log(s)
			for c, v := range z {
				out[i*C+c] += (v - lse) / B
				z[c] = v - lse // b.logit now holds log-softmax
			}
		}
	}
	var loss float64
	for _, i := range labeled {
		loss -= out[i*C+y[i]]
	}
	loss /= float64(len(labeled))
	if !backward {
		return loss
	}
	w := 1 / (B * float64(len(labeled)))
	for _, b := range m.branches {
		b.dz = buf(b.dz, m.n*C)
		dz := b.dz
		clear(dz)
		for _, i := range labeled {
			for c := range C {
				dz[i*C+c] = w * math.Exp(b.logit[i*C+c])
			}
			dz[i*C+y[i]] -= w
		}
		m.backwardBranch(b, dz)
	}
	return loss
}

// Train fits a network with one branch per view (their log-softmax outputs
// averaged) by full-batch Adam on the labeled nodes: y holds every node's
// class (entries outside labeled are not read and may be -1), classes is
// the number of classes. With one view this is plain HGNN, ResHGNN or an
// MLP; with several, MultiHGNN or ResMHGNN.
func Train(ctx context.Context, views []View, y []int, labeled []int, classes int, cfg Config) (*Model, error) {
	m, err := newModel(views, classes, cfg)
	if err != nil {
		return nil, err
	}
	if len(y) != m.n {
		return nil, fmt.Errorf("%w: %d labels for %d nodes", ErrConfig, len(y), m.n)
	}
	if len(labeled) == 0 {
		return nil, fmt.Errorf("%w: no labeled nodes", ErrConfig)
	}
	for _, i := range labeled {
		if i < 0 || i >= m.n {
			return nil, fmt.Errorf("%w: labeled node %d, want 0..%d", ErrConfig, i, m.n-1)
		}
		if y[i] < 0 || y[i] >= classes {
			return nil, fmt.Errorf("%w: node %d has class %d, want 0..%d", ErrConfig, i, y[i], classes-1)
		}
	}
	out := make([]float64, m.n*classes)
	opt := adam{lr: cfg.LR, wd: cfg.WeightDecay}
	for range cfg.Epochs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		loss := m.step(y, labeled, true, true, out)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("hgnn: training diverged (loss %v); lower the learning rate", loss)
		}
		m.Losses = append(m.Losses, loss)
		opt.update(m.params, m.grads)
	}
	return m, nil
}

// Predict returns the class of every node (inference mode: no dropout).
func (m *Model) Predict() []int {
	C := m.classes
	out := make([]float64, m.n*C)
	m.step(nil, nil, false, false, out)
	pred := make([]int, m.n)
	for i := range pred {
		row := out[i*C : (i+1)*C]
		for c, v := range row {
			if v > row[pred[i]] {
				pred[i] = c
			}
		}
	}
	return pred
}

// adam is Adam with coupled L2 weight decay (PyTorch's Adam) on float64
// parameters; train.Adam works on the float32 networks of package nn.
type adam struct {
	lr, wd float64
	m, v   []float64
	t      int
}

func (o *adam) update(w, g []float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	if o.m == nil {
		o.m, o.v = make([]float64, len(w)), make([]float64, len(w))
	}
	o.t++
	c1, c2 := 1-math.Pow(b1, float64(o.t)), math.Sqrt(1-math.Pow(b2, float64(o.t)))
	for i, gi := range g {
		gi += o.wd * w[i]
		o.m[i] = b1*o.m[i] + (1-b1)*gi
		o.v[i] = b2*o.v[i] + (1-b2)*gi*gi
		w[i] -= o.lr / c1 * o.m[i] / (math.Sqrt(o.v[i])/c2 + eps)
	}
}

// tensor is one weight tensor (a layer's W or b) and its gradient.
type tensor struct{ w, g []float64 }

// tensors lists the weights in the order branch, layer, W then b.
func (m *Model) tensors() []tensor {
	var out []tensor
	for _, b := range m.branches {
		for _, l := range b.layers {
			out = append(out, tensor{l.w, l.gw}, tensor{l.b, l.gb})
		}
	}
	return out
}
