package defense

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/model"
)

// ModelWrapper is implemented by defenses that act inside the model rather
// than on its inputs or outputs (UniG): [Wrap] puts the model behind
// WrapModel's classifier and then applies the defense's Apply to what it
// returns. WrapModel fails for a model that lacks the internals the defense
// needs.
type ModelWrapper interface {
	// WrapModel returns c with the defense built in.
	WrapModel(c model.Classifier) (model.Classifier, error)
}

// HeadClassifier is a classifier whose final layer is linear and exposed:
// logits = W·h + b for the penultimate features h ([model.FeatureExtractor]).
// *nn.Network implements it, imported ONNX models included.
type HeadClassifier interface {
	model.FeatureExtractor
	// Head returns W (out×in, row-major) and b (out), read-only, with
	// out = NumClasses and in = FeatureDim.
	Head() (w, b []float32, out, in int)
}

// ErrNoHead is wrapped by the error of [UniG.WrapModel] for a model that does
// not expose its penultimate features and final linear layer.
var ErrNoHead = errors.New("model has no features and linear head")

// UniGConfig holds UniG's settings (spec §6.2). The zero value is not
// useful; start from [DefaultUniGConfig].
type UniGConfig struct {
	LR          float64 // SGD learning rate on the multipliers P (CIFAR-10: 10)
	Epochs      int     // SGD steps per batch (1)
	Delta       float64 // P is clamped to [1−Delta, 1+Delta] after each step (0.5)
	InitStd     float64 // P starts as N(1, InitStd²) per call (0.5)
	Momentum    float64 // SGD momentum (0.9)
	WeightDecay float64 // SGD weight decay on P (5e-4)
	Batch       int     // rows fitted together; larger batches are split (256)
}

// DefaultUniGConfig returns the official CIFAR-10 settings: lr 10, one step,
// δ = 0.5, P ~ N(1, 0.5²), momentum 0.9, weight decay 5e-4, batch 256.
func DefaultUniGConfig() UniGConfig {
	return UniGConfig{LR: 10, Epochs: 1, Delta: 0.5, InitStd: 0.5, Momentum: 0.9, WeightDecay: 5e-4, Batch: 256}
}

func (c UniGConfig) check() error {
	for _, p := range []struct {
		name   string
		v, max float64
	}{{"lr", c.LR, 1e6}, {"delta", c.Delta, 1e3}, {"init_std", c.InitStd, 1e3}, {"momentum", c.Momentum, 1}, {"weight_decay", c.WeightDecay, 1e3}} {
		if !(p.v >= 0 && p.v <= p.max) {
			return fmt.Errorf("unig: %s must be in [0, %g], got %v", p.name, p.max, p.v)
		}
	}
	if c.Epochs < 0 || c.Epochs > 1000 {
		return fmt.Errorf("unig: epochs must be in [0, 1000], got %d", c.Epochs)
	}
	if c.Batch < 1 || c.Batch > 1<<16 {
		return fmt.Errorf("unig: batch must be in [1, 65536], got %d", c.Batch)
	}
	return nil
}

// UniG is the Unifying Gradients defense (spec §6): a Hadamard-product
// module P between a model's penultimate features h and its linear head,
// z = W(h ⊙ P) + b, re-fitted on every query batch so that the gradients of
// the cross-entropy at the undefended prediction with respect to the
// features of consecutive samples become alike; score-based attackers then
// probe a nearly universal, weak direction.
//
// It needs the model's internals, so it is a [ModelWrapper]: [Wrap] and
// [UniG.WrapModel] build the defended model, and Apply alone is the identity.
// Outputs depend on the batch and on fresh random P, so the same image
// queried twice gets different logits and the argmax can change.
type UniG struct {
	cfg UniGConfig
	rng *rand.Rand
}

var (
	_ Defense      = (*UniG)(nil)
	_ ModelWrapper = (*UniG)(nil)
)

// NewUniG returns UniG with settings cfg, drawing P's initial values from
// rng.
func NewUniG(cfg UniGConfig, rng *rand.Rand) (*UniG, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("unig: %w", errNilRand)
	}
	return &UniG{cfg: cfg, rng: rng}, nil
}

