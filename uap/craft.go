package uap

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/registry"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
)

// ErrUnknown is matched (errors.Is) by the error for an unknown method.
var ErrUnknown = registry.ErrUnknown

// Options configures [Craft].
type Options struct {
	// Method is a registered method: "fg-uap", "uap", "gd-uap",
	// "dominant" or "random" (see [Methods]).
	Method string `flag:"method" help:"fg-uap (feature gathering), uap (DeepFool-style, as ART), gd-uap (data-free), dominant (§12 pattern), random (signs)"`
	// Eps is the ℓ∞ radius ξ on the [0, 1] pixel scale, in (0, 1].
	Eps float64 `flag:"eps" help:"ℓ∞ radius ξ of the perturbation on the [0, 1] pixel scale, in (0, 1]"`
	// Layer is the feature layer of the feature methods ([LayerNames]):
	// "penultimate" (FG-UAP's choice), a name such as "conv2" or an index.
	Layer string `flag:"layer" help:"feature layer: penultimate, a name (conv2, relu3, ...) or a top-level index"`
	// Epochs is the number of passes over the crafting images (uap: at
	// most that many; it stops once the fooling rate reaches 1 − Delta).
	Epochs int `flag:"epochs" help:"passes over the crafting images (uap: at most)"`
	// Batch is the minibatch of the optimisation methods (official: 32).
	Batch int `flag:"batch" help:"minibatch of fg-uap, dominant and gd-uap"`
	// LR is Adam's learning rate; 0 means 0.51·Eps, the official 0.02 at
	// ξ = 10/255.
	LR float64 `flag:"lr" help:"Adam learning rate (0: 0.51·ε, the official ratio 0.02 at ξ = 10/255)"`
	// WeightDecay is Adam's (PyTorch-style, added to the gradient; official 1e-5).
	WeightDecay float64
	// Delta stops uap once its fooling rate on the crafting images
	// reaches 1 − Delta (ART: 0.2).
	Delta float64
	// DeepFoolIter bounds DeepFool's steps per image (ART: 100) and
	// Overshoot is its final overshoot (ART: 1e-6).
	DeepFoolIter int
	Overshoot    float64
	Seed         uint64 `flag:"seed" help:"seed of the shuffling and the initial perturbation"`
}

// DefaultOptions returns FG-UAP with ξ = 0.1 (Fashion-MNIST's usual ℓ∞
// radius) on the penultimate features, 2 epochs of Adam with batch 32 and
// the official lr/ξ ratio, and ART's UAP settings.
func DefaultOptions() Options {
	return Options{Method: "fg-uap", Eps: 0.1, Layer: Penultimate, Epochs: 2, Batch: 32,
		WeightDecay: 1e-5, Delta: 0.2, DeepFoolIter: 100, Overshoot: 1e-6, Seed: 1}
}

// Perturbation is a universal perturbation: one image-sized v with
// ‖v‖∞ ≤ Eps, added to every image.
type Perturbation struct {
	Shape  []int     `json:"shape"` // C×H×W (or D) of one image
	V      []float32 `json:"-"`
	Eps    float64   `json:"eps"`
	Method string    `json:"method"`
	Model  string    `json:"model,omitempty"`
	// Layer and LayerIndex name the feature layer of the feature methods.
	Layer      string `json:"layer,omitempty"`
	LayerIndex int    `json:"layer_index"`
	// Steps counts optimiser steps (uap: DeepFool updates) and Seconds the
	// time spent crafting.
	Steps   int     `json:"steps"`
	Seconds float64 `json:"seconds"`
	// TrainFooling is uap's fooling rate on the crafting images after
	// each pass (clipped images, ART's rule); empty for other methods.
	TrainFooling []float64 `json:"train_fooling,omitempty"`
}

