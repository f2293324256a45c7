package kernel

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
)

// KPCA is kernel principal component analysis. Fit centers the training
// Gram matrix, K̃ = (I − 11ᵀ/n) K (I − 11ᵀ/n), and keeps its top
// Components eigenpairs (λ_k, v_k) with a symmetric top-k eigensolver
// (see below). A point is projected as
//
//	t_k(x) = Σ_i a_ik k̃(x, x_i),   a_k = v_k/√λ_k,
//
// with k̃(x, ·) centered by the training statistics, which matches
// scikit-learn's KernelPCA.transform. Components whose eigenvalue is not
// positive (an indefinite kernel, or more components than the rank)
// project to 0, as in scikit-learn.
//
// The eigenpairs come from a dense symmetric eigensolver (LAPACK dsyevr in
// the OpenBLAS build) or, for q ≪ n, from block Krylov iteration
// (linalg.SymEigTopKrylov), which needs only products of K̃ with
// n×(q+max(16, q/4)) blocks and stops when every residual
// ‖K̃v − λv‖ ≤ [KrylovTol]·λ₁; if it does not get there the dense solver is
// used. Eigensolver chooses.
type KPCA struct {
	Kernel     Kernel
	Components int // number of components q, 1 ≤ q ≤ n
	// Eigensolver is "dense", "krylov" or "" (auto: Krylov when n ≥ 3000
	// and q + max(16, q/4) ≤ n/3, else dense; measured break-even near
	// n = 2000 for q = 50).
	Eigensolver string

	t       trained
	colMean []float64 // mean_i k(x_i, x_j)
	grand   float64   // mean_ij k(x_i, x_j)
	eig     []float64 // λ_k, descending
	a       []float64 // n×q scaled eigenvectors
	used    string    // eigensolver used
}

// KrylovTol is the relative residual tolerance of the Krylov eigensolver
// used by [KPCA].
const KrylovTol = 1e-11

// Fit computes the principal components of the rows of X in feature space.
func (m *KPCA) Fit(ctx context.Context, X *mat.Dense) error {
	if err := validateKernelForSym(m.Kernel, "kernel PCA"); err != nil {
		return err
	}
	t, err := bindTrained(m.Kernel, X)
	if err != nil {
		return err
	}
	n, q := t.n, m.Components
	if q < 1 || q > n {
		return fmt.Errorf("kernel: KPCA Components = %d, want 1..%d (the number of rows): %w", q, n, ErrParam)
	}
	krylov := false
	switch m.Eigensolver {
	case "":
		krylov = n >= 3000 && 3*(q+max(16, q/4)) <= n
	case "krylov":
		krylov = true
	case "dense":
	default:
		return fmt.Errorf("kernel: KPCA Eigensolver %q is not \"dense\", \"krylov\" or \"\": %w", m.Eigensolver, ErrParam)
	}
	K, err := gramSym(ctx, t.kern, t.x, true)
	if err != nil {
		return err
	}
	a := contiguous(K)
	// Column means from the lower triangle.
	sum := make([]float64, n)
	for i := 0; i < n; i++ {
		row := a[i*n : i*n+i+1]
		for j, v := range row[:i] {
			sum[i] += v
			sum[j] += v
		}
		sum[i] += row[i]
	}
	var grand float64
	for j := range sum {
		sum[j] /= float64(n)
		grand += sum[j]
	}
	grand /= float64(n)
	if err := parallelRows(ctx, n, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := a[i*n : i*n+i+1]
			c := grand - sum[i]
			for j := range row {
				row[j] += c - sum[j]
			}
		}
	}); err != nil {
		return err
	}
	w := make([]float64, q)
	z := make([]float64, q*n)
	used := "dense"
	if krylov {
		mirrorLower(a, n, n)
		if linalg.SymEigTopKrylov(n, a, n, q, w, z, n, KrylovTol) {
			used = "krylov"
		}
	}
	if used == "dense" {
		if err := linalg.DsyevTop(n, a, n, q, w, z, n); err != nil {
			return fmt.Errorf("kernel: KPCA eigendecomposition: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Eigenvalues within rounding of zero count as zero.
	tol := 1e-12 * math.Max(math.Abs(w[0]), 1e-300) * float64(n)
	alphas := make([]float64, n*q)
	for k := 0; k < q; k++ {
		if w[k] <= tol {
			continue
		}
		s := 1 / math.Sqrt(w[k])
		for i := 0; i < n; i++ {
			alphas[i*q+k] = z[k*n+i] * s
		}
	}
	m.t, m.colMean, m.grand, m.eig, m.a, m.used = t, sum, grand, w, alphas, used
	return nil
}

// EigensolverUsed reports which eigensolver produced the components:
// "dense" or "krylov".
func (m *KPCA) EigensolverUsed() string { return m.used }

// centeredCross returns k̃(X, Xtrain) (m×n) centered with the training
// statistics.
func (m *KPCA) centeredCross(X *mat.Dense) (*mat.Dense, error) {
	if m.a == nil {
		return nil, ErrNotFitted
	}
	Kx, err := m.t.cross(context.Background(), X)
	if err != nil {
		return nil, err
	}
	r, n := Kx.Dims()
	for i := 0; i < r; i++ {
		row := Kx.RawRowView(i)
		var s float64
		for _, v := range row {
			s += v
		}
		c := m.grand - s/float64(n)
		for j := range row {
			row[j] += c - m.colMean[j]
		}
	}
	return Kx, nil
}

// Transform returns the q principal-component scores of the rows of X.
func (m *KPCA) Transform(X *mat.Dense) (*mat.Dense, error) {
	Kc, err := m.centeredCross(X)
	if err != nil {
		return nil, err
	}
	r, _ := Kc.Dims()
	q := len(m.eig)
	return mat.NewDense(r, q, matMul(Kc, m.a, q)), nil
}

// ReconstructionError returns, for each row x of X, the squared distance in
// feature space between the centered φ̃(x) and its projection on the
// principal subspace: ‖φ̃(x)‖² − Σ_k t_k(x)², with
// ‖φ̃(x)‖² = k(x, x) − 2·mean_i k(x, x_i) + mean_ij k(x_i, x_j). Values are
// clamped at 0 against rounding.
func (m *KPCA) ReconstructionError(X *mat.Dense) ([]float64, error) {
	if m.a == nil {
		return nil, ErrNotFitted
	}
	if err := checkCols("X", X, m.t.d); err != nil {
		return nil, err
	}
	Kx, err := m.t.cross(context.Background(), X)
	if err != nil {
		return nil, err
	}
	r, n := Kx.Dims()
	norms := make([]float64, r)
	for i := 0; i < r; i++ {
		row := Kx.RawRowView(i)
		var s float64
		for _, v := range row {
			s += v
		}
		x := X.RawRowView(i)
		norms[i] = m.t.kern.Eval(x, x) - 2*s/float64(n) + m.grand
		c := m.grand - s/float64(n)
		for j := range row {
			row[j] += c - m.colMean[j]
		}
	}
	q := len(m.eig)
	T := matMul(Kx, m.a, q)
	out := make([]float64, r)
	for i := 0; i < r; i++ {
		var s float64
		for _, v := range T[i*q : (i+1)*q] {
			s += v * v
		}
		out[i] = math.Max(norms[i]-s, 0)
	}
	return out, nil
}

// Eigenvalues returns the eigenvalues λ_k of the centered training Gram
// matrix, descending (not divided by n, as scikit-learn's eigenvalues_).
func (m *KPCA) Eigenvalues() []float64 { return append([]float64(nil), m.eig...) }
