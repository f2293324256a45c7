package unlearn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/trustml/trustml/internal/registry"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/train"
)

// ErrUnknown is matched (errors.Is) by the error for an unknown method
// name, which lists the known ones.
var ErrUnknown = registry.ErrUnknown

// Hyper holds the settings of every method; a zero Epochs or LR takes the
// method's default ([DefaultHyper] documents them). The struct tags make
// them "trustml unlearn" flags.
type Hyper struct {
	Epochs int     `flag:"epochs" help:"epochs of ft, rl, l1, salun and natmu (over the retain set), of ga (over the forget set); 0: the method's default"`
	LR     float64 `flag:"lr" help:"learning rate of the method; 0: its default (ft 0.01, ga 0.05, rl 0.01, l1 0.01, salun 0.01, sfr-on 0.01, natmu 0.001 AdamW)"`
	Batch  int     `flag:"batch" help:"batch size"`
	// RetrainEpochs and RetrainLR are retraining's (and pretraining's):
	// SGD with Nesterov momentum 0.9, weight decay 5e-4, cosine schedule.
	RetrainEpochs int     `flag:"retrain-epochs" help:"epochs of retraining from scratch on the retain set"`
	RetrainLR     float64 `flag:"retrain-lr" help:"learning rate of retraining"`
	// GAClip is gradient ascent's gradient-norm clip.
	GAClip float64 `flag:"ga-clip" help:"ga: clip the gradient's norm to this"`
	// L1Alpha is the ℓ1 weight of l1 at the first epoch, decaying
	// linearly to 0 (Jia et al. 2023).
	L1Alpha float64 `flag:"l1-alpha" help:"l1: ℓ1 weight at the first epoch, decaying linearly"`
	// SaliencyTop is the fraction of weights SalUn's mask keeps.
	SaliencyTop float64 `flag:"salun-top" help:"salun: fraction of weights with the largest forget-gradient magnitude that are updated"`
	// SFRConfig holds SFR-on's settings (embedded, so its flags bind too).
	SFRConfig
	// Delta shifts NatMU's blending masks; Patterns is the number of
	// natural instances per forget sample (≤ 4).
	Delta    float64 `flag:"natmu-delta" help:"natmu: shift δ of the blending masks (forget image weight ≈ 0.5+δ)"`
	Patterns int     `flag:"natmu-patterns" help:"natmu: blended instances per forget sample (1..4)"`
}

// DefaultHyper returns the defaults: batch 64; retraining as pretraining
// (10 epochs, lr 0.05); ga's clip 0.1 (the reference code's); l1's α 5e-4;
// SalUn's top 20%; SFR-on's and NatMU's reference settings
// ([DefaultSFRConfig], δ −0.19 and 4 patterns).
func DefaultHyper() Hyper {
	return Hyper{Batch: 64, RetrainEpochs: 10, RetrainLR: 0.05, GAClip: 0.1, L1Alpha: 5e-4, SaliencyTop: 0.2,
		SFRConfig: DefaultSFRConfig(), Delta: -0.19, Patterns: 4}
}

// methodDefaults are each method's epochs and learning rate.
var methodDefaults = map[string]struct {
	epochs int
	lr     float64
}{
	"ft": {5, 0.01}, "ga": {5, 0.05}, "rl": {5, 0.01}, "l1": {5, 0.01}, "salun": {5, 0.01},
	"sfr-on": {0, 0.01}, "natmu": {5, 0.001},
}

func (h Hyper) epochsLR(name string) (int, float64) {
	d := methodDefaults[name]
	e, lr := h.Epochs, h.LR
	if e <= 0 {
		e = d.epochs
	}
	if lr <= 0 {
		lr = d.lr
	}
	return e, lr
}

