package features

import (
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/kernel"
)

// Ridge is ridge regression on a feature matrix Φ (n×D) in the primal:
//
//	min_{w,b} ‖y − Φw − b·1‖² + λ‖w‖²,
//
// the intercept b unpenalized (omitted with NoIntercept). It solves the D×D
// system (ΦcᵀΦc + λI)w = Φcᵀyc on centered features by Cholesky, so the
// cost is O(nD² + D³) whatever n. With λ = 1/γ this is exactly the LS-SVM
// regressor with regularization γ in the primal ([LSSVMRegressor]). The
// objective matches scikit-learn's Ridge(alpha=λ).
type Ridge struct {
	Lambda      float64 // λ ≥ 0
	NoIntercept bool    // fit without the bias b

	coef      *mat.Dense // D×k
	intercept []float64  // k
}

// LSSVMRegressor returns the LS-SVM regressor with regularization γ in the
// primal: min ½‖w‖² + (γ/2)Σe_i², e_i = y_i − wᵀφ(x_i) − b, which is
// [Ridge] with λ = 1/γ.
func LSSVMRegressor(gamma float64) *Ridge { return &Ridge{Lambda: 1 / gamma} }

// rowBlock is the number of rows featurized at a time by the *Map methods.
const rowBlock = 2048

// normalEq accumulates ΦᵀΦ, ΦᵀY and the column sums over row blocks.
type normalEq struct {
	D, k   int
	G, R   []float64 // D×D (lower triangle), D×k
	colSum []float64
	ySum   []float64
	n      int
}

func newNormalEq(D, k int) *normalEq {
	return &normalEq{D: D, k: k, G: make([]float64, D*D), R: make([]float64, D*k), colSum: make([]float64, D), ySum: make([]float64, k)}
}

func (e *normalEq) add(Phi, Y blas64.General) {
	rows := Phi.Rows
	linalg.Dsyrk(true, e.D, rows, 1, Phi.Data, Phi.Stride, 1, e.G, e.D) // lower triangle
	linalg.Dgemm(true, false, e.D, e.k, rows, 1, Phi.Data, Phi.Stride, Y.Data, Y.Stride, 1, e.R, e.k)
	for i := 0; i < rows; i++ {
		row := Phi.Data[i*Phi.Stride : i*Phi.Stride+e.D]
		for j, v := range row {
			e.colSum[j] += v
		}
		for j, v := range Y.Data[i*Y.Stride : i*Y.Stride+e.k] {
			e.ySum[j] += v
		}
	}
	e.n += rows
}

// solve returns W (D×k) and the intercepts. It overwrites G.
func (e *normalEq) solve(lambda float64, intercept bool) (*mat.Dense, []float64, error) {
	D, k := e.D, e.k
	mu := make([]float64, D)
	ybar := make([]float64, k)
	if intercept {
		for j := range mu {
			mu[j] = e.colSum[j] / float64(e.n)
		}
		for j := range ybar {
			ybar[j] = e.ySum[j] / float64(e.n)
		}
	}
	n := float64(e.n)
	A := e.G
	B := append([]float64(nil), e.R...)
	for i := 0; i < D; i++ {
		row := A[i*D : i*D+i+1]
		for j := range row {
			row[j] -= n * mu[i] * mu[j]
		}
		row[i] += lambda
		for j := 0; j < k; j++ {
			B[i*k+j] -= n * mu[i] * ybar[j]
		}
	}
	if err := linalg.Dpotrf(D, A, D); err != nil {
		return nil, nil, fmt.Errorf("features: the %d×%d ridge system is not positive definite (singular features); use a positive regularization: %w: %w", D, D, err, ErrIllConditioned)
	}
	linalg.Dpotrs(D, k, A, D, B, k)
	W := mat.NewDense(D, k, B)
	b := make([]float64, k)
	for j := 0; j < k; j++ {
		s := ybar[j]
		for i := 0; i < D; i++ {
			s -= mu[i] * B[i*k+j]
		}
		b[j] = s
	}
	return W, b, nil
}

