package attack

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// QueryNet is the score-based attack by multi-identity surrogates (Chen et
// al., "QueryNet: Attack by Multi-Identity Surrogates", robustness.md §4):
// Square with several surrogate networks of different architectures that
// are trained, during the attack, on the victim's query–answer pairs.
//
// Each iteration has several attackers propose one candidate per sample:
// every surrogate (one FGSM-type step on its cross-entropy from the
// current best point: L∞ a step of 2ε by the gradient's sign, clipped to
// the ball; L2 a normalised-gradient step of 2ε, rescaled to ε), Square+
// (Square candidates redrawn, up to PlusTrials times, until a Lipschitz
// bound from the sample's past queries says they could beat PlusFactor of
// its best loss) and Square. The surrogates then act as evaluators: each
// predicts the objective (the margin by default) of every candidate, the
// predictions are averaged with the surrogates' weights, and the candidate
// with the lowest predicted loss is the one query the victim answers for
// the sample. It is accepted, as in Square, when the victim's loss
// decreases. An attacker's weight is the fraction of the samples that
// chose its candidate whose loss decreased (0 when fewer than MinChosen
// chose it). While Square+'s weight is the largest the iteration uses only
// Square+ and Square (no surrogate training); once Square's weight is the
// largest the remaining iterations are plain Square, as in the official
// code.
//
// Queries are counted like Square's (1 clean + 1 initialisation + 1 per
// iteration): candidates are judged by the surrogates, never by the
// victim, so the victim answers exactly one query per sample and
// iteration.
//
// On CPU the official surrogates (PC-DARTS cells, 1500 + 100 batches per
// iteration on every query pair) are out of reach: the surrogates here are
// small fixed networks ([QueryNetSurrogates]), the pair buffer keeps the
// most recent Buffer pairs, and Square+ checks the Lipschitz bound against
// the sample's last History queries and redraws from the current best point
// (the official code stacks the windows of failed draws).
type QueryNet struct {
	Threat
	// PInit and NIters are Square's p-schedule (see [Square]).
	PInit  float64 `json:"p_init"`
	NIters int     `json:"n_iters"`
	// Surrogates names the surrogate architectures, one surrogate each
	// (see [QueryNetSurrogates]).
	Surrogates []string `json:"surrogates"`
	// SquarePlus adds the Square+ attacker; PlusTrials is its most redraws
	// and PlusFactor the share of the best loss a candidate's bound must be
	// able to reach (0.7 in the official code); History is the number of a
	// sample's most recent queries the bound is checked against.
	SquarePlus bool    `json:"square_plus"`
	PlusTrials int     `json:"plus_trials"`
	PlusFactor float64 `json:"plus_factor"`
	History    int     `json:"history"`
	// Surrogate training: mean squared error between surrogate and victim
	// logits on batches of Batch pairs drawn from the buffer, SGD with LR,
	// Momentum, WeightDecay and gradient-norm clipping at ClipNorm. The
	// first training takes at most InitSteps batches, later ones (in each
	// iteration that uses the surrogates) at most RoundSteps; both stop
	// once the batch loss is below StopLoss after MinSteps batches.
	InitSteps   int     `json:"init_steps"`
	RoundSteps  int     `json:"round_steps"`
	MinSteps    int     `json:"min_steps"`
	StopLoss    float64 `json:"stop_loss"`
	Batch       int     `json:"batch"`
	LR          float64 `json:"lr"`
	Momentum    float64 `json:"momentum"`
	WeightDecay float64 `json:"weight_decay"`
	ClipNorm    float64 `json:"clip_norm"`
	// Buffer is the most query pairs kept for training (the oldest are
	// replaced first).
	Buffer int `json:"buffer"`
	// MinChosen is the number of samples that must choose an attacker for
	// its weight to be measured; 0 takes the official rule: 2 for
	// single-channel images, 20 for 1000 classes, 10 otherwise.
	MinChosen int `json:"min_chosen"`
	// CoverEdges is Square's option of the same name.
	CoverEdges bool `json:"cover_edges"`
}

// QueryNetSurrogates are the surrogate architectures [QueryNet] knows, for
// C×H×W inputs and K classes:
//
//   - "conv2": two blocks of 3×3 convolution (8 then 16 channels), ReLU and
//     2×2 max pooling, then the K-way dense layer;
//   - "conv1": one 5×5 convolution of stride 2 (8 channels), ReLU, a dense
//     layer of 32 units, ReLU and the K-way dense layer;
//   - "mlp": one hidden dense layer of 64 units.
var QueryNetSurrogates = []string{"conv2", "conv1", "mlp"}