func (h *Hyper) check() error {
	switch {
	case h.Batch <= 0 || h.Epochs < 0 || h.RetrainEpochs <= 0:
		return fmt.Errorf("unlearn: --batch (%d) and --retrain-epochs (%d) must be > 0, --epochs (%d) ≥ 0", h.Batch, h.RetrainEpochs, h.Epochs)
	case !(h.LR >= 0) || !(h.RetrainLR > 0) || math.IsInf(h.LR+h.RetrainLR, 0):
		return fmt.Errorf("unlearn: --lr %g must be ≥ 0 and --retrain-lr %g > 0", h.LR, h.RetrainLR)
	case !(h.GAClip > 0) || !(h.L1Alpha >= 0):
		return fmt.Errorf("unlearn: --ga-clip %g must be > 0 and --l1-alpha %g ≥ 0", h.GAClip, h.L1Alpha)
	case !(h.SaliencyTop > 0 && h.SaliencyTop <= 1):
		return fmt.Errorf("unlearn: --salun-top %g outside (0, 1]", h.SaliencyTop)
	case h.Patterns < 1 || h.Patterns > 4 || !(h.Delta > -1 && h.Delta < 1):
		return fmt.Errorf("unlearn: --natmu-patterns %d outside 1..4 or --natmu-delta %g outside (−1, 1)", h.Patterns, h.Delta)
	}
	return h.SFRConfig.check()
}

// Method unlearns t's forget set from net in place, drawing from r.
type Method func(ctx context.Context, net *nn.Network, t *Task, h Hyper, r *rand.Rand, rep progress.Reporter) error

var methods = registry.New[Method]("unlearning method")

// Register adds an unlearning method under name (for init functions).
func Register(name string, m Method) { methods.Register(name, m) }

// Lookup returns the method registered under name, or an error matching
// [ErrUnknown] that lists the known names.
func Lookup(name string) (Method, error) { return methods.Lookup(name) }

// Methods lists the registered method names, sorted.
func Methods() []string { return methods.Names() }

func init() {
	Register("retrain", Retrain)
	Register("ft", FineTune)
	Register("ga", GradientAscent)
	Register("rl", RandomLabel)
	Register("l1", L1Sparse)
	Register("salun", SalUn)
	Register("sfr-on", SFROn)
	Register("natmu", NatMU)
}

// sgd is the optimizer of the fine-tuning methods: SGD, momentum 0.9,
// weight decay 5e-4.
func sgd(lr float64) *train.SGD { return &train.SGD{Rate: lr, Momentum: 0.9, WeightDecay: 5e-4} }

// fit trains net on the samples (x, y) with opt and a cosine schedule.
func fit(ctx context.Context, net *nn.Network, x []float32, y []int, opt train.Optimizer, epochs, batch int, r *rand.Rand, rep progress.Reporter) error {
	_, err := train.Fit(ctx, net, x, y, train.Config{Epochs: epochs, BatchSize: batch, Seed: r.Uint64(),
		Optimizer: opt, Schedule: train.Cosine{Base: opt.LR()}, Progress: rep})
	if err != nil {
		return fmt.Errorf("unlearn: %w", err)
	}
	return nil
}

// Retrain trains a fresh network of net's architecture on the retain set
// (the gold standard), with pretraining's recipe: SGD with Nesterov
// momentum 0.9, weight decay 5e-4, lr h.RetrainLR on a cosine schedule,
// h.RetrainEpochs epochs.
func Retrain(ctx context.Context, net *nn.Network, t *Task, h Hyper, r *rand.Rand, rep progress.Reporter) error {
	fresh, err := nn.New(net.Spec(), r.Uint64())
	if err != nil {
		return fmt.Errorf("unlearn: %w", err)
	}
	copy(net.Weights(), fresh.Weights())
	copy(net.BufferData(), fresh.BufferData())
	rs := t.RetainSet()
	opt, err := train.NewSGD(h.RetrainLR, 0.9, 5e-4, true)
	if err != nil {
		return err
	}
	return fit(ctx, net, rs.X, rs.Y, opt, h.RetrainEpochs, h.Batch, r, rep)
}

