package features

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
)

// AsKLSPrimal is the asymmetric-kernel LS-SVM (AsK-LS, He et al.) in the
// primal, for explicit source/target features Φ_s, Φ_t (n×D each, e.g. from
// [NewAsKRFF]) of a kernel k(x, z) ≈ φ_s(x)·φ_t(z). For labels y ∈ {±1} it
// solves the stationarity system of
//
//	min ωᵀν + (γ/2)Σe_i² + (γ/2)Σh_i²,  e_i = 1 − y_i(ωᵀφ_s(x_i) + b₁), h_i = 1 − y_i(νᵀφ_t(x_i) + b₂):
//
//	[ γΦ_sᵀΦ_s   I          γΦ_sᵀ1   0      ] [ω ]     [Φ_sᵀy]
//	[ I          γΦ_tᵀΦ_t   0        γΦ_tᵀ1 ] [ν ] = γ [Φ_tᵀy]
//	[ γ1ᵀΦ_s     0          γn       0      ] [b₁]     [1ᵀy  ]
//	[ 0          γ1ᵀΦ_t     0        γn     ] [b₂]     [1ᵀy  ]
//
// (size 2D+2, non-symmetric: LU with partial pivoting). The matrix does not
// depend on y, so the one-vs-rest problems of C classes share one
// factorization. Decisions: f_s(x) = ωᵀφ_s(x) + b₁, f_t(x) = νᵀφ_t(x) + b₂,
// class = argmax of f_s + f_t. It matches the dual AsK-LS on the Gram
// matrix K = Φ_sΦ_tᵀ.
type AsKLSPrimal struct {
	Gamma float64 // γ > 0, default 1 when zero
	// RcondMin: below this reciprocal condition number the regularized
	// normal equations (AᵀA + λI)x = Aᵀb replace the direct solve;
	// default 1e-14.
	RcondMin       float64
	FallbackLambda float64 // λ of the fallback, default 1

	classes        []int
	omega, nu      *mat.Dense // D×C
	b1, b2         []float64
	usedFallback   bool
	rcondEstimated float64
}

// Classes returns the sorted class labels.
func (m *AsKLSPrimal) Classes() []int { return m.classes }

// UsedFallback reports whether the last Fit used the regularized fallback,
// and the reciprocal condition estimate it saw.
func (m *AsKLSPrimal) UsedFallback() (bool, float64) { return m.usedFallback, m.rcondEstimated }

// Fit fits the one-vs-rest models on source features S, target features T
// (both n×D) and labels y.
func (m *AsKLSPrimal) Fit(S, T *mat.Dense, y []int) error {
	gamma := m.Gamma
	if gamma == 0 {
		gamma = 1
	}
	if !(gamma > 0) || math.IsInf(gamma, 0) {
		return fmt.Errorf("features: AsK-LS gamma must be positive, got %v", m.Gamma)
	}
	classes, Y, err := oneVsRest(y)
	if err != nil {
		return err
	}
	n := len(y)
	if err := checkFeatures(S, n); err != nil {
		return fmt.Errorf("source %w", err)
	}
	if err := checkFeatures(T, n); err != nil {
		return fmt.Errorf("target %w", err)
	}
	_, D := S.Dims()
	if _, dt := T.Dims(); dt != D {
		return fmt.Errorf("features: source has %d columns, target %d; they must match", D, dt)
	}
	C := len(classes)
	N := 2*D + 2
	A := mat.NewDense(N, N, nil)
	a := A.RawMatrix()
	s, t := S.RawMatrix(), T.RawMatrix()
	// γΦ_sᵀΦ_s and γΦ_tᵀΦ_t blocks.
	linalg.Dgemm(true, false, D, D, n, gamma, s.Data, s.Stride, s.Data, s.Stride, 0, a.Data, a.Stride)
	linalg.Dgemm(true, false, D, D, n, gamma, t.Data, t.Stride, t.Data, t.Stride, 0, a.Data[D*a.Stride+D:], a.Stride)
	sumS, sumT := colSums(S), colSums(T)
	for i := 0; i < D; i++ {
		A.Set(i, D+i, 1)
		A.Set(D+i, i, 1)
		A.Set(i, 2*D, gamma*sumS[i])
		A.Set(2*D, i, gamma*sumS[i])
		A.Set(D+i, 2*D+1, gamma*sumT[i])
		A.Set(2*D+1, D+i, gamma*sumT[i])
	}
	A.Set(2*D, 2*D, gamma*float64(n))
	A.Set(2*D+1, 2*D+1, gamma*float64(n))
	// Right-hand sides γ[Φ_sᵀY; Φ_tᵀY; 1ᵀY; 1ᵀY].
	B := mat.NewDense(N, C, nil)
	b := B.RawMatrix()
	yr := Y.RawMatrix()
	linalg.Dgemm(true, false, D, C, n, gamma, s.Data, s.Stride, yr.Data, yr.Stride, 0, b.Data, b.Stride)
	linalg.Dgemm(true, false, D, C, n, gamma, t.Data, t.Stride, yr.Data, yr.Stride, 0, b.Data[D*b.Stride:], b.Stride)
	for j, v := range colSums(Y) {
		B.Set(2*D, j, gamma*v)
		B.Set(2*D+1, j, gamma*v)
	}
	X, fallback, rcond, err := solveGeneral(A, B, m.RcondMin, m.FallbackLambda)
	if err != nil {
		return err
	}
	m.usedFallback, m.rcondEstimated = fallback, rcond
	m.omega = mat.DenseCopyOf(X.Slice(0, D, 0, C))
	m.nu = mat.DenseCopyOf(X.Slice(D, 2*D, 0, C))
	m.b1 = mat.Row(nil, 2*D, X)
	m.b2 = mat.Row(nil, 2*D+1, X)
	m.classes = classes
	return nil
}

