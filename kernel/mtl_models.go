package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// TensorMTLRegressor is tLSSVM-MTL regression ([TensorMTL]). The targets
// are standardized before fitting (and predictions mapped back): the
// bilinear model w_t = L·ũ_t with penalties on L and the factors is not
// equivariant to the targets' scale, so without it a target in the
// hundreds would weaken γ's regularization by as much.
type TensorMTLRegressor struct {
	TensorMTL

	t          trained
	fit        *mtlFit
	values     []float64 // task values of TaskColumn
	yMean, ySD float64
	info       SolveInfo
}

// TensorMTLClassifier is tLSSVM-MTL classification ([TensorMTL]): labels
// ±1 per binary machine, one-vs-rest for more than two classes (each
// machine with its own task factors).
type TensorMTLClassifier struct {
	TensorMTL

	t       trained
	classes []int
	fits    []*mtlFit
	values  []float64
	info    SolveInfo
}

// Compile-time checks.
var (
	_ Regressor  = (*TensorMTLRegressor)(nil)
	_ Classifier = (*TensorMTLClassifier)(nil)
	_ Model      = (*TensorMTLRegressor)(nil)
	_ Model      = (*TensorMTLClassifier)(nil)
)

// prepare binds the kernel on the features and returns the training Gram
// matrix (n×n, row-major).
func prepareMTL(ctx context.Context, k Kernel, X *mat.Dense) (trained, []float64, error) {
	t, err := bindTrained(k, X)
	if err != nil {
		return trained{}, nil, err
	}
	K, err := gramSym(ctx, t.kern, t.x, false)
	if err != nil {
		return trained{}, nil, err
	}
	return t, contiguous(K), nil
}

// columnTasks splits the task column off X when TaskColumn is set.
func (m *TensorMTL) columnTasks(X *mat.Dense, values []float64) (*mat.Dense, [][]int, []float64, error) {
	if m.TaskColumn < 1 {
		return nil, nil, nil, fmt.Errorf("kernel: tLSSVM-MTL needs the tasks: set TaskColumn, or call FitTasks/PredictTasks (command line: --tasks COL): %w", ErrParam)
	}
	return splitTasks(X, m.TaskColumn-1, values)
}

// Fit fits on the rows of X, whose column TaskColumn holds the task.
func (m *TensorMTLRegressor) Fit(ctx context.Context, X *mat.Dense, y []float64) error {
	Xf, tasks, values, err := m.columnTasks(X, nil)
	if err != nil {
		return err
	}
	if err := m.FitTasks(ctx, Xf, y, tasks); err != nil {
		return err
	}
	m.values = values
	return nil
}

// FitTasks fits on the rows of X with targets y; tasks[i] is the 0-based
// multi-index (t_1, …, t_N) of row i's task.
func (m *TensorMTLRegressor) FitTasks(ctx context.Context, X *mat.Dense, y []float64, tasks [][]int) error {
	t, K, err := prepareMTL(ctx, m.Kernel, X)
	if err != nil {
		return err
	}
	if err := checkTargets(y, t.n); err != nil {
		return err
	}
	var mean, sd float64
	for _, v := range y {
		mean += v / float64(len(y))
	}
	for _, v := range y {
		sd += (v - mean) * (v - mean) / float64(len(y))
	}
	if sd = math.Sqrt(sd); !(sd > 0) {
		sd = 1
	}
	ys := make([]float64, len(y))
	for i, v := range y {
		ys[i] = (v - mean) / sd
	}
	f, info, err := m.fitMTL(ctx, K, ys, tasks, false)
	if err != nil {
		return err
	}
	m.t, m.fit, m.info, m.values, m.yMean, m.ySD = t, f, info, nil, mean, sd
	return nil
}

// Predict returns f_t(x) for each row of X (task in column TaskColumn).
func (m *TensorMTLRegressor) Predict(X *mat.Dense) ([]float64, error) {
	if m.fit == nil {
		return nil, ErrNotFitted
	}
	Xf, tasks, _, err := m.columnTasks(X, m.values)
	if err != nil {
		return nil, err
	}
	return m.PredictTasks(Xf, tasks)
}

// PredictTasks returns f_t(x) for each row of X with task multi-index
// tasks[i].
func (m *TensorMTLRegressor) PredictTasks(X *mat.Dense, tasks [][]int) ([]float64, error) {
	if m.fit == nil {
		return nil, ErrNotFitted
	}
	Kt, err := m.t.cross(context.Background(), X)
	if err != nil {
		return nil, err
	}
	out, err := m.fit.predict(Kt, tasks)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i] = out[i]*m.ySD + m.yMean
	}
	return out, nil
}

