package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/nn"
)

// AFA configures adaptive feature alignment (robustness.md §16): adversarial
// training of a network whose batch norms are dual ([nn.KindDualBN]: one
// branch for clean and one for adversarial statistics, mixed by a predicted
// fusing weight w), so that one model serves inputs of any attack strength.
// The spec records no public code; the training step below is ours:
//
//  1. draw the batch's attack strength s: 1 with probability FullProb,
//     else uniform on (0, 1);
//
//  2. PGD-Steps (step 2.5·sε/Steps, random start) at radius s·ε against the
//     deployed model (inference mode, predicted fusing weights);
//
//  3. the loss
//
//     ½·CE(f₀(x), y) + ½·CE(f_s(x′), y) + Lambda·½·[A(x, 0) + A(x′, s)]
//
//     where f_ω is the network with its fusing weight forced to ω (the
//     clean batch through the clean branches and their statistics, the
//     adversarial one through the mix that matches its strength), and the
//     alignment loss A(x, t) is the binary cross-entropy of the predicted
//     fusing weight against the strength t, averaged over inputs: it
//     teaches the predictor to read the attack strength off the features,
//     which is what aligns the features of an unseen strength at test
//     time.
type AFA struct {
	Eps      float64 `json:"eps"`       // L∞ radius on the [0, 1] scale, in (0, 1]
	Steps    int     `json:"steps"`     // PGD steps; 0 means 10
	Lambda   float64 `json:"lambda"`    // weight of the alignment loss; 0 means 1
	FullProb float64 `json:"full_prob"` // probability of a full-strength batch; 0 means ½
	Seed     uint64  `json:"seed"`      // strengths and random starts
}

func (a AFA) withDefaults() AFA {
	if a.Steps == 0 {
		a.Steps = 10
	}
	if a.Lambda == 0 {
		a.Lambda = 1
	}
	if a.FullProb == 0 {
		a.FullProb = 0.5
	}
	return a
}

// Validate checks the settings.
func (a AFA) Validate() error {
	switch {
	case !(a.Eps > 0 && a.Eps <= 1):
		return fmt.Errorf("train: AFA ε %v outside (0, 1]: inputs lie in [0, 1] (e.g. 0.1, or 8/255 ≈ 0.031)", a.Eps)
	case a.Steps < 0:
		return fmt.Errorf("train: AFA steps %d must be ≥ 1 (0: 10)", a.Steps)
	case !(a.Lambda >= 0) || math.IsInf(a.Lambda, 0):
		return fmt.Errorf("train: AFA lambda %v must be ≥ 0 and finite (0: 1)", a.Lambda)
	case !(a.FullProb >= 0 && a.FullProb <= 1):
		return fmt.Errorf("train: AFA full-strength probability %v outside [0, 1] (0: ½)", a.FullProb)
	}
	return nil
}

// String describes the configuration with its defaults resolved.
func (a AFA) String() string {
	d := a.withDefaults()
	return fmt.Sprintf("afa ε=%.4g steps=%d λ=%g p_full=%g", d.Eps, d.Steps, d.Lambda, d.FullProb)
}

// AFAObjective is the [Objective] of [AFA] training. Create it with
// [NewAFAObjective]; it keeps buffers across batches and is not safe for
// concurrent use.
type AFAObjective struct {
	cfg      AFA
	rng      *rand.Rand
	adv, dl  []float32
	dz       []float32
	s        float64 // the last batch's strength
	lastN    int
	lastSize int
}

var _ Objective = (*AFAObjective)(nil)

// NewAFAObjective returns the objective of cfg, or an error naming the bad
// setting.
func NewAFAObjective(cfg AFA) (*AFAObjective, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &AFAObjective{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0xafa))}, nil
}

// Config returns the settings with the defaults resolved.
func (o *AFAObjective) Config() AFA { return o.cfg }

// BatchLoss implements [Objective]. net must be an [*nn.Network] with dual
// batch norms ([nn.WithDualBN]); it is left with predicted fusing weights.
func (o *AFAObjective) BatchLoss(ctx context.Context, net Network, x []float32, y []int, first bool) (float64, int, error) {
	nw, ok := net.(*nn.Network)
	if !ok || nw.NumDualBN() == 0 {
		return 0, 0, fmt.Errorf("train: AFA needs an nn.Network with dual batch norms (nn.WithDualBN); %T has none", net)
	}
	n := len(y)
	if n == 0 || len(x)%n != 0 {
		return 0, 0, fmt.Errorf("train: AFA batch of %d values for %d labels", len(x), n)
	}
	if !first && (n != o.lastN || len(x) != o.lastSize) {
		first = true
	}
	o.adv = grow32(o.adv, len(x))
	if first {
		o.s = 1
		if o.rng.Float64() >= o.cfg.FullProb {
			o.s = 1 - o.rng.Float64() // (0, 1]
		}
		eps := o.s * o.cfg.Eps
		pgd := &attack.PGD{Threat: attack.Threat{Norm: attack.LInf, Eps: eps, Loss: attack.LossCE},
			Steps: o.cfg.Steps, StepSize: 2.5 * eps / float64(o.cfg.Steps), RandomStart: true}
		if err := nw.SetFuse(-1); err != nil {
			return 0, 0, err
		}
		if err := pgd.Perturb(ctx, nw, o.adv, x, y, o.rng); err != nil {
			return 0, 0, fmt.Errorf("train: AFA inner attack: %w", err)
		}
		o.lastN, o.lastSize = n, len(x)
	}
	return o.loss(nw, x, o.adv, y, o.s)
}

// loss runs the two passes of the AFA loss on the clean batch x and its
// adversarial examples adv of strength s, accumulating the parameter
// gradients, and returns the loss and the adversarial batch's correct
// count. It leaves the network with predicted fusing weights.
func (o *AFAObjective) loss(net *nn.Network, x, adv []float32, y []int, s float64) (float64, int, error) {
	defer net.SetFuse(-1) //nolint:errcheck // -1 is valid for a network with dual batch norms
	n, k := len(y), net.NumClasses()
	scale := 0.5 * o.cfg.Lambda
	o.dl = grow32(o.dl, n*k)
	o.dz = grow32(o.dz, n)
	var total float64
	var correct int
	for _, pass := range []struct {
		in []float32
		t  float64
	}{{x, 0}, {adv, s}} {
		if err := net.SetFuse(pass.t); err != nil {
			return 0, 0, err
		}
		out := net.Forward(pass.in, n, true)
		ce, c := nn.SoftmaxCrossEntropy(out, o.dl, y, k, 0)
		for i := range o.dl {
			o.dl[i] *= 0.5
		}
		total += 0.5 * ce
		correct = c
		var bce float64
		for i, w := range net.Fuse() {
			wf := min(max(float64(w), 1e-12), 1-1e-12)
			bce -= pass.t*math.Log(wf) + (1-pass.t)*math.Log(1-wf)
			o.dz[i] = float32(scale * (float64(w) - pass.t) / float64(n))
		}
		total += scale * bce / float64(n)
		if err := net.AddFuseGrad(o.dz); err != nil {
			return 0, 0, err
		}
		net.Backward(o.dl, false)
	}
	return total, correct, nil
}
