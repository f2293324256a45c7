package attack

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/model"
)

// FGSM is the fast gradient sign method (Goodfellow et al. 2015), a
// white-box attack: one step of size ε along the sign of the objective's
// input gradient (L∞) or along the normalised gradient (L2, the "fast
// gradient method"). The objective defaults to the cross-entropy (ascended).
// Run needs an oracle whose classifier implements [model.InputGrader];
// [FGSM.Perturb] works on an InputGrader directly, for adversarial training.
type FGSM struct {
	Threat
	scratch []float32
}

// NewFGSM returns L∞ FGSM with ε = 8/255 and the cross-entropy.
func NewFGSM() *FGSM { return &FGSM{Threat: Threat{Norm: LInf, Eps: 8.0 / 255}} }

// PGD is projected gradient descent (Madry et al. 2018), a white-box attack:
// from a random point of the ball (RandomStart) take Steps steps of size
// StepSize along the sign of the input gradient (L∞) or the normalised
// gradient (L2), projecting onto the threat set after each. Run stops a
// sample at the first iterate that fools the model (the logits returned by
// each gradient evaluation decide it); [PGD.Perturb] runs all steps on a
// batch for adversarial training.
type PGD struct {
	Threat
	// Steps is the number of gradient steps (10).
	Steps int `json:"steps"`
	// StepSize is the step α; 0 means 2.5·ε/Steps (Madry et al.'s rule,
	// 2/255 for ε = 8/255 and 10 steps).
	StepSize float64 `json:"step_size"`
	// RandomStart starts from a uniform point of the L∞ box (L2: a random
	// direction at a uniform radius) instead of the clean input.
	RandomStart bool `json:"random_start"`
	// Restarts is the number of runs of Steps steps, each from a fresh
	// random start, on the samples no earlier run fooled (Run only; 0
	// means 1). More than 1 needs RandomStart.
	Restarts int `json:"restarts"`
	// Schedule is the step-size schedule over the Steps steps of a run:
	// "" or "constant" (StepSize throughout), "halve" (halved after 50 %
	// and again after 75 % of the steps) or "cosine"
	// (StepSize·(1 + cos(π·t/Steps))/2 at step t = 0 … Steps−1).
	Schedule string `json:"schedule"`
	scratch  []float32
}

// NewPGD returns L∞ PGD: ε = 8/255, 10 steps of 2/255, random start,
// cross-entropy.
func NewPGD() *PGD {
	return &PGD{Threat: Threat{Norm: LInf, Eps: 8.0 / 255}, Steps: 10, RandomStart: true}
}

// NewPGDL2 returns L2 PGD: ε = 0.5, 10 steps of 0.125, random start,
// cross-entropy.
func NewPGDL2() *PGD {
	return &PGD{Threat: Threat{Norm: L2, Eps: 0.5}, Steps: 10, RandomStart: true}
}

func init() {
	Register("fgsm", func() Attack { return NewFGSM() })
	Register("pgd", func() Attack { return NewPGD() })
	Register("pgd-l2", func() Attack { return NewPGDL2() })
}

// Name is "fgsm".
func (a *FGSM) Name() string { return "fgsm" }

// Name is "pgd" (L∞) or "pgd-l2".
func (a *PGD) Name() string {
	if a.Norm == L2 {
		return "pgd-l2"
	}
	return "pgd"
}

func (a *PGD) alpha() float64 {
	if a.StepSize > 0 {
		return a.StepSize
	}
	return 2.5 * a.Eps / float64(a.Steps)
}

// stepAt is the step size of step t (0-based) of a run.
func (a *PGD) stepAt(t int) float64 {
	al := a.alpha()
	switch a.Schedule {
	case "halve":
		if 4*t >= 3*a.Steps {
			return al / 4
		}
		if 2*t >= a.Steps {
			return al / 2
		}
	case "cosine":
		return al * (1 + math.Cos(math.Pi*float64(t)/float64(a.Steps))) / 2
	}
	return al
}

