package attack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// The runner is the driver shared by all attacks, in the spirit of gonum's
// reverse communication: an attack stages the inputs it wants scored
// (stage), the runner queries them in one oracle call (flush), counts,
// detects non-finite scores and successes, and the attack then reads the
// losses of the rows it staged. Between rounds the runner drops finished
// samples, reports progress and checks the context. All buffers are
// allocated once per run, so rounds do not allocate.

// Sample states.
const (
	stActive uint8 = iota // being attacked
	stFooled              // fooled: Adv holds the fooling point
	stFailed              // a query failed: Failed holds the error
	stDone                // finished unfooled (budget, natural end, not attacked)
)

type runner struct {
	ctx      context.Context
	name     string
	o        *Oracle
	n, d, k  int
	x        []float32
	y, tgt   []int
	targeted bool
	loss     Loss
	rng      *rand.Rand
	progress func(Progress)
	res      *Result
	st       []uint8
	start    []int // oracle counts when the run began
	active   []int
	round    int
	queries  int64
	fooled   int
	failed   int

	// Staged rows: m rows of inputs qx, sample qi, candidate flag qc; after
	// a flush, scores qs, losses ql (NaN for rows whose sample is no longer
	// attacked) and, for white-box flushes, input gradients qg.
	m      int
	qx     []float32
	qi     []int
	qc     []bool
	qs     []float32
	ql     []float64
	qg     []float32
	gradFn RowLoss
}

// newRunner validates the arguments of Run and prepares the result.
func newRunner(ctx context.Context, name string, o *Oracle, x []float32, y []int, opts RunOptions, t *Threat, def Loss, needRand bool) (*runner, error) {
	if err := t.validate(name); err != nil {
		return nil, err
	}
	if t.Loss.Adaptive() {
		return nil, fmt.Errorf("attack: %s: loss %s is an adaptive acceptance rule that only square implements", name, t.Loss)
	}
	if o == nil {
		return nil, fmt.Errorf("attack: %s: nil oracle", name)
	}
	if ctx == nil {
		return nil, fmt.Errorf("attack: %s: nil context", name)
	}
	n, d, k := len(y), o.d, o.k
	if n == 0 {
		return nil, fmt.Errorf("attack: %s: no samples (empty label slice)", name)
	}
	if len(x) != n*d {
		return nil, fmt.Errorf("%w: attack %s: %d input values for %d labels, want %d×%d (input shape %v)", model.ErrShape, name, len(x), n, n, d, o.shape)
	}
	if j := outside01(x); j >= 0 {
		return nil, fmt.Errorf("%w: attack %s: input %d has value %v at position %d, outside [0, 1]", ErrInput, name, j/d, x[j], j%d)
	}
	for i, l := range y {
		if l < 0 || l >= k {
			return nil, fmt.Errorf("attack: %s: label %d of sample %d outside [0, %d)", name, l, i, k)
		}
	}
	if opts.Targets != nil {
		if len(opts.Targets) != n {
			return nil, fmt.Errorf("attack: %s: %d targets for %d samples", name, len(opts.Targets), n)
		}
		for i, t := range opts.Targets {
			if t < 0 || t >= k {
				return nil, fmt.Errorf("attack: %s: target %d of sample %d outside [0, %d)", name, t, i, k)
			}
			if t == y[i] {
				return nil, fmt.Errorf("attack: %s: target of sample %d equals its label %d", name, i, t)
			}
		}
	}
	if needRand && opts.Rand == nil {
		return nil, fmt.Errorf("attack: %s: RunOptions.Rand is nil; pass a seeded source such as rand.New(rand.NewPCG(seed, 0))", name)
	}
	o.grow(n)
	r := &runner{
		ctx: ctx, name: name, o: o, n: n, d: d, k: k, x: x, y: y,
		tgt: opts.Targets, targeted: opts.Targets != nil,
		loss: t.Loss.resolve(def), rng: opts.Rand, progress: opts.Progress,
		st: make([]uint8, n), start: make([]int, n),
	}
	for i := range n {
		r.start[i] = o.Count(i)
	}
	res := &Result{
		Adv:          append([]float32(nil), x...),
		Success:      make([]bool, n),
		Queries:      make([]int, n),
		FooledAt:     make([]int, n),
		CleanCorrect: make([]bool, n),
		Loss:         make([]float64, n),
		Failed:       make([]error, n),
	}
	for i := range n {
		res.FooledAt[i] = -1
		res.Loss[i] = math.NaN()
	}
	r.res = res
	r.gradFn = r.gradRow
	return r, nil
}

