package train

import (
	"fmt"
	"math"

	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/nn"
)

// KFACConfig holds K-FAC's hyperparameters ([DefaultKFACConfig]).
type KFACConfig struct {
	// Damping is λ of the factored Tikhonov damping: γ_A = π√λ is added to
	// A's diagonal and γ_G = √λ/π to G's, π = √((tr A/dim A)/(tr G/dim G))
	// (Martens & Grosse 2015, §6.3).
	Damping float64
	// StatDecay is the largest weight ε of the old factors in the running
	// averages A ← εA + (1−ε)A_batch; step k uses min(1 − 1/k, StatDecay),
	// so the first step uses its batch's factors alone (M&G §5).
	StatDecay float64
	// StatsPeriod and InvPeriod: the factors are updated every StatsPeriod
	// steps and their damped inverses recomputed every InvPeriod steps
	// (T₁ and T₃ of M&G), both from step 1.
	StatsPeriod, InvPeriod int
	// KLClip, if positive, scales the preconditioned step by
	// ν = min(1, √(KLClip / (lr²·Σ v·g))), as the PyTorch K-FAC
	// implementations do in place of M&G's quadratic-model rescaling.
	KLClip float64
}

// DefaultKFACConfig returns the settings of the widely used PyTorch K-FAC
// (alecwangcq/KFAC-Pytorch: stat decay 0.95, KL clip 0.001, statistics
// every 10 and inverses every 100 steps) with λ = 0.001 and statistics at
// every step, which the small networks here afford.
func DefaultKFACConfig() KFACConfig {
	return KFACConfig{Damping: 1e-3, StatDecay: 0.95, StatsPeriod: 1, InvPeriod: 20, KLClip: 1e-3}
}

// KFAC is Kronecker-factored approximate curvature (Martens & Grosse, ICML
// 2015; convolutions as KFC, Grosse & Martens, ICML 2016) as a
// preconditioner in front of a base optimizer, the baseline of FNGD
// (training.md §9).
//
// For each dense or convolution layer, with its weight and bias as one
// out × (in+1) matrix W̄ and the inputs extended by a constant 1, the
// Fisher block is approximated by A ⊗ G with
//
//	A = E[ā āᵀ]  over the layer's input rows (batch × output pixels),
//	G = E_i[Σ_t g_{it} g_{it}ᵀ],  g = ∂ℓ_i/∂s (the per-sample loss's
//	    gradient with respect to the layer's outputs s),
//
// kept as running averages, and the gradient ∇W̄ is replaced by
// (G + γ_G I)⁻¹ ∇W̄ (A + γ_A I)⁻¹. The statistics come from the pass the
// step's closure makes, with the batch's true labels: the empirical Fisher,
// the same matrix [FNGD] and "ngd" approximate, where M&G sample the labels
// from the model's predictive distribution. Parameters of other layers
// (batch norm) take their plain gradient. The direction goes to the base
// optimizer (SGD with momentum and weight decay, or AdamW), as in the
// PyTorch K-FAC implementations; M&G's own momentum and step-size
// adaptation by a quadratic model are not implemented, and neither is the
// adaptation of λ (Levenberg–Marquardt). KFAC is not safe for concurrent
// use.
type KFAC struct {
	Config KFACConfig
	// Steps, StatUpdates and Inversions count the steps, the factor
	// updates and the recomputations of the damped inverses.
	Steps, StatUpdates, Inversions int

	base   Updater
	net    *nn.Network
	layers []kfacLayer
	dir    []float32
	buf    []float64
}

// kfacLayer is one layer's factors and their damped inverses (p = in+1).
type kfacLayer struct {
	wOff, bOff, out, p int
	a, g               []float64 // p×p and out×out running factors
	aInv, gInv         []float64
	grad, tmp, v       []float64 // out×p
}

