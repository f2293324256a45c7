package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
)

// Objective is a training loss of one mini-batch that replaces [Fit]'s
// softmax cross-entropy ([Config.Objective]).
type Objective interface {
	// BatchLoss evaluates the loss of net on the batch x (len(y) inputs,
	// NCHW) with labels y in training mode, back-propagates it into the
	// network's parameter gradients (zeroed by the caller) and returns the
	// loss and the number of correctly classified inputs. first is false
	// when a two-pass optimizer (SAM) evaluates the same batch again at
	// perturbed weights; an objective may then reuse what it computed on
	// the first call.
	BatchLoss(ctx context.Context, net Network, x []float32, y []int, first bool) (loss float64, correct int, err error)
}

// AdversarialMethods lists the values of [Adversarial.Method].
var AdversarialMethods = []string{"pgd", "fgsm", "fgsm-rs", "trades"}

// Adversarial configures L∞ adversarial training, the inner maximisation
// of min_w E max_{‖δ‖∞≤ε, 0≤x+δ≤1} L(w; x+δ, y) (robustness.md §5.5, §13).
// The inner attack runs in inference mode (batch-norm running statistics,
// no dropout) on the network's input gradients, as TRADES' code does with
// model.eval(); the training step that follows is in training mode.
type Adversarial struct {
	// Method is one of [AdversarialMethods]:
	//
	//   - "pgd" (Madry et al. 2018): Steps signed-gradient steps of Alpha
	//     (default 2.5·ε/Steps) from a uniform random start in the ε-box;
	//   - "fgsm" (Goodfellow et al. 2015): one step of Alpha (default ε)
	//     from the clean input, the single-step AT that overfits
	//     catastrophically at large ε (robustness.md §14);
	//   - "fgsm-rs" (Wong et al. 2020, "Fast is better than free"): a
	//     uniform random start and one step of Alpha (default 1.25·ε), the
	//     Fast-AT of robustness.md §13;
	//   - "trades" (Zhang et al. 2019): the loss CE(f(x), y) + β·KL(f(x) ‖
	//     f(x′)) with x′ maximising the KL by Steps signed steps of Alpha
	//     (default 2.5·ε/Steps) from x + 0.001·N(0, I), as the official
	//     trades.py.
	Method string  `json:"method"`
	Eps    float64 `json:"eps"`   // L∞ radius on the [0, 1] input scale, in (0, 1]
	Steps  int     `json:"steps"` // inner steps of pgd and trades; 0 means 10
	Alpha  float64 `json:"alpha"` // step size; 0 means the method's default
	Beta   float64 `json:"beta"`  // TRADES β; 0 means 6 (the official CIFAR-10 value)
	Seed   uint64  `json:"seed"`  // random starts
}

// withDefaults fills the zero fields with the method's defaults.
func (a Adversarial) withDefaults() Adversarial {
	a.Method = strings.ToLower(strings.TrimSpace(a.Method))
	if a.Steps == 0 {
		a.Steps = 10
	}
	switch a.Method {
	case "fgsm", "fgsm-rs":
		a.Steps = 1
	}
	if a.Beta == 0 {
		a.Beta = 6
	}
	if a.Alpha == 0 {
		switch a.Method {
		case "fgsm":
			a.Alpha = a.Eps
		case "fgsm-rs":
			a.Alpha = 1.25 * a.Eps
		default:
			a.Alpha = 2.5 * a.Eps / float64(a.Steps)
		}
	}
	return a
}

// Validate checks the settings; the errors name the CLI flags.
func (a Adversarial) Validate() error {
	m := strings.ToLower(strings.TrimSpace(a.Method))
	switch {
	case !slices.Contains(AdversarialMethods, m):
		return fmt.Errorf("train: unknown --adversarial %q (want %s)", a.Method, strings.Join(AdversarialMethods, ", "))
	case !(a.Eps > 0 && a.Eps <= 1):
		return fmt.Errorf("train: --eps %v outside (0, 1]: inputs lie in [0, 1], so ε is on that scale (e.g. 0.1, or 8/255 ≈ 0.031)", a.Eps)
	case a.Steps < 0:
		return fmt.Errorf("train: --adv-steps %d must be ≥ 1 (0: 10)", a.Steps)
	case !(a.Alpha >= 0) || math.IsInf(a.Alpha, 0):
		return fmt.Errorf("train: --alpha %v must be ≥ 0 and finite (0: the method's default)", a.Alpha)
	case !(a.Beta >= 0) || math.IsInf(a.Beta, 0):
		return fmt.Errorf("train: --beta %v must be ≥ 0 and finite (0: 6)", a.Beta)
	}
	return nil
}