// Name returns "unig".
func (d *UniG) Name() string { return "unig" }

// Output returns [Logits].
func (d *UniG) Output() Output { return Logits }

// KeepsArgmax returns false: P is not constrained to keep the prediction.
func (d *UniG) KeepsArgmax() bool { return false }

// Config returns the settings.
func (d *UniG) Config() UniGConfig { return d.cfg }

// Apply copies logits into dst: UniG's work happens inside the model built
// by [UniG.WrapModel].
func (d *UniG) Apply(dst, logits []float32, k int) error {
	if _, err := checkLogits("unig", dst, logits, k); err != nil {
		return err
	}
	copy(dst, logits)
	return nil
}

// WrapModel returns c with UniG's module before its head. c must be a
// [HeadClassifier] with NumClasses outputs and FeatureDim inputs in its
// head; otherwise the error wraps [ErrNoHead] and says why.
func (d *UniG) WrapModel(c model.Classifier) (model.Classifier, error) {
	hc, ok := c.(HeadClassifier)
	if u, served := c.(interface{ URL() string }); !ok && served {
		return nil, fmt.Errorf("unig: %w: the served model %s returns scores, not its penultimate features and final linear layer, which unig fits its module between; put unig on the server instead (trustml serve --defense unig)", ErrNoHead, u.URL())
	}
	if !ok {
		return nil, fmt.Errorf("unig: %w: a %T does not expose its penultimate features and final linear layer (model.FeatureExtractor with Head), which unig fits its module between; use a trustml network or an imported ONNX model", ErrNoHead, c)
	}
	_, _, out, in := hc.Head()
	if out != c.NumClasses() || in != hc.FeatureDim() || in <= 0 {
		return nil, fmt.Errorf("unig: %w: head is %d×%d but the model has %d classes and %d features", ErrNoHead, out, in, c.NumClasses(), hc.FeatureDim())
	}
	return &UniGModel{c: hc, d: d}, nil
}

// UniGModel is a classifier behind UniG's module, built by
// [UniG.WrapModel]. Like the models it wraps, it is not safe for concurrent
// use.
type UniGModel struct {
	c  HeadClassifier
	d  *UniG
	h  []float32
	p  []float32
	ws unigWork
}

var _ model.Classifier = (*UniGModel)(nil)

// InputShape returns the wrapped model's input shape.
func (m *UniGModel) InputShape() []int { return m.c.InputShape() }

// NumClasses returns the wrapped model's number of classes.
func (m *UniGModel) NumClasses() int { return m.c.NumClasses() }

// Logits computes the features of x (one forward pass), then for each group
// of up to Batch rows draws P ~ N(1, InitStd²), fits it by Epochs SGD steps
// on the gradient-unifying objective, and writes W(h ⊙ P) + b into dst.
func (m *UniGModel) Logits(ctx context.Context, dst, x []float32) error {
	k := m.c.NumClasses()
	n, err := model.CheckBatch(m.c, dst, x, k)
	if err != nil {
		return fmt.Errorf("defense unig: %w", err)
	}
	w, b, _, f := m.c.Head()
	m.h = grow(m.h, n*f)
	if err := m.c.Features(ctx, m.h, x); err != nil {
		return err
	}
	for i, v := range m.h {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: defense unig: feature %d of row %d is %v", ErrNonFinite, i%f, i/f, v)
		}
	}
	cfg := m.d.cfg
	for lo := 0; lo < n; lo += cfg.Batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+cfg.Batch, n)
		r := hi - lo
		m.p = grow(m.p, r*f)
		for i := range m.p {
			m.p[i] = float32(1 + cfg.InitStd*m.d.rng.NormFloat64())
		}
		unigFit(dst[lo*k:hi*k], m.h[lo*f:hi*f], m.p, w, b, r, k, f, cfg, &m.ws)
	}
	return nil
}

// unigWork holds the buffers of unigFit.
type unigWork struct {
	h, p, a, g, grad, buf, c, prob []float64
	y                              []int
}

