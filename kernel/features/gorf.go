package features

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// RadialMeasure is the signed spectral measure of a stationary, isotropic,
// possibly indefinite kernel k(x, z) = κ(‖x − z‖), split into its positive
// and negative parts μ = μ₊ − μ₋ with total masses M₊, M₋ (M₊ − M₋ = κ(0)).
// Each part, normalized, is the law of ω = r·v with v uniform on the sphere
// and r drawn by SampleRadius.
type RadialMeasure interface {
	// Dim is the input dimension the measure was built for, 0 if any.
	Dim() int
	// Masses returns M₊ and M₋.
	Masses() (pos, neg float64)
	// SampleRadius draws ‖ω‖ from the normalized positive (neg false) or
	// negative (neg true) part, for input dimension d.
	SampleRadius(d int, neg bool, rng *rand.Rand) float64
	// Value returns κ(t), the kernel at distance t.
	Value(t float64) float64
	// Validate reports whether the parameters are usable.
	Validate() error
}

// DeltaGaussian is the indefinite Delta-Gaussian kernel
// κ(t) = exp(−t²/(2σ₁²)) − exp(−t²/(2σ₂²)) (official GORF code: σ₁ = 1,
// σ₂ = 10). Its measure is μ₊ = N(0, σ₁⁻²I), μ₋ = N(0, σ₂⁻²I), masses 1
// and 1: a valid, though not minimal, Jordan-type split.
type DeltaGaussian struct{ Sigma1, Sigma2 float64 }

// Dim returns 0: the measure is defined in every dimension.
func (DeltaGaussian) Dim() int { return 0 }

// Masses returns 1, 1.
func (DeltaGaussian) Masses() (float64, float64) { return 1, 1 }

// SampleRadius draws χ_d/σ₁ (positive part) or χ_d/σ₂ (negative part).
func (g DeltaGaussian) SampleRadius(d int, neg bool, rng *rand.Rand) float64 {
	if neg {
		return chi(d, rng) / g.Sigma2
	}
	return chi(d, rng) / g.Sigma1
}

// Value returns κ(t).
func (g DeltaGaussian) Value(t float64) float64 {
	return math.Exp(-t*t/(2*g.Sigma1*g.Sigma1)) - math.Exp(-t*t/(2*g.Sigma2*g.Sigma2))
}

// Eval returns κ(‖x − z‖), so DeltaGaussian is a kernel.Kernel.
func (g DeltaGaussian) Eval(x, z []float64) float64 { return g.Value(dist(x, z)) }

// Symmetric reports true.
func (DeltaGaussian) Symmetric() bool { return true }

// Validate checks σ₁, σ₂ > 0.
func (g DeltaGaussian) Validate() error {
	if err := checkPositive("Delta-Gaussian sigma1", g.Sigma1); err != nil {
		return err
	}
	return checkPositive("Delta-Gaussian sigma2", g.Sigma2)
}

func dist(x, z []float64) float64 {
	var s float64
	for i, xi := range x {
		t := xi - z[i]
		s += t * t
	}
	return math.Sqrt(s)
}

// RadialGrid is a [RadialMeasure] tabulated on a radius grid: the radial
// density of each part, S_{d−1}·r^{d−1}·μ±(r), is integrated with the
// trapezoid rule into cumulative distributions, and radii are drawn by
// inverse-CDF linear interpolation. Build one with [NewRadialGrid] or
// [PolySphere].
type RadialGrid struct {
	d              int
	r              []float64
	posCDF, negCDF []float64 // unnormalized cumulative masses
	kappa          func(t float64) float64
}

// NewRadialGrid tabulates the isotropic spectral density mu (the
// d-dimensional Fourier transform of κ with the convention
// κ(Δ) = ∫ μ(ω)e^{iωᵀΔ}dω, as a function of r = ‖ω‖) on npts radii evenly
// spaced in [0, rmax]. The r^{d−1} Jacobian and the sphere's surface area
// S_{d−1} = 2π^{d/2}/Γ(d/2) are included, so the masses satisfy
// M₊ − M₋ ≈ κ(0) up to the truncation at rmax. kappa is the exact kernel
// profile κ(t) used for comparisons.
func NewRadialGrid(d int, mu func(r float64) float64, kappa func(t float64) float64, rmax float64, npts int) (*RadialGrid, error) {
	return newRadialGrid(d, mu, kappa, rmax, npts, false)
}

