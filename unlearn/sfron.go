package unlearn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/train"
)

// SFRConfig holds SFR-on's settings ("Unified Gradient-Based Machine
// Unlearning with Remain Geometry Enhancement", NeurIPS 2024; training.md
// §12).
type SFRConfig struct {
	// Iters is the number of iterations (retain steps); 0 takes two epochs
	// of the retain set.
	Iters int `flag:"sfr-iters" help:"sfr-on: iterations (retain steps); 0: two epochs of the retain set"`
	// ForgetFreq: a forget (ascent) step before every ForgetFreq-th retain step.
	ForgetFreq int `flag:"sfr-forget-freq" help:"sfr-on: a forget step every this many iterations"`
	// Alpha is the forget loss's weight, decayed along a cosine.
	Alpha float64 `flag:"sfr-alpha" help:"sfr-on: weight α of the forget loss (cosine-decayed)"`
	// MaxNorm clips the masked forget gradient's norm.
	MaxNorm float64 `flag:"sfr-max-norm" help:"sfr-on: clip the forget gradient's norm to this"`
	// Lambda is the exponent of the adaptive sample weights a_i ∝ ℓ_i^−λ.
	Lambda float64 `flag:"sfr-lambda" help:"sfr-on: exponent λ of the adaptive forget weights ℓ^−λ"`
	// Gamma is the saliency threshold on the Fisher ratio F_f/F_r.
	Gamma float64 `flag:"sfr-gamma" help:"sfr-on: threshold γ of the forget/retain Fisher ratio mask"`
}

// DefaultSFRConfig returns the reference code's CIFAR-10 settings: a
// forget step every 5 iterations, α 25, clip 7, λ 0.5, γ 1.
func DefaultSFRConfig() SFRConfig {
	return SFRConfig{ForgetFreq: 5, Alpha: 25, MaxNorm: 7, Lambda: 0.5, Gamma: 1}
}

func (c *SFRConfig) check() error {
	if c.Iters < 0 || c.ForgetFreq < 1 || !(c.Alpha >= 0) || !(c.MaxNorm > 0) || !(c.Lambda >= 0) || !(c.Gamma >= 0) ||
		math.IsInf(c.Alpha+c.MaxNorm+c.Lambda+c.Gamma, 0) {
		return fmt.Errorf("unlearn: sfr-on settings %+v: want iters ≥ 0, forget-freq ≥ 1, finite α, λ, γ ≥ 0 and max-norm > 0", *c)
	}
	return nil
}

// FisherMask is SFR-on's forget–remain balanced saliency mask: the
// diagonal empirical Fisher of each set, the mean over its batches (of
// batch samples, in order, inference mode) of the squared batch gradient,
// and mask 1 where (F_f + 1e-15)/(F_r + 1e-15) ≥ gamma.
func FisherMask(ctx context.Context, net *nn.Network, forget, retain *data.Dataset, batch int, gamma float64) ([]float32, error) {
	ff, err := batchFisher(ctx, net, forget, batch)
	if err != nil {
		return nil, err
	}
	fr, err := batchFisher(ctx, net, retain, batch)
	if err != nil {
		return nil, err
	}
	mask := make([]float32, len(ff))
	for i := range mask {
		if (ff[i]+1e-15)/(fr[i]+1e-15) >= gamma {
			mask[i] = 1
		}
	}
	return mask, nil
}

func batchFisher(ctx context.Context, net *nn.Network, d *data.Dataset, batch int) ([]float64, error) {
	f := make([]float64, net.NumParams())
	g := make([]float32, net.NumParams())
	size, n := d.SampleSize(), d.Len()
	nb := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		if _, err := net.ParamGrad(ctx, g, d.X[lo*size:hi*size], nn.CrossEntropyLoss(d.Y[lo:hi])); err != nil {
			return nil, fmt.Errorf("unlearn: fisher of %s: %w", d.Name, err)
		}
		for i, v := range g {
			f[i] += float64(v) * float64(v)
		}
		nb++
	}
	for i := range f {
		f[i] /= float64(max(nb, 1))
	}
	return f, nil
}

// AdaptiveForgetLoss is SFR-on's forget loss of a batch, to be minimised:
// −alpha·Σ_i a_i ℓ_i with ℓ_i the per-sample cross-entropy and the
// detached weights a_i ∝ ℓ_i^−λ normalised to sum 1 over the batch, so
// samples the model still fits well (small loss) are pushed hardest.
func AdaptiveForgetLoss(labels []int, lambda, alpha float64) model.LossFunc {
	return func(logits, dlogits []float32, n, k int) float64 {
		if n != len(labels) {
			panic(fmt.Sprintf("unlearn: forget loss built for %d labels used on %d inputs", len(labels), n))
		}
		ls := make([]float64, n)
		ws := make([]float64, n)
		var wsum float64
		for i := range n {
			ls[i] = crossEntropy(logits[i*k:(i+1)*k], labels[i])
			ws[i] = math.Pow(max(ls[i], 1e-12), -lambda)
			wsum += ws[i]
		}
		var loss float64
		for i := range n {
			a := ws[i] / wsum
			loss -= alpha * a * ls[i]
			row := logits[i*k : (i+1)*k]
			m := float64(row[0])
			for _, v := range row {
				m = max(m, float64(v))
			}
			var s float64
			for _, v := range row {
				s += math.Exp(float64(v) - m)
			}
			for j, v := range row {
				p := math.Exp(float64(v)-m) / s
				if j == labels[i] {
					p--
				}
				dlogits[i*k+j] = float32(-alpha * a * p)
			}
		}
		return loss
	}
}

