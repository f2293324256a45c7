package nn

import (
	"fmt"
	"strings"

	"github.com/trustml/trustml/internal/linalg"
)

// Multi-head networks (robustness.md §8, SOME): a shared trunk, H heads
// that are copies of the same layers with their own weights, and logits
// that are the sum of the heads' logits. Such a network is an ordinary
// [Network] built from existing layer kinds, so it classifies, clones and
// checkpoints like any other:
//
//	trunk ... → concat{head₁, ..., head_H} → dense(K)
//
// where head_h ends in a feature vector f_h of width F and the final dense
// layer, with weight W = [W₁ … W_H] (K×H·F) and bias b, computes
// Σ_h W_h f_h + b. Head h's own logits are z_h = W_h f_h + b/H, so the
// network's logits are exactly Σ_h z_h: the heads share one bias vector,
// split equally among them (the paper's heads each have their own bias;
// tying them is a reparametrisation that keeps the ensemble's form).

// Span is a run of values [Off, Off+Len) of a network's flat weight
// vector.
type Span struct{ Off, Len int }

// MultiHead returns spec with its last layers, up to the final dense one,
// replaced by heads copies of them side by side (a concat layer), and the
// final dense layer reading all of them: the multi-head architecture of
// SOME. The heads begin at the last stride-2 residual stage of a ResNet
// (its third stage, as the paper's heads), at the Flatten of a CNN (the
// hidden dense layer), or at the last hidden dense layer of an MLP. The
// name gets "-Hheads" appended.
func MultiHead(spec Spec, heads int) (Spec, error) {
	if heads < 2 {
		return Spec{}, fmt.Errorf("nn: %d heads; a multi-head network needs at least 2", heads)
	}
	ls := spec.Layers
	last := len(ls) - 1
	if last < 1 || ls[last].Kind != KindDense {
		return Spec{}, fmt.Errorf("nn: %s: the last layer must be dense to make heads", spec.Name)
	}
	if ls[last-1].Kind == KindConcat {
		return Spec{}, fmt.Errorf("nn: %s already ends in a concat layer", spec.Name)
	}
	split := -1
	for i := last - 1; i > 0 && split < 0; i-- {
		if l := ls[i]; l.Kind == KindResidual && len(l.Body) > 0 && l.Body[0].Stride == 2 {
			split = i
		}
	}
	for i := 1; i < last && split < 0; i++ {
		if ls[i].Kind == KindFlatten {
			split = i
		}
	}
	for i := last - 1; i > 0 && split < 0; i-- {
		if ls[i].Kind == KindDense {
			split = i
		}
	}
	if split < 0 {
		return Spec{}, fmt.Errorf("nn: %s has no layer to start heads at (a stride-2 residual stage, a Flatten after the first layer, or a hidden dense layer)", spec.Name)
	}
	head := ls[split:last]
	branches := make([][]LayerSpec, heads)
	for h := range branches {
		branches[h] = append([]LayerSpec(nil), head...)
	}
	out := spec
	out.Name = fmt.Sprintf("%s-%dheads", spec.Name, heads)
	out.Layers = append(append(append([]LayerSpec(nil), ls[:split]...), LayerSpec{Kind: KindConcat, Branches: branches}), ls[last])
	return out, nil
}

// NumHeads is the number of heads of a network made by [MultiHead] (a
// concat of at least two identical branches right before the final dense
// layer), or 0 for any other network.
func (net *Network) NumHeads() int {
	ls := net.spec.Layers
	if len(ls) < 2 || ls[len(ls)-2].Kind != KindConcat {
		return 0
	}
	br := ls[len(ls)-2].Branches
	first := Spec{Layers: br[0]}
	for _, b := range br[1:] {
		if !first.Equal(Spec{Layers: b}) {
			return 0
		}
	}
	return len(br)
}

// heads returns the concat layer of a multi-head network and the width F
// of each head's features.
func (net *Network) heads() (*concat, int, error) {
	h := net.NumHeads()
	if h == 0 {
		return nil, 0, fmt.Errorf("nn: %s is not a multi-head network (nn.MultiHead)", net.spec.Name)
	}
	c := net.layers[len(net.layers)-2].(*concat)
	return c, net.head.in / h, nil
}