// unigFit runs UniG on one batch of n feature rows h (n×f) with the initial
// multipliers p (n×f, overwritten by the fitted ones), head w (k×f) and b,
// and writes the defended n×k logits into z. The computation is in float64.
func unigFit(z, h, p, w, b []float32, n, k, f int, cfg UniGConfig, ws *unigWork) {
	ws.h = grow(ws.h, n*f)
	ws.p = grow(ws.p, n*f)
	ws.grad = grow(ws.grad, n*f)
	ws.buf = grow(ws.buf, n*f)
	ws.y = grow(ws.y, n)
	for i := range ws.h {
		ws.h[i], ws.p[i] = float64(h[i]), float64(p[i])
	}
	// The undefended prediction.
	ws.c = grow(ws.c, max(k, f))
	row := ws.c[:k]
	for j := 0; j < n; j++ {
		headRow(row, ws.h[j*f:(j+1)*f], nil, w, b, k, f)
		best := 0
		for c := 1; c < k; c++ {
			if row[c] > row[best] {
				best = c
			}
		}
		ws.y[j] = best
	}
	scale := 1.0
	for t := 0; t < cfg.Epochs; t++ {
		_, gmin, gmax := unigObjective(ws.grad, ws.h, ws.p, w, b, ws.y, n, k, f, ws)
		if t == 0 && gmax > gmin {
			scale = 1 / (gmax - gmin)
		}
		for i, pi := range ws.p {
			g := scale*ws.grad[i] + cfg.WeightDecay*pi
			if t == 0 {
				ws.buf[i] = g
			} else {
				ws.buf[i] = cfg.Momentum*ws.buf[i] + g
			}
			ws.p[i] = min(max(pi-cfg.LR*ws.buf[i], 1-cfg.Delta), 1+cfg.Delta)
		}
	}
	row = ws.c[:k]
	for j := 0; j < n; j++ {
		headRow(row, ws.h[j*f:(j+1)*f], ws.p[j*f:(j+1)*f], w, b, k, f)
		for c, v := range row {
			z[j*k+c] = float32(v)
		}
	}
	for i, v := range ws.p {
		p[i] = float32(v)
	}
}

// headRow writes W(h ⊙ p) + b into z (p nil means all ones).
func headRow(z, h, p []float64, w, b []float32, k, f int) {
	for c := 0; c < k; c++ {
		s := float64(b[c])
		wc := w[c*f : (c+1)*f]
		if p == nil {
			for i, v := range h {
				s += float64(wc[i]) * v
			}
		} else {
			for i, v := range h {
				s += float64(wc[i]) * v * p[i]
			}
		}
		z[c] = s
	}
}

