package kernel

import (
	"context"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/metrics"
)

// LSSVMRegressor is Suykens' least-squares SVM for regression: the dual
// solves the bordered system
//
//	[ 0   1ᵀ      ] [b]   [0]
//	[ 1   K + I/γ ] [α] = [y]
//
// (through a Cholesky of K + I/γ and the Schur complement, with the LU
// fallback of [KRR]) and f(x) = Σ α_i k(x, x_i) + b.
type LSSVMRegressor struct {
	Kernel Kernel
	Gamma  float64 // regularization γ > 0 (larger fits the data harder)

	t     trained
	alpha []float64
	bias  float64
	info  SolveInfo
}

// Fit fits the model on the rows of X and targets y.
func (m *LSSVMRegressor) Fit(ctx context.Context, X *mat.Dense, y []float64) error {
	if err := checkPositive("LS-SVM Gamma", m.Gamma); err != nil {
		return err
	}
	t, err := bindTrained(m.Kernel, X)
	if err != nil {
		return err
	}
	if err := checkTargets(y, t.n); err != nil {
		return err
	}
	rhs := borderedRHS(t.n, y, 1)
	info, err := solveTrain(ctx, &t, 1/m.Gamma, rhs, 2, "K + I/γ", "decrease Gamma")
	if err != nil {
		return err
	}
	coef, bias, err := borderedFinish(t.n, rhs, 1)
	if err != nil {
		return err
	}
	m.t, m.alpha, m.bias, m.info = t, coef, bias[0], info
	return nil
}

// FitGram fits the model on a precomputed n×n training kernel matrix.
func (m *LSSVMRegressor) FitGram(ctx context.Context, K *mat.Dense, y []float64) error {
	if err := checkPositive("LS-SVM Gamma", m.Gamma); err != nil {
		return err
	}
	n, err := squareGram(K)
	if err != nil {
		return err
	}
	if err := checkTargets(y, n); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := factorGram(K, 1/m.Gamma)
	if err != nil {
		return err
	}
	coef, bias, err := borderedSolve(f, n, y, 1)
	if err != nil {
		return err
	}
	m.t, m.alpha, m.bias, m.info = trained{n: n}, coef, bias[0], f.info
	return nil
}

// Predict returns f(x) for each row of X.
func (m *LSSVMRegressor) Predict(X *mat.Dense) ([]float64, error) {
	if m.alpha == nil {
		return nil, ErrNotFitted
	}
	out, err := m.t.crossMul(context.Background(), X, m.alpha, 1)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i] += m.bias
	}
	return out, nil
}

// PredictGram returns f for the rows of the m×n test-to-train kernel matrix.
func (m *LSSVMRegressor) PredictGram(Kt *mat.Dense) ([]float64, error) {
	if m.alpha == nil {
		return nil, ErrNotFitted
	}
	if err := checkGramMatrix("test-to-train Gram matrix", Kt, -1, len(m.alpha)); err != nil {
		return nil, err
	}
	return m.predict(Kt), nil
}

func (m *LSSVMRegressor) predict(Kt *mat.Dense) []float64 {
	out := matMul(Kt, m.alpha, 1)
	for i := range out {
		out[i] += m.bias
	}
	return out
}

// Dual returns α and b (do not modify α).
func (m *LSSVMRegressor) Dual() (alpha []float64, bias float64) { return m.alpha, m.bias }

// Info reports how the system was solved.
func (m *LSSVMRegressor) Info() SolveInfo { return m.info }

// LSSVMClassifier is Suykens' least-squares SVM classifier with bias:
// labels y_i ∈ {±1}, Ω_ij = y_i y_j k(x_i, x_j), and the dual solves
//
//	[ 0   yᵀ      ] [b]   [0]
//	[ y   Ω + I/γ ] [α] = [1],
//
// with decision f(x) = Σ α_i y_i k(x, x_i) + b. More than two classes are
// handled one-vs-rest (argmax of the per-class decisions). Since
// Ω + I/γ = D(K + I/γ)D with D = diag(y), one factorization of K + I/γ
// serves every class.
type LSSVMClassifier struct {
	Kernel Kernel
	Gamma  float64 // regularization γ > 0

	t       trained
	classes []int
	coef    []float64 // n×T, column c holds α_i y_i of machine c
	bias    []float64 // T
	info    SolveInfo
}