// solveSPD solves A·X = B for symmetric positive-definite A by Cholesky.
func solveSPD(A *mat.SymDense, B *mat.Dense) (*mat.Dense, error) {
	n := A.SymmetricDim()
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			a[i*n+j] = A.At(i, j)
		}
	}
	if err := linalg.Dpotrf(n, a, n); err != nil {
		return nil, fmt.Errorf("features: system is not positive definite: %w: %w", err, ErrIllConditioned)
	}
	X := mat.DenseCopyOf(B)
	x := X.RawMatrix()
	linalg.Dpotrs(n, x.Cols, a, n, x.Data, x.Stride)
	return X, nil
}

func checkLambda(l float64) error {
	if !(l >= 0) || math.IsInf(l, 0) {
		return fmt.Errorf("features: ridge lambda must be non-negative and finite, got %v: %w", l, ErrParam)
	}
	return nil
}

func checkFinite(name string, M *mat.Dense) error {
	r, _ := M.Dims()
	for i := 0; i < r; i++ {
		for j, v := range M.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("features: %s has a non-finite value at row %d, column %d: %w", name, i, j, ErrNonFinite)
			}
		}
	}
	return nil
}

func checkFeatures(Phi *mat.Dense, n int) error {
	if Phi == nil {
		return fmt.Errorf("features: nil feature matrix: %w", ErrShape)
	}
	r, c := Phi.Dims()
	if r == 0 || c == 0 {
		return fmt.Errorf("features: empty feature matrix: %w", ErrShape)
	}
	if n >= 0 && r != n {
		return fmt.Errorf("features: feature matrix has %d rows but there are %d targets: %w", r, n, ErrShape)
	}
	return checkFinite("feature matrix", Phi)
}

// Fit fits the model on features Phi (n×D) and targets y. ctx is checked
// before each stage (the normal equations, the D×D solve).
func (r *Ridge) Fit(ctx context.Context, Phi *mat.Dense, y []float64) error {
	Y := mat.NewDense(len(y), 1, append([]float64(nil), y...))
	return r.FitMulti(ctx, Phi, Y)
}

// FitMulti fits one ridge model per column of Y (n×k), sharing the
// factorization.
func (r *Ridge) FitMulti(ctx context.Context, Phi, Y *mat.Dense) error {
	if err := checkLambda(r.Lambda); err != nil {
		return err
	}
	if Y == nil {
		return fmt.Errorf("features: nil targets: %w", ErrShape)
	}
	n, k := Y.Dims()
	if err := checkFeatures(Phi, n); err != nil {
		return err
	}
	if err := checkFinite("targets", Y); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, D := Phi.Dims()
	e := newNormalEq(D, k)
	e.add(Phi.RawMatrix(), Y.RawMatrix())
	return r.finish(ctx, e)
}

func (r *Ridge) finish(ctx context.Context, e *normalEq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	W, b, err := e.solve(r.Lambda, !r.NoIntercept)
	if err != nil {
		return err
	}
	r.coef, r.intercept = W, b
	return nil
}

// FitMap fits on the features m(X) without holding all of them: rows are
// featurized in blocks and only the D×D normal equations are kept.
func (r *Ridge) FitMap(ctx context.Context, m Map, X *mat.Dense, y []float64) error {
	Y := mat.NewDense(len(y), 1, append([]float64(nil), y...))
	return r.FitMapMulti(ctx, m, X, Y)
}

