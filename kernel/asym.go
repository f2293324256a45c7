package kernel

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// SNE is the asymmetric conditional-probability kernel of AsK-LS's UCI
// experiments,
//
//	k(x, z) = exp(−‖x−z‖^p/σ²) / Σ_{u ∈ R} exp(−‖x−u‖^p/σ²),
//
// normalized over a reference set R (the training inputs), which makes it
// asymmetric. Power p = 2 is the SNE form; the AsK-LS Python port uses
// p = 1. An SNE must be bound to its reference set with Bind before use;
// models do this at Fit. The normalizer is computed in log-space, so far
// points do not underflow to 0/0.
type SNE struct {
	Sigma float64 // > 0
	Power float64 // exponent on the distance; 0 means 2
	ref   *mat.Dense
}

func (k SNE) power() float64 {
	if k.Power == 0 {
		return 2
	}
	return k.Power
}

// logit returns −‖x−z‖^p/σ².
func (k SNE) logit(x, z []float64) float64 {
	d2 := sqDist(x, z)
	p := k.power()
	var d float64
	if p == 2 {
		d = d2
	} else {
		d = math.Pow(d2, p/2)
	}
	return -d / (k.Sigma * k.Sigma)
}

// logNorm returns log Σ_u exp(logit(x, u)).
func (k SNE) logNorm(x []float64) float64 {
	r, _ := k.ref.Dims()
	mx := math.Inf(-1)
	for i := 0; i < r; i++ {
		mx = math.Max(mx, k.logit(x, k.ref.RawRowView(i)))
	}
	var s float64
	for i := 0; i < r; i++ {
		s += math.Exp(k.logit(x, k.ref.RawRowView(i)) - mx)
	}
	return mx + math.Log(s)
}

// Eval returns k(x, z); NaN when the kernel is not bound.
func (k SNE) Eval(x, z []float64) float64 {
	if k.ref == nil {
		return math.NaN()
	}
	return math.Exp(k.logit(x, z) - k.logNorm(x))
}

// GramTo computes the normalizer once per row of X.
func (k SNE) GramTo(dst *mat.Dense, X, Z *mat.Dense) error {
	nz, _ := Z.Dims()
	return parallelRows(context.Background(), X.RawMatrix().Rows, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x := X.RawRowView(i)
			ln := k.logNorm(x)
			row := dst.RawRowView(i)
			for j := 0; j < nz; j++ {
				row[j] = math.Exp(k.logit(x, Z.RawRowView(j)) - ln)
			}
		}
	})
}

// Bind returns the kernel normalized over the rows of X (copied).
func (k SNE) Bind(X *mat.Dense) (Kernel, error) {
	if err := checkData("SNE reference set", X); err != nil {
		return nil, err
	}
	k.ref = mat.DenseCopyOf(X)
	return k, nil
}

// Reference returns the bound reference set (nil when unbound). Do not
// modify it.
func (k SNE) Reference() *mat.Dense { return k.ref }

// Symmetric returns false.
func (SNE) Symmetric() bool { return false }

// PSD returns false.
func (SNE) PSD() bool { return false }

// Validate checks σ > 0, p > 0 and that the kernel is bound.
func (k SNE) Validate() error {
	if err := checkPositive("sne sigma", k.Sigma); err != nil {
		return err
	}
	if err := checkPositive("sne power", k.power()); err != nil {
		return err
	}
	if k.ref == nil {
		return fmt.Errorf("kernel: sne kernel is not bound to a reference set (models bind it at Fit; call Bind otherwise): %w", ErrParam)
	}
	return nil
}

// Dim returns the dimension of the reference set (0 when unbound).
func (k SNE) Dim() int {
	if k.ref == nil {
		return 0
	}
	_, c := k.ref.Dims()
	return c
}

// TSNE is the asymmetric Student-t conditional-probability kernel of
// AsK-LS's UCI experiments,
//
//	k(x, z) = (1 + ‖x−z‖^p)⁻¹ / Σ_{u ∈ R} (1 + ‖x−u‖^p)⁻¹,
//
// normalized over a reference set R bound with Bind (models do this at
// Fit). Power 0 means 2.
type TSNE struct {
	Power float64
	ref   *mat.Dense
}

func (k TSNE) w(x, z []float64) float64 {
	p := k.Power
	d2 := sqDist(x, z)
	if p == 0 || p == 2 {
		return 1 / (1 + d2)
	}
	return 1 / (1 + math.Pow(d2, p/2))
}

func (k TSNE) norm(x []float64) float64 {
	r, _ := k.ref.Dims()
	var s float64
	for i := 0; i < r; i++ {
		s += k.w(x, k.ref.RawRowView(i))
	}
	return s
}

// Eval returns k(x, z); NaN when the kernel is not bound.
func (k TSNE) Eval(x, z []float64) float64 {
	if k.ref == nil {
		return math.NaN()
	}
	return k.w(x, z) / k.norm(x)
}

// GramTo computes the normalizer once per row of X.
func (k TSNE) GramTo(dst *mat.Dense, X, Z *mat.Dense) error {
	nz, _ := Z.Dims()
	return parallelRows(context.Background(), X.RawMatrix().Rows, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x := X.RawRowView(i)
			s := k.norm(x)
			row := dst.RawRowView(i)
			for j := 0; j < nz; j++ {
				row[j] = k.w(x, Z.RawRowView(j)) / s
			}
		}
	})
}

