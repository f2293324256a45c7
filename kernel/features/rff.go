package features

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Spectrum is the spectral (Bochner) probability measure of a
// shift-invariant positive-definite kernel k(x, z) = κ(x − z) with κ(0) = 1:
// κ(Δ) = E_ω[cos(ωᵀΔ)]. A Spectrum is also the exact kernel (Eval), so it
// satisfies kernel.Kernel and can be compared with its approximation.
type Spectrum interface {
	// Sample draws one frequency ω ∈ R^len(w) into w.
	Sample(w []float64, rng *rand.Rand)
	// Eval returns the exact kernel value k(x, z).
	Eval(x, z []float64) float64
	// Symmetric reports true: shift-invariant PD kernels are symmetric.
	Symmetric() bool
	// Validate reports whether the parameters are usable.
	Validate() error
}

// RadialSpectrum is the spectrum of an isotropic kernel: ω = r·v with v
// uniform on the unit sphere and r drawn from the radial law, so orthogonal
// directions ([NewORF]) can replace independent ones.
type RadialSpectrum interface {
	Spectrum
	// SampleRadius draws ‖ω‖ for input dimension d.
	SampleRadius(d int, rng *rand.Rand) float64
}

// Gaussian is the Gaussian (RBF) kernel exp(−‖x−z‖²/(2σ²)), whose spectrum is
// N(0, σ⁻²I). (In the γ parameterization exp(−γ‖x−z‖²), σ = 1/√(2γ).)
type Gaussian struct{ Sigma float64 }

// Sample draws ω ~ N(0, σ⁻²I).
func (g Gaussian) Sample(w []float64, rng *rand.Rand) {
	for i := range w {
		w[i] = rng.NormFloat64() / g.Sigma
	}
}

// SampleRadius draws ‖ω‖ ~ χ_d/σ.
func (g Gaussian) SampleRadius(d int, rng *rand.Rand) float64 { return chi(d, rng) / g.Sigma }

// Eval returns exp(−‖x−z‖²/(2σ²)).
func (g Gaussian) Eval(x, z []float64) float64 {
	var s float64
	for i, xi := range x {
		t := xi - z[i]
		s += t * t
	}
	return math.Exp(-s / (2 * g.Sigma * g.Sigma))
}

// Symmetric reports true.
func (Gaussian) Symmetric() bool { return true }

// Validate checks σ > 0.
func (g Gaussian) Validate() error { return checkPositive("Gaussian sigma", g.Sigma) }

// Laplacian is the kernel exp(−‖x−z‖₁/σ), whose spectrum has i.i.d.
// Cauchy(0, 1/σ) coordinates.
type Laplacian struct{ Sigma float64 }

// Sample draws ω with i.i.d. Cauchy(0, 1/σ) coordinates.
func (l Laplacian) Sample(w []float64, rng *rand.Rand) {
	for i := range w {
		w[i] = math.Tan(math.Pi*(rng.Float64()-0.5)) / l.Sigma
	}
}

// Eval returns exp(−‖x−z‖₁/σ).
func (l Laplacian) Eval(x, z []float64) float64 {
	var s float64
	for i, xi := range x {
		s += math.Abs(xi - z[i])
	}
	return math.Exp(-s / l.Sigma)
}

// Symmetric reports true.
func (Laplacian) Symmetric() bool { return true }

// Validate checks σ > 0.
func (l Laplacian) Validate() error { return checkPositive("Laplacian sigma", l.Sigma) }

func checkPositive(name string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("features: %s must be positive and finite, got %v: %w", name, v, ErrParam)
	}
	return nil
}

// chi draws a χ_d variate, the norm of a d-dimensional standard normal.
func chi(d int, rng *rand.Rand) float64 {
	var s float64
	for i := 0; i < d; i++ {
		g := rng.NormFloat64()
		s += g * g
	}
	return math.Sqrt(s)
}

