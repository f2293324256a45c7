package kernel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// Estimator is the shape every supervised model in this package has:
// *KRR, *LSSVMRegressor and *LABRBF are Estimator[float64] ([Regressor]);
// *LSSVMClassifier and *AsKLS are Estimator[int] ([Classifier]).
type Estimator[Y int | float64] interface {
	Fit(ctx context.Context, X *mat.Dense, y []Y) error
	Predict(X *mat.Dense) ([]Y, error)
}

// Regressor is a real-valued [Estimator].
type Regressor = Estimator[float64]

// Classifier is a label-valued [Estimator] with per-class decision values
// (m×C, column c for the c-th smallest label).
type Classifier interface {
	Estimator[int]
	Decision(X *mat.Dense) (*mat.Dense, error)
}

// Compile-time checks that the models have the common shape.
var (
	_ Regressor  = (*KRR)(nil)
	_ Regressor  = (*LSSVMRegressor)(nil)
	_ Regressor  = (*LABRBF)(nil)
	_ Classifier = (*LSSVMClassifier)(nil)
	_ Classifier = (*AsKLS)(nil)
	_ Model      = (*KRR)(nil)
	_ Model      = (*LSSVMRegressor)(nil)
	_ Model      = (*LSSVMClassifier)(nil)
	_ Model      = (*AsKLS)(nil)
	_ Model      = (*LABRBF)(nil)
	_ Model      = (*Nystrom)(nil)
	_ Model      = (*KPCA)(nil)
	_ Model      = (*Pipeline)(nil)
)

// Scorer scores predictions against the truth; larger is better.
type Scorer[Y int | float64] func(yTrue, yPred []Y) float64

// Accuracy is the fraction of equal labels.
func Accuracy(yTrue, yPred []int) float64 {
	if len(yTrue) == 0 {
		return math.NaN()
	}
	c := 0
	for i, v := range yTrue {
		if yPred[i] == v {
			c++
		}
	}
	return float64(c) / float64(len(yTrue))
}

// NegMSE is the negated mean squared error.
func NegMSE(yTrue, yPred []float64) float64 {
	var s float64
	for i, v := range yTrue {
		d := yPred[i] - v
		s += d * d
	}
	return -s / float64(len(yTrue))
}

// R2 is the coefficient of determination 1 − SSE/SST (NaN when the truth is
// constant).
func R2(yTrue, yPred []float64) float64 {
	var m float64
	for _, v := range yTrue {
		m += v
	}
	m /= float64(len(yTrue))
	var sse, sst float64
	for i, v := range yTrue {
		sse += (yPred[i] - v) * (yPred[i] - v)
		sst += (v - m) * (v - m)
	}
	if sst == 0 {
		return math.NaN()
	}
	return 1 - sse/sst
}

// CV configures k-fold cross-validation.
type CV struct {
	// Folds is k ≥ 2; 0 means 5.
	Folds int
	// Rand shuffles the samples before splitting; nil keeps the order
	// (contiguous folds, as scikit-learn's KFold without shuffle). The same
	// seed gives the same folds and, with deterministic models, the same
	// scores.
	Rand *rand.Rand
	// Stratify keeps class proportions in every fold (labels only).
	Stratify bool
	// Workers bounds the fits run in parallel; 0 means GOMAXPROCS.
	Workers int
}

func (cv CV) folds() (int, error) {
	k := cv.Folds
	if k == 0 {
		k = 5
	}
	if k < 2 {
		return 0, fmt.Errorf("kernel: CV needs at least 2 folds, got %d: %w", k, ErrParam)
	}
	return k, nil
}