// Bind returns the kernel normalized over the rows of X (copied).
func (k TSNE) Bind(X *mat.Dense) (Kernel, error) {
	if err := checkData("TSNE reference set", X); err != nil {
		return nil, err
	}
	k.ref = mat.DenseCopyOf(X)
	return k, nil
}

// Reference returns the bound reference set (nil when unbound).
func (k TSNE) Reference() *mat.Dense { return k.ref }

// Symmetric returns false.
func (TSNE) Symmetric() bool { return false }

// PSD returns false.
func (TSNE) PSD() bool { return false }

// Validate checks p ≥ 0 and that the kernel is bound.
func (k TSNE) Validate() error {
	if err := checkNonNegative("tsne power", k.Power); err != nil {
		return err
	}
	if k.ref == nil {
		return fmt.Errorf("kernel: tsne kernel is not bound to a reference set (models bind it at Fit; call Bind otherwise): %w", ErrParam)
	}
	return nil
}

// Dim returns the dimension of the reference set (0 when unbound).
func (k TSNE) Dim() int {
	if k.ref == nil {
		return 0
	}
	_, c := k.ref.Dims()
	return c
}

// LABShape selects the norm of the LAB RBF kernel.
type LABShape string

const (
	// LABLaplace uses the non-squared norm exp(−‖θ⊙(x−z)‖₂), the official
	// code's default.
	LABLaplace LABShape = "laplace"
	// LABGauss uses the squared norm exp(−‖θ⊙(x−z)‖₂²), the paper's form.
	LABGauss LABShape = "gauss"
)

func (s LABShape) valid() bool { return s == LABLaplace || s == LABGauss }

// labValue returns the LAB kernel value for bandwidth theta and difference
// vector x − z.
func labValue(shape LABShape, theta, x, z []float64) float64 {
	var s float64
	for i, t := range theta {
		d := t * (x[i] - z[i])
		s += d * d
	}
	if shape == LABGauss {
		return math.Exp(-s)
	}
	return math.Exp(-math.Sqrt(s))
}

// LABKernel is the locally-adaptive-bandwidth RBF kernel: support point
// c_i carries its own bandwidth vector θ_i and
//
//	k(c_i, z) = exp(−‖θ_i ⊙ (c_i − z)‖^q), q = 2 (gauss) or 1 (laplace).
//
// Because θ_i ≠ θ_j, k(c_i, c_j) ≠ k(c_j, c_i). To make this a kernel on
// all of R^d, the first argument x uses the bandwidth of its nearest
// support point (exact for support points); [LABRBF] models never need
// that extension, they evaluate k(c_i, ·) directly.
type LABKernel struct {
	Centers *mat.Dense // N×d support points c_i
	Theta   *mat.Dense // N×d bandwidth vectors θ_i
	Shape   LABShape   // "" means LABLaplace
}

func (k LABKernel) shape() LABShape {
	if k.Shape == "" {
		return LABLaplace
	}
	return k.Shape
}

// owner returns the index of the support point nearest to x.
func (k LABKernel) owner(x []float64) int {
	n, _ := k.Centers.Dims()
	best, bd := 0, math.Inf(1)
	for i := 0; i < n; i++ {
		d := sqDist(x, k.Centers.RawRowView(i))
		if d < bd {
			best, bd = i, d
			if d == 0 {
				break
			}
		}
	}
	return best
}

// Eval returns exp(−‖θ_{i(x)} ⊙ (x − z)‖^q) with i(x) the support point
// nearest to x.
func (k LABKernel) Eval(x, z []float64) float64 {
	return labValue(k.shape(), k.Theta.RawRowView(k.owner(x)), x, z)
}

// GramTo finds each row's owner once.
func (k LABKernel) GramTo(dst *mat.Dense, X, Z *mat.Dense) error {
	nz, _ := Z.Dims()
	shape := k.shape()
	return parallelRows(context.Background(), X.RawMatrix().Rows, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x := X.RawRowView(i)
			th := k.Theta.RawRowView(k.owner(x))
			row := dst.RawRowView(i)
			for j := 0; j < nz; j++ {
				row[j] = labValue(shape, th, x, Z.RawRowView(j))
			}
		}
	})
}

// Symmetric returns false.
func (LABKernel) Symmetric() bool { return false }

// PSD returns false.
func (LABKernel) PSD() bool { return false }

// Validate checks the shapes and values of the support set.
func (k LABKernel) Validate() error {
	if !k.shape().valid() {
		return fmt.Errorf("kernel: lab shape %q is not %q or %q: %w", k.Shape, LABLaplace, LABGauss, ErrParam)
	}
	if err := checkData("lab centers", k.Centers); err != nil {
		return err
	}
	if err := checkData("lab theta", k.Theta); err != nil {
		return err
	}
	r1, c1 := k.Centers.Dims()
	r2, c2 := k.Theta.Dims()
	if r1 != r2 || c1 != c2 {
		return fmt.Errorf("kernel: lab centers %d×%d and theta %d×%d differ: %w", r1, c1, r2, c2, ErrShape)
	}
	return nil
}

// Dim returns the input dimension.
func (k LABKernel) Dim() int {
	if k.Centers == nil {
		return 0
	}
	_, c := k.Centers.Dims()
	return c
}
