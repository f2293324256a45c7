package attack

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/trustml/trustml/model"
)

// APGD is Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial
// robustness with an ensemble of diverse parameter-free attacks"), the
// white-box component of AutoAttack: PGD with momentum whose step size
// needs no tuning. It starts at 2ε, and at checkpoints (after 22 % of the
// iterations, then at intervals shrinking by 3 % of them to at least 6 %)
// it is halved, and the iterate reset to the best point so far, when the
// objective rose in at most a fraction Rho of the steps since the last
// checkpoint, or when the step was not halved at the last checkpoint and
// the best objective has not improved since. Each step is
//
//	z = P(x_k + η·s(∇f(x_k))),  x_{k+1} = P(x_k + 0.75·(z − x_k) + 0.25·(x_k − x_{k−1}))
//
// (no momentum on the first step), with s the sign (L∞) or the unit vector
// (L2) and P the projection onto the threat set. The attack maximises the
// cross-entropy (APGD-CE) or the difference-of-logits ratio
// DLR = −(z_y − max_{j≠y} z_j)/(z_π1 − z_π3) (APGD-DLR, invariant to the
// scale of the logits); APGD-T maximises the targeted DLR
// −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2) towards each of the TargetClasses
// most likely other classes in turn (π sorts the logits in decreasing
// order). Success is untargeted in all three unless [RunOptions].Targets
// is set (APGD-CE and APGD-DLR only), which makes the objective the
// targeted cross-entropy or targeted DLR towards the given class.
//
// Every evaluated point is a candidate: a sample stops at the first iterate
// that fools the model. Queries count gradient evaluations: 1 clean query,
// then per restart (and per target for APGD-T) 1 at the starting point and
// 1 per iteration. [Result].Loss is the negated best objective (the
// package's minimised convention: log p_y for the cross-entropy, the
// DLR margin ratio for DLR). The reference code is fra31/auto-attack
// (autopgd_base.py); this is an independent implementation of it.
type APGD struct {
	Threat
	// Objective is "ce" (cross-entropy) or "dlr".
	Objective string `json:"objective"`
	// Iters is the number of iterations per run (100).
	Iters int `json:"iters"`
	// Restarts is the number of runs from fresh random starting points
	// (per target class for APGD-T); samples fooled by one are not
	// attacked again (1).
	Restarts int `json:"restarts"`
	// Rho is the fraction of increasing steps below which a checkpoint
	// halves the step size (0.75).
	Rho float64 `json:"rho"`
	// TargetClasses > 0 makes this APGD-T: for each of the TargetClasses
	// classes with the largest clean logits other than the top one, one
	// targeted run (Restarts runs) on the samples still unbroken. It is
	// capped at K−1 (9 in AutoAttack's standard version).
	TargetClasses int `json:"target_classes"`

	// init, when set (tests), gives every run the same starting points
	// (n×d, already inside the threat set) instead of random ones.
	init []float32
	// trace, when set (tests), receives every evaluated objective of every
	// run: sample, iteration (0 for the starting point) and value.
	trace func(i, it int, gain float64)
}

// NewAPGDCE returns L∞ APGD-CE: ε = 8/255, 100 iterations, 1 restart.
func NewAPGDCE() *APGD {
	return &APGD{Threat: Threat{Norm: LInf, Eps: 8.0 / 255}, Objective: "ce", Iters: 100, Restarts: 1, Rho: 0.75}
}

// NewAPGDDLR returns L∞ APGD-DLR: ε = 8/255, 100 iterations, 1 restart.
func NewAPGDDLR() *APGD {
	a := NewAPGDCE()
	a.Objective = "dlr"
	return a
}

// NewAPGDT returns L∞ APGD-T as in AutoAttack's standard version: the
// targeted DLR towards each of the 9 next most likely classes, 100
// iterations and 1 restart per target.
func NewAPGDT() *APGD {
	a := NewAPGDDLR()
	a.TargetClasses = 9
	return a
}

func init() {
	Register("apgd-ce", func() Attack { return NewAPGDCE() })
	Register("apgd-dlr", func() Attack { return NewAPGDDLR() })
	Register("apgd-t", func() Attack { return NewAPGDT() })
}

// Name is "apgd-ce", "apgd-dlr" or "apgd-t" (TargetClasses > 0).
func (a *APGD) Name() string {
	switch {
	case a.TargetClasses > 0:
		return "apgd-t"
	case a.Objective == "dlr":
		return "apgd-dlr"
	}
	return "apgd-ce"
}