func checkDims(d, D int) error {
	if d <= 0 {
		return fmt.Errorf("features: input dimension must be positive, got %d: %w", d, ErrParam)
	}
	if D <= 0 {
		return fmt.Errorf("features: number of features must be positive, got %d: %w", D, ErrParam)
	}
	return nil
}

// NewRFF draws D random Fourier features (Rahimi–Recht) for the kernel with
// spectrum s on R^d: ω_j ~ s i.i.d., and for [Phase] form b_j ~ U[0, 2π).
// φ(x)·φ(z) is an unbiased estimate of k(x, z).
func NewRFF(s Spectrum, d, D int, form Form, rng *rand.Rand) (*Fourier, error) {
	if err := checkArgs(s, d, D, rng); err != nil {
		return nil, err
	}
	W := mat.NewDense(D, d, nil)
	for j := 0; j < D; j++ {
		s.Sample(W.RawRowView(j), rng)
	}
	return newFourierDrawn(W, form, rng)
}

// NewORF draws D orthogonal random features (Yu et al. 2016) for an
// isotropic kernel on R^d: the frequency directions come in blocks of d
// Haar-orthogonal rows (sign-fixed QR of a Gaussian matrix), ⌈D/d⌉
// independent blocks truncated to D rows, and each row is scaled by an
// independent radius from the kernel's radial law (χ_d/σ for the Gaussian).
// The estimate stays unbiased and its variance is lower than [NewRFF]'s.
func NewORF(s RadialSpectrum, d, D int, form Form, rng *rand.Rand) (*Fourier, error) {
	if err := checkArgs(s, d, D, rng); err != nil {
		return nil, err
	}
	W := mat.NewDense(D, d, nil)
	orthoDirections(W.RawMatrix(), rng)
	for j := 0; j < D; j++ {
		r := s.SampleRadius(d, rng)
		blas64.Scal(r, blas64.Vector{N: d, Data: W.RawRowView(j), Inc: 1})
	}
	return newFourierDrawn(W, form, rng)
}

func checkArgs(s interface{ Validate() error }, d, D int, rng *rand.Rand) error {
	if s == nil {
		return fmt.Errorf("features: nil spectrum: %w", ErrParam)
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if rng == nil {
		return fmt.Errorf("features: nil random source: %w", ErrParam)
	}
	return checkDims(d, D)
}

func newFourierDrawn(W *mat.Dense, form Form, rng *rand.Rand) (*Fourier, error) {
	D, _ := W.Dims()
	var b []float64
	switch form {
	case Phase:
		b = make([]float64, D)
		for j := range b {
			b[j] = 2 * math.Pi * rng.Float64()
		}
	case CosSin:
	default:
		return nil, fmt.Errorf("features: unknown form %v: %w", form, ErrParam)
	}
	return NewFourier(W, b, form)
}

// orthoDirections fills the rows of W (count×d) with unit vectors in blocks
// of d mutually orthogonal rows; each block is the row set of an independent
// Haar-distributed orthogonal matrix.
func orthoDirections(W blas64.General, rng *rand.Rand) {
	count, d := W.Rows, W.Cols
	G := mat.NewDense(d, d, nil)
	var qr mat.QR
	var Q, R mat.Dense
	for start := 0; start < count; start += d {
		g := G.RawMatrix().Data
		for i := range g {
			g[i] = rng.NormFloat64()
		}
		qr.Factorize(G)
		qr.QTo(&Q)
		qr.RTo(&R)
		// Q·diag(sign(diag R)) is Haar distributed.
		rows := min(d, count-start)
		for i := 0; i < rows; i++ {
			dst := W.Data[(start+i)*W.Stride : (start+i)*W.Stride+d]
			for k := 0; k < d; k++ {
				v := Q.At(i, k)
				if R.At(k, k) < 0 {
					v = -v
				}
				dst[k] = v
			}
		}
	}
}
