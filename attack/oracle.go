package attack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/trustml/trustml/model"
)

// DefaultBatchSize is the largest number of inputs the oracle passes to the
// model in one call when [OracleOptions].BatchSize is 0; 128 as in the AAA
// evaluation.
const DefaultBatchSize = 128

// OracleOptions configure an [Oracle].
type OracleOptions struct {
	// Budget is the most queries any one sample may use until Reset;
	// 0 means unlimited.
	Budget int
	// Quantize rounds every input down to 8 bits, floor(255·x)/255, before
	// the forward pass, as the official AAA victim does. The attacks still
	// see (and return) their unquantised inputs.
	Quantize bool
	// Trace records every answered query (see [Oracle.Trace]).
	Trace bool
	// BatchSize is the most inputs per model call; 0 means
	// [DefaultBatchSize].
	BatchSize int
}

// Errors returned (wrapped) by the oracle.
var (
	// ErrBudget is matched by every [*BudgetError].
	ErrBudget = errors.New("attack: query budget exhausted")
	// ErrInput is returned for a query input that is not finite or lies
	// outside [0, 1].
	ErrInput = errors.New("attack: invalid query input")
	// ErrNotDifferentiable is returned by [Oracle.InputGrad] when the
	// classifier does not implement [model.InputGrader].
	ErrNotDifferentiable = errors.New("attack: classifier does not implement model.InputGrader")
)

// BudgetError reports a query refused because sample Sample has already
// used Used of its Budget queries and the call asked for more.
type BudgetError struct {
	Sample, Used, Budget int
}

// Error describes the refused query.
func (e *BudgetError) Error() string {
	return fmt.Sprintf("attack: query budget exhausted for sample %d (%d of %d used)", e.Sample, e.Used, e.Budget)
}

// Is makes errors.Is(err, ErrBudget) true.
func (e *BudgetError) Is(target error) bool { return target == ErrBudget }

// TraceEntry is one answered query: sample Sample's Query-th query (1-based,
// over the oracle's lifetime) returned Scores.
type TraceEntry struct {
	Sample int
	Query  int
	Scores []float32
}

// Oracle is the black box that query attacks see: it returns a
// classifier's scores for batches of inputs, counts one query per input and
// sample, enforces the per-sample budget, batches model calls and optionally
// quantises inputs and records a trace. See the package documentation for
// the counting convention. An Oracle is not safe for concurrent use.
type Oracle struct {
	c     model.Classifier
	opts  OracleOptions
	shape []int
	d, k  int

	counts []int
	total  int64
	qbuf   []float32 // quantisation buffer, BatchSize×d

	trSample []int
	trQuery  []int
	trScores []float32
	ord      []int // per-row query numbers of the current call (Trace only)
}

