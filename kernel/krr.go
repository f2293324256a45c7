package kernel

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
)

// trained holds what a kernel expansion needs at prediction time: the
// kernel (bound to the training set when data-dependent) and a copy of the
// training inputs. A model fitted on a precomputed Gram matrix has neither
// and only predicts from Gram matrices.
type trained struct {
	kern Kernel
	x    *mat.Dense
	n, d int
}

// bind validates k and the training data and returns the state to keep.
func bindTrained(k Kernel, X *mat.Dense) (trained, error) {
	if k == nil {
		return trained{}, errNilKernel
	}
	if err := checkData("X", X); err != nil {
		return trained{}, err
	}
	if b, ok := k.(Binder); ok {
		bk, err := b.Bind(X)
		if err != nil {
			return trained{}, err
		}
		k = bk
	}
	if err := validateKernel(k); err != nil {
		return trained{}, err
	}
	n, d := X.Dims()
	return trained{kern: k, x: mat.DenseCopyOf(X), n: n, d: d}, nil
}

// checkInputs checks that the model kept its training inputs and that X
// has their number of features.
func (t *trained) checkInputs(X *mat.Dense) error {
	if t.x == nil {
		return fmt.Errorf("kernel: model was fitted on a precomputed Gram matrix; use the Gram variant of this method: %w", ErrNotFitted)
	}
	return checkCols("X", X, t.d)
}

// cross returns K(X, Xtrain) (m×n) after checking X.
func (t *trained) cross(ctx context.Context, X *mat.Dense) (*mat.Dense, error) {
	if err := t.checkInputs(X); err != nil {
		return nil, err
	}
	return gramCross(ctx, t.kern, X, t.x)
}

// crossBlock is the most elements of the test-to-train kernel matrix
// [trained.crossMul] holds at once (16 MB).
const crossBlock = 1 << 21

// crossMul returns K(X, Xtrain)·W for the n×c matrix W (row-major), in row
// blocks of X, so that prediction on many points does not build the whole
// m×n kernel matrix (a 10,000-point model predicting 2,000 points would
// otherwise allocate and fault in 160 MB).
func (t *trained) crossMul(ctx context.Context, X *mat.Dense, w []float64, c int) ([]float64, error) {
	if err := t.checkInputs(X); err != nil {
		return nil, err
	}
	if err := checkGramArgs(t.kern, X, t.x); err != nil {
		return nil, err
	}
	m, _ := X.Dims()
	out := make([]float64, m*c)
	rows := max(1, min(m, crossBlock/max(t.n, 1)))
	var buf *mat.Dense
	for lo := 0; lo < m; lo += rows {
		hi := min(lo+rows, m)
		if buf == nil || hi-lo != rows {
			buf = mat.NewDense(hi-lo, t.n, nil)
		}
		Xb := X.Slice(lo, hi, 0, t.d).(*mat.Dense)
		if err := gramTo(ctx, buf, t.kern, Xb, t.x, false); err != nil {
			return nil, err
		}
		raw := buf.RawMatrix()
		linalg.Dgemm(false, false, hi-lo, c, t.n, 1, raw.Data, raw.Stride, w, c, 0, out[lo*c:], c)
	}
	return out, nil
}

// crossT returns K(Xtrain, X) (n×m), the "train→test" orientation that
// asymmetric models need.
func (t *trained) crossT(ctx context.Context, X *mat.Dense) (*mat.Dense, error) {
	if err := t.checkInputs(X); err != nil {
		return nil, err
	}
	return gramCross(ctx, t.kern, t.x, X)
}

// trainGram returns K(X, X) for fitting with the system's diagonal shift
// applied. For a symmetric kernel only the lower triangle is built (what
// the Cholesky and mixed-precision solvers read); refill rebuilds the full
// matrix (for the LU fallback).
func (t *trained) trainGram(ctx context.Context, shift float64) (a []float64, refill func([]float64) error, err error) {
	sym := t.kern.Symmetric()
	K, err := gramSym(ctx, t.kern, t.x, sym)
	if err != nil {
		return nil, nil, err
	}
	a = contiguous(K)
	addDiag(a, t.n, shift)
	refill = func(dst []float64) error {
		K2 := mat.NewDense(t.n, t.n, dst)
		if err := gramTo(ctx, K2, t.kern, t.x, t.x, false); err != nil {
			return err
		}
		addDiag(dst, t.n, shift)
		return nil
	}
	return a, refill, nil
}

// MixedPrecisionMinN is the training-set size from which kernel ridge and
// LS-SVM systems with a positive semidefinite kernel are solved in mixed
// precision (see [SolveInfo]).
const MixedPrecisionMinN = 2000