// NewKFAC returns K-FAC for net's dense and convolution layers with base as
// the update rule of the preconditioned gradient. It returns an error for
// a network without such layers or invalid settings.
func NewKFAC(net *nn.Network, base Updater, cfg KFACConfig) (*KFAC, error) {
	switch {
	case net == nil || base == nil:
		return nil, fmt.Errorf("kfac needs the network and a base optimizer")
	case !(cfg.Damping > 0) || math.IsInf(cfg.Damping, 0):
		return nil, fmt.Errorf("kfac needs damping λ > 0 (got %g)", cfg.Damping)
	case !(cfg.StatDecay >= 0 && cfg.StatDecay < 1):
		return nil, fmt.Errorf("kfac needs a stat decay in [0, 1) (got %g)", cfg.StatDecay)
	case cfg.StatsPeriod < 1 || cfg.InvPeriod < 1:
		return nil, fmt.Errorf("kfac needs statistics and inverse periods ≥ 1 (got %d, %d)", cfg.StatsPeriod, cfg.InvPeriod)
	case !(cfg.KLClip >= 0) || math.IsInf(cfg.KLClip, 0):
		return nil, fmt.Errorf("kfac needs a KL clip ≥ 0 (got %g)", cfg.KLClip)
	}
	o := &KFAC{Config: cfg, base: base, net: net}
	offs := map[*nn.Param]int{}
	off := 0
	for _, p := range net.Params() {
		offs[p] = off
		off += p.Size()
	}
	for _, t := range net.Taps() {
		p := t.InDim + 1
		o.layers = append(o.layers, kfacLayer{wOff: offs[t.Weight], bOff: offs[t.Bias], out: t.Out, p: p,
			a: make([]float64, p*p), g: make([]float64, t.Out*t.Out), aInv: make([]float64, p*p), gInv: make([]float64, t.Out*t.Out),
			grad: make([]float64, t.Out*p), tmp: make([]float64, t.Out*p), v: make([]float64, t.Out*p)})
	}
	if len(o.layers) == 0 {
		return nil, fmt.Errorf("kfac needs dense or convolution layers; %s has none", net.Spec().Name)
	}
	return o, nil
}

// SetLR sets the base optimizer's learning rate.
func (o *KFAC) SetLR(lr float64) { o.base.SetLR(lr) }

// LR returns the base optimizer's learning rate.
func (o *KFAC) LR() float64 { return o.base.LR() }

// Step evaluates c once, updates the factors (every StatsPeriod steps) and
// their inverses (every InvPeriod steps) from the layers' inputs and
// output gradients of that pass, and updates p with the base optimizer
// along the preconditioned gradient.
func (o *KFAC) Step(p Params, c Closure) (float64, error) {
	loss, err := c()
	if err != nil {
		return loss, err
	}
	o.Steps++
	taps := o.net.Taps()
	if len(taps) != len(o.layers) {
		return loss, fmt.Errorf("train: kfac: the network has %d dense/convolution layers, built for %d", len(taps), len(o.layers))
	}
	k := o.Steps
	if (k-1)%o.Config.StatsPeriod == 0 {
		if err := o.updateStats(taps); err != nil {
			return loss, err
		}
	}
	if (k-1)%o.Config.InvPeriod == 0 {
		if err := o.invert(); err != nil {
			return loss, err
		}
	}
	o.base.Update(p.Weights(), o.Direction(p.Grads()))
	return loss, nil
}

// updateStats folds the pass's factors into the running averages.
func (o *KFAC) updateStats(taps []nn.Tap) error {
	o.StatUpdates++
	eps := min(1-1/float64(o.StatUpdates), o.Config.StatDecay)
	n := taps[len(taps)-1].Rows // the head is dense: its rows are the batch
	for i, t := range taps {
		l := &o.layers[i]
		if t.DOut == nil || len(t.In) < t.Rows*t.InDim || len(t.DOut) < t.Rows*t.Out || t.Rows == 0 {
			return fmt.Errorf("train: kfac: layer %d has no forward and backward pass to take statistics from", i)
		}
		// A_batch = (1/rows) Σ ā āᵀ over the rows, ā = [a, 1]
		o.buf = growF64(o.buf, t.Rows*max(l.p, l.out))
		x := o.buf[:t.Rows*l.p]
		for r := 0; r < t.Rows; r++ {
			for j, v := range t.In[r*t.InDim : (r+1)*t.InDim] {
				x[r*l.p+j] = float64(v)
			}
			x[r*l.p+t.InDim] = 1
		}
		linalg.Dsyrk(true, l.p, t.Rows, (1-eps)/float64(t.Rows), x, l.p, eps, l.a, l.p)
		// G_batch = (1/n) Σ (n·dy)(n·dy)ᵀ = n Σ dy dyᵀ: dy is of the mean loss
		d := o.buf[:t.Rows*l.out]
		for j, v := range t.DOut[:t.Rows*l.out] {
			d[j] = float64(v)
		}
		linalg.Dsyrk(true, l.out, t.Rows, (1-eps)*float64(n), d, l.out, eps, l.g, l.out)
	}
	return nil
}