// MaxAbs returns ‖V‖∞.
func (p *Perturbation) MaxAbs() float64 {
	var m float64
	for _, x := range p.V {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// method crafts into c.v.
type method func(ctx context.Context, c *crafter) error

var methods = registry.New[method]("UAP method")

func init() {
	methods.Register("fg-uap", craftFeature)
	methods.Register("dominant", craftFeature)
	methods.Register("gd-uap", craftFeature)
	methods.Register("uap", craftDeepFool)
	methods.Register("random", craftRandom)
}

// Methods lists the registered method names.
func Methods() []string { return methods.Names() }

// Validate checks the options, naming the one at fault.
func (o *Options) Validate() error {
	if _, err := methods.Lookup(o.Method); err != nil {
		return fmt.Errorf("uap: --method: %w", err)
	}
	switch {
	case !(o.Eps > 0 && o.Eps <= 1):
		return fmt.Errorf("uap: --eps %g outside (0, 1] (ℓ∞ radius on the [0, 1] pixel scale)", o.Eps)
	case o.Epochs < 1:
		return fmt.Errorf("uap: --epochs %d, want ≥ 1", o.Epochs)
	case o.Batch < 1 || o.Batch > 4096:
		return fmt.Errorf("uap: --batch %d outside [1, 4096]", o.Batch)
	case o.LR < 0 || math.IsInf(o.LR, 0) || math.IsNaN(o.LR):
		return fmt.Errorf("uap: --lr %g, want ≥ 0 (0: 0.51·ε)", o.LR)
	case o.WeightDecay < 0 || o.Delta < 0 || o.Delta >= 1 || o.Overshoot < 0 || o.DeepFoolIter < 0:
		return fmt.Errorf("uap: weight decay, overshoot and DeepFool steps must be ≥ 0 and δ in [0, 1)")
	}
	return nil
}

// crafter is the state of one [Craft] call.
type crafter struct {
	o     Options
	net   *nn.Network
	train *data.Dataset
	fn    *featureNet // nil for methods without a layer
	v     []float32
	in    int
	rng   *rand.Rand
	pr    progress.Reporter
	steps int
	fool  []float64
	// buffers of the objectives
	xb, xv, gx, clean []float32
}

// Craft computes a universal perturbation for net from the images of train
// (labels are not used: every method is label-free or uses net's own
// predictions). The result is within Eps in ℓ∞ (not clipped to keep x + v
// in [0, 1]: the evaluation reports both conventions).
func Craft(ctx context.Context, net *nn.Network, train *data.Dataset, o Options, pr progress.Reporter) (*Perturbation, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if net == nil {
		return nil, fmt.Errorf("uap: no model")
	}
	if train == nil || train.Len() == 0 {
		return nil, fmt.Errorf("uap: no crafting images")
	}
	if !slices.Equal(train.Shape, net.InputShape()) {
		return nil, fmt.Errorf("uap: data set %s has samples of shape %v, the model takes %v", train.Name, train.Shape, net.InputShape())
	}
	if o.LR == 0 {
		o.LR = 0.51 * o.Eps
	}
	m, _ := methods.Lookup(o.Method)
	c := &crafter{o: o, net: net, train: train, in: train.SampleSize(), pr: progress.Or(pr),
		rng: rand.New(rand.NewPCG(o.Seed, 0x75a9))}
	c.v = make([]float32, c.in)
	p := &Perturbation{Shape: slices.Clone(train.Shape), Eps: o.Eps, Method: o.Method}
	if _, ok := objectives[o.Method]; ok {
		idx, err := ResolveLayer(net.Spec(), o.Layer)
		if err != nil {
			return nil, err
		}
		if c.fn, err = newFeatureNet(net, idx, o.Batch+1); err != nil {
			return nil, err
		}
		p.Layer, p.LayerIndex = layerName(net.Spec(), idx), idx
	}
	start := time.Now()
	if err := m(ctx, c); err != nil {
		return nil, fmt.Errorf("uap: %s: %w", o.Method, err)
	}
	project(c.v, o.Eps)
	p.V, p.Steps, p.TrainFooling, p.Seconds = c.v, c.steps, c.fool, time.Since(start).Seconds()
	return p, nil
}

// layerName is the name LayerNames gives top-level layer idx.
func layerName(spec nn.Spec, idx int) string { return LayerNames(spec)[idx+1] }

// project clips v to [−eps, eps] (the ℓ∞ ball; ART's sign·min(|v|, ε)).
func project(v []float32, eps float64) {
	e := float32(eps)
	for i, x := range v {
		v[i] = min(max(x, -e), e)
	}
	// float32(eps) may round above eps.
	if float64(e) > eps {
		e = math.Nextafter32(e, 0)
		for i, x := range v {
			v[i] = min(max(x, -e), e)
		}
	}
}

// batches returns the crafting images shuffled into batches of at most b.
func (c *crafter) batches(b int) [][]int {
	perm := c.rng.Perm(c.train.Len())
	var out [][]int
	for lo := 0; lo < len(perm); lo += b {
		out = append(out, perm[lo:min(lo+b, len(perm))])
	}
	return out
}

// adam minimises an objective of v by Adam (PyTorch's update, weight decay
// added to the gradient) with projection onto the ε-ball after every step.
// grad writes the objective's gradient with respect to v for one batch.
func (c *crafter) adam(ctx context.Context, label string, grad func(ctx context.Context, idx []int, gv []float32) (float64, error)) error {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	m, s := make([]float64, c.in), make([]float64, c.in)
	gv := make([]float32, c.in)
	total := c.o.Epochs * ((c.train.Len() + c.o.Batch - 1) / c.o.Batch)
	var t int
	for ep := range c.o.Epochs {
		var sum float64
		bs := c.batches(c.o.Batch)
		for _, idx := range bs {
			if err := ctx.Err(); err != nil {
				return err
			}
			clear(gv)
			l, err := grad(ctx, idx, gv)
			if err != nil {
				return err
			}
			sum += l
			t++
			bc1, bc2 := 1-math.Pow(b1, float64(t)), 1-math.Pow(b2, float64(t))
			for i := range c.v {
				g := float64(gv[i]) + c.o.WeightDecay*float64(c.v[i])
				m[i] = b1*m[i] + (1-b1)*g
				s[i] = b2*s[i] + (1-b2)*g*g
				c.v[i] -= float32(c.o.LR * (m[i] / bc1) / (math.Sqrt(s[i]/bc2) + eps))
			}
			project(c.v, c.o.Eps)
			c.pr.Update(label, t, total, fmt.Sprintf("loss %.4f", l))
		}
		c.pr.Log("%s epoch %d: mean loss %.4f", label, ep+1, sum/float64(len(bs)))
	}
	c.steps = t
	return nil
}

// signStart sets v to lr·(random signs), clipped to the ball: Adam's first
// step from v = 0 on a gradient that is only rounding noise, which is how
// the official FG-UAP code leaves 0 (its cosine is maximal there, so the
// exact gradient vanishes and a port without the noise would never move).
func (c *crafter) signStart() {
	for i := range c.v {
		c.v[i] = float32(c.o.LR)
		if c.rng.IntN(2) == 0 {
			c.v[i] = -c.v[i]
		}
	}
	project(c.v, c.o.Eps)
}

// gather copies the images idx into dst.
func (c *crafter) gather(dst []float32, idx []int) []float32 {
	dst = grow(dst, len(idx)*c.in)
	for k, i := range idx {
		copy(dst[k*c.in:(k+1)*c.in], c.train.Row(i))
	}
	return dst
}

// sumRows adds the n rows of g (n×in) into gv.
func (c *crafter) sumRows(gv, g []float32, n int) {
	for k := range n {
		for j, x := range g[k*c.in : (k+1)*c.in] {
			gv[j] += x
		}
	}
}

// objective is the loss of a feature method on the images x (n×in) at
// c.v; it adds the loss's gradient with respect to v into gv.
type objective func(ctx context.Context, c *crafter, x, gv []float32) (float64, error)

// objectives are the feature methods' losses.
var objectives = map[string]objective{"fg-uap": fgGrad, "dominant": dominantGrad, "gd-uap": gdGrad}

// fgGrad is FG-UAP's [FGObjective] at x + v (not clipped, as the official
// code) against x.
func fgGrad(ctx context.Context, c *crafter, x, gv []float32) (float64, error) {
	n, dim := len(x)/c.in, c.fn.dim
	c.xv = grow(c.xv, len(x))
	for i := range x {
		c.xv[i] = x[i] + c.v[i%c.in]
	}
	c.clean = grow(c.clean, n*dim)
	if err := c.fn.features(ctx, c.clean, x); err != nil {
		return 0, err
	}
	c.gx = grow(c.gx, len(x))
	l, err := c.fn.lossGrad(ctx, c.gx, c.xv, func(feat, g []float32, n int) float64 {
		return FGObjective(feat, c.clean, g, n, dim)
	})
	c.sumRows(gv, c.gx, n)
	return l, err
}

// dominantGrad is [DominantObjective]: the images x + v and v alone go
// through the network in one batch.
func dominantGrad(ctx context.Context, c *crafter, x, gv []float32) (float64, error) {
	n, dim := len(x)/c.in, c.fn.dim
	c.xv = grow(c.xv, len(x)+c.in)
	for i := range x {
		c.xv[i] = x[i] + c.v[i%c.in]
	}
	copy(c.xv[len(x):], c.v)
	c.gx = grow(c.gx, len(c.xv))
	l, err := c.fn.lossGrad(ctx, c.gx, c.xv, func(feat, g []float32, _ int) float64 {
		return DominantObjective(feat, g, n, dim)
	})
	c.sumRows(gv, c.gx, n+1)
	return l, err
}

// gdGrad is [GDObjective] of v alone; x is not used (data-free).
func gdGrad(ctx context.Context, c *crafter, _, gv []float32) (float64, error) {
	c.gx = grow(c.gx, c.in)
	l, err := c.fn.lossGrad(ctx, c.gx, c.v, func(feat, g []float32, _ int) float64 {
		return GDObjective(feat, g)
	})
	c.sumRows(gv, c.gx, 1)
	return l, err
}

// craftFeature runs Adam on the method's objective from its start: random
// uniform in the ball for gd-uap (as GD-UAP), [crafter.signStart] otherwise.
func craftFeature(ctx context.Context, c *crafter) error {
	if c.o.Method == "gd-uap" {
		for i := range c.v {
			c.v[i] = float32(c.o.Eps * (2*c.rng.Float64() - 1))
		}
		project(c.v, c.o.Eps)
	} else {
		c.signStart()
	}
	obj := objectives[c.o.Method]
	return c.adam(ctx, c.o.Method, func(ctx context.Context, idx []int, gv []float32) (float64, error) {
		c.xb = c.gather(c.xb, idx)
		return obj(ctx, c, c.xb, gv)
	})
}

// ObjectiveGrad returns the loss that method ("fg-uap", "dominant" or
// "gd-uap") minimises over the images x (n×C×H×W) at the perturbation v,
// with features of layer of net, and writes its gradient with respect to v
// into gv (len(v)). It is what [Craft] differentiates at each step.
func ObjectiveGrad(ctx context.Context, net *nn.Network, method, layer string, x, v, gv []float32) (float64, error) {
	if _, ok := objectives[method]; !ok {
		return 0, fmt.Errorf("uap: method %q has no feature objective (want fg-uap, dominant or gd-uap)", method)
	}
	in := len(v)
	if in == 0 || len(gv) != in || len(x)%in != 0 || len(x) == 0 {
		return 0, fmt.Errorf("uap: %d image values, perturbation of %d values and gradient of %d do not fit", len(x), in, len(gv))
	}
	idx, err := ResolveLayer(net.Spec(), layer)
	if err != nil {
		return 0, err
	}
	fn, err := newFeatureNet(net, idx, len(x)/in+1)
	if err != nil {
		return 0, err
	}
	c := &crafter{fn: fn, in: in, v: v}
	clear(gv)
	return objectives[method](ctx, c, x, gv)
}

// craftRandom is the random-noise baseline: independent signs ±ε.
func craftRandom(_ context.Context, c *crafter) error {
	for i := range c.v {
		c.v[i] = float32(c.o.Eps)
		if c.rng.IntN(2) == 0 {
			c.v[i] = -c.v[i]
		}
	}
	return nil
}
