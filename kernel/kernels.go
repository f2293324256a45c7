package kernel

import (
	"fmt"
	"math"
)

// Linear is the linear kernel k(x, z) = x·z.
type Linear struct{}

// Eval returns x·z.
func (Linear) Eval(x, z []float64) float64 { return dot(x, z) }

// FromInner returns xz.
func (Linear) FromInner(xz, _, _ float64) float64 { return xz }

// Symmetric returns true.
func (Linear) Symmetric() bool { return true }

// PSD returns true.
func (Linear) PSD() bool { return true }

// Polynomial is the polynomial kernel k(x, z) = (Gamma·x·z + Coef0)^Degree,
// parameterized as in scikit-learn. It is positive semidefinite when
// Coef0 ≥ 0.
type Polynomial struct {
	Gamma  float64 // > 0
	Coef0  float64
	Degree int // ≥ 1
}

// Eval returns (γ x·z + c)^d.
func (k Polynomial) Eval(x, z []float64) float64 { return k.FromInner(dot(x, z), 0, 0) }

// FromInner returns (γ xz + c)^d.
func (k Polynomial) FromInner(xz, _, _ float64) float64 { return ipow(k.Gamma*xz+k.Coef0, k.Degree) }

// Symmetric returns true.
func (Polynomial) Symmetric() bool { return true }

// PSD reports Coef0 ≥ 0.
func (k Polynomial) PSD() bool { return k.Coef0 >= 0 }

// Validate checks Gamma > 0 and Degree ≥ 1.
func (k Polynomial) Validate() error {
	if err := checkPositive("poly gamma", k.Gamma); err != nil {
		return err
	}
	if k.Degree < 1 {
		return fmt.Errorf("kernel: poly degree must be ≥ 1, got %d: %w", k.Degree, ErrParam)
	}
	if math.IsNaN(k.Coef0) || math.IsInf(k.Coef0, 0) {
		return fmt.Errorf("kernel: poly coef0 is %v: %w", k.Coef0, ErrParam)
	}
	return nil
}

// RBF is the Gaussian kernel k(x, z) = exp(−Gamma·‖x−z‖²); Gamma = 1/(2σ²).
type RBF struct {
	Gamma float64 // > 0
}

// Eval returns exp(−γ‖x−z‖²).
func (k RBF) Eval(x, z []float64) float64 { return math.Exp(-k.Gamma * sqDist(x, z)) }

// FromInner returns exp(−γ(xx + zz − 2xz)), the distance clamped at 0.
func (k RBF) FromInner(xz, xx, zz float64) float64 {
	return math.Exp(-k.Gamma * math.Max(xx+zz-2*xz, 0))
}

// Symmetric returns true.
func (RBF) Symmetric() bool { return true }

// PSD returns true.
func (RBF) PSD() bool { return true }

// Validate checks Gamma > 0.
func (k RBF) Validate() error { return checkPositive("rbf gamma", k.Gamma) }

// Laplacian is the kernel k(x, z) = exp(−Gamma·‖x−z‖₁) (the L1 distance, as
// scikit-learn's laplacian_kernel).
type Laplacian struct {
	Gamma float64 // > 0
}

// Eval returns exp(−γ‖x−z‖₁).
func (k Laplacian) Eval(x, z []float64) float64 {
	var s float64
	for i, v := range x {
		s += math.Abs(v - z[i])
	}
	return math.Exp(-k.Gamma * s)
}

// Symmetric returns true.
func (Laplacian) Symmetric() bool { return true }

// PSD returns true.
func (Laplacian) PSD() bool { return true }

// Validate checks Gamma > 0.
func (k Laplacian) Validate() error { return checkPositive("laplacian gamma", k.Gamma) }

// Cosine is the cosine-similarity kernel k(x, z) = x·z/(‖x‖‖z‖), the linear
// kernel on ℓ2-normalized inputs. A zero vector has similarity 0 with
// everything (as scikit-learn's cosine_similarity).
type Cosine struct{}

// Eval returns x·z/(‖x‖‖z‖).
func (k Cosine) Eval(x, z []float64) float64 { return k.FromInner(dot(x, z), dot(x, x), dot(z, z)) }

// FromInner returns xz/√(xx·zz), or 0 when either norm is zero.
func (Cosine) FromInner(xz, xx, zz float64) float64 {
	if xx == 0 || zz == 0 {
		return 0
	}
	return xz / (math.Sqrt(xx) * math.Sqrt(zz))
}

// Symmetric returns true.
func (Cosine) Symmetric() bool { return true }

// PSD returns true.
func (Cosine) PSD() bool { return true }

// Sigmoid is the hyperbolic-tangent kernel k(x, z) = tanh(Gamma·x·z + Coef0).
// It is symmetric but indefinite: its Gram matrices can have negative
// eigenvalues, so SPD solvers fall back to LU.
type Sigmoid struct {
	Gamma float64 // > 0
	Coef0 float64
}