// invert recomputes the damped inverses (A + γ_A I)⁻¹ and (G + γ_G I)⁻¹.
func (o *KFAC) invert() error {
	o.Inversions++
	sq := math.Sqrt(o.Config.Damping)
	for i := range o.layers {
		l := &o.layers[i]
		var ta, tg float64
		for j := 0; j < l.p; j++ {
			ta += l.a[j*l.p+j]
		}
		for j := 0; j < l.out; j++ {
			tg += l.g[j*l.out+j]
		}
		pi := 1.0
		if ta > 0 && tg > 0 {
			pi = math.Sqrt((ta / float64(l.p)) / (tg / float64(l.out)))
		}
		if err := dampedInverse(l.aInv, l.a, l.p, pi*sq); err != nil {
			return fmt.Errorf("train: kfac layer %d, factor A: %w", i, err)
		}
		if err := dampedInverse(l.gInv, l.g, l.out, sq/pi); err != nil {
			return fmt.Errorf("train: kfac layer %d, factor G: %w", i, err)
		}
	}
	return nil
}

// dampedInverse writes (S + γI)⁻¹ of the n×n symmetric S (lower triangle)
// to dst, full.
func dampedInverse(dst, s []float64, n int, gamma float64) error {
	f := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			f[i*n+j] = s[i*n+j]
		}
		f[i*n+i] += gamma
	}
	if err := linalg.Dpotrf(n, f, n); err != nil {
		return err
	}
	clear(dst)
	for i := 0; i < n; i++ {
		dst[i*n+i] = 1
	}
	linalg.Dpotrs(n, n, f, n, dst, n)
	return nil
}

// Direction returns the preconditioned gradient of the flat gradient g
// with the current inverses, KL-clipped; the slice is owned by o.
func (o *KFAC) Direction(g []float32) []float32 {
	o.dir = growF32(o.dir, len(g))
	copy(o.dir, g)
	var vg float64
	for i := range o.layers {
		l := &o.layers[i]
		in := l.p - 1
		for r := 0; r < l.out; r++ {
			for j, v := range g[l.wOff+r*in : l.wOff+(r+1)*in] {
				l.grad[r*l.p+j] = float64(v)
			}
			l.grad[r*l.p+in] = float64(g[l.bOff+r])
		}
		// v = G⁻¹ ∇W̄ A⁻¹
		linalg.Dgemm(false, false, l.out, l.p, l.p, 1, l.grad, l.p, l.aInv, l.p, 0, l.tmp, l.p)
		linalg.Dgemm(false, false, l.out, l.p, l.out, 1, l.gInv, l.out, l.tmp, l.p, 0, l.v, l.p)
		for j, v := range l.v {
			vg += v * l.grad[j]
		}
	}
	nu := 1.0
	if lr := o.base.LR(); o.Config.KLClip > 0 && vg > 0 && lr > 0 {
		nu = min(1, math.Sqrt(o.Config.KLClip/(vg*lr*lr)))
	}
	for i := range o.layers {
		l := &o.layers[i]
		in := l.p - 1
		for r := 0; r < l.out; r++ {
			for j := 0; j < in; j++ {
				o.dir[l.wOff+r*in+j] = float32(nu * l.v[r*l.p+j])
			}
			o.dir[l.bOff+r] = float32(nu * l.v[r*l.p+in])
		}
	}
	return o.dir
}

func init() {
	RegisterOptimizer("kfac", OptimizerInfo{BatchesPerUpdate: 1, Summary: "K-FAC (Martens & Grosse 2015): Kronecker-factored empirical Fisher of dense and conv layers; λ, inverses every T steps",
		New: func(net *nn.Network, cfg OptimizerConfig) (Optimizer, error) {
			base, err := baseUpdater(cfg)
			if err != nil {
				return nil, err
			}
			kc := cfg.KFAC
			if kc == (KFACConfig{}) {
				kc = DefaultKFACConfig()
			}
			return NewKFAC(net, base, kc)
		}})
}