// FitMapMulti is [Ridge.FitMap] for k target columns.
func (r *Ridge) FitMapMulti(ctx context.Context, m Map, X, Y *mat.Dense) error {
	if err := checkLambda(r.Lambda); err != nil {
		return err
	}
	if m == nil || X == nil || Y == nil {
		return fmt.Errorf("features: nil map, data or targets: %w", ErrShape)
	}
	n, _ := X.Dims()
	ny, k := Y.Dims()
	if n != ny {
		return fmt.Errorf("features: data have %d rows but there are %d targets: %w", n, ny, ErrShape)
	}
	if n == 0 {
		return fmt.Errorf("features: no training rows: %w", ErrShape)
	}
	if err := checkFinite("data", X); err != nil {
		return err
	}
	if err := checkFinite("targets", Y); err != nil {
		return err
	}
	D := m.Dim()
	e := newNormalEq(D, k)
	buf := mat.NewDense(min(rowBlock, n), D, nil)
	for lo := 0; lo < n; lo += rowBlock {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+rowBlock, n)
		blk := buf.Slice(0, hi-lo, 0, D).(*mat.Dense)
		if err := m.TransformTo(blk, X.Slice(lo, hi, 0, m.InputDim()).(*mat.Dense)); err != nil {
			return err
		}
		e.add(blk.RawMatrix(), Y.Slice(lo, hi, 0, k).(*mat.Dense).RawMatrix())
	}
	return r.finish(ctx, e)
}

// Coef returns the weights W (D×k; k = 1 after [Ridge.Fit]).
func (r *Ridge) Coef() *mat.Dense { return r.coef }

// Intercept returns the biases (one per target column).
func (r *Ridge) Intercept() []float64 { return r.intercept }

// PredictMulti returns Φ·W + 1·bᵀ (n×k).
func (r *Ridge) PredictMulti(Phi *mat.Dense) (*mat.Dense, error) {
	if r.coef == nil {
		return nil, fmt.Errorf("features: model is not fitted: %w", ErrNotFitted)
	}
	if Phi == nil {
		return nil, fmt.Errorf("features: nil feature matrix: %w", ErrShape)
	}
	n, D := Phi.Dims()
	wD, k := r.coef.Dims()
	if D != wD {
		return nil, fmt.Errorf("features: feature matrix has %d columns, the model was fitted on %d: %w", D, wD, ErrShape)
	}
	out := mat.NewDense(n, k, nil)
	for i := 0; i < n; i++ {
		copy(out.RawRowView(i), r.intercept)
	}
	a, w, o := Phi.RawMatrix(), r.coef.RawMatrix(), out.RawMatrix()
	linalg.Dgemm(false, false, n, k, D, 1, a.Data, a.Stride, w.Data, w.Stride, 1, o.Data, o.Stride)
	return out, nil
}

// Predict returns the predictions of a single-target model.
func (r *Ridge) Predict(Phi *mat.Dense) ([]float64, error) {
	P, err := r.PredictMulti(Phi)
	if err != nil {
		return nil, err
	}
	return mat.Col(nil, 0, P), nil
}

// PredictMap featurizes X with m in blocks and predicts.
func (r *Ridge) PredictMap(m Map, X *mat.Dense) ([]float64, error) {
	P, err := r.PredictMapMulti(m, X)
	if err != nil {
		return nil, err
	}
	return mat.Col(nil, 0, P), nil
}

// PredictMapMulti featurizes X with m in blocks and returns all outputs.
func (r *Ridge) PredictMapMulti(m Map, X *mat.Dense) (*mat.Dense, error) {
	if r.coef == nil {
		return nil, fmt.Errorf("features: model is not fitted: %w", ErrNotFitted)
	}
	if m == nil || X == nil {
		return nil, fmt.Errorf("features: nil map or data: %w", ErrShape)
	}
	n, _ := X.Dims()
	_, k := r.coef.Dims()
	out := mat.NewDense(n, k, nil)
	buf := mat.NewDense(min(rowBlock, max(n, 1)), m.Dim(), nil)
	for lo := 0; lo < n; lo += rowBlock {
		hi := min(lo+rowBlock, n)
		blk := buf.Slice(0, hi-lo, 0, m.Dim()).(*mat.Dense)
		if err := m.TransformTo(blk, X.Slice(lo, hi, 0, m.InputDim()).(*mat.Dense)); err != nil {
			return nil, err
		}
		P, err := r.PredictMulti(blk)
		if err != nil {
			return nil, err
		}
		out.Slice(lo, hi, 0, k).(*mat.Dense).Copy(P)
	}
	return out, nil
}