// FineTune (FT) trains on the retain set only: SGD, momentum 0.9, weight
// decay 5e-4, cosine schedule.
func FineTune(ctx context.Context, net *nn.Network, t *Task, h Hyper, r *rand.Rand, rep progress.Reporter) error {
	e, lr := h.epochsLR("ft")
	rs := t.RetainSet()
	return fit(ctx, net, rs.X, rs.Y, sgd(lr), e, h.Batch, r, rep)
}

// randomWrong relabels each label with a uniformly drawn different class.
func randomWrong(y []int, k int, r *rand.Rand) []int {
	out := make([]int, len(y))
	for i, l := range y {
		c := r.IntN(k - 1)
		if c >= l {
			c++
		}
		out[i] = c
	}
	return out
}

// relabelled returns the retain set followed by the forget set with random
// wrong labels (RL's and SalUn's training data).
func relabelled(t *Task, k int, r *rand.Rand) ([]float32, []int) {
	rs, fs := t.RetainSet(), t.ForgetSet()
	x := append(rs.X, fs.X...)
	y := append(rs.Y, randomWrong(fs.Y, k, r)...)
	return x, y
}

// RandomLabel (RL) relabels every forget sample with a random wrong class
// and fine-tunes on the retain set and the relabelled forget set.
func RandomLabel(ctx context.Context, net *nn.Network, t *Task, h Hyper, r *rand.Rand, rep progress.Reporter) error {
	e, lr := h.epochsLR("rl")
	x, y := relabelled(t, net.NumClasses(), r)
	return fit(ctx, net, x, y, sgd(lr), e, h.Batch, r, rep)
}

// maskedSGD multiplies every gradient by a 0/1 mask before SGD's update
// (weight decay still applies to every weight, as in the reference code).
type maskedSGD struct {
	*train.SGD
	mask []float32
}

// Step evaluates c, masks the gradient and updates.
func (o *maskedSGD) Step(p train.Params, c train.Closure) (float64, error) {
	l, err := c()
	if err != nil {
		return l, err
	}
	g := p.Grads()
	for i, m := range o.mask {
		g[i] *= m
	}
	o.Update(p.Weights(), g)
	return l, nil
}

// SaliencyMask accumulates |Σ_batches ∇(−CE)| over the forget set (eval
// mode, batches of batch) and returns a 0/1 mask keeping the top fraction of
// weights, ranked globally across tensors (SalUn).
func SaliencyMask(ctx context.Context, net *nn.Network, t *Task, batch int, top float64) ([]float32, error) {
	acc := make([]float64, net.NumParams())
	g := make([]float32, net.NumParams())
	fs := t.ForgetSet()
	size := fs.SampleSize()
	for lo := 0; lo < fs.Len(); lo += batch {
		hi := min(lo+batch, fs.Len())
		if _, err := net.ParamGrad(ctx, g, fs.X[lo*size:hi*size], nn.CrossEntropyLoss(fs.Y[lo:hi])); err != nil {
			return nil, fmt.Errorf("unlearn: saliency: %w", err)
		}
		for i, v := range g {
			acc[i] -= float64(v)
		}
	}
	idx := make([]int, len(acc))
	for i := range idx {
		idx[i] = i
		acc[i] = math.Abs(acc[i])
	}
	sort.SliceStable(idx, func(a, b int) bool { return acc[idx[a]] > acc[idx[b]] })
	mask := make([]float32, len(acc))
	for _, i := range idx[:int(math.Round(top*float64(len(idx))))] {
		mask[i] = 1
	}
	return mask, nil
}

// SalUn is RL with the gradients masked by the weight-saliency mask
// ([SaliencyMask], top h.SaliencyTop).
func SalUn(ctx context.Context, net *nn.Network, t *Task, h Hyper, r *rand.Rand, rep progress.Reporter) error {
	e, lr := h.epochsLR("salun")
	mask, err := SaliencyMask(ctx, net, t, h.Batch, h.SaliencyTop)
	if err != nil {
		return err
	}
	x, y := relabelled(t, net.NumClasses(), r)
	return fit(ctx, net, x, y, &maskedSGD{SGD: sgd(lr), mask: mask}, e, h.Batch, r, rep)
}

