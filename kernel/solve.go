package kernel

import (
	"errors"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
)

// SolveInfo describes how a model's linear system was solved.
type SolveInfo struct {
	// Method is "cholesky", "cholesky-mixed" (float32 Cholesky with float64
	// iterative refinement, converged to float64 accuracy), "lu",
	// "normal-equations" (the AsK-LS regularized fallback) or "pinv" (the
	// ridgeless LAB RBF fallback).
	Method string `json:"method"`
	// RCond is the estimated reciprocal 1-norm condition number of the
	// system matrix (of the original system, also when a fallback was used).
	// For "cholesky-mixed" it is the lower bound λ/‖K + λI‖₁ that a PSD
	// kernel and the ridge λ guarantee.
	RCond float64 `json:"rcond"`
	// Fallback reports that the first-choice method was not used: Cholesky
	// failed (the matrix is not positive definite) or, for AsK-LS, RCond was
	// below the threshold.
	Fallback bool `json:"fallback,omitempty"`
}

// minRCond is the reciprocal condition number below which a system is
// singular to working precision (LAPACK's dgesvx uses the same test).
const minRCond = 2.220446049250313e-16

// factored is a factorized n×n system matrix.
type factored struct {
	n    int
	a    []float64
	ipiv []int // nil for Cholesky
	info SolveInfo
}

// factorSym factors the symmetric n×n matrix held in a (row-major, stride n;
// only the lower triangle is read). It tries Cholesky; if the matrix is not
// positive definite it calls refill to restore the full matrix into a and
// factors it by LU. A matrix singular to working precision is an
// *IllConditionedError naming system, with hint.
func factorSym(a []float64, n int, refill func([]float64) error, system, hint string) (*factored, error) {
	anorm := linalg.SymOneNorm(n, a, n)
	err := linalg.Dpotrf(n, a, n)
	if err == nil {
		rc := linalg.Dpocon(n, a, n, anorm)
		f := &factored{n: n, a: a, info: SolveInfo{Method: "cholesky", RCond: rc}}
		if !(rc >= minRCond) {
			return nil, &IllConditionedError{System: system, RCond: rc, Hint: hint}
		}
		return f, nil
	}
	var npd *linalg.NotPositiveDefiniteError
	if !errors.As(err, &npd) {
		return nil, err
	}
	if err := refill(a); err != nil {
		return nil, err
	}
	f, err := factorGeneral(a, n, system, hint)
	if f != nil {
		f.info.Fallback = true
	}
	return f, err
}

// factorGeneral factors the general n×n matrix in a (row-major, stride n) by
// LU with partial pivoting.
func factorGeneral(a []float64, n int, system, hint string) (*factored, error) {
	anorm := linalg.OneNorm(n, n, a, n)
	ipiv := make([]int, n)
	if err := linalg.Dgetrf(n, a, n, ipiv); err != nil {
		var s *linalg.SingularError
		if errors.As(err, &s) {
			return nil, &IllConditionedError{System: system, RCond: 0, Hint: hint}
		}
		return nil, err
	}
	rc := linalg.Dgecon(n, a, n, anorm)
	if !(rc >= minRCond) {
		return nil, &IllConditionedError{System: system, RCond: rc, Hint: hint}
	}
	return &factored{n: n, a: a, ipiv: ipiv, info: SolveInfo{Method: "lu", RCond: rc}}, nil
}

// solve overwrites b (n×nrhs, stride nrhs) with A⁻¹b, or A⁻ᵀb when trans.
func (f *factored) solve(trans bool, b []float64, nrhs int) {
	if f.ipiv == nil {
		linalg.Dpotrs(f.n, nrhs, f.a, f.n, b, nrhs)
		return
	}
	linalg.Dgetrs(trans, f.n, nrhs, f.a, f.n, f.ipiv, b, nrhs)
}

// addDiag adds v to the diagonal of the n×n row-major matrix a.
func addDiag(a []float64, n int, v float64) {
	for i := 0; i < n; i++ {
		a[i*n+i] += v
	}
}

// matVec returns A·w for the m×n matrix A and the n×c matrix W (row-major,
// stride c) through the BLAS seam, as an m×c slice.
func matMul(A *mat.Dense, w []float64, c int) []float64 {
	m, n := A.Dims()
	raw := A.RawMatrix()
	out := make([]float64, m*c)
	linalg.Dgemm(false, false, m, c, n, 1, raw.Data, raw.Stride, w, c, 0, out, c)
	return out
}

// matTMul returns Aᵀ·W for the n×m matrix A and n×c W, as an m×c slice.
func matTMul(A *mat.Dense, w []float64, c int) []float64 {
	n, m := A.Dims()
	raw := A.RawMatrix()
	out := make([]float64, m*c)
	linalg.Dgemm(true, false, m, c, n, 1, raw.Data, raw.Stride, w, c, 0, out, c)
	return out
}

// contiguous returns the data of a as one n×m row-major slice with stride
// m, copying only if a has a larger stride.
func contiguous(a *mat.Dense) []float64 {
	r, c := a.Dims()
	raw := a.RawMatrix()
	if raw.Stride == c {
		return raw.Data[:r*c]
	}
	out := make([]float64, 0, r*c)
	for i := 0; i < r; i++ {
		out = append(out, raw.Data[i*raw.Stride:i*raw.Stride+c]...)
	}
	return out
}