// Fit fits the classifier on the rows of X and integer labels y (any
// values; at least two distinct).
func (m *LSSVMClassifier) Fit(ctx context.Context, X *mat.Dense, y []int) error {
	if err := checkPositive("LS-SVM Gamma", m.Gamma); err != nil {
		return err
	}
	t, err := bindTrained(m.Kernel, X)
	if err != nil {
		return err
	}
	classes, targets, T, err := encodeLabels(y, t.n)
	if err != nil {
		return err
	}
	rhs := borderedRHS(t.n, targets, T)
	info, err := solveTrain(ctx, &t, 1/m.Gamma, rhs, T+1, "K + I/γ", "decrease Gamma")
	if err != nil {
		return err
	}
	coef, bias, err := borderedFinish(t.n, rhs, T)
	if err != nil {
		return err
	}
	m.t, m.classes, m.coef, m.bias, m.info = t, classes, coef, bias, info
	return nil
}

// FitGram fits the classifier on a precomputed n×n training kernel matrix.
func (m *LSSVMClassifier) FitGram(ctx context.Context, K *mat.Dense, y []int) error {
	if err := checkPositive("LS-SVM Gamma", m.Gamma); err != nil {
		return err
	}
	n, err := squareGram(K)
	if err != nil {
		return err
	}
	classes, targets, T, err := encodeLabels(y, n)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := factorGram(K, 1/m.Gamma)
	if err != nil {
		return err
	}
	coef, bias, err := borderedSolve(f, n, targets, T)
	if err != nil {
		return err
	}
	m.t, m.classes, m.coef, m.bias, m.info = trained{n: n}, classes, coef, bias, f.info
	return nil
}

// Decision returns the m×C decision values, column c for class
// Classes()[c]. For two classes it is [−f, f] with f the single machine's
// decision (positive for Classes()[1]).
func (m *LSSVMClassifier) Decision(X *mat.Dense) (*mat.Dense, error) {
	if m.coef == nil {
		return nil, ErrNotFitted
	}
	Kt, err := m.t.cross(context.Background(), X)
	if err != nil {
		return nil, err
	}
	return m.decision(Kt), nil
}

// DecisionGram is [LSSVMClassifier.Decision] from the m×n test-to-train
// kernel matrix.
func (m *LSSVMClassifier) DecisionGram(Kt *mat.Dense) (*mat.Dense, error) {
	if m.coef == nil {
		return nil, ErrNotFitted
	}
	if err := checkGramMatrix("test-to-train Gram matrix", Kt, -1, m.t.n); err != nil {
		return nil, err
	}
	return m.decision(Kt), nil
}

func (m *LSSVMClassifier) decision(Kt *mat.Dense) *mat.Dense {
	T := len(m.bias)
	raw := matMul(Kt, m.coef, T)
	for i := 0; i < len(raw); i += T {
		for c := 0; c < T; c++ {
			raw[i+c] += m.bias[c]
		}
	}
	return scores(raw, T)
}

// Predict returns the predicted label of each row of X.
func (m *LSSVMClassifier) Predict(X *mat.Dense) ([]int, error) {
	d, err := m.Decision(X)
	if err != nil {
		return nil, err
	}
	return ArgmaxClasses(d, m.classes), nil
}

// PredictGram returns labels from the m×n test-to-train kernel matrix.
func (m *LSSVMClassifier) PredictGram(Kt *mat.Dense) ([]int, error) {
	d, err := m.DecisionGram(Kt)
	if err != nil {
		return nil, err
	}
	return ArgmaxClasses(d, m.classes), nil
}

// Classes returns the sorted distinct training labels.
func (m *LSSVMClassifier) Classes() []int { return append([]int(nil), m.classes...) }

// Info reports how the system was solved.
func (m *LSSVMClassifier) Info() SolveInfo { return m.info }

// factorGram factors K + shift·I for a precomputed K.
func factorGram(K *mat.Dense, shift float64) (*factored, error) {
	n, _ := K.Dims()
	a := append([]float64(nil), contiguous(K)...)
	addDiag(a, n, shift)
	const hint = "decrease Gamma"
	if mat.Equal(K, K.T()) {
		refill := func(dst []float64) error {
			copy(dst, contiguous(K))
			addDiag(dst, n, shift)
			return nil
		}
		return factorSym(a, n, refill, "K + I/γ", hint)
	}
	return factorGeneral(a, n, "K + I/γ", hint)
}

