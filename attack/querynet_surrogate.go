package attack

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/nn"
)

// surrogateSpec returns the architecture name of [QueryNetSurrogates] for
// inputs of shape c×h×w and k classes.
func surrogateSpec(name string, c, h, w, k int) (nn.Spec, error) {
	conv := func(out, kernel, stride int) nn.LayerSpec {
		return nn.LayerSpec{Kind: nn.KindConv, Out: out, Kernel: kernel, Stride: stride, Pad: kernel / 2}
	}
	relu := nn.LayerSpec{Kind: nn.KindReLU}
	var ls []nn.LayerSpec
	switch name {
	case "conv2":
		ls = []nn.LayerSpec{conv(8, 3, 1), relu}
		if min(h, w) >= 2 {
			ls = append(ls, nn.LayerSpec{Kind: nn.KindMaxPool, Kernel: 2})
		}
		ls = append(ls, conv(16, 3, 1), relu)
		if min(h, w) >= 4 {
			ls = append(ls, nn.LayerSpec{Kind: nn.KindMaxPool, Kernel: 2})
		}
	case "conv1":
		ls = []nn.LayerSpec{conv(8, 5, 2), relu, {Kind: nn.KindFlatten}, {Kind: nn.KindDense, Out: 32}, relu}
	case "mlp":
		ls = []nn.LayerSpec{{Kind: nn.KindFlatten}, {Kind: nn.KindDense, Out: 64}, relu}
	default:
		return nn.Spec{}, fmt.Errorf("attack: querynet: unknown surrogate %q (known: %v)", name, QueryNetSurrogates)
	}
	ls = append(ls, nn.LayerSpec{Kind: nn.KindFlatten}, nn.LayerSpec{Kind: nn.KindDense, Out: k})
	return nn.Spec{Name: "querynet-" + name, InputShape: []int{c, h, w}, NumClasses: k, Layers: ls}, nil
}

// surrogate is one of QueryNet's networks with its optimiser state and
// buffers.
type surrogate struct {
	name    string
	net     *nn.Network
	g, mom  []float32 // parameter gradient, momentum
	xb, zb  []float32 // training batch: inputs, victim logits
	trained bool
	mse     func(logits, dlogits []float32, n, k int) float64
}

func newSurrogate(name string, c, h, w, k int, seed uint64, batch int) (*surrogate, error) {
	spec, err := surrogateSpec(name, c, h, w, k)
	if err != nil {
		return nil, err
	}
	net, err := nn.New(spec, seed)
	if err != nil {
		return nil, fmt.Errorf("attack: querynet: surrogate %s: %w", name, err)
	}
	p := net.NumParams()
	s := &surrogate{name: name, net: net, g: make([]float32, p), mom: make([]float32, p),
		xb: make([]float32, batch*c*h*w), zb: make([]float32, batch*k)}
	s.mse = func(logits, dl []float32, n, k int) float64 {
		// Mean over all n·k entries of (logit − victim logit)², as
		// torch's MSELoss.
		var l float64
		inv := 2 / float64(n*k)
		for j, v := range logits[:n*k] {
			e := float64(v) - float64(s.zb[j])
			l += e * e
			dl[j] = float32(inv * e)
		}
		return l / float64(n*k)
	}
	return s, nil
}

// train takes at most steps SGD steps on batches from buf, stopping once
// the batch loss is below stop after minSteps; it returns the last loss.
func (s *surrogate) train(ctx context.Context, q *QueryNet, buf *pairBuffer, rng *rand.Rand, steps int) (float64, error) {
	loss := math.NaN()
	if buf.n == 0 {
		return loss, nil
	}
	b := min(q.Batch, buf.n)
	w := s.net.Weights()
	for step := range steps {
		buf.sample(rng, b, s.xb, s.zb)
		l, err := s.net.ParamGrad(ctx, s.g, s.xb[:b*buf.d], s.mse)
		if err != nil {
			return loss, fmt.Errorf("attack: querynet: training surrogate %s: %w", s.name, err)
		}
		loss = l
		var n2 float64
		for _, v := range s.g {
			n2 += float64(v) * float64(v)
		}
		scale := 1.0
		if nrm := math.Sqrt(n2); nrm > q.ClipNorm {
			scale = q.ClipNorm / nrm
		}
		lr, m, wd := float32(q.LR), float32(q.Momentum), float32(q.WeightDecay)
		for j, v := range s.g {
			gj := float32(scale)*v + wd*w[j]
			s.mom[j] = m*s.mom[j] + gj
			w[j] -= lr * s.mom[j]
		}
		if l < q.StopLoss && step+1 >= q.MinSteps {
			break
		}
	}
	return loss, nil
}

// pairBuffer keeps the most recent query pairs (input, victim logits).
type pairBuffer struct {
	d, k, capacity int
	n, next        int // pairs held, slot of the next one
	x, z           []float32
}

// add stores one pair, replacing the oldest when full.
func (b *pairBuffer) add(x, z []float32) {
	j := b.next
	if b.n < b.capacity {
		b.x = append(b.x, x...)
		b.z = append(b.z, z...)
		b.n++
	} else {
		copy(b.x[j*b.d:(j+1)*b.d], x)
		copy(b.z[j*b.k:(j+1)*b.k], z)
	}
	b.next = (j + 1) % b.capacity
}

// sample draws m pairs uniformly (with replacement; the official code
// draws without) into xb and zb.
func (b *pairBuffer) sample(rng *rand.Rand, m int, xb, zb []float32) {
	for t := range m {
		j := rng.IntN(b.n)
		copy(xb[t*b.d:(t+1)*b.d], b.x[j*b.d:(j+1)*b.d])
		copy(zb[t*b.k:(t+1)*b.k], b.z[j*b.k:(j+1)*b.k])
	}
}