// label is the class the objective refers to: the target or the label.
func (r *runner) label(i int) int {
	if r.targeted {
		return r.tgt[i]
	}
	return r.y[i]
}

// success reports whether scores z fool sample i.
func (r *runner) success(z []float32, i int) bool {
	a := metrics.Argmax(z)
	if r.targeted {
		return a == r.tgt[i]
	}
	return a != r.y[i]
}

// xi is the clean input of sample i.
func (r *runner) xi(i int) []float32 { return r.x[i*r.d : (i+1)*r.d] }

// attacking reports whether sample i is still being attacked.
func (r *runner) attacking(i int) bool { return r.st[i] == stActive }

// reserve makes room for rows staged rows (allocating only when growing).
func (r *runner) reserve(rows int, grad bool) {
	if rows > len(r.qi) {
		r.qx = make([]float32, rows*r.d)
		r.qi = make([]int, rows)
		r.qc = make([]bool, rows)
		r.qs = make([]float32, rows*r.k)
		r.ql = make([]float64, rows)
		if r.qg != nil {
			r.qg = make([]float32, rows*r.d)
		}
	}
	if grad && len(r.qg) < len(r.qx) {
		r.qg = make([]float32, len(r.qx))
	}
}

// begin starts staging a new batch of rows.
func (r *runner) begin() { r.m = 0 }

// stage adds a row for sample i and returns it for the attack to fill.
// cand marks a feasible point whose query may count as a success.
func (r *runner) stage(i int, cand bool) []float32 {
	j := r.m
	r.m++
	r.qi[j], r.qc[j] = i, cand
	return r.qx[j*r.d : (j+1)*r.d]
}

// row returns staged row j's input.
func (r *runner) row(j int) []float32 { return r.qx[j*r.d : (j+1)*r.d] }

// flush queries the staged rows. It returns only context errors; other
// query errors fail the samples of the rows concerned (all staged rows for
// a refused query, the failed chunks' rows for a model error).
func (r *runner) flush() error {
	if r.m == 0 {
		return r.ctx.Err()
	}
	m := r.m
	err := r.o.query(r.ctx, r.qi[:m], r.qx[:m*r.d], r.qs[:m*r.k], false)
	return r.after(err, false)
}

// flushGrad is flush for white-box attacks: it also writes d(objective)/dx
// of every row into qg.
func (r *runner) flushGrad() error {
	if r.m == 0 {
		return r.ctx.Err()
	}
	m := r.m
	err := r.o.InputGrad(r.ctx, r.qi[:m], r.qx[:m*r.d], r.qg[:m*r.d], r.qs[:m*r.k], r.gradFn)
	return r.after(err, true)
}

func (r *runner) gradRow(row int, z, dz []float32) float64 {
	return r.loss.Grad(dz, z, r.label(r.qi[row]), r.targeted)
}

