package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// filterSeg is one tensor of a model, seen as n filters of size values each
// starting at off in the flat weight vector; oneD tensors form one filter
// whose adaptive scaling is per element.
type filterSeg struct {
	off, n, size int
	oneD         bool
}

// filterLayout splits p's weights into filters along each tensor's first
// axis, using [TensorParams] when p has it.
func filterLayout(p Params) ([]filterSeg, error) {
	total := len(p.Weights())
	tp, ok := p.(TensorParams)
	if !ok {
		return []filterSeg{{off: 0, n: 1, size: total, oneD: true}}, nil
	}
	var segs []filterSeg
	off := 0
	for _, t := range tp.Params() {
		size := t.Size()
		if len(t.Shape) > 1 && t.Shape[0] > 0 {
			segs = append(segs, filterSeg{off: off, n: t.Shape[0], size: size / t.Shape[0]})
		} else {
			segs = append(segs, filterSeg{off: off, n: 1, size: size, oneD: true})
		}
		off += size
	}
	if off != total {
		return nil, fmt.Errorf("train: tensors hold %d values but the weight vector has %d", off, total)
	}
	return segs, nil
}

func norm32(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// rwpCore holds what the random-weight-perturbation optimizers share: the
// filter layout, the saved weights, the adaptive statistics F and the
// noise source.
type rwpCore struct {
	name string
	rng  *rand.Rand
	eta  float64 // adaptive strength η (0: plain per-filter noise)
	beta float64 // EMA factor of F
	segs []filterSeg
	f    []float32 // un-normalised EMA of squared perturbed gradients
	w0   []float32
	g0   []float32 // clean gradient waiting for the noisy pass (two-batch methods)
	have bool      // g0 holds a clean gradient
}

// perturb saves w and adds filter-wise Gaussian noise of relative scale
// std: for a filter W_i of a tensor with ndim > 1, σ_i = std·‖W_i‖; for a
// 1-D tensor σ = std·(‖W‖+1e-16). With adaptive statistics F each value is
// further divided by sqrt(1+η·f), f the sum of F over the filter (ndim > 1)
// or the value's own F (1-D).
func (c *rwpCore) perturb(p Params, std float64) error {
	w := p.Weights()
	if c.segs == nil || len(c.w0) != len(w) {
		segs, err := filterLayout(p)
		if err != nil {
			return err
		}
		c.segs = segs
	}
	c.w0 = grow32(c.w0, len(w))
	copy(c.w0, w)
	if std == 0 {
		return nil
	}
	adaptive := c.eta > 0 && c.f != nil
	for _, s := range c.segs {
		t := c.w0[s.off : s.off+s.n*s.size]
		if s.oneD {
			sigma := std * (norm32(t) + 1e-16)
			for j := range t {
				e := sigma * c.rng.NormFloat64()
				if adaptive {
					e /= math.Sqrt(1 + c.eta*float64(c.f[s.off+j]))
				}
				w[s.off+j] += float32(e)
			}
			continue
		}
		for i := 0; i < s.n; i++ {
			lo := s.off + i*s.size
			filt := c.w0[lo : lo+s.size]
			sigma := std * norm32(filt)
			if adaptive {
				var fs float64
				for _, v := range c.f[lo : lo+s.size] {
					fs += float64(v)
				}
				sigma /= math.Sqrt(1 + c.eta*fs)
			}
			for j := range filt {
				w[lo+j] += float32(sigma * c.rng.NormFloat64())
			}
		}
	}
	return nil
}

// noisyPass evaluates c at the perturbed weights with BN statistics frozen
// when frozen is set, restores the saved weights and, for adaptive methods,
// updates F with the perturbed gradient.
func (c *rwpCore) noisyPass(p Params, cl Closure, frozen bool) (float64, error) {
	var loss float64
	var err error
	if frozen {
		loss, err = perturbedPass(p, cl)
	} else {
		loss, err = cl()
	}
	copy(p.Weights(), c.w0)
	if err != nil {
		return loss, fmt.Errorf("train: %s perturbed pass: %w", c.name, err)
	}
	if c.eta > 0 {
		g := p.Grads()
		if c.f == nil {
			c.f = make([]float32, len(g))
			for i, v := range g {
				c.f[i] = v * v
			}
		} else {
			b := float32(c.beta)
			for i, v := range g {
				c.f[i] = b*c.f[i] + v*v
			}
		}
	}
	return loss, nil
}

// twoBatchStep is the single-process form of the mixed objective
// (1−mix)·L(w) + mix·E L(w+ε): a call with no pending clean gradient
// evaluates c at w (BN statistics updated) and stores the gradient without
// updating; the next call, on the next batch, evaluates c at w+ε (BN
// statistics frozen) and applies base with (1−mix)·g0 + mix·g̃.
func (c *rwpCore) twoBatchStep(base Updater, p Params, cl Closure, std, mix float64) (float64, error) {
	if !c.have {
		loss, err := cl()
		if err != nil {
			return loss, err
		}
		c.g0 = grow32(c.g0, len(p.Grads()))
		copy(c.g0, p.Grads())
		c.have = true
		return loss, nil
	}
	if err := c.perturb(p, std); err != nil {
		return 0, err
	}
	loss, err := c.noisyPass(p, cl, true)
	if err != nil {
		return loss, err
	}
	c.have = false
	g := p.Grads()
	a, b := float32(mix), float32(1-mix)
	for i := range g {
		g[i] = b*c.g0[i] + a*g[i]
	}
	base.Update(p.Weights(), g)
	return loss, nil
}

// PairStepper is an optimizer whose update evaluates two mini-batches
// concurrently, the second on a replica of the model: the two-worker form
// of [RWP] and [MARWP], which costs about one SGD step of wall-clock time on
// two cores. [Fit] hands it both closures of an update at once.
type PairStepper interface {
	Optimizer
	// Replica is the network the second closure runs on; nil turns the
	// pair mode off (Fit then calls Step).
	Replica() Network
	// StepPair evaluates clean on p and noisy on the replica concurrently,
	// updates p and returns both losses.
	StepPair(p Params, clean, noisy Closure) (float64, float64, error)
}

// pairStep is twoBatchStep with both passes at once: the replica gets p's
// weights plus noise and evaluates noisy while p evaluates clean, then p
// is updated with (1−mix)·g_clean + mix·g_noisy. The noise is drawn as in
// twoBatchStep, so with the same random source both forms make the same
// updates. p's batch-norm statistics see only the clean pass.
func (c *rwpCore) pairStep(base Updater, p, rep Params, clean, noisy Closure, std, mix float64) (float64, float64, error) {
	if rep == nil {
		return 0, 0, fmt.Errorf("train: %s has no replica for the parallel form", c.name)
	}
	w, rw := p.Weights(), rep.Weights()
	if len(rw) != len(w) {
		return 0, 0, fmt.Errorf("train: %s replica has %d weights, the model %d", c.name, len(rw), len(w))
	}
	copy(rw, w)
	c.have = false
	var l1 float64
	var e1 error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if e1 = c.perturb(rep, std); e1 == nil {
			l1, e1 = c.noisyPass(rep, noisy, false)
		}
	}()
	l0, e0 := clean()
	<-done
	if err := errors.Join(e0, e1); err != nil {
		return l0, l1, err
	}
	g, g1 := p.Grads(), rep.Grads()
	a, b := float32(mix), float32(1-mix)
	for i := range g {
		g[i] = b*g[i] + a*g1[i]
	}
	base.Update(w, g)
	return l0, l1, nil
}