// HeadLogits writes the logits of every head for the n inputs of the last
// [Network.Forward] into dst, head-major: dst[(h·n+i)·K+k] is z_h of input
// i and class k. The heads' logits sum to the network's. It fails for a
// network that is not multi-head or a dst of the wrong length.
func (net *Network) HeadLogits(dst []float32) error {
	_, f, err := net.heads()
	if err != nil {
		return err
	}
	h, n, k := net.NumHeads(), net.n, net.spec.NumClasses
	if len(dst) != h*n*k {
		return fmt.Errorf("nn: head logits destination has %d values, want %d heads × %d inputs × %d classes", len(dst), h, n, k)
	}
	x, w, b := net.head.x, net.head.w.W, net.head.b.W
	hf := h * f
	for j := 0; j < h; j++ {
		z := dst[j*n*k : (j+1)*n*k]
		for i := 0; i < n; i++ {
			for c := 0; c < k; c++ {
				z[i*k+c] = b[c] / float32(h)
			}
		}
		linalg.Sgemm(false, true, n, k, f, 1, x[j*f:], hf, w[j*f:], hf, 1, z, k)
	}
	return nil
}

// BackwardHeads back-propagates dz, the gradient of a loss with respect to
// the heads' logits of the last [Network.Forward] (laid out as
// [Network.HeadLogits] writes them), accumulating the parameter gradients
// into [Network.Grads]. Each head thus gets its own gradient, which the
// network's [Network.Backward] of the summed logits cannot give.
func (net *Network) BackwardHeads(dz []float32) error {
	_, f, err := net.heads()
	if err != nil {
		return err
	}
	h, n, k := net.NumHeads(), net.n, net.spec.NumClasses
	if len(dz) != h*n*k {
		return fmt.Errorf("nn: head logit gradient has %d values, want %d heads × %d inputs × %d classes", len(dz), h, n, k)
	}
	d := net.head
	hf := h * f
	d.dx = grow(d.dx, n*hf)
	for j := 0; j < h; j++ {
		g := dz[j*n*k : (j+1)*n*k]
		// dW_h += g_hᵀ f_h, db += Σ g_h / H, df_h = g_h W_h
		linalg.Sgemm(true, false, k, f, n, 1, g, k, d.x[j*f:], hf, 1, d.w.G[j*f:], hf)
		for i := 0; i < n; i++ {
			for c := 0; c < k; c++ {
				d.b.G[c] += g[i*k+c] / float32(h)
			}
		}
		linalg.Sgemm(false, false, n, f, k, 1, g, k, d.w.W[j*f:], hf, 0, d.dx[j*f:], hf)
	}
	net.layers[:len(net.layers)-1].backward(d.dx[:n*hf], false)
	return nil
}

// HeadSpans returns, for every head of a multi-head network, the parts of
// [Network.Weights] that are its own: its branch's parameters and its
// block of columns of the final weight (not the shared bias). SOME's
// orthogonality term compares these vectors.
func (net *Network) HeadSpans() ([][]Span, error) {
	_, f, err := net.heads()
	if err != nil {
		return nil, err
	}
	h := net.NumHeads()
	spans := make([][]Span, h)
	cat := len(net.layers) - 2
	off := 0
	for _, p := range net.params {
		for j := 0; j < h; j++ {
			if strings.HasPrefix(p.Name, fmt.Sprintf("%d.branches.%d.", cat, j)) {
				spans[j] = append(spans[j], Span{off, p.Size()})
			}
		}
		off += p.Size()
	}
	wOff := len(net.w) - net.head.out - net.head.out*net.head.in // the final weight precedes its bias
	for j := 0; j < h; j++ {
		for c := 0; c < net.head.out; c++ {
			spans[j] = append(spans[j], Span{wOff + c*net.head.in + j*f, f})
		}
	}
	return spans, nil
}