func (a *PGD) validate() error {
	switch a.Schedule {
	case "", "constant", "halve", "cosine":
	default:
		return fmt.Errorf("attack: %s: schedule %q must be constant, halve or cosine", a.Name(), a.Schedule)
	}
	if a.Restarts < 0 {
		return fmt.Errorf("attack: %s: restarts %d must be ≥ 0", a.Name(), a.Restarts)
	}
	if a.Restarts > 1 && !a.RandomStart {
		return fmt.Errorf("attack: %s: %d restarts without random_start would repeat the same run", a.Name(), a.Restarts)
	}
	if a.Steps < 1 {
		return fmt.Errorf("attack: %s: steps %d must be at least 1", a.Name(), a.Steps)
	}
	if a.StepSize < 0 || math.IsNaN(a.StepSize) || math.IsInf(a.StepSize, 0) {
		return fmt.Errorf("attack: %s: step_size %v must be ≥ 0 and finite", a.Name(), a.StepSize)
	}
	return nil
}

// Run attacks x through o; see [Attack.Run]. opts.Rand is not used.
func (a *FGSM) Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	return runWhitebox(ctx, a.Name(), &a.Threat, 1, func(int) float64 { return a.Eps }, false, 1, o, x, y, opts)
}

// Run attacks x through o; see [Attack.Run]. opts.Rand is required with
// RandomStart.
func (a *PGD) Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	return runWhitebox(ctx, a.Name(), &a.Threat, a.Steps, a.stepAt, a.RandomStart, max(a.Restarts, 1), o, x, y, opts)
}

// runWhitebox runs restarts runs of steps gradient steps (step t of size
// alpha(t)) on the samples not yet fooled; each run ends with a check of
// its last iterate.
func runWhitebox(ctx context.Context, name string, t *Threat, steps int, alpha func(int) float64, randStart bool, restarts int, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	r, err := newRunner(ctx, name, o, x, y, opts, t, LossCE, randStart)
	if err != nil {
		return nil, err
	}
	if _, ok := o.c.(model.InputGrader); !ok {
		return nil, noGradients(name)
	}
	n, d := r.n, r.d
	xcur := append([]float32(nil), x...)
	adv := func(i int) []float32 { return xcur[i*d : (i+1)*d] }
	if err := r.clean(); err != nil {
		return r.finish(nil, err)
	}
	r.reserve(n, true)
	for range restarts {
		if len(r.active) == 0 {
			break
		}
		if err := pgdRun(r, t, steps, alpha, randStart, xcur); err != nil {
			return r.finish(adv, err)
		}
	}
	return r.finish(adv, nil)
}

// pgdRun is one PGD run of runWhitebox on the active samples, from a
// random start (randStart) or the clean input.
func pgdRun(r *runner, t *Threat, steps int, alpha func(int) float64, randStart bool, xcur []float32) error {
	d := r.d
	for _, i := range r.active {
		if randStart {
			randomStart(r.rng, t, xcur[i*d:(i+1)*d], r.xi(i))
		} else {
			copy(xcur[i*d:(i+1)*d], r.xi(i))
		}
	}
	for step := range steps {
		if len(r.active) == 0 {
			break
		}
		r.begin()
		for _, i := range r.active {
			// Keep one query for the final check of the last iterate;
			// a sample without room for another step just waits for it.
			if r.o.Remaining(i) >= 2 {
				copy(r.stage(i, true), xcur[i*d:(i+1)*d])
			}
		}
		if r.m == 0 {
			break
		}
		if err := r.flushGrad(); err != nil {
			return err
		}
		al := alpha(step)
		for j := range r.m {
			i := r.qi[j]
			if !r.attacking(i) {
				continue
			}
			r.res.Loss[i] = r.ql[j]
			xc := xcur[i*d : (i+1)*d]
			descend(t.Norm, al, xc, r.qg[j*d:(j+1)*d])
			project(t.Norm, t.Eps, xc, r.xi(i))
		}
		if err := r.endRound(); err != nil {
			return err
		}
	}
	r.begin()
	for _, i := range r.active {
		if r.has(i, 1) {
			copy(r.stage(i, true), xcur[i*d:(i+1)*d])
		}
	}
	if err := r.flush(); err != nil {
		return err
	}
	for j := range r.m {
		if i := r.qi[j]; r.attacking(i) {
			r.res.Loss[i] = r.ql[j]
		}
	}
	return r.endRound()
}