func checkRNG(name string, r *rand.Rand) error {
	if r == nil {
		return fmt.Errorf("train: %s needs a random source", name)
	}
	return nil
}

// RWP is random weight perturbation (Li et al., "Efficient Generalization
// Improvement Guided by Random Weight Perturbation"): it descends
// (1−α)·L(w) + α·E_ε L(w+ε) with filter-wise Gaussian noise of relative scale
// γ (σ_i = γ·‖W_i‖ per filter along each tensor's first axis, γ·(‖W‖+1e-16)
// for 1-D tensors), fresh every update.
//
// Like the official code, each update consumes two mini-batches: Step
// alternates between a clean pass (stores ∇L_{B0}(w), no update) and a
// noisy pass on the next batch (BN statistics frozen) followed by the base
// update with g = (1−α)·∇L_{B0}(w) + α·∇L_{B1}(w+ε). So n calls of Step make
// n/2 updates: double the step budget to match SGD's number of updates.
//
// With [RWP.Parallel] it is the paper's two-worker form: [Fit] evaluates
// both batches at once, the noisy one on a replica, so an update costs about
// one SGD step of wall-clock time on two cores; the updates are the same.
type RWP struct {
	Base    Updater
	Gamma   float64 // relative noise scale γ (official CIFAR: 0.01, ImageNet 0.005)
	Alpha   float64 // weight α of the perturbed loss (official: 0.5)
	core    rwpCore
	replica Network
}