func newRadialGrid(d int, mu func(r float64) float64, kappa func(t float64) float64, rmax float64, npts int, official bool) (*RadialGrid, error) {
	if d <= 0 {
		return nil, fmt.Errorf("features: radial grid needs a positive dimension, got %d: %w", d, ErrParam)
	}
	if !(rmax > 0) || math.IsInf(rmax, 0) {
		return nil, fmt.Errorf("features: radial grid rmax must be positive, got %v: %w", rmax, ErrParam)
	}
	if npts < 2 {
		return nil, fmt.Errorf("features: radial grid needs at least 2 points, got %d: %w", npts, ErrParam)
	}
	if mu == nil || kappa == nil {
		return nil, fmt.Errorf("features: radial grid needs a density and a kernel profile: %w", ErrParam)
	}
	lg, _ := math.Lgamma(float64(d) / 2)
	area := 2 * math.Exp(float64(d)/2*math.Log(math.Pi)-lg)
	g := &RadialGrid{d: d, r: make([]float64, npts), posCDF: make([]float64, npts), negCDF: make([]float64, npts), kappa: kappa}
	var prevP, prevN float64
	for i := range g.r {
		r := rmax * float64(i) / float64(npts-1)
		g.r[i] = r
		f := area * math.Pow(r, float64(d-1)) * mu(r)
		if official {
			f = mu(r)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("features: spectral density is not finite at r = %v: %w", r, ErrNonFinite)
		}
		p, n := math.Max(f, 0), math.Max(-f, 0)
		if i > 0 {
			h := g.r[i] - g.r[i-1]
			g.posCDF[i] = g.posCDF[i-1] + h*(p+prevP)/2
			g.negCDF[i] = g.negCDF[i-1] + h*(n+prevN)/2
		}
		prevP, prevN = p, n
	}
	if g.posCDF[npts-1] <= 0 {
		return nil, fmt.Errorf("features: spectral density has no positive mass on the grid: %w", ErrParam)
	}
	if official {
		total := g.posCDF[npts-1] + g.negCDF[npts-1]
		for i := range g.posCDF {
			g.posCDF[i] /= total
			g.negCDF[i] /= total
		}
	}
	return g, nil
}

// Dim returns the input dimension the grid was built for.
func (g *RadialGrid) Dim() int { return g.d }

// Masses returns M₊ and M₋ integrated on the grid.
func (g *RadialGrid) Masses() (float64, float64) {
	n := len(g.r) - 1
	return g.posCDF[n], g.negCDF[n]
}

// SampleRadius draws a radius by inverse-CDF interpolation.
func (g *RadialGrid) SampleRadius(_ int, neg bool, rng *rand.Rand) float64 {
	cdf := g.posCDF
	if neg {
		cdf = g.negCDF
	}
	total := cdf[len(cdf)-1]
	if total <= 0 {
		return 0
	}
	u := rng.Float64() * total
	i := sort.SearchFloat64s(cdf, u) // first cdf[i] ≥ u
	if i == 0 {
		return g.r[0]
	}
	if i >= len(cdf) {
		return g.r[len(g.r)-1]
	}
	lo, hi := cdf[i-1], cdf[i]
	t := 0.0
	if hi > lo {
		t = (u - lo) / (hi - lo)
	}
	return g.r[i-1] + t*(g.r[i]-g.r[i-1])
}

// Value returns κ(t).
func (g *RadialGrid) Value(t float64) float64 { return g.kappa(t) }

// Validate returns nil; a RadialGrid is checked when built.
func (g *RadialGrid) Validate() error { return nil }

// PolySphereKernel returns κ(t) = (1 − t²/a²)^p for 0 ≤ t ≤ 2 and 0 beyond:
// the polynomial kernel (1 − 2/a² + 2xᵀz/a²)^p on ℓ2-normalized inputs
// (‖x − z‖² = 2 − 2xᵀz), truncated at t = 2 as in Pennington et al.
func PolySphereKernel(a float64, p int) func(t float64) float64 {
	return func(t float64) float64 {
		if t > 2 {
			return 0
		}
		return math.Pow(1-t*t/(a*a), float64(p))
	}
}