// randomStart sets v to a random point of the threat set around x0.
func randomStart(rng *rand.Rand, t *Threat, v, x0 []float32) {
	if t.Norm == LInf {
		for j, x := range x0 {
			v[j] = float32(float64(x) + t.Eps*(2*rng.Float64()-1))
		}
	} else {
		var nrm float64
		for j := range v {
			g := rng.NormFloat64()
			v[j] = float32(g)
			nrm += g * g
		}
		f := 0.0
		if nrm > 0 {
			f = t.Eps * rng.Float64() / math.Sqrt(nrm)
		}
		for j, x := range x0 {
			v[j] = float32(float64(x) + f*float64(v[j]))
		}
	}
	for j := range v {
		v[j] = min(max(v[j], 0), 1)
	}
	project(t.Norm, t.Eps, v, x0)
}

// Perturb writes into dst (len(x), not overlapping x) the FGSM adversarial
// examples of the batch x with labels y, computed directly on g (no
// oracle, no early stop). It reuses an internal buffer across calls, so a
// FGSM value must not be used by two goroutines at once.
func (a *FGSM) Perturb(ctx context.Context, g model.InputGrader, dst, x []float32, y []int) error {
	return perturb(ctx, a.Name(), &a.Threat, 1, func(int) float64 { return a.Eps }, false, nil, &a.scratch, g, dst, x, y)
}

// Perturb writes into dst (len(x), not overlapping x) the PGD adversarial
// examples of the batch x with labels y, running all Steps on g (no
// oracle, no early stop; Schedule applies, Restarts must be ≤ 1), as
// adversarial training needs. rng is required
// with RandomStart. It reuses an internal buffer across calls, so a PGD
// value must not be used by two goroutines at once.
func (a *PGD) Perturb(ctx context.Context, g model.InputGrader, dst, x []float32, y []int, rng *rand.Rand) error {
	if err := a.validate(); err != nil {
		return err
	}
	if a.Restarts > 1 {
		return fmt.Errorf("attack: %s: Perturb runs once; restarts %d apply to Run only", a.Name(), a.Restarts)
	}
	return perturb(ctx, a.Name(), &a.Threat, a.Steps, a.stepAt, a.RandomStart, rng, &a.scratch, g, dst, x, y)
}

func perturb(ctx context.Context, name string, t *Threat, steps int, alpha func(int) float64, randStart bool, rng *rand.Rand, scratch *[]float32, g model.InputGrader, dst, x []float32, y []int) error {
	if err := t.validate(name); err != nil {
		return err
	}
	if g == nil {
		return fmt.Errorf("attack: %s: nil model", name)
	}
	n, err := model.CheckBatch(g, nil, x, 0)
	if err != nil {
		return fmt.Errorf("attack: %s: %w", name, err)
	}
	if len(y) != n {
		return fmt.Errorf("attack: %s: %d labels for %d inputs", name, len(y), n)
	}
	if len(dst) != len(x) {
		return fmt.Errorf("%w: attack %s: destination has %d values, want %d", model.ErrShape, name, len(dst), len(x))
	}
	if n == 0 {
		return nil
	}
	if &dst[0] == &x[0] {
		return fmt.Errorf("attack: %s: dst and x must not overlap", name)
	}
	k := g.NumClasses()
	for i, l := range y {
		if l < 0 || l >= k {
			return fmt.Errorf("attack: %s: label %d of sample %d outside [0, %d)", name, l, i, k)
		}
	}
	d := len(x) / n
	for j, v := range x {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("%w: attack %s: input %d has value %v at position %d, outside [0, 1]", ErrInput, name, j/d, v, j%d)
		}
	}
	if randStart && rng == nil {
		return fmt.Errorf("attack: %s: random start needs a random source", name)
	}
	if len(*scratch) < len(x) {
		*scratch = make([]float32, len(x))
	}
	gx := (*scratch)[:len(x)]
	loss := t.Loss.resolve(LossCE).Func(y, false)
	copy(dst, x)
	if randStart {
		for i := range n {
			randomStart(rng, t, dst[i*d:(i+1)*d], x[i*d:(i+1)*d])
		}
	}
	for step := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := g.InputGrad(ctx, gx, dst, loss); err != nil {
			return fmt.Errorf("attack: %s: %w", name, err)
		}
		al := alpha(step)
		for i := range n {
			v := dst[i*d : (i+1)*d]
			descend(t.Norm, al, v, gx[i*d:(i+1)*d])
			project(t.Norm, t.Eps, v, x[i*d:(i+1)*d])
		}
	}
	return nil
}