// String describes the configuration with its defaults resolved, e.g.
// "fgsm-rs ε=0.1 α=0.125".
func (a Adversarial) String() string {
	d := a.withDefaults()
	s := fmt.Sprintf("%s ε=%.4g α=%.4g", d.Method, d.Eps, d.Alpha)
	switch d.Method {
	case "pgd":
		s += fmt.Sprintf(" steps=%d", d.Steps)
	case "trades":
		s += fmt.Sprintf(" steps=%d β=%g", d.Steps, d.Beta)
	}
	return s
}

// AdversarialObjective is the [Objective] of adversarial training: each
// batch is replaced by its adversarial examples (or, for TRADES, the clean
// batch and its adversarial examples enter the TRADES loss). Create it with
// [NewAdversarialObjective]; it keeps buffers across batches and is not
// safe for concurrent use.
type AdversarialObjective struct {
	cfg            Adversarial
	pgd            *attack.PGD
	rng            *rand.Rand
	adv, both, gx  []float32
	p, dl, nat     []float32
	lastN, lastDim int
}

var _ Objective = (*AdversarialObjective)(nil)

// NewAdversarialObjective returns the objective of cfg, or an error
// naming the bad setting.
func NewAdversarialObjective(cfg Adversarial) (*AdversarialObjective, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	o := &AdversarialObjective{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0xad7e))}
	if cfg.Method != "trades" {
		o.pgd = &attack.PGD{Threat: attack.Threat{Norm: attack.LInf, Eps: cfg.Eps, Loss: attack.LossCE},
			Steps: cfg.Steps, StepSize: cfg.Alpha, RandomStart: cfg.Method != "fgsm"}
	}
	return o, nil
}

// Config returns the settings with the defaults resolved.
func (o *AdversarialObjective) Config() Adversarial { return o.cfg }

// BatchLoss implements [Objective]. net must implement
// [model.InputGrader] ([nn.Network] does).
func (o *AdversarialObjective) BatchLoss(ctx context.Context, net Network, x []float32, y []int, first bool) (float64, int, error) {
	g, ok := net.(model.InputGrader)
	if !ok {
		return 0, 0, fmt.Errorf("train: adversarial training needs a network with input gradients (model.InputGrader); %T has none", net)
	}
	n, k := len(y), net.NumClasses()
	if n == 0 || len(x)%n != 0 {
		return 0, 0, fmt.Errorf("train: adversarial batch of %d values for %d labels", len(x), n)
	}
	if !first && (n != o.lastN || len(x)/n != o.lastDim) {
		first = true
	}
	o.adv = grow32(o.adv, len(x))
	if first {
		var err error
		if o.cfg.Method == "trades" {
			err = o.tradesAttack(ctx, g, x, n, k)
		} else {
			err = o.pgd.Perturb(ctx, g, o.adv, x, y, o.rng)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("train: %s inner attack: %w", o.cfg.Method, err)
		}
		o.lastN, o.lastDim = n, len(x)/n
	}
	if o.cfg.Method == "trades" {
		o.both = grow32(o.both, 2*len(x))
		copy(o.both, x)
		copy(o.both[len(x):], o.adv)
		out := net.Forward(o.both, 2*n, true)
		o.dl = grow32(o.dl, 2*n*k)
		loss, correct := tradesLoss(out[:n*k], out[n*k:], y, k, o.cfg.Beta, o.dl[:n*k], o.dl[n*k:])
		net.Backward(o.dl, false)
		return loss, correct, nil
	}
	out := net.Forward(o.adv, n, true)
	o.dl = grow32(o.dl, n*k)
	loss, correct := nn.SoftmaxCrossEntropy(out, o.dl, y, k, 0)
	net.Backward(o.dl, false)
	return loss, correct, nil
}