// PolySphereDensity returns the d-dimensional spectral density of
// [PolySphereKernel](a, p) as a function of r = ‖ω‖:
//
//	μ(r) = (2π)^{−d/2} Σ_{j=0}^{p} p!/(p−j)! (1−4/a²)^{p−j} (2/a²)^j (2/r)^{d/2+j} J_{d/2+j}(2r),
//
// which oscillates in sign. Half-integer Bessel orders (odd d) are handled.
func PolySphereDensity(d int, a float64, p int) func(r float64) float64 {
	nu := float64(d) / 2
	c := math.Pow(2*math.Pi, -nu)
	coef := make([]float64, p+1)
	fall := 1.0 // p!/(p−j)!
	for j := 0; j <= p; j++ {
		if j > 0 {
			fall *= float64(p - j + 1)
		}
		coef[j] = c * fall * math.Pow(1-4/(a*a), float64(p-j)) * math.Pow(2/(a*a), float64(j))
	}
	return func(r float64) float64 {
		var s float64
		for j, cj := range coef {
			s += cj * besselRatio(nu+float64(j), r)
		}
		return s
	}
}

// PolySphere tabulates the signed measure of the polynomial kernel on the
// unit sphere in R^d (official GORF defaults: a = 3, p = 1; grid r ∈ [0, 100]
// with 20,000 points). a must be ≥ 2.
//
// The truncated kernel has a jump at t = 2, so |μ(r)|·r^{d−1} decays only
// like r^{(d−3)/2}: the masses M± grow without bound with rmax (for d = 16
// and rmax = 10 they are already in the hundreds), and so does the variance
// of any unbiased Monte-Carlo estimate. Small rmax trades that variance for
// a truncation bias. The official code instead drops the r^{d−1} factor and
// renormalizes the masses, which samples a different measure; this function
// implements the mathematically correct density.
func PolySphere(d int, a float64, p int, rmax float64, npts int) (*RadialGrid, error) {
	if !(a >= 2) || math.IsInf(a, 0) {
		return nil, fmt.Errorf("features: polynomial-sphere kernel needs a ≥ 2, got %v: %w", a, ErrParam)
	}
	if p < 1 || p > 50 {
		return nil, fmt.Errorf("features: polynomial-sphere degree must be in 1..50, got %d: %w", p, ErrParam)
	}
	return NewRadialGrid(d, PolySphereDensity(d, a, p), PolySphereKernel(a, p), rmax, npts)
}

// PolySphereOfficial tabulates the polynomial-sphere measure the way the
// official GORF code does: the radial CDFs are built from μ(r) without the
// r^{d−1} Jacobian and the masses are renormalized to M₊ + M₋ = 1. The
// resulting features approximate a different kernel (biased; K̃_ii =
// M₊ − M₋ ≠ κ(0)); the official evaluation overwrites the diagonal of K̃
// with the true values. Use it only to compare with the paper's numbers.
func PolySphereOfficial(d int, a float64, p int, rmax float64, npts int) (*RadialGrid, error) {
	if !(a >= 2) || math.IsInf(a, 0) {
		return nil, fmt.Errorf("features: polynomial-sphere kernel needs a ≥ 2, got %v: %w", a, ErrParam)
	}
	if p < 1 || p > 50 {
		return nil, fmt.Errorf("features: polynomial-sphere degree must be in 1..50, got %d: %w", p, ErrParam)
	}
	return newRadialGrid(d, PolySphereDensity(d, a, p), PolySphereKernel(a, p), rmax, npts, true)
}

// KreinMap is a pair of Fourier feature maps (Φ₊, Φ₋) for an indefinite
// kernel: k(x, z) ≈ Φ₊(x)·Φ₊(z) − Φ₋(x)·Φ₋(z), with
// Φ±(x) = √(M±/D)·[cos(W±x); sin(W±x)]. Transform returns the
// concatenation [Φ₊, Φ₋] for downstream linear models, which realize
// Σα_i k̃(x_i, ·) with weights of opposite sign on the two halves.
type KreinMap struct {
	pos, neg   *Fourier
	mPos, mNeg float64
	d          int
}

var _ Map = (*KreinMap)(nil)

// NewGORF draws generalized orthogonal random features for the indefinite
// isotropic kernel with signed measure m on R^d: D frequencies per part,
// directions in Haar-orthogonal blocks (independent between the parts),
// radii drawn independently from each part's radial law, so every ω keeps
// its exact marginal and the estimate is unbiased with lower variance than
// [NewGRFF].
func NewGORF(m RadialMeasure, d, D int, rng *rand.Rand) (*KreinMap, error) {
	return newKrein(m, d, D, true, rng)
}