// after processes the answer to a flush.
func (r *runner) after(err error, grad bool) error {
	m := r.m
	var merr *ModelError
	if err != nil {
		if ce := r.ctx.Err(); ce != nil {
			return ce
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if merr = asModelError(err); merr == nil {
			// Refused as a whole (budget, validation): nothing was counted.
			for j := range m {
				r.ql[j] = math.NaN()
				r.fail(r.qi[j], fmt.Errorf("attack: %s: sample %d: %w", r.name, r.qi[j], err))
			}
			return nil
		}
	}
	for j := range m {
		i := r.qi[j]
		r.queries++
		r.res.Queries[i]++
		r.ql[j] = math.NaN()
		if r.st[i] != stActive {
			continue
		}
		if merr != nil && merr.Failed(j) {
			r.fail(i, fmt.Errorf("attack: %s: sample %d: %w", r.name, i, merr.Err))
			continue
		}
		z := r.qs[j*r.k : (j+1)*r.k]
		if !finite(z) {
			r.fail(i, fmt.Errorf("attack: %s: model returned non-finite scores %v for sample %d at its query %d", r.name, z, i, r.res.Queries[i]))
			continue
		}
		if grad && !finite(r.qg[j*r.d:(j+1)*r.d]) {
			r.fail(i, fmt.Errorf("attack: %s: model returned a non-finite input gradient for sample %d at its query %d", r.name, i, r.res.Queries[i]))
			continue
		}
		l := r.loss.Value(z, r.label(i), r.targeted)
		r.ql[j] = l
		if r.qc[j] && r.success(z, i) {
			r.st[i] = stFooled
			r.fooled++
			r.res.Success[i] = true
			r.res.FooledAt[i] = r.res.Queries[i]
			r.res.Loss[i] = l
			copy(r.res.Adv[i*r.d:(i+1)*r.d], r.row(j))
		}
	}
	return nil
}

// asModelError returns err's *ModelError, if any. It is a separate
// function so that its variable reaches the heap only on errors.
func asModelError(err error) *ModelError {
	var me *ModelError
	if errors.As(err, &me) {
		return me
	}
	return nil
}

func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

// fail marks sample i as failed with err (if it is still being attacked).
func (r *runner) fail(i int, err error) {
	if r.st[i] == stActive {
		r.st[i] = stFailed
		r.res.Failed[i] = err
		r.failed++
	}
}

// drop ends the attack on sample i without success.
func (r *runner) drop(i int) {
	if r.st[i] == stActive {
		r.st[i] = stDone
	}
}

// has reports whether sample i can still be attacked with need queries;
// if not, the sample is dropped.
func (r *runner) has(i, need int) bool {
	if r.o.Remaining(i) >= need {
		return true
	}
	r.drop(i)
	return false
}

// clean queries every clean input once, records CleanCorrect and the clean
// loss, and leaves active the samples the attack should work on.
func (r *runner) clean() error {
	r.reserve(r.n, false)
	r.begin()
	for i := range r.n {
		if r.o.Remaining(i) < 1 {
			r.fail(i, fmt.Errorf("attack: %s: sample %d: no budget left for the clean query: %w", r.name, i,
				&BudgetError{Sample: i, Used: r.o.Count(i), Budget: r.o.Budget()}))
			continue
		}
		copy(r.stage(i, true), r.xi(i))
	}
	if err := r.flush(); err != nil {
		return err
	}
	for j := range r.m {
		i := r.qi[j]
		if r.res.Failed[i] != nil {
			continue
		}
		z := r.qs[j*r.k : (j+1)*r.k]
		r.res.CleanCorrect[i] = metrics.Argmax(z) == r.y[i]
		if !math.IsNaN(r.ql[j]) {
			r.res.Loss[i] = r.ql[j]
		}
		if !r.res.CleanCorrect[i] {
			r.drop(i) // not attacked (untargeted ones are already fooled)
		}
	}
	return r.endRound()
}

// endRound drops finished samples from the active list, reports progress
// and checks the context.
func (r *runner) endRound() error {
	if r.active == nil {
		r.active = make([]int, 0, r.n)
		for i := range r.n {
			if r.st[i] == stActive {
				r.active = append(r.active, i)
			}
		}
	} else {
		a := r.active[:0]
		for _, i := range r.active {
			if r.st[i] == stActive {
				a = append(a, i)
			}
		}
		r.active = a
	}
	r.round++
	if r.progress != nil {
		r.progress(Progress{
			Attack: r.name, Round: r.round, N: r.n, Active: len(r.active),
			Fooled: r.fooled, Failed: r.failed, Queries: r.queries, Budget: r.o.Budget(),
		})
	}
	return r.ctx.Err()
}

// finish completes the result: samples that were attacked but not fooled
// get adv(i) (their final iterate) as Adv, and Queries are read from the
// oracle. err is returned unchanged (the partial result on cancellation).
func (r *runner) finish(adv func(i int) []float32, err error) (*Result, error) {
	for i := range r.n {
		if adv != nil && r.res.CleanCorrect[i] && r.st[i] != stFooled {
			if a := adv(i); a != nil {
				copy(r.res.Adv[i*r.d:(i+1)*r.d], a)
			}
		}
		r.res.Queries[i] = r.o.Count(i) - r.start[i]
	}
	return r.res, err
}

// imageDims interprets an input shape as C×H×W (H×W means C = 1).
func imageDims(shape []int) (c, h, w int, ok bool) {
	switch len(shape) {
	case 3:
		return shape[0], shape[1], shape[2], true
	case 2:
		return 1, shape[0], shape[1], true
	}
	return 0, 0, 0, false
}