// NewRWP returns RWP around base; γ ≥ 0, α ∈ [0, 1], noise drawn from r.
func NewRWP(base Updater, gamma, alpha float64, r *rand.Rand) (*RWP, error) {
	if err := errors.Join(checkBase("RWP", base), checkRNG("RWP", r)); err != nil {
		return nil, err
	}
	if !validNonNeg(gamma) {
		return nil, fmt.Errorf("train: RWP noise scale γ must be ≥ 0 and finite, got %g", gamma)
	}
	if !(alpha >= 0 && alpha <= 1) {
		return nil, fmt.Errorf("train: RWP mixing weight α must be in [0, 1], got %g", alpha)
	}
	return &RWP{Base: base, Gamma: gamma, Alpha: alpha, core: rwpCore{name: "RWP", rng: r}}, nil
}

// SetLR sets the base optimizer's learning rate.
func (o *RWP) SetLR(lr float64) { o.Base.SetLR(lr) }

// LR returns the base optimizer's learning rate.
func (o *RWP) LR() float64 { return o.Base.LR() }

// Step evaluates c once: a clean pass (no update) or a noisy pass followed
// by the update, alternately. It returns the loss of that pass.
func (o *RWP) Step(p Params, c Closure) (float64, error) {
	return o.core.twoBatchStep(o.Base, p, c, o.Gamma, o.Alpha)
}

// Parallel turns on the two-worker form: replica is a copy of the model
// (same architecture; [nn.Network.Copy]) whose weights are overwritten at
// every update. Without dropout the updates equal the sequential form's.
func (o *RWP) Parallel(replica Network) { o.replica = replica }

// Replica is the network of the noisy pass in the parallel form, or nil.
func (o *RWP) Replica() Network { return o.replica }

// StepPair makes one update of the parallel form: clean on p and noisy on
// the replica, concurrently. It returns both losses.
func (o *RWP) StepPair(p Params, clean, noisy Closure) (float64, float64, error) {
	return o.core.pairStep(o.Base, p, o.replica, clean, noisy, o.Gamma, o.Alpha)
}

// ARWP is adaptive random weight perturbation at the cost of SGD (Li et
// al., "Revisiting Random Weight Perturbation for Efficiently Improving
// Generalization", TMLR 2024): every step evaluates the gradient g̃ at w+ε
// only, with ε filter-wise Gaussian noise damped by the Fisher-like
// statistic F (F ← β·F + g̃², first F = g̃²; ε_i ~ N(0, (std·‖W_i‖)²) /
// sqrt(1+η·Σ_{filter} F)), and updates w with g̃. The noise scale follows
// the CosineInc rule std_t = Std·(1 + Inc·(½ − ½cos(π t/T))) over Total
// steps (constant when Total is 0).
//
// The perturbed pass is the only pass, so it updates batch-norm statistics
// (freezing them would leave them at their initial values).
type ARWP struct {
	Base  Updater
	Std   float64 // initial relative noise scale (official: 0.001)
	Inc   float64 // noise growth factor (official: 10, so std ends at 0.011)
	Total int     // steps over which the noise grows; 0 keeps it constant
	Eta   float64 // adaptive strength η (official: 0.1)
	Beta  float64 // EMA factor β of F (official: 0.99)
	t     int
	core  rwpCore
}

// NewARWP returns ARWP around base; it needs std, inc, η ≥ 0, β ∈ [0, 1),
// total ≥ 0 and a random source.
func NewARWP(base Updater, std, inc, eta, beta float64, total int, r *rand.Rand) (*ARWP, error) {
	if err := errors.Join(checkBase("ARWP", base), checkRNG("ARWP", r), checkAdaptive("ARWP", std, eta, beta)); err != nil {
		return nil, err
	}
	if !validNonNeg(inc) || total < 0 {
		return nil, fmt.Errorf("train: ARWP needs noise growth ≥ 0 and total steps ≥ 0, got %g and %d", inc, total)
	}
	return &ARWP{Base: base, Std: std, Inc: inc, Total: total, Eta: eta, Beta: beta,
		core: rwpCore{name: "ARWP", rng: r, eta: eta, beta: beta}}, nil
}