// NewGRFF is [NewGORF] with i.i.d. uniform directions (the generalized RFF
// baseline).
func NewGRFF(m RadialMeasure, d, D int, rng *rand.Rand) (*KreinMap, error) {
	return newKrein(m, d, D, false, rng)
}

func newKrein(m RadialMeasure, d, D int, ortho bool, rng *rand.Rand) (*KreinMap, error) {
	if err := checkArgs(m, d, D, rng); err != nil {
		return nil, err
	}
	if md := m.Dim(); md != 0 && md != d {
		return nil, fmt.Errorf("features: radial measure was built for dimension %d, data have %d: %w", md, d, ErrShape)
	}
	mp, mn := m.Masses()
	k := &KreinMap{mPos: mp, mNeg: mn, d: d}
	for part := 0; part < 2; part++ {
		W := mat.NewDense(D, d, nil)
		if ortho {
			orthoDirections(W.RawMatrix(), rng)
		} else {
			for j := 0; j < D; j++ {
				row := W.RawRowView(j)
				Gaussian{Sigma: 1}.Sample(row, rng)
				blas64.Scal(1/blas64.Nrm2(blas64.Vector{N: d, Data: row, Inc: 1}), blas64.Vector{N: d, Data: row, Inc: 1})
			}
		}
		for j := 0; j < D; j++ {
			r := m.SampleRadius(d, part == 1, rng)
			blas64.Scal(r, blas64.Vector{N: d, Data: W.RawRowView(j), Inc: 1})
		}
		f, err := NewFourier(W, nil, CosSin)
		if err != nil {
			return nil, err
		}
		mass := mp
		if part == 1 {
			mass = mn
		}
		f.scale = math.Sqrt(mass / float64(D))
		if part == 0 {
			k.pos = f
		} else {
			k.neg = f
		}
	}
	return k, nil
}

// InputDim returns d.
func (k *KreinMap) InputDim() int { return k.d }

// Dim returns 4D, the width of [Φ₊, Φ₋].
func (k *KreinMap) Dim() int { return k.pos.Dim() + k.neg.Dim() }

// Masses returns the masses M₊, M₋ the features are scaled with.
func (k *KreinMap) Masses() (float64, float64) { return k.mPos, k.mNeg }

// PosMap returns the Fourier map Φ₊.
func (k *KreinMap) PosMap() *Fourier { return k.pos }

// NegMap returns the Fourier map Φ₋.
func (k *KreinMap) NegMap() *Fourier { return k.neg }

// Pos returns Φ₊(X) (n×2D).
func (k *KreinMap) Pos(X *mat.Dense) (*mat.Dense, error) { return Transform(k.pos, X) }

// Neg returns Φ₋(X) (n×2D).
func (k *KreinMap) Neg(X *mat.Dense) (*mat.Dense, error) { return Transform(k.neg, X) }

// Transform returns [Φ₊(X), Φ₋(X)] (n×4D).
func (k *KreinMap) Transform(X *mat.Dense) (*mat.Dense, error) { return Transform(k, X) }

// TransformTo writes [Φ₊(X), Φ₋(X)] into dst.
func (k *KreinMap) TransformTo(dst, X *mat.Dense) error {
	if err := checkShapes(dst, X, k.d, k.Dim()); err != nil {
		return err
	}
	n, _ := X.Dims()
	w := k.pos.Dim()
	k.pos.transformRaw(dst.Slice(0, n, 0, w).(*mat.Dense).RawMatrix(), X.RawMatrix())
	k.neg.transformRaw(dst.Slice(0, n, w, 2*w).(*mat.Dense).RawMatrix(), X.RawMatrix())
	return nil
}

// Gram returns the approximate kernel matrix K̃ = Φ₊(X)Φ₊(Z)ᵀ − Φ₋(X)Φ₋(Z)ᵀ.
func (k *KreinMap) Gram(X, Z *mat.Dense) (*mat.Dense, error) {
	px, err := k.Pos(X)
	if err != nil {
		return nil, err
	}
	pz, err := k.Pos(Z)
	if err != nil {
		return nil, err
	}
	nx, err := k.Neg(X)
	if err != nil {
		return nil, err
	}
	nz, err := k.Neg(Z)
	if err != nil {
		return nil, err
	}
	var G, N mat.Dense
	G.Mul(px, pz.T())
	N.Mul(nx, nz.T())
	G.Sub(&G, &N)
	return &G, nil
}