func (a *APGD) validate() error {
	name := a.Name()
	if err := a.Threat.validate(name); err != nil {
		return err
	}
	if a.Objective != "ce" && a.Objective != "dlr" {
		return fmt.Errorf("attack: %s: objective %q must be \"ce\" or \"dlr\"", name, a.Objective)
	}
	if a.Loss != LossDefault {
		return fmt.Errorf("attack: %s: loss %s not supported: APGD's objective is set by its objective field (ce or dlr)", name, a.Loss)
	}
	if a.Iters < 1 {
		return fmt.Errorf("attack: %s: iters %d must be at least 1", name, a.Iters)
	}
	if a.Restarts < 1 {
		return fmt.Errorf("attack: %s: restarts %d must be at least 1", name, a.Restarts)
	}
	if !(a.Rho > 0 && a.Rho <= 1) {
		return fmt.Errorf("attack: %s: rho %v must be in (0, 1]", name, a.Rho)
	}
	if a.TargetClasses < 0 {
		return fmt.Errorf("attack: %s: target_classes %d must be ≥ 0", name, a.TargetClasses)
	}
	return nil
}

// apgdRun holds the state of one APGD run over the active samples.
type apgdRun struct {
	a       *APGD
	r       *runner
	d       int
	dlr     bool
	tgt     []int // target of the objective per sample, -1: untargeted
	xadv    []float32
	xold    []float32
	xbest   []float32
	grad    []float32
	gbest   []float32
	gain    []float64 // objective at xadv
	best    []float64
	last    []float64 // best at the last checkpoint
	redu    []bool    // step halved at the last checkpoint
	step    []float32
	hist    []float64 // Iters per sample, the objective per iteration
	rowG    []float64 // objective of each staged row
	seen    []bool    // evaluated at least once
	scratch []float32
}

// Run attacks x through o; see [Attack.Run]. opts.Rand is required.
func (a *APGD) Run(ctx context.Context, o *Oracle, x []float32, y []int, opts RunOptions) (*Result, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	name := a.Name()
	if a.TargetClasses > 0 && opts.Targets != nil {
		return nil, fmt.Errorf("attack: %s: chooses its own target classes; RunOptions.Targets must be nil", name)
	}
	r, err := newRunner(ctx, name, o, x, y, opts, &a.Threat, LossCE, a.init == nil)
	if err != nil {
		return nil, err
	}
	if _, ok := o.c.(model.InputGrader); !ok {
		return nil, noGradients(name)
	}
	if a.init != nil && len(a.init) != len(x) {
		return nil, fmt.Errorf("%w: attack %s: %d starting values for %d inputs", model.ErrShape, name, len(a.init), len(x))
	}
	k := r.k
	dlr := a.Objective == "dlr"
	if need := 3; dlr {
		if a.TargetClasses > 0 || opts.Targets != nil {
			need = 4 // the targeted DLR uses the four largest logits
		}
		if k < need {
			return nil, fmt.Errorf("attack: %s: the DLR objective needs at least %d classes, the model has %d", name, need, k)
		}
	}
	n, d := r.n, r.d
	s := &apgdRun{a: a, r: r, d: d, dlr: dlr, tgt: make([]int, n),
		xadv: slices.Clone(x), xold: make([]float32, n*d), xbest: slices.Clone(x),
		grad: make([]float32, n*d), gbest: make([]float32, n*d),
		gain: make([]float64, n), best: make([]float64, n), last: make([]float64, n),
		redu: make([]bool, n), step: make([]float32, n), hist: make([]float64, n*a.Iters),
		rowG: make([]float64, n), seen: make([]bool, n), scratch: make([]float32, d)}
	for i := range s.tgt {
		s.tgt[i] = -1
		if opts.Targets != nil {
			s.tgt[i] = opts.Targets[i]
		}
	}
	adv := func(i int) []float32 { return s.xbest[i*d : (i+1)*d] }
	finish := func(err error) (*Result, error) {
		for i, ok := range s.seen {
			if ok && r.st[i] != stFooled && r.st[i] != stFailed {
				r.res.Loss[i] = -s.best[i]
			}
		}
		return r.finish(adv, err)
	}
	if err := r.clean(); err != nil {
		return r.finish(nil, err)
	}
	// The clean logits rank the target classes of APGD-T.
	var order [][]int
	if a.TargetClasses > 0 {
		order = make([][]int, n)
		for j := range r.m {
			z := r.qs[j*k : (j+1)*k]
			o := make([]int, k)
			for c := range o {
				o[c] = c
			}
			slices.SortStableFunc(o, func(p, q int) int { return -cmpF32(z[p], z[q]) })
			order[r.qi[j]] = o
		}
	}
	r.gradFn = s.rowLoss
	r.reserve(n, true)
	targets := 1
	if a.TargetClasses > 0 {
		targets = min(a.TargetClasses, k-1)
	}
	for tc := range targets {
		for range a.Restarts {
			if len(r.active) == 0 {
				return finish(nil)
			}
			if order != nil {
				for _, i := range r.active {
					s.tgt[i] = order[i][tc+1]
				}
			}
			if err := s.run(); err != nil {
				return finish(err)
			}
		}
	}
	return finish(nil)
}

