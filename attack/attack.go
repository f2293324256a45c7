package attack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/trustml/trustml/internal/registry"
)

// Attack is an adversarial attack. Black-box attacks use only the oracle's
// scores; white-box ones (FGSM, PGD) also need the oracle's classifier to
// implement [model.InputGrader].
type Attack interface {
	// Name is the attack's registry name, for example "square".
	Name() string
	// ThreatModel returns the attack's norm, radius and loss for editing.
	ThreatModel() *Threat
	// Run attacks the n inputs x (n×InputSize, values in [0, 1]) with labels
	// y (len n) through o. It returns a per-sample [Result]; on context
	// cancellation it returns the partial result and ctx.Err(). Errors in the
	// arguments are returned before any query.
	Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error)
}

// Norm is the norm of the perturbation ball.
type Norm int

const (
	// LInf is the L∞ ball: every coordinate moves by at most Eps.
	LInf Norm = iota
	// L2 is the Euclidean ball of radius Eps.
	L2
)

// String returns "linf" or "l2".
func (n Norm) String() string {
	switch n {
	case LInf:
		return "linf"
	case L2:
		return "l2"
	}
	return fmt.Sprintf("Norm(%d)", int(n))
}

// ParseNorm parses "linf" (also "inf", "Linf") or "l2" (also "2").
func ParseNorm(s string) (Norm, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "linf", "inf", "l-inf":
		return LInf, nil
	case "l2", "2":
		return L2, nil
	}
	return 0, fmt.Errorf("attack: unknown norm %q (want linf or l2)", s)
}

// MarshalText encodes the norm as its name.
func (n Norm) MarshalText() ([]byte, error) {
	if n != LInf && n != L2 {
		return nil, fmt.Errorf("attack: invalid norm %d", int(n))
	}
	return []byte(n.String()), nil
}

