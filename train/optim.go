// Package train trains networks: optimizers with PyTorch's update rules (so
// published hyperparameters carry over), learning-rate schedules, seeded
// shuffling and augmentation, and the training loop with progress reporting.
//
// Optimizers work on flat weight and gradient vectors ([Params]), so the
// flat-minima and averaging methods can wrap them: a [Closure] evaluates the
// loss and gradients at the current weights, and an [Optimizer] may call it
// more than once per step.
//
// On top of that foundation the package holds the training methods of the
// seed papers:
//
//   - flat-minima optimizers: [SAM] (and ASAM), [FSAM], [RWP], [ARWP] and
//     [MARWP], the two-batch ones with a two-worker parallel form
//     ([PairStepper]);
//   - weight averaging: [SWA] with [UpdateBN], TWA (ICLR: [SpanBasis] and
//     [Projected]; journal: [TWAJournalConfig]) and model soups
//     ([UniformSoup], [GreedySoup], [MEHLSoup]);
//   - subspace training (DLDR): [PCABasis], [Projected] (P-SGD), [PBFGS];
//   - loss-landscape tools: [HVP], [TopEigenvalue], [LanczosTopEigenvalue],
//     [FilterNormalizedDirection], [LossCurve], [LossSurface], [LossLine].
//
// Optimizers, averaging methods and DLDR methods are registered by name
// ([NewOptimizer] with [DefaultOptimizerConfig], [LookupAveragingMethod],
// [LookupDLDRMethod]); an unknown name is an error matching [ErrUnknown]
// that lists the valid ones. Each trustml command is one call: [Run]
// ("trustml train"), [Average] (average swa, twa and soup), [DLDR] and
// [Landscape].
package train

import (
	"fmt"
	"math"
)

// Params is a model's flat trainable state, as [nn.Network] exposes it.
type Params interface {
	Weights() []float32
	Grads() []float32
}

// Closure computes the loss at the current weights and leaves its gradient
// in Params.Grads (zeroed first).
type Closure func() (float64, error)

// Updater applies one update to w given the gradient g.
type Updater interface {
	Update(w, g []float32)
	SetLR(lr float64)
	LR() float64
}

// Optimizer performs one training step: it evaluates the closure (once for
// first-order methods, twice for two-pass methods such as SAM) and updates
// the weights. It returns the loss of the first evaluation.
type Optimizer interface {
	Step(p Params, c Closure) (float64, error)
	SetLR(lr float64)
	LR() float64
}

// SGD is stochastic gradient descent with momentum, PyTorch's rule:
//
//	d = g + WeightDecay·w
//	buf = Momentum·buf + (1−Dampening)·d     (buf = d on the first step)
//	d = d + Momentum·buf if Nesterov, else buf
//	w -= LR·d
type SGD struct {
	Rate        float64 // learning rate
	Momentum    float64
	Dampening   float64
	WeightDecay float64
	Nesterov    bool
	buf         []float32
}

// NewSGD returns SGD with the given learning rate, momentum, weight decay and
// Nesterov flag, checking them.
func NewSGD(lr, momentum, weightDecay float64, nesterov bool) (*SGD, error) {
	if lr < 0 || momentum < 0 || weightDecay < 0 || math.IsNaN(lr+momentum+weightDecay) {
		return nil, fmt.Errorf("train: SGD needs lr, momentum, weight decay ≥ 0 (got %g, %g, %g)", lr, momentum, weightDecay)
	}
	if nesterov && momentum == 0 {
		return nil, fmt.Errorf("train: Nesterov momentum needs momentum > 0")
	}
	return &SGD{Rate: lr, Momentum: momentum, WeightDecay: weightDecay, Nesterov: nesterov}, nil
}

// SetLR sets the learning rate.
func (o *SGD) SetLR(lr float64) { o.Rate = lr }

// LR returns the learning rate.
func (o *SGD) LR() float64 { return o.Rate }

// Update applies one SGD update.
func (o *SGD) Update(w, g []float32) {
	lr, mom, wd := float32(o.Rate), float32(o.Momentum), float32(o.WeightDecay)
	if mom == 0 {
		for i, gi := range g {
			w[i] -= lr * (gi + wd*w[i])
		}
		return
	}
	first := o.buf == nil
	if first {
		o.buf = make([]float32, len(w))
	}
	damp := 1 - float32(o.Dampening)
	buf := o.buf
	for i, gi := range g {
		d := gi + wd*w[i]
		if first {
			buf[i] = d
		} else {
			buf[i] = mom*buf[i] + damp*d
		}
		if o.Nesterov {
			d += mom * buf[i]
		} else {
			d = buf[i]
		}
		w[i] -= lr * d
	}
}

// Step evaluates c once and updates p.
func (o *SGD) Step(p Params, c Closure) (float64, error) {
	return stepOnce(o, p, c)
}

func stepOnce(u Updater, p Params, c Closure) (float64, error) {
	loss, err := c()
	if err != nil {
		return loss, err
	}
	u.Update(p.Weights(), p.Grads())
	return loss, nil
}

// Adam is Adam (coupled L2 weight decay, PyTorch's Adam) or AdamW
// (decoupled weight decay, PyTorch's AdamW) when Decoupled is set.
type Adam struct {
	Rate         float64
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64
	Decoupled    bool
	m, v         []float32
	t            int
}

// NewAdam returns Adam with PyTorch's defaults (β = 0.9, 0.999, ε = 1e-8).
func NewAdam(lr, weightDecay float64) *Adam {
	return &Adam{Rate: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay}
}

// NewAdamW returns AdamW with PyTorch's defaults (β = 0.9, 0.999, ε = 1e-8).
func NewAdamW(lr, weightDecay float64) *Adam {
	a := NewAdam(lr, weightDecay)
	a.Decoupled = true
	return a
}

// SetLR sets the learning rate.
func (o *Adam) SetLR(lr float64) { o.Rate = lr }

// LR returns the learning rate.
func (o *Adam) LR() float64 { return o.Rate }

// Update applies one Adam(W) update.
func (o *Adam) Update(w, g []float32) {
	if o.m == nil {
		o.m, o.v = make([]float32, len(w)), make([]float32, len(w))
	}
	o.t++
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	bc1 := 1 - math.Pow(o.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.t))
	step := float32(o.Rate / bc1)
	sq := float32(math.Sqrt(bc2))
	eps, wd, lr := float32(o.Eps), float32(o.WeightDecay), float32(o.Rate)
	for i, gi := range g {
		if o.Decoupled {
			w[i] *= 1 - lr*wd
		} else {
			gi += wd * w[i]
		}
		o.m[i] = b1*o.m[i] + (1-b1)*gi
		o.v[i] = b2*o.v[i] + (1-b2)*gi*gi
		denom := float32(math.Sqrt(float64(o.v[i])))/sq + eps
		w[i] -= step * o.m[i] / denom
	}
}

// Step evaluates c once and updates p.
func (o *Adam) Step(p Params, c Closure) (float64, error) {
	return stepOnce(o, p, c)
}