// l1SGD adds α_t·sign(w), the subgradient of α_t‖w‖₁, to the gradient,
// α_t decaying linearly from Alpha at the first epoch to 0.
type l1SGD struct {
	*train.SGD
	alpha         float64
	step, perEp   int
	epochs, total int
}

// Step evaluates c, adds the ℓ1 subgradient and updates.
func (o *l1SGD) Step(p train.Params, c train.Closure) (float64, error) {
	l, err := c()
	if err != nil {
		return l, err
	}
	ep := o.step / max(o.perEp, 1)
	a := float32(o.alpha * (1 - float64(ep)/float64(o.epochs)))
	o.step++
	g, w := p.Grads(), p.Weights()
	for i, wi := range w {
		switch {
		case wi > 0:
			g[i] += a
		case wi < 0:
			g[i] -= a
		}
	}
	o.Update(w, g)
	return l, nil
}

// L1Sparse fine-tunes on the retain set with an ℓ1 penalty on the weights
// whose weight decays linearly to 0 over the epochs ("Model Sparsity Can
// Simplify Machine Unlearning", Jia et al. 2023).
func L1Sparse(ctx context.Context, net *nn.Network, t *Task, h Hyper, r *rand.Rand, rep progress.Reporter) error {
	e, lr := h.epochsLR("l1")
	rs := t.RetainSet()
	bs := min(h.Batch, rs.Len())
	return fit(ctx, net, rs.X, rs.Y, &l1SGD{SGD: sgd(lr), alpha: h.L1Alpha, perEp: rs.Len() / bs, epochs: e}, e, h.Batch, r, rep)
}

// GradientAscent (GA) maximises the cross-entropy of the forget set in
// inference mode (batch-norm statistics frozen), the gradient's norm
// clipped to h.GAClip, SGD with momentum 0.9 and weight decay 5e-4.
func GradientAscent(ctx context.Context, net *nn.Network, t *Task, h Hyper, r *rand.Rand, rep progress.Reporter) error {
	e, lr := h.epochsLR("ga")
	fs := t.ForgetSet()
	size, n := fs.SampleSize(), fs.Len()
	bs := min(h.Batch, n)
	per := (n + bs - 1) / bs
	opt := sgd(lr)
	sched := train.Cosine{Base: lr}
	g := net.Grads()
	x := make([]float32, 0, bs*size)
	y := make([]int, 0, bs)
	step, total := 0, e*per
	for ep := range e {
		perm := r.Perm(n)
		for b := range per {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("unlearn: ga: %w", err)
			}
			x, y = x[:0], y[:0]
			for _, i := range perm[b*bs : min((b+1)*bs, n)] {
				x = append(x, fs.Row(i)...)
				y = append(y, fs.Y[i])
			}
			l, err := net.ParamGrad(ctx, g, x, nn.CrossEntropyLoss(y))
			if err != nil {
				return fmt.Errorf("unlearn: ga: %w", err)
			}
			scale(g, -1)
			clipNorm(g, h.GAClip)
			opt.SetLR(sched.LR(step, total))
			opt.Update(net.Weights(), g)
			step++
			progress.Or(rep).Update(fmt.Sprintf("ga epoch %d/%d", ep+1, e), b+1, per, fmt.Sprintf("forget loss %.4f", l))
		}
	}
	return nil
}

func scale(g []float32, s float32) {
	for i := range g {
		g[i] *= s
	}
}

// clipNorm scales g to norm at most c (PyTorch's clip_grad_norm_, with its
// 1e-6 in the denominator).
func clipNorm(g []float32, c float64) {
	var s float64
	for _, v := range g {
		s += float64(v) * float64(v)
	}
	if n := math.Sqrt(s); n > c {
		scale(g, float32(c/(n+1e-6)))
	}
}