// solveTrain solves (K + shift·I)·X = rhs (n×nrhs, overwritten by X) for
// the training Gram matrix. Large systems with a PSD kernel and a ridge
// that bounds the condition number (shift/‖K + shift·I‖ ≥ 1e-6) first try
// the mixed-precision solver (float32 Cholesky + float64 iterative
// refinement to float64 accuracy); otherwise, or if it does not converge,
// Cholesky in float64 with the LU fallback.
func solveTrain(ctx context.Context, t *trained, shift float64, rhs []float64, nrhs int, system, hint string) (SolveInfo, error) {
	n := t.n
	mixed := IsPSD(t.kern) && n >= MixedPrecisionMinN && shift > 0
	a, refill, err := t.trainGram(ctx, shift)
	if err != nil {
		return SolveInfo{}, err
	}
	if mixed {
		// For PSD K, λ_min(K + shift·I) ≥ shift and λ_max ≤ ‖·‖₁.
		bound := shift / linalg.SymOneNorm(n, a, n)
		if bound >= 1e-6 {
			x := make([]float64, n*nrhs)
			if _, ok := linalg.Dsposv(n, nrhs, a, n, rhs, nrhs, x, nrhs); ok {
				copy(rhs, x)
				return SolveInfo{Method: "cholesky-mixed", RCond: bound}, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return SolveInfo{}, err
		}
	}
	var f *factored
	if t.kern.Symmetric() {
		f, err = factorSym(a, n, refill, system, hint)
	} else {
		f, err = factorGeneral(a, n, system, hint)
	}
	if err != nil {
		return SolveInfo{}, err
	}
	f.solve(false, rhs, nrhs)
	return f.info, nil
}

// KRR is kernel ridge regression: α = (K + λ'I)⁻¹y with λ' = Lambda, or
// n·Lambda when ScaleByN (the DeKRR code's normalization of
// min (1/n)‖y − Kα‖² + λαᵀKα), and f(x) = Σ α_i k(x, x_i). With Lambda = 1
// and ScaleByN false it matches scikit-learn's KernelRidge(alpha=1).
//
// K + λ'I is factored by Cholesky; if that fails (an indefinite kernel, or
// Lambda = 0 with a singular K) Fit falls back to LU, and a system singular
// to working precision is an *[IllConditionedError]. An asymmetric kernel
// is solved by LU directly. From [MixedPrecisionMinN] training points, a
// PSD kernel with a ridge is first solved in mixed precision (float32
// Cholesky refined to float64 accuracy). [KRR.Info] reports which was used.
type KRR struct {
	Kernel   Kernel
	Lambda   float64 // ridge λ ≥ 0; 0 interpolates (ridgeless)
	ScaleByN bool

	t     trained
	alpha []float64
	info  SolveInfo
}

// Fit fits the model on the rows of X and targets y.
func (m *KRR) Fit(ctx context.Context, X *mat.Dense, y []float64) error {
	if err := checkNonNegative("KRR Lambda", m.Lambda); err != nil {
		return err
	}
	t, err := bindTrained(m.Kernel, X)
	if err != nil {
		return err
	}
	if err := checkTargets(y, t.n); err != nil {
		return err
	}
	alpha := append([]float64(nil), y...)
	info, err := solveTrain(ctx, &t, m.ridge(t.n), alpha, 1, "K + λI", "increase Lambda")
	if err != nil {
		return err
	}
	m.t, m.alpha, m.info = t, alpha, info
	return nil
}

// FitGram fits the model on a precomputed n×n training kernel matrix
// K[i][j] = k(x_i, x_j) (symmetric or not). Predict with [KRR.PredictGram].
func (m *KRR) FitGram(ctx context.Context, K *mat.Dense, y []float64) error {
	if err := checkNonNegative("KRR Lambda", m.Lambda); err != nil {
		return err
	}
	if err := checkGramMatrix("K", K, -1, -1); err != nil {
		return err
	}
	n, c := K.Dims()
	if n != c {
		return fmt.Errorf("kernel: training Gram matrix is %d×%d, want square: %w", n, c, ErrShape)
	}
	if err := checkTargets(y, n); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	a := append([]float64(nil), contiguous(K)...)
	addDiag(a, n, m.ridge(n))
	refill := func(dst []float64) error {
		copy(dst, contiguous(K))
		addDiag(dst, n, m.ridge(n))
		return nil
	}
	alpha, info, err := m.solve(a, n, mat.Equal(K, K.T()), refill, y)
	if err != nil {
		return err
	}
	m.t, m.alpha, m.info = trained{n: n}, alpha, info
	return nil
}

func (m *KRR) ridge(n int) float64 {
	if m.ScaleByN {
		return float64(n) * m.Lambda
	}
	return m.Lambda
}

func (m *KRR) solve(a []float64, n int, sym bool, refill func([]float64) error, y []float64) ([]float64, SolveInfo, error) {
	const hint = "increase Lambda"
	var f *factored
	var err error
	if sym {
		f, err = factorSym(a, n, refill, "K + λI", hint)
	} else {
		f, err = factorGeneral(a, n, "K + λI", hint)
	}
	if err != nil {
		return nil, SolveInfo{}, err
	}
	alpha := append([]float64(nil), y...)
	f.solve(false, alpha, 1)
	return alpha, f.info, nil
}

// Predict returns f(x) for each row of X.
func (m *KRR) Predict(X *mat.Dense) ([]float64, error) {
	if m.alpha == nil {
		return nil, ErrNotFitted
	}
	return m.t.crossMul(context.Background(), X, m.alpha, 1)
}

// PredictGram returns f for the rows of the m×n test-to-train kernel matrix
// Kt[i][j] = k(x_i, x_train_j).
func (m *KRR) PredictGram(Kt *mat.Dense) ([]float64, error) {
	if m.alpha == nil {
		return nil, ErrNotFitted
	}
	if err := checkGramMatrix("test-to-train Gram matrix", Kt, -1, len(m.alpha)); err != nil {
		return nil, err
	}
	return matMul(Kt, m.alpha, 1), nil
}

// Dual returns the dual coefficients α (do not modify).
func (m *KRR) Dual() []float64 { return m.alpha }

// Info reports how the system was solved.
func (m *KRR) Info() SolveInfo { return m.info }