// Eval returns tanh(γ x·z + c).
func (k Sigmoid) Eval(x, z []float64) float64 { return math.Tanh(k.Gamma*dot(x, z) + k.Coef0) }

// FromInner returns tanh(γ xz + c).
func (k Sigmoid) FromInner(xz, _, _ float64) float64 { return math.Tanh(k.Gamma*xz + k.Coef0) }

// Symmetric returns true.
func (Sigmoid) Symmetric() bool { return true }

// PSD returns false: the sigmoid kernel is indefinite.
func (Sigmoid) PSD() bool { return false }

// Validate checks Gamma > 0 and a finite Coef0.
func (k Sigmoid) Validate() error {
	if err := checkPositive("sigmoid gamma", k.Gamma); err != nil {
		return err
	}
	if math.IsNaN(k.Coef0) || math.IsInf(k.Coef0, 0) {
		return fmt.Errorf("kernel: sigmoid coef0 is %v: %w", k.Coef0, ErrParam)
	}
	return nil
}

// CosNormEps is the constant added to norms before normalizing in
// [CosineGaussian], as in the KPCA OoD detector's code: ẑ = z/(‖z‖ + 1e-10).
const CosNormEps = 1e-10

// CosineGaussian is the cosine-Gaussian kernel of the KPCA OoD detector:
// k(x, z) = exp(−Gamma·‖x̂ − ẑ‖²) with x̂ = x/(‖x‖ + [CosNormEps]).
type CosineGaussian struct {
	Gamma float64 // > 0
}

// Eval returns exp(−γ‖x̂ − ẑ‖²).
func (k CosineGaussian) Eval(x, z []float64) float64 {
	nx := math.Sqrt(dot(x, x)) + CosNormEps
	nz := math.Sqrt(dot(z, z)) + CosNormEps
	var s float64
	for i, v := range x {
		d := v/nx - z[i]/nz
		s += d * d
	}
	return math.Exp(-k.Gamma * s)
}

// FromInner returns exp(−γ‖x̂ − ẑ‖²) from inner products.
func (k CosineGaussian) FromInner(xz, xx, zz float64) float64 {
	nx := math.Sqrt(xx) + CosNormEps
	nz := math.Sqrt(zz) + CosNormEps
	d := xx/(nx*nx) + zz/(nz*nz) - 2*xz/(nx*nz)
	return math.Exp(-k.Gamma * math.Max(d, 0))
}

// Symmetric returns true.
func (CosineGaussian) Symmetric() bool { return true }

// PSD returns true.
func (CosineGaussian) PSD() bool { return true }

// Validate checks Gamma > 0.
func (k CosineGaussian) Validate() error { return checkPositive("cosine-gaussian gamma", k.Gamma) }

// DeltaGaussian is the indefinite difference of two Gaussians used by GORF:
// k(x, z) = exp(−‖x−z‖²/(2σ₁²)) − exp(−‖x−z‖²/(2σ₂²)).
type DeltaGaussian struct {
	Sigma1, Sigma2 float64 // > 0
}

// Eval returns the Delta-Gaussian kernel.
func (k DeltaGaussian) Eval(x, z []float64) float64 { return k.fromSq(sqDist(x, z)) }

// FromInner returns the Delta-Gaussian kernel from inner products.
func (k DeltaGaussian) FromInner(xz, xx, zz float64) float64 {
	return k.fromSq(math.Max(xx+zz-2*xz, 0))
}

func (k DeltaGaussian) fromSq(d2 float64) float64 {
	return math.Exp(-d2/(2*k.Sigma1*k.Sigma1)) - math.Exp(-d2/(2*k.Sigma2*k.Sigma2))
}

// Symmetric returns true.
func (DeltaGaussian) Symmetric() bool { return true }

// PSD returns false: the kernel is indefinite (k(x, x) = 0).
func (DeltaGaussian) PSD() bool { return false }

// Validate checks both bandwidths are positive.
func (k DeltaGaussian) Validate() error {
	if err := checkPositive("delta-gaussian sigma1", k.Sigma1); err != nil {
		return err
	}
	return checkPositive("delta-gaussian sigma2", k.Sigma2)
}

// SpherePolynomial is the polynomial kernel restricted to the unit sphere
// written as a function of distance, k(x, z) = (1 − ‖x−z‖²/A²)^P, as GORF
// uses it (inputs ℓ2-normalized, A ≥ 2). It is indefinite as a stationary
// kernel on R^d.
type SpherePolynomial struct {
	A float64 // > 0; the GORF code's default is 3
	P int     // ≥ 1
}

// Eval returns (1 − ‖x−z‖²/a²)^p.
func (k SpherePolynomial) Eval(x, z []float64) float64 {
	return ipow(1-sqDist(x, z)/(k.A*k.A), k.P)
}