// TaskFactors returns the fitted task factors U⁽ⁿ⁾ (T_n×R), one per mode.
func (m *TensorMTLRegressor) TaskFactors() []*mat.Dense {
	if m.fit == nil {
		return nil
	}
	return m.fit.taskFactors()
}

// Iterations returns the alternating rounds the fit ran.
func (m *TensorMTLRegressor) Iterations() int {
	if m.fit == nil {
		return 0
	}
	return m.fit.Iters
}

// Info reports how the last L-step's system was solved.
func (m *TensorMTLRegressor) Info() SolveInfo { return m.info }

// Fit fits on the rows of X, whose column TaskColumn holds the task.
func (m *TensorMTLClassifier) Fit(ctx context.Context, X *mat.Dense, y []int) error {
	Xf, tasks, values, err := m.columnTasks(X, nil)
	if err != nil {
		return err
	}
	if err := m.FitTasks(ctx, Xf, y, tasks); err != nil {
		return err
	}
	m.values = values
	return nil
}

// FitTasks fits on the rows of X with labels y; tasks[i] is the 0-based
// multi-index of row i's task.
func (m *TensorMTLClassifier) FitTasks(ctx context.Context, X *mat.Dense, y []int, tasks [][]int) error {
	t, K, err := prepareMTL(ctx, m.Kernel, X)
	if err != nil {
		return err
	}
	classes, targets, T, err := encodeLabels(y, t.n)
	if err != nil {
		return err
	}
	fits := make([]*mtlFit, T)
	col := make([]float64, t.n)
	var info SolveInfo
	for c := 0; c < T; c++ {
		for i := range col {
			col[i] = targets[i*T+c]
		}
		if fits[c], info, err = m.fitMTL(ctx, K, col, tasks, true); err != nil {
			return err
		}
	}
	m.t, m.classes, m.fits, m.info, m.values = t, classes, fits, info, nil
	return nil
}

// Decision returns the per-class decision values (m×C) of the rows of X
// (task in column TaskColumn).
func (m *TensorMTLClassifier) Decision(X *mat.Dense) (*mat.Dense, error) {
	if m.fits == nil {
		return nil, ErrNotFitted
	}
	Xf, tasks, _, err := m.columnTasks(X, m.values)
	if err != nil {
		return nil, err
	}
	return m.DecisionTasks(Xf, tasks)
}

// DecisionTasks returns the per-class decision values of the rows of X
// with task multi-indices tasks.
func (m *TensorMTLClassifier) DecisionTasks(X *mat.Dense, tasks [][]int) (*mat.Dense, error) {
	if m.fits == nil {
		return nil, ErrNotFitted
	}
	Kt, err := m.t.cross(context.Background(), X)
	if err != nil {
		return nil, err
	}
	r, _ := Kt.Dims()
	T := len(m.fits)
	raw := make([]float64, r*T)
	for c, f := range m.fits {
		v, err := f.predict(Kt, tasks)
		if err != nil {
			return nil, err
		}
		for i := range v {
			raw[i*T+c] = v[i]
		}
	}
	return scores(raw, T), nil
}

// Predict returns the predicted label of each row of X.
func (m *TensorMTLClassifier) Predict(X *mat.Dense) ([]int, error) {
	d, err := m.Decision(X)
	if err != nil {
		return nil, err
	}
	return ArgmaxClasses(d, m.classes), nil
}

// PredictTasks returns the predicted label of each row of X with task
// multi-indices tasks.
func (m *TensorMTLClassifier) PredictTasks(X *mat.Dense, tasks [][]int) ([]int, error) {
	d, err := m.DecisionTasks(X, tasks)
	if err != nil {
		return nil, err
	}
	return ArgmaxClasses(d, m.classes), nil
}

// Info reports how the last L-step's system was solved.
func (m *TensorMTLClassifier) Info() SolveInfo { return m.info }

// ---- persistence ----

type mtlState struct {
	Gamma      float64      `json:"gamma"`
	Rank       int          `json:"rank,omitempty"`
	MaxIter    int          `json:"max_iter,omitempty"`
	Tol        float64      `json:"tol,omitempty"`
	Seed       uint64       `json:"seed,omitempty"`
	Loss       string       `json:"loss,omitempty"`
	Epsilon    float64      `json:"epsilon,omitempty"`
	SVMTol     float64      `json:"svm_tol,omitempty"`
	TaskColumn int          `json:"task_column"`
	TaskValues []float64    `json:"task_values,omitempty"`
	YMean      float64      `json:"y_mean,omitempty"`
	YSD        float64      `json:"y_sd,omitempty"`
	Trained    trainedState `json:"trained"`
	Classes    []int        `json:"classes,omitempty"`
	Fits       []*mtlFit    `json:"fits"`
	Info       SolveInfo    `json:"info"`
}

