package features

import (
	"fmt"
	"math"

	"github.com/trustml/trustml/kernel"
)

// The kernels of this package are kernel.Kernel values too, so they can be
// handed to the exact kernel machines for comparison.
var (
	_ kernel.Kernel = Gaussian{}
	_ kernel.Kernel = Laplacian{}
	_ kernel.Kernel = DeltaGaussian{}
	_ kernel.Kernel = ShiftedGaussian{}
	_ kernel.Kernel = SkewedGaussian{}
)

// SpectrumOf returns the spectral sampler of a shift-invariant positive-
// definite kernel of package kernel: kernel.RBF{γ} is [Gaussian] with
// σ = 1/√(2γ), kernel.Laplacian{γ} is [Laplacian] with σ = 1/γ. Gaussian and
// Laplacian of this package are returned unchanged.
func SpectrumOf(k kernel.Kernel) (Spectrum, error) {
	switch k := k.(type) {
	case kernel.RBF:
		s := Gaussian{Sigma: 1 / math.Sqrt(2*k.Gamma)}
		return s, s.Validate()
	case kernel.Laplacian:
		s := Laplacian{Sigma: 1 / k.Gamma}
		return s, s.Validate()
	case Gaussian:
		return k, k.Validate()
	case Laplacian:
		return k, k.Validate()
	}
	return nil, fmt.Errorf("features: no random Fourier features for kernel %T (want rbf or laplacian): %w", k, ErrParam)
}

// RadialMeasureOf returns the signed radial measure of an indefinite
// isotropic kernel of package kernel for input dimension d:
// kernel.DeltaGaussian maps to [DeltaGaussian] (exact), and
// kernel.SpherePolynomial to [PolySphere](d, A, P, rmax, npts).
func RadialMeasureOf(k kernel.Kernel, d int, rmax float64, npts int) (RadialMeasure, error) {
	switch k := k.(type) {
	case kernel.DeltaGaussian:
		m := DeltaGaussian{Sigma1: k.Sigma1, Sigma2: k.Sigma2}
		return m, m.Validate()
	case DeltaGaussian:
		return k, k.Validate()
	case kernel.SpherePolynomial:
		return PolySphere(d, k.A, k.P, rmax, npts)
	}
	return nil, fmt.Errorf("features: no GORF measure for kernel %T (want delta-gaussian or sphere-poly): %w", k, ErrParam)
}

// SpectralMeasureOf returns the complex spectral measure of an asymmetric
// shift-invariant kernel of package kernel (kernel.ShiftedGaussian,
// kernel.SkewedGaussian) for [NewAsKRFF].
func SpectralMeasureOf(k kernel.Kernel) (SpectralMeasure, error) {
	switch k := k.(type) {
	case kernel.ShiftedGaussian:
		m := ShiftedGaussian{Sigma: k.Sigma, Shift: append([]float64(nil), k.Shift...)}
		return m, m.Validate()
	case kernel.SkewedGaussian:
		m := SkewedGaussian{Sigma: k.Sigma, A: k.A, C: append([]float64(nil), k.C...)}
		return m, m.Validate()
	case ShiftedGaussian:
		return k, k.Validate()
	case SkewedGaussian:
		return k, k.Validate()
	}
	return nil, fmt.Errorf("features: no AsK-RFF measure for kernel %T (want shifted-gaussian or skewed-gaussian): %w", k, ErrParam)
}