func colSums(M *mat.Dense) []float64 {
	r, c := M.Dims()
	out := make([]float64, c)
	for i := 0; i < r; i++ {
		for j, v := range M.RawRowView(i) {
			out[j] += v
		}
	}
	return out
}

// solveGeneral solves A·X = B by LU, falling back to the regularized normal
// equations when the reciprocal condition number is below rcondMin.
func solveGeneral(A, B *mat.Dense, rcondMin, lambda float64) (*mat.Dense, bool, float64, error) {
	if rcondMin <= 0 {
		rcondMin = 1e-14
	}
	if lambda <= 0 {
		lambda = 1
	}
	N, _ := A.Dims()
	lu := append([]float64(nil), A.RawMatrix().Data...)
	ipiv := make([]int, N)
	anorm := linalg.OneNorm(N, N, lu, N)
	rcond := 0.0
	if err := linalg.Dgetrf(N, lu, N, ipiv); err == nil {
		rcond = linalg.Dgecon(N, lu, N, anorm)
	}
	if rcond >= rcondMin && !math.IsNaN(rcond) {
		X := mat.DenseCopyOf(B)
		x := X.RawMatrix()
		linalg.Dgetrs(false, N, x.Cols, lu, N, ipiv, x.Data, x.Stride)
		return X, false, rcond, nil
	}
	var AtA mat.Dense
	AtA.Mul(A.T(), A)
	for i := 0; i < N; i++ {
		AtA.Set(i, i, AtA.At(i, i)+lambda)
	}
	var AtB mat.Dense
	AtB.Mul(A.T(), B)
	sym := mat.NewSymDense(N, nil)
	for i := 0; i < N; i++ {
		for j := i; j < N; j++ {
			sym.SetSym(i, j, AtA.At(i, j))
		}
	}
	X, err := solveSPD(sym, &AtB)
	if err != nil {
		return nil, true, rcond, errors.New("features: AsK-LS system is singular even with the regularized fallback")
	}
	return X, true, rcond, nil
}

// Decision returns the one-vs-rest source and target decision values
// f_s = Φ_sω + b₁ and f_t = Φ_tν + b₂ (n×C each).
func (m *AsKLSPrimal) Decision(S, T *mat.Dense) (fs, ft *mat.Dense, err error) {
	if m.omega == nil {
		return nil, nil, errors.New("features: model is not fitted")
	}
	D, _ := m.omega.Dims()
	if S == nil || T == nil {
		return nil, nil, errors.New("features: nil feature matrix")
	}
	n, ds := S.Dims()
	nt, dt := T.Dims()
	if ds != D || dt != D || nt != n {
		return nil, nil, fmt.Errorf("features: source %d×%d and target %d×%d features, the model needs n×%d each", n, ds, nt, dt, D)
	}
	aff := func(F, W *mat.Dense, b []float64) *mat.Dense {
		var out mat.Dense
		out.Mul(F, W)
		for i := 0; i < n; i++ {
			row := out.RawRowView(i)
			for j := range row {
				row[j] += b[j]
			}
		}
		return &out
	}
	return aff(S, m.omega, m.b1), aff(T, m.nu, m.b2), nil
}

// Predict returns argmax_c (f_s + f_t).
func (m *AsKLSPrimal) Predict(S, T *mat.Dense) ([]int, error) {
	fs, ft, err := m.Decision(S, T)
	if err != nil {
		return nil, err
	}
	fs.Add(fs, ft)
	return argmaxRows(fs, m.classes), nil
}