// tradesAttack writes into o.adv the TRADES adversarial examples of x:
// from x + 0.001·N(0, I), Steps steps x′ ← Π(x′ + α·sign ∇ KL(p(x) ‖
// p(x′))) onto the ε-box of x intersected with [0, 1], p(x) from the
// inference-mode logits (official trades.py).
//
// The projection is a plain clamp; attack's L∞ projection (which rounds
// inward in float64) is not exported.
func (o *AdversarialObjective) tradesAttack(ctx context.Context, g model.InputGrader, x []float32, n, k int) error {
	o.nat = grow32(o.nat, n*k)
	if err := g.Logits(ctx, o.nat, x); err != nil {
		return err
	}
	o.p = grow32(o.p, n*k)
	lp := make([]float64, k)
	for i := range n {
		logSoftmax(o.nat[i*k:(i+1)*k], lp)
		for j, v := range lp {
			o.p[i*k+j] = float32(math.Exp(v))
		}
	}
	p := o.p
	kl := func(logits, dlogits []float32, n, k int) float64 {
		lq := make([]float64, k)
		var s float64
		for i := range n {
			logSoftmax(logits[i*k:(i+1)*k], lq)
			for j, v := range lq {
				pj := float64(p[i*k+j])
				if pj > 0 {
					s += pj * (math.Log(pj) - v)
				}
				dlogits[i*k+j] = float32(math.Exp(v) - pj)
			}
		}
		return s
	}
	for j, v := range x {
		o.adv[j] = v + float32(0.001*o.rng.NormFloat64())
	}
	o.gx = grow32(o.gx, len(x))
	eps, alpha := float32(o.cfg.Eps), float32(o.cfg.Alpha)
	for range o.cfg.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := g.InputGrad(ctx, o.gx, o.adv, kl); err != nil {
			return err
		}
		for j, v := range o.adv {
			switch gj := o.gx[j]; {
			case gj > 0:
				v += alpha
			case gj < 0:
				v -= alpha
			}
			v = min(max(v, x[j]-eps), x[j]+eps)
			o.adv[j] = min(max(v, 0), 1)
		}
	}
	for j, v := range o.adv { // zero steps: only the clamp of the official code
		o.adv[j] = min(max(v, 0), 1)
	}
	return nil
}

// tradesLoss is the TRADES objective of the clean logits z and the
// adversarial logits a (n×k each):
//
//	(1/n) Σᵢ [ CE(zᵢ, yᵢ) + β·KL(softmax(zᵢ) ‖ softmax(aᵢ)) ]
//
// (F.cross_entropy plus β/n · KLDivLoss(sum) of the official code, the
// gradient flowing through both arguments of the KL). It writes the
// gradients with respect to z and a into dz and da and returns the loss
// and the number of adversarial logits whose argmax is the label.
func tradesLoss(z, a []float32, y []int, k int, beta float64, dz, da []float32) (float64, int) {
	n := len(y)
	inv := 1 / float64(n)
	lp, lq := make([]float64, k), make([]float64, k)
	var total float64
	correct := 0
	for i := range n {
		logSoftmax(z[i*k:(i+1)*k], lp)
		logSoftmax(a[i*k:(i+1)*k], lq)
		if metrics.Argmax(a[i*k:(i+1)*k]) == y[i] {
			correct++
		}
		var kl float64
		for j := range k {
			kl += math.Exp(lp[j]) * (lp[j] - lq[j])
		}
		total += -lp[y[i]] + beta*kl
		for j := range k {
			pj, qj := math.Exp(lp[j]), math.Exp(lq[j])
			d := pj
			if j == y[i] {
				d--
			}
			dz[i*k+j] = float32(inv * (d + beta*pj*((lp[j]-lq[j])-kl)))
			da[i*k+j] = float32(inv * beta * (qj - pj))
		}
	}
	return total * inv, correct
}

// logSoftmax writes log softmax(z) into dst, in float64.
func logSoftmax(z []float32, dst []float64) {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(s)
	for j, v := range z {
		dst[j] = float64(v) - lse
	}
}