// batcher cycles through a data set in shuffled batches.
type batcher struct {
	d    *data.Dataset
	bs   int
	perm []int
	pos  int
	r    *rand.Rand
	x    []float32
	y    []int
}

func newBatcher(d *data.Dataset, bs int, r *rand.Rand) *batcher {
	bs = min(bs, d.Len())
	return &batcher{d: d, bs: bs, r: r, pos: d.Len(), x: make([]float32, 0, bs*d.SampleSize()), y: make([]int, 0, bs)}
}

// next returns the next batch (a reshuffle after every pass; the last,
// partial batch of a pass is dropped unless the set is smaller than bs).
func (b *batcher) next() ([]float32, []int) {
	if b.pos+b.bs > b.d.Len() {
		b.perm, b.pos = b.r.Perm(b.d.Len()), 0
	}
	b.x, b.y = b.x[:0], b.y[:0]
	for _, i := range b.perm[b.pos : b.pos+b.bs] {
		b.x = append(b.x, b.d.Row(i)...)
		b.y = append(b.y, b.d.Y[i])
	}
	b.pos += b.bs
	return b.x, b.y
}

// trainGrad runs a training-mode forward and backward pass of loss on x,
// leaving the gradient in net.Grads, and returns the loss.
func trainGrad(net *nn.Network, x []float32, n int, loss model.LossFunc, dl []float32) float64 {
	k := net.NumClasses()
	out := net.Forward(x, n, true)
	net.ZeroGrad()
	d := dl[:n*k]
	clear(d)
	l := loss(out, d, n, k)
	net.Backward(d, false)
	return l
}

// sfrLoop runs SFR-on's fast–slow iterations on net: a masked, clipped,
// adaptive-weighted ascent step on a forget batch every c.ForgetFreq
// iterations, and a descent step on a retain batch every iteration, with
// one optimizer (shared momentum) on a cosine schedule over c.Iters. A
// nil mask makes no forget steps (plain fine-tuning on the retain batches).
func sfrLoop(ctx context.Context, net *nn.Network, opt *train.SGD, fb, rb *batcher, mask []float32, c SFRConfig, rep progress.Reporter) error {
	sched := train.Cosine{Base: opt.LR()}
	dl := make([]float32, max(fb.bs, rb.bs)*net.NumClasses())
	for t := range c.Iters {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("unlearn: sfr-on: %w", err)
		}
		opt.SetLR(sched.LR(t, c.Iters))
		var fl float64
		if mask != nil && t%c.ForgetFreq == 0 {
			alpha := c.Alpha * 0.5 * (1 + math.Cos(math.Pi*float64(t)/float64(c.Iters)))
			x, y := fb.next()
			fl = trainGrad(net, x, len(y), AdaptiveForgetLoss(y, c.Lambda, alpha), dl)
			g := net.Grads()
			for i, m := range mask {
				g[i] *= m
			}
			clipNorm(g, c.MaxNorm)
			opt.Update(net.Weights(), g)
		}
		x, y := rb.next()
		rl := trainGrad(net, x, len(y), nn.CrossEntropyLoss(y), dl)
		if math.IsNaN(rl) || math.IsInf(rl, 0) || math.IsNaN(fl) {
			return fmt.Errorf("unlearn: sfr-on: %w at iteration %d", train.ErrNonFiniteLoss, t)
		}
		opt.Update(net.Weights(), net.Grads())
		progress.Or(rep).Update("sfr-on", t+1, c.Iters, fmt.Sprintf("retain loss %.4f", rl))
	}
	return nil
}

// SFROn is SFR-on: the Fisher-ratio saliency mask ([FisherMask]) computed
// once, then [SFRConfig]'s fast–slow loop of masked adaptive forget ascent
// and retain descent, SGD with momentum 0.9 and weight decay 5e-4.
func SFROn(ctx context.Context, net *nn.Network, t *Task, h Hyper, r *rand.Rand, rep progress.Reporter) error {
	_, lr := h.epochsLR("sfr-on")
	fs, rs := t.ForgetSet(), t.RetainSet()
	mask, err := FisherMask(ctx, net, fs, rs, h.Batch, h.Gamma)
	if err != nil {
		return err
	}
	c := h.SFRConfig
	if c.Iters == 0 {
		c.Iters = 2 * max(rs.Len()/h.Batch, 1)
	}
	return sfrLoop(ctx, net, sgd(lr), newBatcher(fs, h.Batch, r), newBatcher(rs, h.Batch, r), mask, c, rep)
}