// unigObjective evaluates UniG's unnormalised objective
// L = Σ_{j<n−1} ‖g_j − g_{j+1}‖₂ with g_j = ∂CE(W(h_j⊙P_j)+b, y_j)/∂h_j
// = (Wᵀ(softmax(z_j) − e_{y_j})) ⊙ P_j, writes ∂L/∂P into grad and returns
// L with the smallest and largest entry of g. The min–max normalisation of
// the spec, ĝ = (g − min)/(max − min) with min and max of the first step
// held fixed, scales L and its gradient by 1/(max − min); the caller applies
// it.
func unigObjective(grad, h, p []float64, w, b []float32, y []int, n, k, f int, ws *unigWork) (loss, gmin, gmax float64) {
	ws.a = grow(ws.a, n*f)
	ws.g = grow(ws.g, n*f)
	ws.prob = grow(ws.prob, n*k)
	ws.c = grow(ws.c, max(k, f))
	gmin, gmax = math.Inf(1), math.Inf(-1)
	for j := 0; j < n; j++ {
		hj, pj := h[j*f:(j+1)*f], p[j*f:(j+1)*f]
		pr := ws.prob[j*k : (j+1)*k]
		headRow(pr, hj, pj, w, b, k, f)
		softmax64(pr)
		aj, gj := ws.a[j*f:(j+1)*f], ws.g[j*f:(j+1)*f]
		clear(aj)
		for c := 0; c < k; c++ {
			r := pr[c]
			if c == y[j] {
				r--
			}
			wc := w[c*f : (c+1)*f]
			for i := range aj {
				aj[i] += r * float64(wc[i])
			}
		}
		for i := range gj {
			gj[i] = aj[i] * pj[i]
			gmin, gmax = min(gmin, gj[i]), max(gmax, gj[i])
		}
	}
	// ∂L/∂g_j = u_j − u_{j−1}, u_j the unit vector of g_j − g_{j+1} (0 for
	// equal rows, as PyTorch's norm gradient at 0).
	clear(grad)
	for j := 0; j+1 < n; j++ {
		gj, gn := ws.g[j*f:(j+1)*f], ws.g[(j+1)*f:(j+2)*f]
		var ss float64
		for i := range gj {
			d := gj[i] - gn[i]
			ss += d * d
		}
		norm := math.Sqrt(ss)
		loss += norm
		if norm == 0 {
			continue
		}
		for i := range gj {
			u := (gj[i] - gn[i]) / norm
			grad[j*f+i] += u
			grad[(j+1)*f+i] -= u
		}
	}
	// Chain through g_j = a_j ⊙ P_j with a_j = Wᵀ(softmax(W(h_j⊙P_j)+b) − e_y):
	// ∂L/∂P_j = c ⊙ a_j + h_j ⊙ Wᵀ J q, q = W(c ⊙ P_j), J = diag(p) − ppᵀ.
	q := ws.c[:k]
	for j := 0; j < n; j++ {
		cj := grad[j*f : (j+1)*f]
		hj, pj, aj := h[j*f:(j+1)*f], p[j*f:(j+1)*f], ws.a[j*f:(j+1)*f]
		pr := ws.prob[j*k : (j+1)*k]
		var pq float64
		for c := 0; c < k; c++ {
			var s float64
			wc := w[c*f : (c+1)*f]
			for i := range cj {
				s += float64(wc[i]) * cj[i] * pj[i]
			}
			q[c] = s
			pq += pr[c] * s
		}
		for c := 0; c < k; c++ {
			q[c] = pr[c] * (q[c] - pq)
		}
		for i := range cj {
			var s float64
			for c := 0; c < k; c++ {
				s += float64(w[c*f+i]) * q[c]
			}
			cj[i] = cj[i]*aj[i] + hj[i]*s
		}
	}
	return loss, gmin, gmax
}

// softmax64 replaces z by softmax(z).
func softmax64(z []float64) {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	var s float64
	for i, v := range z {
		z[i] = math.Exp(v - m)
		s += z[i]
	}
	for i := range z {
		z[i] /= s
	}
}

func init() {
	def := DefaultUniGConfig()
	info := Info{
		Name:        "unig",
		Description: "UniG: per-batch Hadamard module before the linear head unifying feature gradients (needs a model with features)",
		Randomized:  true,
		Params: []Param{
			{Name: "lr", Default: def.LR, Doc: "SGD learning rate on the multipliers"},
			{Name: "epochs", Default: float64(def.Epochs), Doc: "SGD steps per batch", Integer: true},
			{Name: "delta", Default: def.Delta, Doc: "multipliers are clamped to [1-delta, 1+delta]"},
			{Name: "init_std", Default: def.InitStd, Doc: "standard deviation of the multipliers' N(1, s²) start"},
			{Name: "momentum", Default: def.Momentum, Doc: "SGD momentum"},
			{Name: "weight_decay", Default: def.WeightDecay, Doc: "SGD weight decay"},
			{Name: "batch", Default: float64(def.Batch), Doc: "rows fitted together", Integer: true},
		},
	}
	Register(info, func(o Options) (Defense, error) {
		cfg := UniGConfig{
			LR: param(info, o, "lr"), Delta: param(info, o, "delta"), InitStd: param(info, o, "init_std"),
			Momentum: param(info, o, "momentum"), WeightDecay: param(info, o, "weight_decay"),
		}
		var err error
		if cfg.Epochs, err = intParam(info, o, "epochs", 0, 1000); err != nil {
			return nil, err
		}
		if cfg.Batch, err = intParam(info, o, "batch", 1, 1<<16); err != nil {
			return nil, err
		}
		return NewUniG(cfg, newRand(o.Seed))
	})
}