// NewOracle wraps c. The oracle starts with no samples; [Attack.Run] (or
// [Oracle.Reset]) declares how many there are.
func NewOracle(c model.Classifier, opts OracleOptions) (*Oracle, error) {
	if c == nil {
		return nil, errors.New("attack: NewOracle: nil classifier")
	}
	if opts.Budget < 0 {
		return nil, fmt.Errorf("attack: NewOracle: negative budget %d", opts.Budget)
	}
	if opts.BatchSize < 0 {
		return nil, fmt.Errorf("attack: NewOracle: negative batch size %d", opts.BatchSize)
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	shape := slices.Clone(c.InputShape())
	d := 1
	for _, s := range shape {
		if s <= 0 {
			return nil, fmt.Errorf("attack: NewOracle: classifier input shape %v has a non-positive dimension", shape)
		}
		d *= s
	}
	k := c.NumClasses()
	if len(shape) == 0 || k < 2 {
		return nil, fmt.Errorf("attack: NewOracle: classifier has input shape %v and %d classes; need a non-empty shape and at least 2 classes", shape, k)
	}
	o := &Oracle{c: c, opts: opts, shape: shape, d: d, k: k}
	if opts.Quantize {
		o.qbuf = make([]float32, opts.BatchSize*d)
	}
	return o, nil
}

// Reset clears all query counts and the trace and declares n samples,
// indexed 0 … n−1.
func (o *Oracle) Reset(n int) {
	if n < 0 {
		n = 0
	}
	if cap(o.counts) >= n {
		o.counts = o.counts[:n]
		clear(o.counts)
	} else {
		o.counts = make([]int, n)
	}
	o.total = 0
	o.trSample, o.trQuery, o.trScores = o.trSample[:0], o.trQuery[:0], o.trScores[:0]
}

// grow makes room for at least n samples, keeping the existing counts.
func (o *Oracle) grow(n int) {
	if n > len(o.counts) {
		o.counts = append(o.counts, make([]int, n-len(o.counts))...)
	}
}

// NumSamples is the number of samples the oracle counts for.
func (o *Oracle) NumSamples() int { return len(o.counts) }

// InputShape is the classifier's input shape.
func (o *Oracle) InputShape() []int { return slices.Clone(o.shape) }

// InputSize is the number of values of one input.
func (o *Oracle) InputSize() int { return o.d }

// NumClasses is the number of scores per input.
func (o *Oracle) NumClasses() int { return o.k }

// Options returns the oracle's options (BatchSize filled in).
func (o *Oracle) Options() OracleOptions { return o.opts }

// Budget is the per-sample budget (0: unlimited).
func (o *Oracle) Budget() int { return o.opts.Budget }

// Count is the number of queries sample i has used.
func (o *Oracle) Count(i int) int {
	if i < 0 || i >= len(o.counts) {
		return 0
	}
	return o.counts[i]
}

// Remaining is the number of queries sample i may still use
// (math.MaxInt when the budget is unlimited).
func (o *Oracle) Remaining(i int) int {
	if o.opts.Budget == 0 {
		return math.MaxInt
	}
	return max(o.opts.Budget-o.Count(i), 0)
}

// Total is the number of queries answered or attempted since the last Reset,
// all samples together.
func (o *Oracle) Total() int64 { return o.total }

// check validates a query batch and takes its queries from the budgets.
func (o *Oracle) check(idx []int, x, dst []float32, dstName string, checkValues bool) error {
	n := len(idx)
	if len(x) != n*o.d {
		return fmt.Errorf("%w: query of %d samples has %d input values, want %d×%d (input shape %v)", model.ErrShape, n, len(x), n, o.d, o.shape)
	}
	if len(dst) != n*o.k {
		return fmt.Errorf("%w: query of %d samples has %d %s values, want %d×%d", model.ErrShape, n, len(dst), dstName, n, o.k)
	}
	for r, i := range idx {
		if i < 0 || i >= len(o.counts) {
			return fmt.Errorf("attack: query row %d names sample %d, outside [0, %d); call Reset(n) first", r, i, len(o.counts))
		}
	}
	if checkValues {
		if j := outside01(x); j >= 0 {
			r := j / o.d
			return fmt.Errorf("%w: query row %d (sample %d) has value %v at position %d, outside [0, 1]", ErrInput, r, idx[r], x[j], j%o.d)
		}
	}
	b := o.opts.Budget
	for r, i := range idx {
		if b > 0 && o.counts[i] >= b {
			err := &BudgetError{Sample: i, Used: o.counts[i], Budget: b}
			for _, j := range idx[:r] { // all or nothing
				o.counts[j]--
			}
			return err
		}
		o.counts[i]++
	}
	if o.opts.Trace {
		if cap(o.ord) < n {
			o.ord = make([]int, n)
		}
		o.ord = o.ord[:n]
		// A sample repeated in the call got its counts in row order.
		for r := n - 1; r >= 0; r-- {
			o.ord[r] = o.counts[idx[r]]
			o.counts[idx[r]]--
		}
		for _, i := range idx {
			o.counts[i]++
		}
	}
	o.total += int64(n)
	return nil
}

// outside01 returns the index of the first value of x that is not in
// [0, 1] (NaN included), or −1. It compares bit patterns: a float32 in
// [+0, 1] has bits ≤ those of 1; negative values, NaN and values above 1
// have larger ones (only −0, which is valid, needs a second look).
func outside01(x []float32) int {
	for j, v := range x {
		if math.Float32bits(v) > 0x3f800000 && v != 0 {
			return j
		}
	}
	return -1
}

// quantLevels[i] is i/255 as a float32.
var quantLevels = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(float64(i) / 255)
	}
	return t
}()

// Quantize8 rounds v (in [0, 1]) down to 8 bits: floor(255·v)/255,
// computed exactly in float64.
func Quantize8(v float32) float32 {
	return quantLevels[uint8(int32(float64(v)*255))]
}

// input returns the model input for rows [a, b) of x, quantised if enabled.
func (o *Oracle) input(x []float32, a, b int) []float32 {
	in := x[a*o.d : b*o.d]
	if !o.opts.Quantize {
		return in
	}
	q := o.qbuf[:len(in)]
	for j, v := range in {
		q[j] = quantLevels[uint8(int32(float64(v)*255))] // v ∈ [0, 1] was checked
	}
	return q
}

// Query writes the scores (n×K) of the n inputs x (n×InputSize) into dst;
// row r belongs to sample idx[r] (a sample may appear several times). It
// counts one query per row that reaches the model.
//
// Nothing is counted, and the model is not called, when the arguments are
// invalid (wrong lengths, sample index out of range, input values not in
// [0, 1]), when the context is done, or when the query would exceed a
// sample's budget (a [*BudgetError]: all or nothing). The rows go to the
// model in chunks of at most BatchSize; if the context is cancelled between
// chunks, the rows not sent are not counted and ctx.Err() is returned. If
// the model fails on a chunk, the other chunks are still answered, the
// failed chunk's rows are counted (the model was called) and their scores
// set to NaN, and a [*ModelError] naming them is returned. Scores are
// otherwise returned as the model gave them, NaN included.
func (o *Oracle) Query(ctx context.Context, idx []int, x, dst []float32) error {
	return o.query(ctx, idx, x, dst, true)
}