func (m *TensorMTL) state(t *trained, values []float64, classes []int, fits []*mtlFit, info SolveInfo) (any, error) {
	ts, err := t.state()
	if err != nil {
		return nil, err
	}
	return mtlState{Gamma: m.Gamma, Rank: m.Rank, MaxIter: m.MaxIter, Tol: m.Tol, Seed: m.Seed,
		Loss: m.Loss, Epsilon: m.Epsilon, SVMTol: m.SVMTol, TaskColumn: m.TaskColumn,
		TaskValues: values, Trained: ts, Classes: classes, Fits: fits, Info: info}, nil
}

// restoreMTL decodes a saved machine and checks its consistency.
func restoreMTL(raw json.RawMessage, machines func(classes []int) int) (*mtlState, trained, Kernel, error) {
	var s mtlState
	t, k, err := decodeState(raw, &s, &s.Trained)
	if err != nil {
		return nil, trained{}, nil, err
	}
	if want := machines(s.Classes); len(s.Fits) != want {
		return nil, trained{}, nil, fmt.Errorf("%d machines, want %d: %w", len(s.Fits), want, ErrFormat)
	}
	for _, f := range s.Fits {
		if f == nil || len(f.Dims) == 0 || len(f.U) != len(f.Dims) {
			return nil, trained{}, nil, fmt.Errorf("task factors missing: %w", ErrFormat)
		}
		nt := 1
		for k, d := range f.Dims {
			if d < 1 || len(f.U[k])%d != 0 || len(f.U[k]) == 0 || len(f.U[k])/d != len(f.U[0])/f.Dims[0] {
				return nil, trained{}, nil, fmt.Errorf("task factor %d has %d values for %d tasks: %w", k, len(f.U[k]), d, ErrFormat)
			}
			if err := finiteAll(fmt.Sprintf("u[%d]", k), f.U[k], len(f.U[k])); err != nil {
				return nil, trained{}, nil, err
			}
			nt *= d
		}
		if err := finiteAll("beta", f.Beta, t.n); err != nil {
			return nil, trained{}, nil, err
		}
		if err := finiteAll("bias", f.Bias, nt); err != nil {
			return nil, trained{}, nil, err
		}
		if len(f.Tasks) != t.n {
			return nil, trained{}, nil, fmt.Errorf("%d task ids for %d training rows: %w", len(f.Tasks), t.n, ErrFormat)
		}
		for _, id := range f.Tasks {
			if id < 0 || id >= nt {
				return nil, trained{}, nil, fmt.Errorf("task id %d out of range 0..%d: %w", id, nt-1, ErrFormat)
			}
		}
	}
	if s.Loss != "" && s.Loss != LossLSSVM && s.Loss != LossSVM {
		return nil, trained{}, nil, fmt.Errorf("loss %q, want %q or %q: %w", s.Loss, LossLSSVM, LossSVM, ErrFormat)
	}
	if s.TaskColumn < 0 || s.TaskColumn > 0 && (len(s.TaskValues) == 0 || len(s.Fits[0].Dims) != 1 || len(s.TaskValues) != s.Fits[0].Dims[0]) {
		return nil, trained{}, nil, fmt.Errorf("task column %d with %d task values: %w", s.TaskColumn, len(s.TaskValues), ErrFormat)
	}
	for i := 1; i < len(s.TaskValues); i++ {
		if !(s.TaskValues[i] > s.TaskValues[i-1]) {
			return nil, trained{}, nil, fmt.Errorf("task values not sorted and distinct: %w", ErrFormat)
		}
	}
	return &s, t, k, nil
}

func (s *mtlState) settings(k Kernel) TensorMTL {
	return TensorMTL{Kernel: k, Gamma: s.Gamma, Rank: s.Rank, MaxIter: s.MaxIter, Tol: s.Tol, Seed: s.Seed,
		Loss: s.Loss, Epsilon: s.Epsilon, SVMTol: s.SVMTol, TaskColumn: s.TaskColumn}
}

// ModelKind returns "tlssvm-mtl-regressor" (or "tsvm-mtl-regressor" for
// Loss = [LossSVM]).
func (m *TensorMTLRegressor) ModelKind() string { return m.kind("regressor") }