// UnmarshalText decodes a norm name, see [ParseNorm].
func (n *Norm) UnmarshalText(b []byte) error {
	v, err := ParseNorm(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// Threat is the threat model shared by all attacks: the ball the
// perturbation stays in and the objective the attack minimises.
type Threat struct {
	Norm Norm    `json:"norm"`
	Eps  float64 `json:"eps"`  // radius of the ball, on the [0, 1] pixel scale
	Loss Loss    `json:"loss"` // LossDefault: the attack's reference choice
}

// ThreatModel returns t itself, so that every attack embedding a Threat
// exposes it through [Attack.ThreatModel].
func (t *Threat) ThreatModel() *Threat { return t }

func (t *Threat) validate(name string) error {
	if t.Norm != LInf && t.Norm != L2 {
		return fmt.Errorf("attack: %s: invalid norm %d", name, int(t.Norm))
	}
	if !(t.Eps > 0) || math.IsInf(t.Eps, 0) {
		return fmt.Errorf("attack: %s: eps %v must be positive and finite", name, t.Eps)
	}
	if t.Loss < LossDefault || t.Loss > LossBi {
		return fmt.Errorf("attack: %s: invalid loss %d", name, int(t.Loss))
	}
	return nil
}

// RunOptions are the per-run settings of [Attack.Run].
type RunOptions struct {
	// Rand is the only source of randomness; required by every randomized
	// attack (all but FGSM and PGD without random start). The same seed gives
	// the same result bit for bit.
	Rand *rand.Rand
	// Targets, when non-nil (len n), makes the attack targeted: sample i
	// succeeds when the model predicts Targets[i], which must differ from
	// y[i]. See [RandomTargets].
	Targets []int
	// Progress, when non-nil, is called after every round (one batched
	// oracle call, or one step of the attack) from Run's goroutine.
	Progress func(Progress)
}

// Progress is a snapshot of a running attack, passed to
// [RunOptions].Progress.
type Progress struct {
	Attack  string // registry name
	Round   int    // rounds completed
	N       int    // samples in the run
	Active  int    // samples still being attacked
	Fooled  int    // samples fooled so far (clean misclassified included)
	Failed  int    // samples whose queries failed
	Queries int64  // queries issued by this run so far, all samples
	Budget  int    // the oracle's per-sample budget (0: unlimited)
}

// String formats the snapshot as one line.
func (p Progress) String() string {
	return fmt.Sprintf("%s round %d: %d/%d fooled, %d active, %d failed, %d queries",
		p.Attack, p.Round, p.Fooled, p.N, p.Active, p.Failed, p.Queries)
}

// Result is the per-sample outcome of one [Attack.Run]. All slices have one
// entry per sample (Adv: n×InputSize).
type Result struct {
	// Adv is the adversarial example: the first fooling point for fooled
	// samples, otherwise the attack's final (best) iterate; x for samples
	// that were never attacked.
	Adv []float32
	// Success reports whether the sample was fooled (untargeted: predicted
	// ≠ y; targeted: predicted the target) at some query of this run.
	Success []bool
	// Queries is the number of queries this run issued for the sample,
	// clean query included (see the package documentation).
	Queries []int
	// FooledAt is the query number (1-based, counted like Queries) at which
	// the sample was first fooled, or -1. Untargeted samples the model
	// already misclassifies are fooled at query 1.
	FooledAt []int
	// CleanCorrect reports whether the clean query predicted y.
	CleanCorrect []bool
	// Loss is the attack objective (see [Loss]) at Adv, as last observed;
	// NaN where unknown.
	Loss []float64
	// Failed holds an error for samples whose queries failed (non-finite
	// scores, model errors, no budget for the clean query); nil otherwise.
	// A failed sample is neither robust nor fooled: it is left out of
	// [Result.RobustAccuracy].
	Failed []error
	// By names, for ensembles ([AutoAttack]), the component that fooled
	// each sample ("" if none did or the clean query already
	// misclassified it); nil for single attacks.
	By []string
}

// N is the number of samples.
func (r *Result) N() int { return len(r.Success) }

// NumFailed is the number of samples with a non-nil Failed entry.
func (r *Result) NumFailed() int {
	c := 0
	for _, e := range r.Failed {
		if e != nil {
			c++
		}
	}
	return c
}

// RobustAccuracy is the fraction of samples that were classified correctly
// by the clean query and not fooled within budget queries (budget ≤ 0: the
// whole run), over all samples that did not fail. This is the SQA papers'
// "accuracy after Q queries" (robustness.md §0.4). It returns NaN when every
// sample failed.
func (r *Result) RobustAccuracy(budget int) float64 {
	ok, total := 0, 0
	for i := range r.Success {
		if r.Failed[i] != nil {
			continue
		}
		total++
		if !r.CleanCorrect[i] {
			continue
		}
		if r.FooledAt[i] < 0 || (budget > 0 && r.FooledAt[i] > budget) {
			ok++
		}
	}
	if total == 0 {
		return math.NaN()
	}
	return float64(ok) / float64(total)
}

// QueryStats returns the mean and median of FooledAt over the successful
// attacks (samples correctly classified by the clean query, fooled within
// budget queries; budget ≤ 0: the whole run, not failed) and their count;
// mean and median are NaN when there are none.
func (r *Result) QueryStats(budget int) (mean, median float64, count int) {
	q := make([]int, 0, len(r.FooledAt))
	for i, f := range r.FooledAt {
		if r.Failed[i] != nil || !r.CleanCorrect[i] || f < 0 || (budget > 0 && f > budget) {
			continue
		}
		q = append(q, f)
	}
	if len(q) == 0 {
		return math.NaN(), math.NaN(), 0
	}
	slices.Sort(q)
	s := 0
	for _, v := range q {
		s += v
	}
	m := len(q)
	if m%2 == 1 {
		median = float64(q[m/2])
	} else {
		median = float64(q[m/2-1]+q[m/2]) / 2
	}
	return float64(s) / float64(m), median, m
}

// RandomTargets draws, for each label y[i] in [0, k), a target uniformly
// among the k−1 other classes, as the Square/AAA code does for targeted
// attacks.
func RandomTargets(rng *rand.Rand, y []int, k int) ([]int, error) {
	if rng == nil {
		return nil, errors.New("attack: RandomTargets: nil random source")
	}
	if k < 2 {
		return nil, fmt.Errorf("attack: RandomTargets: need at least 2 classes, got %d", k)
	}
	t := make([]int, len(y))
	for i, l := range y {
		if l < 0 || l >= k {
			return nil, fmt.Errorf("attack: RandomTargets: label %d of sample %d outside [0, %d)", l, i, k)
		}
		c := rng.IntN(k - 1)
		if c >= l {
			c++
		}
		t[i] = c
	}
	return t, nil
}

// Factory makes an attack with its default settings.
type Factory func() Attack

var attacks = registry.New[Factory]("attack")

// ErrUnknown is matched (errors.Is) by the error of [New] for a name no
// attack is registered under; the error lists the registered names.
var ErrUnknown = registry.ErrUnknown

// Register makes an attack available by name to [New]. It is meant to be
// called from init functions and panics if name is empty or already taken,
// or f is nil (programming errors, not user input).
func Register(name string, f Factory) {
	if f == nil {
		panic("attack: Register with nil factory for " + name)
	}
	attacks.Register(name, f)
}

// New returns the attack registered as name, with the spec's default
// settings. An unknown name is an error matching [ErrUnknown].
func New(name string) (Attack, error) {
	f, err := attacks.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("attack: %w", err)
	}
	return f(), nil
}

// Names lists the registered attack names in sorted order.
func Names() []string { return attacks.Names() }