// checkTrusted makes the oracle check the values of the queries of this
// package's attacks too. Their candidates lie in [0, 1] by construction
// (every one goes through a clamp or projection), and the O(d) check of
// every query is half of Square's own per-iteration cost, so it is off by
// default; the package's tests turn it on.
var checkTrusted = false

// query is Query with the value check optional (see checkTrusted).
func (o *Oracle) query(ctx context.Context, idx []int, x, dst []float32, checkValues bool) error {
	return o.forward(ctx, idx, x, dst, checkValues || checkTrusted, func(a, b int) error {
		return o.c.Logits(ctx, dst[a*o.k:b*o.k], o.input(x, a, b))
	})
}

// ModelError reports the rows of a query whose model call failed; the
// scores of the other rows are valid.
type ModelError struct {
	Err    error
	Ranges [][2]int // failed row ranges [from, to)
}

// Error names the failed rows and the model's first error.
func (e *ModelError) Error() string {
	return fmt.Sprintf("attack: model call failed on query rows %v: %v", e.Ranges, e.Err)
}

// Unwrap returns the model's first error.
func (e *ModelError) Unwrap() error { return e.Err }

// Failed reports whether query row r is in a failed range.
func (e *ModelError) Failed(r int) bool {
	for _, g := range e.Ranges {
		if r >= g[0] && r < g[1] {
			return true
		}
	}
	return false
}

// forward validates and counts a query, then runs call on each chunk of
// rows [a, b).
func (o *Oracle) forward(ctx context.Context, idx []int, x, dst []float32, checkValues bool, call func(a, b int) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := o.check(idx, x, dst, "score", checkValues); err != nil {
		return err
	}
	n := len(idx)
	bs := o.opts.BatchSize
	var merr *ModelError
	for a := 0; a < n; a += bs {
		if err := ctx.Err(); err != nil {
			for _, i := range idx[a:] { // not sent: not counted
				o.counts[i]--
			}
			o.total -= int64(n - a)
			o.record(idx[:a], dst[:a*o.k])
			return err
		}
		b := min(a+bs, n)
		if err := call(a, b); err != nil {
			if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				for _, i := range idx[b:] {
					o.counts[i]--
				}
				o.total -= int64(n - b)
				o.record(idx[:a], dst[:a*o.k])
				return err
			}
			if merr == nil {
				merr = &ModelError{Err: err}
			}
			merr.Ranges = append(merr.Ranges, [2]int{a, b})
			for j := a * o.k; j < b*o.k; j++ {
				dst[j] = float32(math.NaN())
			}
		}
	}
	o.record(idx, dst)
	if merr != nil {
		return merr
	}
	return nil
}

// RowLoss is the per-row objective given to [Oracle.InputGrad]: it receives
// the scores z of batch row `row` and writes d(loss)/dz into dz.
type RowLoss func(row int, z, dz []float32) float64

// InputGrad evaluates the classifier on the n inputs x like [Oracle.Query]
// (same validation, budget, counting and errors: one query per row; the
// scores go to scores, n×K) and writes into gx (len(x)) the gradient of
// Σ_rows loss(row) with respect to the inputs. With Quantize, the gradient
// is taken at the quantised input and applied as if quantisation were the
// identity (straight-through). It returns [ErrNotDifferentiable] when the
// classifier is not a [model.InputGrader].
func (o *Oracle) InputGrad(ctx context.Context, idx []int, x, gx, scores []float32, loss RowLoss) error {
	g, ok := o.c.(model.InputGrader)
	if !ok {
		return ErrNotDifferentiable
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(gx) != len(x) {
		return fmt.Errorf("%w: gradient destination has %d values, want %d", model.ErrShape, len(gx), len(x))
	}
	return o.forward(ctx, idx, x, scores, true, func(a, b int) error {
		lf := func(logits, dlogits []float32, m, k int) float64 {
			copy(scores[a*k:(a+m)*k], logits)
			var s float64
			for r := range m {
				s += loss(a+r, logits[r*k:(r+1)*k], dlogits[r*k:(r+1)*k])
			}
			return s
		}
		_, err := g.InputGrad(ctx, gx[a*o.d:b*o.d], o.input(x, a, b), lf)
		return err
	})
}

func (o *Oracle) record(idx []int, scores []float32) {
	if !o.opts.Trace {
		return
	}
	o.trSample = append(o.trSample, idx...)
	o.trQuery = append(o.trQuery, o.ord[:len(idx)]...)
	o.trScores = append(o.trScores, scores...)
}

// Trace returns the recorded queries in order (nil unless
// [OracleOptions].Trace). The entries share one freshly allocated score
// buffer.
func (o *Oracle) Trace() []TraceEntry {
	if !o.opts.Trace {
		return nil
	}
	sc := slices.Clone(o.trScores)
	t := make([]TraceEntry, len(o.trSample))
	for j := range t {
		t[j] = TraceEntry{Sample: o.trSample[j], Query: o.trQuery[j], Scores: sc[j*o.k : (j+1)*o.k : (j+1)*o.k]}
	}
	return t
}