// NewQueryNet returns L∞ QueryNet with ε = 8/255, Square's p_init 0.05 and
// 10000 iterations, the three surrogates of [QueryNetSurrogates] and
// Square+, and surrogate training scaled down for CPUs (at most 200
// batches of 32 at first, then 10 per iteration, stopping once the MSE is
// below 2 after 3 batches; SGD lr 0.01, momentum 0.9, weight decay 3e-4,
// clipping at 5) on the last 8192 query pairs.
func NewQueryNet() *QueryNet {
	return &QueryNet{
		Threat: Threat{Norm: LInf, Eps: 8.0 / 255}, PInit: 0.05, NIters: 10000,
		Surrogates: slices.Clone(QueryNetSurrogates),
		SquarePlus: true, PlusTrials: 50, PlusFactor: 0.7, History: 8,
		InitSteps: 200, RoundSteps: 10, MinSteps: 3, StopLoss: 2, Batch: 32,
		LR: 0.01, Momentum: 0.9, WeightDecay: 3e-4, ClipNorm: 5, Buffer: 8192,
	}
}

func init() { Register("querynet", func() Attack { return NewQueryNet() }) }

// Name is "querynet".
func (a *QueryNet) Name() string { return "querynet" }

func (a *QueryNet) validate(shape []int) (c, h, w int, err error) {
	sq := &Square{Threat: a.Threat, PInit: a.PInit, NIters: a.NIters}
	if c, h, w, err = sq.validate(shape); err != nil {
		return 0, 0, 0, fmt.Errorf("attack: querynet: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("attack: querynet: "+format, args...)
	}
	switch {
	case len(a.Surrogates) == 0:
		return 0, 0, 0, bad("no surrogates (known: %v)", QueryNetSurrogates)
	case a.SquarePlus && (a.PlusTrials < 1 || a.History < 1 || !(a.PlusFactor >= 0) || math.IsInf(a.PlusFactor, 0)):
		return 0, 0, 0, bad("Square+ needs plus_trials ≥ 1, history ≥ 1 and a finite plus_factor ≥ 0, got %d, %d, %v", a.PlusTrials, a.History, a.PlusFactor)
	case a.InitSteps < 0 || a.RoundSteps < 0 || a.MinSteps < 0 || a.MinChosen < 0:
		return 0, 0, 0, bad("init_steps %d, round_steps %d, min_steps %d and min_chosen %d must be ≥ 0", a.InitSteps, a.RoundSteps, a.MinSteps, a.MinChosen)
	case a.Batch < 1 || a.Buffer < 1:
		return 0, 0, 0, bad("batch %d and buffer %d must be ≥ 1", a.Batch, a.Buffer)
	case !(a.LR > 0) || !(a.Momentum >= 0 && a.Momentum < 1) || !(a.WeightDecay >= 0) || !(a.ClipNorm > 0) || !(a.StopLoss >= 0):
		return 0, 0, 0, bad("lr %v must be > 0, momentum %v in [0, 1), weight_decay %v ≥ 0, clip_norm %v > 0, stop_loss %v ≥ 0", a.LR, a.Momentum, a.WeightDecay, a.ClipNorm, a.StopLoss)
	case math.IsInf(a.LR, 0) || math.IsInf(a.WeightDecay, 0) || math.IsInf(a.ClipNorm, 0):
		return 0, 0, 0, bad("lr, weight_decay and clip_norm must be finite")
	}
	for _, s := range a.Surrogates {
		if !slices.Contains(QueryNetSurrogates, s) {
			return 0, 0, 0, bad("unknown surrogate %q (known: %v)", s, QueryNetSurrogates)
		}
	}
	return c, h, w, nil
}

// Run attacks x through o; see [Attack.Run].
func (a *QueryNet) Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	def := LossMargin
	if opts.Targets != nil {
		def = LossCE
	}
	th := a.Threat
	r, err := newRunner(ctx, a.Name(), o, x, y, opts, &th, def, true)
	if err != nil {
		return nil, err
	}
	c, h, w, err := a.validate(o.shape)
	if err != nil {
		return nil, err
	}
	sqa := &Square{Threat: th, PInit: a.PInit, NIters: a.NIters, CoverEdges: a.CoverEdges}
	sq := &squareRun{Square: sqa, r: r, c: c, h: h, w: w, d: r.d, rule: r.loss}
	if a.CoverEdges {
		sq.edge = 1
	}
	q := &qnRun{QueryNet: a, r: r, sq: sq}
	return q.run()
}