// RidgeClassifier is one-vs-rest ridge classification on features: class c
// gets targets +1 (in c) / −1 (not in c), one multi-output [Ridge] fit is
// solved with a single factorization, and the predicted class is the argmax
// of the decision values. With λ = 1/γ it is the LS-SVM classifier in the
// primal (y_i² = 1 makes the LS-SVM error e_i = 1 − y_i f(x_i) equal
// y_i − f(x_i)); see [LSSVMClassifier].
type RidgeClassifier struct {
	Lambda      float64
	NoIntercept bool

	classes []int
	ridge   Ridge
}

// LSSVMClassifier returns the one-vs-rest LS-SVM classifier with
// regularization γ in the primal, a [RidgeClassifier] with λ = 1/γ.
func LSSVMClassifier(gamma float64) *RidgeClassifier { return &RidgeClassifier{Lambda: 1 / gamma} }

// Classes returns the sorted class labels seen in training.
func (c *RidgeClassifier) Classes() []int { return c.classes }

// Ridge returns the underlying multi-output model.
func (c *RidgeClassifier) Ridge() *Ridge { return &c.ridge }

// oneVsRest returns the sorted classes and the ±1 target matrix.
func oneVsRest(y []int) ([]int, *mat.Dense, error) {
	if len(y) == 0 {
		return nil, nil, fmt.Errorf("features: no labels: %w", ErrShape)
	}
	classes := slices.Clone(y)
	slices.Sort(classes)
	classes = slices.Compact(classes)
	if len(classes) < 2 {
		return nil, nil, fmt.Errorf("features: need at least 2 classes, got %d: %w", len(classes), ErrShape)
	}
	Y := mat.NewDense(len(y), len(classes), nil)
	for i, l := range y {
		row := Y.RawRowView(i)
		for j, c := range classes {
			if c == l {
				row[j] = 1
			} else {
				row[j] = -1
			}
		}
	}
	return classes, Y, nil
}

// Fit fits on features Phi (n×D) and labels y.
func (c *RidgeClassifier) Fit(ctx context.Context, Phi *mat.Dense, y []int) error {
	classes, Y, err := oneVsRest(y)
	if err != nil {
		return err
	}
	c.ridge = Ridge{Lambda: c.Lambda, NoIntercept: c.NoIntercept}
	if err := c.ridge.FitMulti(ctx, Phi, Y); err != nil {
		return err
	}
	c.classes = classes
	return nil
}

// FitMap fits on m(X), featurizing in row blocks.
func (c *RidgeClassifier) FitMap(ctx context.Context, m Map, X *mat.Dense, y []int) error {
	classes, Y, err := oneVsRest(y)
	if err != nil {
		return err
	}
	c.ridge = Ridge{Lambda: c.Lambda, NoIntercept: c.NoIntercept}
	if err := c.ridge.FitMapMulti(ctx, m, X, Y); err != nil {
		return err
	}
	c.classes = classes
	return nil
}

// Decision returns the n×C one-vs-rest decision values.
func (c *RidgeClassifier) Decision(Phi *mat.Dense) (*mat.Dense, error) {
	return c.ridge.PredictMulti(Phi)
}

// Predict returns the predicted labels.
func (c *RidgeClassifier) Predict(Phi *mat.Dense) ([]int, error) {
	S, err := c.Decision(Phi)
	if err != nil {
		return nil, err
	}
	return kernel.ArgmaxClasses(S, c.classes), nil
}

// PredictMap featurizes X with m in blocks and predicts labels.
func (c *RidgeClassifier) PredictMap(m Map, X *mat.Dense) ([]int, error) {
	S, err := c.ridge.PredictMapMulti(m, X)
	if err != nil {
		return nil, err
	}
	return kernel.ArgmaxClasses(S, c.classes), nil
}