// FromInner returns (1 − ‖x−z‖²/a²)^p from inner products.
func (k SpherePolynomial) FromInner(xz, xx, zz float64) float64 {
	return ipow(1-math.Max(xx+zz-2*xz, 0)/(k.A*k.A), k.P)
}

// Symmetric returns true.
func (SpherePolynomial) Symmetric() bool { return true }

// PSD returns false.
func (SpherePolynomial) PSD() bool { return false }

// Validate checks A > 0 and P ≥ 1.
func (k SpherePolynomial) Validate() error {
	if err := checkPositive("sphere-poly a", k.A); err != nil {
		return err
	}
	if k.P < 1 {
		return fmt.Errorf("kernel: sphere-poly p must be ≥ 1, got %d: %w", k.P, ErrParam)
	}
	return nil
}

// ShiftedGaussian is the asymmetric, shift-invariant kernel
// k(x, z) = exp(−‖x − z − Shift‖²/(2σ²)), one of the AsK-RFF test kernels
// (its spectral measure is N(0, σ⁻²I)·e^{−iωᵀc}).
type ShiftedGaussian struct {
	Sigma float64   // > 0
	Shift []float64 // c, one entry per feature
}

// Eval returns exp(−‖x − z − c‖²/(2σ²)).
func (k ShiftedGaussian) Eval(x, z []float64) float64 {
	var s float64
	for i, v := range x {
		d := v - z[i] - k.Shift[i]
		s += d * d
	}
	return math.Exp(-s / (2 * k.Sigma * k.Sigma))
}

// Symmetric reports whether the shift is zero.
func (k ShiftedGaussian) Symmetric() bool {
	for _, c := range k.Shift {
		if c != 0 {
			return false
		}
	}
	return true
}

// PSD reports whether the shift is zero (then it is the Gaussian kernel).
func (k ShiftedGaussian) PSD() bool { return k.Symmetric() }

// Validate checks σ > 0 and a finite shift.
func (k ShiftedGaussian) Validate() error {
	if err := checkPositive("shifted-gaussian sigma", k.Sigma); err != nil {
		return err
	}
	return checkVec("shifted-gaussian shift", k.Shift)
}

// Dim returns the input dimension fixed by the shift vector.
func (k ShiftedGaussian) Dim() int { return len(k.Shift) }

// SkewedGaussian is the asymmetric kernel
// k(x, z) = exp(−‖Δ‖²/(2σ²))·(1 + A·sin(Cᵀ Δ)), Δ = x − z, |A| ≤ 1, another
// AsK-RFF test kernel.
type SkewedGaussian struct {
	Sigma float64   // > 0
	A     float64   // skew amplitude, |A| ≤ 1
	C     []float64 // skew direction, one entry per feature
}

// Eval returns the skewed Gaussian kernel.
func (k SkewedGaussian) Eval(x, z []float64) float64 {
	var s, c float64
	for i, v := range x {
		d := v - z[i]
		s += d * d
		c += k.C[i] * d
	}
	return math.Exp(-s/(2*k.Sigma*k.Sigma)) * (1 + k.A*math.Sin(c))
}

// Symmetric reports whether A or C is zero.
func (k SkewedGaussian) Symmetric() bool {
	if k.A == 0 {
		return true
	}
	for _, c := range k.C {
		if c != 0 {
			return false
		}
	}
	return true
}

// PSD reports whether the kernel reduces to the Gaussian.
func (k SkewedGaussian) PSD() bool { return k.Symmetric() }

// Validate checks σ > 0, |A| ≤ 1 and a finite C.
func (k SkewedGaussian) Validate() error {
	if err := checkPositive("skewed-gaussian sigma", k.Sigma); err != nil {
		return err
	}
	if !(math.Abs(k.A) <= 1) {
		return fmt.Errorf("kernel: skewed-gaussian |a| must be ≤ 1, got %v: %w", k.A, ErrParam)
	}
	return checkVec("skewed-gaussian c", k.C)
}

// Dim returns the input dimension fixed by C.
func (k SkewedGaussian) Dim() int { return len(k.C) }

func checkVec(name string, v []float64) error {
	if len(v) == 0 {
		return fmt.Errorf("kernel: %s is empty: %w", name, ErrParam)
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("kernel: %s[%d] is %v: %w", name, i, x, ErrParam)
		}
	}
	return nil
}

// dimensioned is implemented by kernels whose parameters fix the input
// dimension; Gram checks it.
type dimensioned interface{ Dim() int }

func dot(x, z []float64) float64 {
	var s float64
	for i, v := range x {
		s += v * z[i]
	}
	return s
}

func sqDist(x, z []float64) float64 {
	var s float64
	for i, v := range x {
		d := v - z[i]
		s += d * d
	}
	return s
}

func ipow(b float64, e int) float64 {
	r := 1.0
	for e > 0 {
		if e&1 == 1 {
			r *= b
		}
		b *= b
		e >>= 1
	}
	return r
}