// kind is the model kind for files: tlssvm-mtl-… or tsvm-mtl-….
func (m *TensorMTL) kind(what string) string {
	if m.Loss == LossSVM {
		return "tsvm-mtl-" + what
	}
	return "tlssvm-mtl-" + what
}

func (m *TensorMTLRegressor) marshalModel() (any, error) {
	if m.fit == nil {
		return nil, ErrNotFitted
	}
	st, err := m.state(&m.t, m.values, nil, []*mtlFit{m.fit}, m.info)
	if s, ok := st.(mtlState); ok {
		s.YMean, s.YSD = m.yMean, m.ySD
		st = s
	}
	return st, err
}

func (m *TensorMTLRegressor) unmarshalModel(raw json.RawMessage) error {
	s, t, k, err := restoreMTL(raw, func([]int) int { return 1 })
	if err != nil {
		return err
	}
	if !(s.YSD > 0) || math.IsInf(s.YSD, 0) || math.IsNaN(s.YMean) || math.IsInf(s.YMean, 0) {
		return fmt.Errorf("target scale %v, mean %v: %w", s.YSD, s.YMean, ErrFormat)
	}
	*m = TensorMTLRegressor{TensorMTL: s.settings(k), t: t, fit: s.Fits[0], values: s.TaskValues, yMean: s.YMean, ySD: s.YSD, info: s.Info}
	return nil
}

// ModelKind returns "tlssvm-mtl-classifier" (or "tsvm-mtl-classifier"
// for Loss = [LossSVM]).
func (m *TensorMTLClassifier) ModelKind() string { return m.kind("classifier") }

func (m *TensorMTLClassifier) marshalModel() (any, error) {
	if m.fits == nil {
		return nil, ErrNotFitted
	}
	return m.state(&m.t, m.values, m.classes, m.fits, m.info)
}

func (m *TensorMTLClassifier) unmarshalModel(raw json.RawMessage) error {
	s, t, k, err := restoreMTL(raw, func(c []int) int {
		if len(c) == 2 {
			return 1
		}
		return len(c)
	})
	if err != nil {
		return err
	}
	if err := checkClasses(s.Classes, len(s.Fits)); err != nil {
		return err
	}
	*m = TensorMTLClassifier{TensorMTL: s.settings(k), t: t, classes: s.Classes, fits: s.Fits, values: s.TaskValues, info: s.Info}
	return nil
}

func init() {
	RegisterMethod("tlssvm-mtl", Method{
		Doc: "tensorized multitask LS-SVM (rank-3 task factors; needs a task column, --tasks COL)", RegName: "γ", DefaultReg: 1,
		Regressor: func(k Kernel, reg float64, rng *rand.Rand) Regressor {
			return &TensorMTLRegressor{TensorMTL: TensorMTL{Kernel: k, Gamma: reg, Seed: seedOf(rng)}}
		},
		Classifier: func(k Kernel, reg float64, rng *rand.Rand) Classifier {
			return &TensorMTLClassifier{TensorMTL: TensorMTL{Kernel: k, Gamma: reg, Seed: seedOf(rng)}}
		},
	})
	RegisterMethod("tsvm-mtl", Method{
		Doc: "tensorized multitask SVM (hinge / ε-insensitive loss, rank-3 task factors; needs --tasks COL)", RegName: "C", DefaultReg: 1,
		Regressor: func(k Kernel, reg float64, rng *rand.Rand) Regressor {
			return &TensorMTLRegressor{TensorMTL: TensorMTL{Kernel: k, Gamma: reg, Seed: seedOf(rng), Loss: LossSVM}}
		},
		Classifier: func(k Kernel, reg float64, rng *rand.Rand) Classifier {
			return &TensorMTLClassifier{TensorMTL: TensorMTL{Kernel: k, Gamma: reg, Seed: seedOf(rng), Loss: LossSVM}}
		},
	})
}

// seedOf draws a seed from rng (a fixed one when nil).
func seedOf(rng *rand.Rand) uint64 {
	if rng == nil {
		return 1
	}
	return rng.Uint64()
}

// setTaskColumn gives a task-taking model its task column (1-based); it
// reports false for models that take no tasks.
func setTaskColumn(m any, col int) bool {
	switch v := m.(type) {
	case *TensorMTLRegressor:
		v.TaskColumn = col
	case *TensorMTLClassifier:
		v.TaskColumn = col
	default:
		return false
	}
	return true
}