func cmpF32(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rowLoss is the runner's gradient objective: the gain to maximise of
// staged row j, also recorded in rowG.
func (s *apgdRun) rowLoss(j int, z, dz []float32) float64 {
	i := s.r.qi[j]
	var g float64
	if s.dlr {
		g = dlrGain(dz, z, s.r.y[i], s.tgt[i])
	} else {
		label, targeted := s.r.y[i], false
		if s.tgt[i] >= 0 {
			label, targeted = s.tgt[i], true
		}
		// LossCE minimises log p_y (targeted −log p_t); the gain is its
		// negation.
		g = -LossCE.Grad(dz, z, label, targeted)
		for c := range dz {
			dz[c] = -dz[c]
		}
	}
	s.rowG[j] = g
	return g
}

// dlrGain writes the gradient of the DLR objective of the official code
// into dz and returns it: untargeted (t < 0)
// −(z_y − max_{j≠y} z_j)/(z_π1 − z_π3 + 1e-12), targeted
// −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2 + 1e-12).
func dlrGain(dz, z []float32, y, t int) float64 {
	// The four largest logits, in decreasing order.
	var top [4]int
	for c := range top {
		top[c] = -1
	}
	for j, v := range z {
		for c := range top {
			if top[c] < 0 || v > z[top[c]] {
				copy(top[c+1:], top[c:3])
				top[c] = j
				break
			}
		}
	}
	clear(dz)
	m := t
	if t < 0 {
		m = top[0]
		if m == y {
			m = top[1]
		}
	}
	num := float64(z[y]) - float64(z[m])
	var den float64
	if t < 0 {
		den = float64(z[top[0]]) - float64(z[top[2]]) + 1e-12
	} else {
		den = float64(z[top[0]]) - 0.5*(float64(z[top[2]])+float64(z[top[3]])) + 1e-12
	}
	// g = −num/den: dg = −dnum/den + num/den²·dden.
	f := num / (den * den)
	dz[y] += float32(-1 / den)
	dz[m] += float32(1 / den)
	dz[top[0]] += float32(f)
	if t < 0 {
		dz[top[2]] -= float32(f)
	} else {
		dz[top[2]] -= float32(f / 2)
		dz[top[3]] -= float32(f / 2)
	}
	return -num / den
}

// eval computes the gain and gradient of every active sample at its xadv
// (one query each); samples without budget stop.
func (s *apgdRun) eval() error {
	r, d := s.r, s.d
	r.begin()
	for _, i := range r.active {
		if r.has(i, 1) {
			copy(r.stage(i, true), s.xadv[i*d:(i+1)*d])
		}
	}
	if err := r.flushGrad(); err != nil {
		return err
	}
	for j := range r.m {
		i := r.qi[j]
		if r.st[i] == stFooled { // by this query: fooled samples are not staged again
			r.res.Loss[i] = -s.rowG[j]
		}
		if !r.attacking(i) {
			continue
		}
		s.seen[i] = true
		s.gain[i] = s.rowG[j]
		copy(s.grad[i*d:(i+1)*d], r.qg[j*d:(j+1)*d])
	}
	return nil
}

// run is one APGD run (the official attack_single_run) on the active
// samples.
func (s *apgdRun) run() error {
	a, r, d := s.a, s.r, s.d
	eps := a.Eps
	for _, i := range r.active {
		v := s.xadv[i*d : (i+1)*d]
		if a.init != nil {
			copy(v, a.init[i*d:(i+1)*d])
			project(a.Norm, eps, v, r.xi(i))
		} else {
			apgdStart(s, i, v)
		}
	}
	if err := s.eval(); err != nil {
		return err
	}
	if err := r.endRound(); err != nil {
		return err
	}
	it := a.Iters
	for _, i := range r.active {
		s.trace(i, 0)
		copy(s.xbest[i*d:(i+1)*d], s.xadv[i*d:(i+1)*d])
		copy(s.gbest[i*d:(i+1)*d], s.grad[i*d:(i+1)*d])
		copy(s.xold[i*d:(i+1)*d], s.xadv[i*d:(i+1)*d])
		s.best[i], s.last[i], s.redu[i] = s.gain[i], s.gain[i], true
		s.step[i] = float32(2 * eps)
		clear(s.hist[i*it : (i+1)*it])
	}
	k := max(int(0.22*float64(it)), 1)
	kMin := max(int(0.06*float64(it)), 1)
	kDecr := max(int(0.03*float64(it)), 1)
	counter := 0
	for iter := range it {
		if len(r.active) == 0 {
			return nil
		}
		mom := float32(0.75)
		if iter == 0 {
			mom = 1
		}
		for _, i := range r.active {
			s.step1(i, mom)
		}
		if err := s.eval(); err != nil {
			return err
		}
		for _, i := range r.active {
			if !r.attacking(i) {
				continue
			}
			s.trace(i, iter+1)
			g := s.gain[i]
			s.hist[i*it+iter] = g
			if g > s.best[i] {
				copy(s.xbest[i*d:(i+1)*d], s.xadv[i*d:(i+1)*d])
				copy(s.gbest[i*d:(i+1)*d], s.grad[i*d:(i+1)*d])
				s.best[i] = g
			}
		}
		counter++
		if counter == k {
			for _, i := range r.active {
				if !r.attacking(i) {
					continue
				}
				h := s.hist[i*it : (i+1)*it]
				ups := 0
				for c := range k {
					// Python indexing: before the first iteration comes
					// the (still zero) last row.
					cur, prev := iter-c, iter-c-1
					if prev < 0 {
						prev += it
					}
					if h[cur] > h[prev] {
						ups++
					}
				}
				halve := float64(ups) <= float64(k)*a.Rho ||
					!s.redu[i] && s.last[i] >= s.best[i]
				s.redu[i] = halve
				s.last[i] = s.best[i]
				if halve {
					s.step[i] /= 2
					copy(s.xadv[i*d:(i+1)*d], s.xbest[i*d:(i+1)*d])
					copy(s.grad[i*d:(i+1)*d], s.gbest[i*d:(i+1)*d])
				}
			}
			k = max(k-kDecr, kMin)
			counter = 0
		}
		if err := r.endRound(); err != nil {
			return err
		}
	}
	return nil
}

func (s *apgdRun) trace(i, it int) {
	if s.a.trace != nil {
		s.a.trace(i, it, s.gain[i])
	}
}

// apgdStart draws the official starting point: L∞ x + ε·t/‖t‖∞ with t
// uniform in [−1, 1]^d, L2 x + ε·t/‖t‖₂ with t standard normal, clipped
// to [0, 1].
func apgdStart(s *apgdRun, i int, v []float32) {
	rng, x0, eps := s.r.rng, s.r.xi(i), s.a.Eps
	var nrm float64
	for j := range v {
		var t float64
		if s.a.Norm == LInf {
			t = 2*rng.Float64() - 1
			nrm = math.Max(nrm, math.Abs(t))
		} else {
			t = rng.NormFloat64()
			nrm += t * t
		}
		v[j] = float32(t)
	}
	if s.a.Norm == L2 {
		nrm = math.Sqrt(nrm)
	}
	f := eps / (nrm + 1e-12)
	for j, x := range x0 {
		v[j] = float32(float64(x) + f*float64(v[j]))
	}
	for j := range v {
		v[j] = min(max(v[j], 0), 1)
	}
	project(s.a.Norm, eps, v, x0)
}

// step1 takes one APGD step of sample i with momentum coefficient mom.
func (s *apgdRun) step1(i int, mom float32) {
	d, a := s.d, s.a
	x0 := s.r.xi(i)
	xa := s.xadv[i*d : (i+1)*d]
	xo := s.xold[i*d : (i+1)*d]
	g := s.grad[i*d : (i+1)*d]
	z := s.scratch
	eta := s.step[i]
	if a.Norm == LInf {
		for j, v := range g {
			var sg float32
			switch {
			case v > 0:
				sg = 1
			case v < 0:
				sg = -1
			}
			z[j] = xa[j] + eta*sg
		}
	} else {
		var nrm float64
		for _, v := range g {
			nrm += float64(v) * float64(v)
		}
		f := float32(1 / (math.Sqrt(nrm) + 1e-12))
		for j, v := range g {
			z[j] = xa[j] + eta*(v*f)
		}
	}
	project(a.Norm, a.Eps, z, x0)
	for j := range z {
		prev := xa[j] - xo[j] // x_k − x_{k−1}
		xo[j] = xa[j]
		z[j] = xa[j] + (z[j]-xa[j])*mom + prev*(1-mom)
	}
	project(a.Norm, a.Eps, z, x0)
	copy(xa, z)
}

// noGradients is the error of a white-box attack on a classifier without
// input gradients.
func noGradients(name string) error {
	return fmt.Errorf("attack: %s is a white-box attack and needs the model's input gradients, which this classifier (a defended output or a served model?) does not give; attack the undefended local model, or use a score-based attack: %w", name, ErrNotDifferentiable)
}