// KFold splits 0..n−1 into k test folds of sizes differing by at most one,
// after shuffling with rng (nil: no shuffle).
func KFold(n, k int, rng *rand.Rand) ([][]int, error) {
	if k < 2 || k > n {
		return nil, fmt.Errorf("kernel: %d folds for %d samples, want 2..n: %w", k, n, ErrParam)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if rng != nil {
		rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	folds := make([][]int, k)
	start := 0
	for f := 0; f < k; f++ {
		size := n / k
		if f < n%k {
			size++
		}
		folds[f] = append([]int(nil), idx[start:start+size]...)
		sort.Ints(folds[f])
		start += size
	}
	return folds, nil
}

// StratifiedKFold splits the sample indices into k test folds with every
// class spread round-robin over the folds (after shuffling each class with
// rng, nil: no shuffle).
func StratifiedKFold(y []int, k int, rng *rand.Rand) ([][]int, error) {
	if k < 2 || k > len(y) {
		return nil, fmt.Errorf("kernel: %d folds for %d samples, want 2..n: %w", k, len(y), ErrParam)
	}
	byClass := map[int][]int{}
	var classes []int
	for i, c := range y {
		if _, ok := byClass[c]; !ok {
			classes = append(classes, c)
		}
		byClass[c] = append(byClass[c], i)
	}
	sort.Ints(classes)
	folds := make([][]int, k)
	next := 0
	for _, c := range classes {
		idx := byClass[c]
		if rng != nil {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		}
		for _, i := range idx {
			folds[next%k] = append(folds[next%k], i)
			next++
		}
	}
	for f := range folds {
		sort.Ints(folds[f])
	}
	return folds, nil
}

func (cv CV) split(y any, n int) ([][]int, error) {
	k, err := cv.folds()
	if err != nil {
		return nil, err
	}
	if labels, ok := y.([]int); ok && cv.Stratify {
		return StratifiedKFold(labels, k, cv.Rand)
	}
	return KFold(n, k, cv.Rand)
}

func rowsOf(X *mat.Dense, idx []int) *mat.Dense {
	_, d := X.Dims()
	out := mat.NewDense(len(idx), d, nil)
	for r, i := range idx {
		out.SetRow(r, X.RawRowView(i))
	}
	return out
}

func pick[Y any](y []Y, idx []int) []Y {
	out := make([]Y, len(idx))
	for r, i := range idx {
		out[r] = y[i]
	}
	return out
}

// complement returns the indices of 0..n−1 not in sorted test.
func complement(n int, test []int) []int {
	out := make([]int, 0, n-len(test))
	t := 0
	for i := 0; i < n; i++ {
		if t < len(test) && test[t] == i {
			t++
			continue
		}
		out = append(out, i)
	}
	return out
}

// CrossValidate returns the score of each fold: newModel(fold) builds a
// fresh model (seed randomized models from fold for reproducibility), which
// is fitted on the other folds and scored on this one. Folds run in
// parallel; the first error cancels the rest.
func CrossValidate[Y int | float64](ctx context.Context, cv CV, X *mat.Dense, y []Y,
	newModel func(fold int) (Estimator[Y], error), score Scorer[Y]) ([]float64, error) {
	res, err := runGrid(ctx, cv, X, y, []map[string]float64{nil}, func(_ map[string]float64, fold int) (Estimator[Y], error) {
		return newModel(fold)
	}, score)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// Grid maps hyperparameter names to the values to try; [GridSearch] tries
// every combination.
type Grid map[string][]float64

// GridPoint is one combination's cross-validation result.
type GridPoint struct {
	Params map[string]float64 `json:"params"`
	Scores []float64          `json:"scores"` // one per fold
	Mean   float64            `json:"mean"`
	Std    float64            `json:"std"`
}

// GridResult is the result of [GridSearch]: every combination, in the
// order of the cartesian product over the sorted parameter names, and the
// index of the best mean score (the first one on ties).
type GridResult struct {
	Points []GridPoint `json:"points"`
	Best   int         `json:"best"`
}

// BestParams returns the parameters of the best combination.
func (r *GridResult) BestParams() map[string]float64 { return r.Points[r.Best].Params }

// GridSearch cross-validates build(params, fold) for every combination of
// grid values with the same folds, in parallel over combinations and folds,
// and returns all scores with the best combination. A combination whose
// fit fails (for example an ill-conditioned system) is an error naming it.
func GridSearch[Y int | float64](ctx context.Context, cv CV, X *mat.Dense, y []Y, grid Grid,
	build func(params map[string]float64, fold int) (Estimator[Y], error), score Scorer[Y]) (*GridResult, error) {
	if len(grid) == 0 {
		return nil, fmt.Errorf("kernel: empty grid: %w", ErrParam)
	}
	names := make([]string, 0, len(grid))
	for k, v := range grid {
		if len(v) == 0 {
			return nil, fmt.Errorf("kernel: grid parameter %q has no values: %w", k, ErrParam)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	combos := []map[string]float64{{}}
	for _, name := range names {
		var next []map[string]float64
		for _, c := range combos {
			for _, v := range grid[name] {
				p := make(map[string]float64, len(c)+1)
				for k, x := range c {
					p[k] = x
				}
				p[name] = v
				next = append(next, p)
			}
		}
		combos = next
	}
	scores, err := runGrid(ctx, cv, X, y, combos, build, score)
	if err != nil {
		return nil, err
	}
	res := &GridResult{Points: make([]GridPoint, len(combos))}
	for i, p := range combos {
		s := scores[i]
		var m float64
		for _, v := range s {
			m += v
		}
		m /= float64(len(s))
		var v float64
		for _, x := range s {
			v += (x - m) * (x - m)
		}
		res.Points[i] = GridPoint{Params: p, Scores: s, Mean: m, Std: math.Sqrt(v / float64(len(s)))}
		if m > res.Points[res.Best].Mean || (i > 0 && math.IsNaN(res.Points[res.Best].Mean) && !math.IsNaN(m)) {
			res.Best = i
		}
	}
	return res, nil
}

func formatParams(p map[string]float64) string {
	if len(p) == 0 {
		return ""
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%g", k, p[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func runGrid[Y int | float64](ctx context.Context, cv CV, X *mat.Dense, y []Y, combos []map[string]float64,
	build func(map[string]float64, int) (Estimator[Y], error), score Scorer[Y]) ([][]float64, error) {
	if err := checkData("X", X); err != nil {
		return nil, err
	}
	n, _ := X.Dims()
	if len(y) != n {
		return nil, fmt.Errorf("kernel: %d targets for %d samples: %w", len(y), n, ErrShape)
	}
	if build == nil || score == nil {
		return nil, fmt.Errorf("kernel: nil model constructor or scorer: %w", ErrParam)
	}
	folds, err := cv.split(any(y), n)
	if err != nil {
		return nil, err
	}
	type task struct{ combo, fold int }
	tasks := make(chan task)
	out := make([][]float64, len(combos))
	for i := range out {
		out[i] = make([]float64, len(folds))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	workers := cv.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tasks {
				if ctx.Err() != nil {
					continue
				}
				test := folds[t.fold]
				train := complement(n, test)
				m, err := build(combos[t.combo], t.fold)
				if err != nil {
					fail(fmt.Errorf("kernel: building model%s: %w", formatParams(combos[t.combo]), err))
					continue
				}
				if err := m.Fit(ctx, rowsOf(X, train), pick(y, train)); err != nil {
					fail(fmt.Errorf("kernel: fold %d%s: %w", t.fold, formatParams(combos[t.combo]), err))
					continue
				}
				pred, err := m.Predict(rowsOf(X, test))
				if err != nil {
					fail(fmt.Errorf("kernel: fold %d%s: %w", t.fold, formatParams(combos[t.combo]), err))
					continue
				}
				out[t.combo][t.fold] = score(pick(y, test), pred)
			}
		}()
	}
feed:
	for c := range combos {
		for f := range folds {
			select {
			case tasks <- task{c, f}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(tasks)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