func checkAdaptive(name string, std, eta, beta float64) error {
	var errs []error
	if !validNonNeg(std) {
		errs = append(errs, fmt.Errorf("noise scale must be ≥ 0 and finite, got %g", std))
	}
	if !validNonNeg(eta) {
		errs = append(errs, fmt.Errorf("adaptive strength η must be ≥ 0 and finite, got %g", eta))
	}
	if !(beta >= 0 && beta < 1) {
		errs = append(errs, fmt.Errorf("EMA factor β must be in [0, 1), got %g", beta))
	}
	if len(errs) > 0 {
		return fmt.Errorf("train: %s: %w", name, errors.Join(errs...))
	}
	return nil
}

// SetLR sets the base optimizer's learning rate.
func (o *ARWP) SetLR(lr float64) { o.Base.SetLR(lr) }

// LR returns the base optimizer's learning rate.
func (o *ARWP) LR() float64 { return o.Base.LR() }

// NoiseStd is the relative noise scale of the next step.
func (o *ARWP) NoiseStd() float64 {
	if o.Total <= 0 {
		return o.Std
	}
	frac := math.Min(float64(o.t)/float64(o.Total), 1)
	return o.Std * (1 + o.Inc*(0.5-0.5*math.Cos(math.Pi*frac)))
}

// Step evaluates c once at perturbed weights and updates p with that
// gradient. It returns the perturbed loss.
func (o *ARWP) Step(p Params, c Closure) (float64, error) {
	o.core.eta, o.core.beta = o.Eta, o.Beta
	if err := o.core.perturb(p, o.NoiseStd()); err != nil {
		return 0, err
	}
	loss, err := o.core.noisyPass(p, c, false)
	if err != nil {
		return loss, err
	}
	o.Base.Update(p.Weights(), p.Grads())
	o.t++
	return loss, nil
}

// MARWP is m-ARWP (same paper as [ARWP]): the mixed objective of [RWP]
// with ARWP's adaptive noise, in the official single-process form that
// alternates batches — a clean pass storing g0 = ∇L_{B0}(w) (no update),
// then a noisy pass on the next batch with BN statistics frozen, F ← β·F +
// g1², and the base update with λ·g1 + (1−λ)·g0. Like RWP, n calls of Step
// make n/2 updates, and [MARWP.Parallel] evaluates both batches at once.
type MARWP struct {
	Base    Updater
	Sigma   float64 // relative noise scale σ (official: 0.015)
	Lambda  float64 // weight λ of the perturbed gradient (official: 0.5)
	Eta     float64 // adaptive strength η (official: 0.1)
	Beta    float64 // EMA factor β of F (official: 0.99)
	core    rwpCore
	replica Network
}

// NewMARWP returns m-ARWP around base; σ, η ≥ 0, λ ∈ [0, 1], β ∈ [0, 1).
func NewMARWP(base Updater, sigma, lambda, eta, beta float64, r *rand.Rand) (*MARWP, error) {
	if err := errors.Join(checkBase("m-ARWP", base), checkRNG("m-ARWP", r), checkAdaptive("m-ARWP", sigma, eta, beta)); err != nil {
		return nil, err
	}
	if !(lambda >= 0 && lambda <= 1) {
		return nil, fmt.Errorf("train: m-ARWP mixing weight λ must be in [0, 1], got %g", lambda)
	}
	return &MARWP{Base: base, Sigma: sigma, Lambda: lambda, Eta: eta, Beta: beta,
		core: rwpCore{name: "m-ARWP", rng: r, eta: eta, beta: beta}}, nil
}

// SetLR sets the base optimizer's learning rate.
func (o *MARWP) SetLR(lr float64) { o.Base.SetLR(lr) }

// LR returns the base optimizer's learning rate.
func (o *MARWP) LR() float64 { return o.Base.LR() }

// Step evaluates c once: a clean pass (no update) or a noisy pass followed
// by the update, alternately. It returns the loss of that pass.
func (o *MARWP) Step(p Params, c Closure) (float64, error) {
	o.core.eta, o.core.beta = o.Eta, o.Beta
	return o.core.twoBatchStep(o.Base, p, c, o.Sigma, o.Lambda)
}

// Parallel turns on the two-worker form, as [RWP.Parallel].
func (o *MARWP) Parallel(replica Network) { o.replica = replica }

// Replica is the network of the noisy pass in the parallel form, or nil.
func (o *MARWP) Replica() Network { return o.replica }

// StepPair makes one update of the parallel form, as [RWP.StepPair].
func (o *MARWP) StepPair(p Params, clean, noisy Closure) (float64, float64, error) {
	o.core.eta, o.core.beta = o.Eta, o.Beta
	return o.core.pairStep(o.Base, p, o.replica, clean, noisy, o.Sigma, o.Lambda)
}