func squareGram(K *mat.Dense) (int, error) {
	if err := checkGramMatrix("K", K, -1, -1); err != nil {
		return 0, err
	}
	n, c := K.Dims()
	if n != c {
		return 0, fmt.Errorf("kernel: training Gram matrix is %d×%d, want square: %w", n, c, ErrShape)
	}
	return n, nil
}

// borderedSolve solves [0 1ᵀ; 1 A][b; α] = [0; y_c] for the T target
// columns of targets (n×T), given the factored A. It returns α (n×T) and b.
func borderedSolve(f *factored, n int, targets []float64, T int) ([]float64, []float64, error) {
	rhs := borderedRHS(n, targets, T)
	f.solve(false, rhs, T+1)
	return borderedFinish(n, rhs, T)
}

// borderedRHS returns the n×(T+1) right-hand sides [1, targets] of the
// Schur-complement solve of the bordered system.
func borderedRHS(n int, targets []float64, T int) []float64 {
	rhs := make([]float64, n*(T+1))
	for i := 0; i < n; i++ {
		rhs[i*(T+1)] = 1
		copy(rhs[i*(T+1)+1:(i+1)*(T+1)], targets[i*T:(i+1)*T])
	}
	return rhs
}

// borderedFinish turns the solved right-hand sides u = A⁻¹1, v_c = A⁻¹y_c
// into b_c = 1ᵀv_c/1ᵀu and α_c = v_c − b_c·u.
func borderedFinish(n int, rhs []float64, T int) ([]float64, []float64, error) {
	var su float64
	for i := 0; i < n; i++ {
		su += rhs[i*(T+1)]
	}
	if !(math.Abs(su) > 1e-300) || math.IsInf(su, 0) {
		return nil, nil, &IllConditionedError{System: "LS-SVM bordered system", RCond: 0, Hint: "1ᵀA⁻¹1 vanishes; the kernel is indefinite, change it or Gamma"}
	}
	coef := make([]float64, n*T)
	bias := make([]float64, T)
	for c := 0; c < T; c++ {
		var sv float64
		for i := 0; i < n; i++ {
			sv += rhs[i*(T+1)+1+c]
		}
		b := sv / su
		bias[c] = b
		for i := 0; i < n; i++ {
			coef[i*T+c] = rhs[i*(T+1)+1+c] - b*rhs[i*(T+1)]
		}
	}
	return coef, bias, nil
}

// encodeLabels returns the sorted classes and the ±1 targets (n×T) of the
// binary machines: T = 1 for two classes (+1 for classes[1]), else one per
// class (one-vs-rest).
func encodeLabels(y []int, n int) (classes []int, targets []float64, T int, err error) {
	if len(y) != n {
		return nil, nil, 0, fmt.Errorf("kernel: %d labels for %d samples: %w", len(y), n, ErrShape)
	}
	seen := map[int]bool{}
	for _, v := range y {
		if !seen[v] {
			seen[v] = true
			classes = append(classes, v)
		}
	}
	sort.Ints(classes)
	if len(classes) < 2 {
		return nil, nil, 0, fmt.Errorf("kernel: labels have %d distinct value(s), need at least 2: %w", len(classes), ErrShape)
	}
	index := map[int]int{}
	for i, c := range classes {
		index[c] = i
	}
	T = len(classes)
	if T == 2 {
		T = 1
	}
	targets = make([]float64, n*T)
	for i, v := range y {
		ci := index[v]
		if T == 1 {
			targets[i] = -1
			if ci == 1 {
				targets[i] = 1
			}
			continue
		}
		for c := 0; c < T; c++ {
			targets[i*T+c] = -1
		}
		targets[i*T+ci] = 1
	}
	return classes, targets, T, nil
}

// scores turns m×T machine outputs into an m×C score matrix ([−f, f] for a
// single machine).
func scores(raw []float64, T int) *mat.Dense {
	m := len(raw) / T
	if T == 1 {
		out := mat.NewDense(m, 2, nil)
		for i, v := range raw {
			out.Set(i, 0, -v)
			out.Set(i, 1, v)
		}
		return out
	}
	return mat.NewDense(m, T, raw)
}

// ArgmaxClasses returns, for each row of the decision values d (one column
// per class), the class of its largest column: classes[argmax of row i].
func ArgmaxClasses(d *mat.Dense, classes []int) []int {
	m, _ := d.Dims()
	out := make([]int, m)
	for i := 0; i < m; i++ {
		out[i] = classes[metrics.Argmax(d.RawRowView(i))]
	}
	return out
}
