package uap

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/trustml/trustml/nn"
)

// Penultimate names the input of the network's last dense layer (its
// penultimate features), the layer FG-UAP hooks by default.
const Penultimate = "penultimate"

// ErrLayer is matched (errors.Is) by every error about an unknown layer.
var ErrLayer = errors.New("uap: unknown layer")

// LayerNames lists the names [ResolveLayer] accepts for spec: "penultimate",
// then one name per top-level layer but the last, its kind and its 1-based
// rank among the layers of that kind ("conv1", "relu3", "residual2").
// The top-level index ("0", "1", ...) is accepted too.
func LayerNames(spec nn.Spec) []string {
	names := []string{Penultimate}
	count := map[string]int{}
	for _, l := range spec.Layers[:len(spec.Layers)-1] {
		count[l.Kind]++
		names = append(names, fmt.Sprintf("%s%d", l.Kind, count[l.Kind]))
	}
	return names
}

// ResolveLayer returns the top-level index of the layer called name in
// spec (see [LayerNames]): features are that layer's output. The last layer
// (the classifier) is not a feature layer.
func ResolveLayer(spec nn.Spec, name string) (int, error) {
	last := len(spec.Layers) - 1
	name = strings.TrimSpace(name)
	if name == "" || name == Penultimate {
		if last < 1 {
			return 0, fmt.Errorf("%w %q: network %q has no layer before its classifier", ErrLayer, name, spec.Name)
		}
		return last - 1, nil
	}
	if i, err := strconv.Atoi(name); err == nil {
		if i < 0 || i >= last {
			return 0, fmt.Errorf("%w %q: index outside [0, %d) (the classifier, layer %d, has no features of its own); names: %s",
				ErrLayer, name, last, last, strings.Join(LayerNames(spec), ", "))
		}
		return i, nil
	}
	for i, n := range LayerNames(spec)[1:] {
		if n == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w %q in network %q: want %s, or a top-level index in [0, %d)",
		ErrLayer, name, spec.Name, strings.Join(LayerNames(spec), ", "), last)
}

// maxFeatureDim bounds the width of a feature layer (values per image).
const maxFeatureDim = 1 << 16

// featureNet computes features of one layer of a network and input
// gradients of losses of those features. It is the network cut after the
// layer, followed by a dense "probe" layer with one row per batch sample:
// to back-propagate g_i = ∂L/∂φ(x_i) the probe's row i is set to g_i and
// the logit gradient to the unit vector e_i, so that the probe's input
// gradient Wᵀe_i is g_i. That uses only [nn.Network]'s public passes.
type featureNet struct {
	net    *nn.Network
	dim    int // features per image
	rows   int // probe rows: the largest batch
	in     int // values per input image
	probeW []float32
	probeB []float32
	feat   []float32
	grad   []float32
}

// newFeatureNet cuts src after top-level layer idx, for batches of at
// most rows images.
func newFeatureNet(src *nn.Network, idx, rows int) (*featureNet, error) {
	spec := src.Spec()
	if idx < 0 || idx >= len(spec.Layers)-1 {
		return nil, fmt.Errorf("%w: index %d outside [0, %d)", ErrLayer, idx, len(spec.Layers)-1)
	}
	rows = max(rows, 2)
	cut := nn.Spec{Name: spec.Name + "-features", InputShape: spec.InputShape, NumClasses: rows,
		Layers: append(append([]nn.LayerSpec(nil), spec.Layers[:idx+1]...), nn.LayerSpec{Kind: nn.KindDense, Out: rows})}
	// Size check before allocating the probe.
	probe, err := nn.New(nn.Spec{Name: "probe-size", InputShape: spec.InputShape, NumClasses: 2,
		Layers: append(append([]nn.LayerSpec(nil), spec.Layers[:idx+1]...), nn.LayerSpec{Kind: nn.KindDense, Out: 2})}, 0)
	if err != nil {
		return nil, fmt.Errorf("uap: features of layer %d: %w", idx, err)
	}
	_, _, _, dim := probe.Head()
	if dim > maxFeatureDim {
		return nil, fmt.Errorf("%w: layer %d has %d values per image, more than %d: choose a later layer", ErrLayer, idx, dim, maxFeatureDim)
	}
	net, err := nn.New(cut, 0)
	if err != nil {
		return nil, fmt.Errorf("uap: features of layer %d: %w", idx, err)
	}
	ps := net.Params()
	head := ps[len(ps)-2:]
	shared := len(net.Weights()) - head[0].Size() - head[1].Size()
	copy(net.Weights()[:shared], src.Weights()[:shared])
	copy(net.BufferData(), src.BufferData()[:len(net.BufferData())])
	in := 1
	for _, d := range spec.InputShape {
		in *= d
	}
	return &featureNet{net: net, dim: dim, rows: rows, in: in, probeW: head[0].W, probeB: head[1].W}, nil
}

// features writes the features of the n images x into dst (n×dim).
func (f *featureNet) features(ctx context.Context, dst, x []float32) error {
	return f.net.Features(ctx, dst, x)
}

// lossGrad evaluates the features of the n ≤ rows images x, lets loss turn
// them (n×dim) into a scalar and its gradient g (n×dim, zeroed before the
// call) and writes ∂loss/∂x into gx (n×in). It returns the loss.
func (f *featureNet) lossGrad(ctx context.Context, gx, x []float32, loss func(feat, g []float32, n int) float64) (float64, error) {
	n := len(x) / f.in
	if n > f.rows || n*f.in != len(x) || len(gx) != len(x) {
		return 0, fmt.Errorf("uap: internal: batch of %d values for %d probe rows", len(x), f.rows)
	}
	f.feat = grow(f.feat, n*f.dim)
	f.grad = grow(f.grad, n*f.dim)
	if err := f.net.Features(ctx, f.feat, x); err != nil {
		return 0, err
	}
	clear(f.grad)
	l := loss(f.feat, f.grad, n)
	if math.IsNaN(l) || math.IsInf(l, 0) {
		return 0, fmt.Errorf("uap: the objective is not finite (%g)", l)
	}
	clear(f.probeW)
	clear(f.probeB)
	copy(f.probeW, f.grad)
	k := f.rows
	_, err := f.net.InputGrad(ctx, gx, x, func(_, dlogits []float32, n, _ int) float64 {
		for i := range n {
			dlogits[i*k+i] = 1
		}
		return l
	})
	return l, err
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
