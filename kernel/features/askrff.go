package features

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// SpectralMeasure is the complex spectral measure μ = μ_R + i·μ_I of a real
// shift-invariant kernel k(x, z) = κ(x − z) that may be asymmetric
// (κ(Δ) ≠ κ(−Δ)) or indefinite, with the convention
// κ(Δ) = ∫ e^{iωᵀΔ} μ(ω) dω, so that
//
//	κ(Δ) = ∫ cos(ωᵀΔ) μ_R(ω) dω − ∫ sin(ωᵀΔ) μ_I(ω) dω,
//
// μ_R even and μ_I odd. Sampling uses a proposal density q with
// |μ_R(ω)|, |μ_I(ω)| ≤ Bound·q(ω) everywhere.
type SpectralMeasure interface {
	// Dim is the input dimension d.
	Dim() int
	// Real returns μ_R(ω).
	Real(w []float64) float64
	// Imag returns μ_I(ω).
	Imag(w []float64) float64
	// SampleProposal draws ω ~ q into w.
	SampleProposal(w []float64, rng *rand.Rand)
	// ProposalDensity returns q(ω).
	ProposalDensity(w []float64) float64
	// Bound returns c with |μ_R|, |μ_I| ≤ c·q.
	Bound() float64
	// Validate reports whether the parameters are usable.
	Validate() error
}

// Evaluator evaluates a kernel k(x, z); every kernel.Kernel is one.
type Evaluator interface {
	Eval(x, z []float64) float64
}

// ExactMasser is implemented by measures whose four total masses have a
// closed form.
type ExactMasser interface {
	ExactMasses() Masses
}

// Masses are the total masses of the four positive parts of the Jordan
// decompositions μ_R = μ_R⁺ − μ_R⁻ and μ_I = μ_I⁺ − μ_I⁻. For a real kernel,
// RealPos − RealNeg = κ(0) and ImagPos = ImagNeg.
type Masses struct {
	RealPos, RealNeg, ImagPos, ImagNeg float64
}

func (m Masses) get(p int) float64 {
	return [4]float64{m.RealPos, m.RealNeg, m.ImagPos, m.ImagNeg}[p]
}

func (m *Masses) set(p int, v float64) {
	switch p {
	case 0:
		m.RealPos = v
	case 1:
		m.RealNeg = v
	case 2:
		m.ImagPos = v
	case 3:
		m.ImagNeg = v
	}
}

var partNames = [4]string{"real+", "real-", "imag+", "imag-"}

// partValue returns max(±μ_•(ω), 0) for part p (0: R⁺, 1: R⁻, 2: I⁺, 3: I⁻).
func partValue(mu SpectralMeasure, p int, w []float64) float64 {
	var v float64
	if p < 2 {
		v = mu.Real(w)
	} else {
		v = mu.Imag(w)
	}
	if p%2 == 1 {
		v = -v
	}
	return math.Max(v, 0)
}

// gaussDensity returns the N(mean, σ⁻²I) density at w (mean nil: 0).
func gaussDensity(w, mean []float64, sigma float64) float64 {
	var s float64
	for i, wi := range w {
		t := wi
		if mean != nil {
			t -= mean[i]
		}
		s += t * t
	}
	d := float64(len(w))
	return math.Exp(d/2*math.Log(sigma*sigma/(2*math.Pi)) - sigma*sigma*s/2)
}

// ShiftedGaussian is the asymmetric kernel k(x, z) = exp(−‖x − z − c‖²/(2σ²)).
// Its measure is μ(ω) = N(ω; 0, σ⁻²I)·e^{−iωᵀc}: μ_R = N·cos(ωᵀc),
// μ_I = −N·sin(ωᵀc), with closed-form masses.
type ShiftedGaussian struct {
	Sigma float64
	Shift []float64 // c, length d
}

// Dim returns len(Shift).
func (g ShiftedGaussian) Dim() int { return len(g.Shift) }

// Real returns N(ω)cos(ωᵀc).
func (g ShiftedGaussian) Real(w []float64) float64 {
	return gaussDensity(w, nil, g.Sigma) * math.Cos(dot(w, g.Shift))
}

// Imag returns −N(ω)sin(ωᵀc).
func (g ShiftedGaussian) Imag(w []float64) float64 {
	return -gaussDensity(w, nil, g.Sigma) * math.Sin(dot(w, g.Shift))
}

// SampleProposal draws ω ~ N(0, σ⁻²I).
func (g ShiftedGaussian) SampleProposal(w []float64, rng *rand.Rand) {
	Gaussian{Sigma: g.Sigma}.Sample(w, rng)
}

// ProposalDensity returns N(ω; 0, σ⁻²I).
func (g ShiftedGaussian) ProposalDensity(w []float64) float64 { return gaussDensity(w, nil, g.Sigma) }

// Bound returns 1.
func (ShiftedGaussian) Bound() float64 { return 1 }

// Eval returns exp(−‖x − z − c‖²/(2σ²)).
func (g ShiftedGaussian) Eval(x, z []float64) float64 {
	var s float64
	for i, xi := range x {
		t := xi - z[i] - g.Shift[i]
		s += t * t
	}
	return math.Exp(-s / (2 * g.Sigma * g.Sigma))
}

// Symmetric reports whether the shift is zero.
func (g ShiftedGaussian) Symmetric() bool {
	for _, c := range g.Shift {
		if c != 0 {
			return false
		}
	}
	return true
}

// Validate checks σ > 0 and a finite, non-empty shift.
func (g ShiftedGaussian) Validate() error {
	if len(g.Shift) == 0 {
		return fmt.Errorf("features: shifted Gaussian needs a shift vector of length d: %w", ErrParam)
	}
	for _, c := range g.Shift {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return fmt.Errorf("features: shifted Gaussian shift is not finite: %w", ErrNonFinite)
		}
	}
	return checkPositive("shifted Gaussian sigma", g.Sigma)
}

// ExactMasses returns the closed-form masses. With X = ωᵀc ~ N(0, s²),
// s = ‖c‖/σ, and the Fourier series of max(cos x, 0) and |sin x|:
// M_R⁺ = 1/π + e^{−s²/2}/2 + (2/π)Σ_k (−1)^{k+1}e^{−2k²s²}/(4k²−1),
// M_R⁻ = M_R⁺ − e^{−s²/2}, M_I± = 1/π − (2/π)Σ_k e^{−2k²s²}/(4k²−1).
// The series converge slowly for small s; for s < 1/4, where
// P(|X| > π/2) < 1e-13, M_R⁻ = 0, M_R⁺ = e^{−s²/2} and
// M_I± = E[sin X; X > 0] = F(s/√2)/√π with Dawson's integral F.
func (g ShiftedGaussian) ExactMasses() Masses {
	s := math.Sqrt(dot(g.Shift, g.Shift)) / g.Sigma
	s2 := s * s
	e := math.Exp(-s2 / 2)
	if s < 0.25 {
		m := dawson(s/math.Sqrt2) / math.Sqrt(math.Pi)
		return Masses{RealPos: e, ImagPos: m, ImagNeg: m}
	}
	var sr, si float64
	for k := 1; k < 1000; k++ {
		fk := float64(k)
		t := math.Exp(-2*fk*fk*s2) / (4*fk*fk - 1)
		if k%2 == 1 {
			sr += t
		} else {
			sr -= t
		}
		si += t
		if t < 1e-18 {
			break
		}
	}
	rp := 1/math.Pi + e/2 + 2/math.Pi*sr
	ip := 1/math.Pi - 2/math.Pi*si
	return Masses{RealPos: rp, RealNeg: math.Max(rp-e, 0), ImagPos: ip, ImagNeg: ip}
}

// dawson returns Dawson's integral F(x) = e^{−x²}∫_0^x e^{t²}dt for
// 0 ≤ x ≤ 0.2 by its power series Σ_k (−2x²)^k x/(2k+1)!!.
func dawson(x float64) float64 {
	t, sum := x, x
	for k := 1; k < 60; k++ {
		t *= -2 * x * x / float64(2*k+1)
		sum += t
		if math.Abs(t) < 1e-18*math.Abs(sum) {
			break
		}
	}
	return sum
}

// SkewedGaussian is the asymmetric kernel
// k(x, z) = exp(−‖Δ‖²/(2σ²))·(1 + a·sin(cᵀΔ)), Δ = x − z. Its measure is
// μ_R = N(0, σ⁻²I), μ_I = −(a/2)(N(c, σ⁻²I) − N(−c, σ⁻²I)).
type SkewedGaussian struct {
	Sigma float64
	A     float64
	C     []float64 // length d
}

// Dim returns len(C).
func (g SkewedGaussian) Dim() int { return len(g.C) }

// Real returns N(ω; 0, σ⁻²I).
func (g SkewedGaussian) Real(w []float64) float64 { return gaussDensity(w, nil, g.Sigma) }

// Imag returns −(a/2)(N(ω; c) − N(ω; −c)).
func (g SkewedGaussian) Imag(w []float64) float64 {
	_, plus, minus := g.densities(w)
	return -g.A / 2 * (plus - minus)
}

// densities returns N(ω; 0), N(ω; c), N(ω; −c), all with covariance σ⁻²I.
func (g SkewedGaussian) densities(w []float64) (zero, plus, minus float64) {
	var s0, sp, sm float64
	for i, wi := range w {
		c := g.C[i]
		s0 += wi * wi
		sp += (wi - c) * (wi - c)
		sm += (wi + c) * (wi + c)
	}
	s2 := g.Sigma * g.Sigma
	norm := float64(len(w)) / 2 * math.Log(s2/(2*math.Pi))
	return math.Exp(norm - s2*s0/2), math.Exp(norm - s2*sp/2), math.Exp(norm - s2*sm/2)
}

// SampleProposal draws from the equal mixture of N(0), N(c) and N(−c).
func (g SkewedGaussian) SampleProposal(w []float64, rng *rand.Rand) {
	Gaussian{Sigma: g.Sigma}.Sample(w, rng)
	switch rng.IntN(3) {
	case 1:
		for i, c := range g.C {
			w[i] += c
		}
	case 2:
		for i, c := range g.C {
			w[i] -= c
		}
	}
}

// ProposalDensity returns the mixture density.
func (g SkewedGaussian) ProposalDensity(w []float64) float64 {
	z, p, m := g.densities(w)
	return (z + p + m) / 3
}

// Bound returns 3·max(1, |a|/2).
func (g SkewedGaussian) Bound() float64 { return 3 * math.Max(1, math.Abs(g.A)/2) }

// Eval returns the exact kernel value.
func (g SkewedGaussian) Eval(x, z []float64) float64 {
	var s, t float64
	for i, xi := range x {
		u := xi - z[i]
		s += u * u
		t += g.C[i] * u
	}
	return math.Exp(-s/(2*g.Sigma*g.Sigma)) * (1 + g.A*math.Sin(t))
}

// Symmetric reports whether a or c is zero.
func (g SkewedGaussian) Symmetric() bool { return g.A == 0 || dot(g.C, g.C) == 0 }

// Validate checks σ > 0, finite a and c.
func (g SkewedGaussian) Validate() error {
	if len(g.C) == 0 {
		return fmt.Errorf("features: skewed Gaussian needs a direction vector c of length d: %w", ErrParam)
	}
	if math.IsNaN(g.A) || math.IsInf(g.A, 0) {
		return fmt.Errorf("features: skewed Gaussian a is not finite: %w", ErrNonFinite)
	}
	for _, c := range g.C {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return fmt.Errorf("features: skewed Gaussian c is not finite: %w", ErrNonFinite)
		}
	}
	return checkPositive("skewed Gaussian sigma", g.Sigma)
}

// ExactMasses returns M_R⁺ = 1, M_R⁻ = 0, M_I± = (|a|/2)(2Φ(σ‖c‖) − 1), the
// total variation between N(c) and N(−c) scaled by |a|/2.
func (g SkewedGaussian) ExactMasses() Masses {
	tv := math.Erf(g.Sigma * math.Sqrt(dot(g.C, g.C)) / math.Sqrt2)
	m := math.Abs(g.A) / 2 * tv
	return Masses{RealPos: 1, ImagPos: m, ImagNeg: m}
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// MassMethod selects how [NewAsKRFF] obtains the four total masses.
type MassMethod int

const (
	// MassExact uses the measure's closed form ([ExactMasser]).
	MassExact MassMethod = iota
	// MassMonteCarlo uses importance sampling from the proposal:
	// M ≈ mean_{ω~q} max(±μ_•(ω), 0)/q(ω).
	MassMonteCarlo
	// MassSubset fits the masses after the frequencies are drawn: the
	// approximation is linear in the four masses, so they solve a 4-variable
	// non-negative least-squares fit of the exact kernel matrix on a random
	// subset of the training rows (the AsK-RFF paper's fast estimate).
	MassSubset
)

// String returns "exact", "montecarlo" or "subset".
func (m MassMethod) String() string {
	switch m {
	case MassExact:
		return "exact"
	case MassMonteCarlo:
		return "montecarlo"
	case MassSubset:
		return "subset"
	}
	return fmt.Sprintf("MassMethod(%d)", int(m))
}

// ParseMassMethod parses "exact", "montecarlo" or "subset".
func ParseMassMethod(s string) (MassMethod, error) {
	switch s {
	case "exact":
		return MassExact, nil
	case "montecarlo", "mc":
		return MassMonteCarlo, nil
	case "subset":
		return MassSubset, nil
	}
	return 0, fmt.Errorf("features: unknown mass method %q (want exact, montecarlo or subset): %w", s, ErrParam)
}

// AsKRFFConfig configures [NewAsKRFF].
type AsKRFFConfig struct {
	D             int        // frequencies per part (up to 4 parts, 2D columns each)
	Mass          MassMethod // how to get the masses
	MCSamples     int        // proposals for MassMonteCarlo; default 100,000
	SubsetSize    int        // rows for MassSubset; default 500
	MinAcceptance float64    // parts whose acceptance rate (M_•/Bound) is below this are dropped; default 1e-3
	Pilot         int        // proposals of the pilot run that screens parts; default 20,000
}

// AsymMap holds AsK-RFF source and target features:
// k(x, z) ≈ φ_s(x)·φ_t(z). For each part • ∈ {R⁺, R⁻, I⁺, I⁻} with its own
// frequencies W_• drawn from p_• ∝ max(±μ_•, 0), with c = cos(W_•v),
// s = sin(W_•v):
//
//	φ_t(z) = (1/√D)[c; s] per part,
//	φ_s(x) = (1/√D)·[M_R⁺[c; s], −M_R⁻[c; s], −M_I⁺[s; −c], +M_I⁻[s; −c]],
//
// so the target map is a plain RFF map and the masses sit on the source side.
type AsymMap struct {
	d, D    int
	parts   []int      // kept part indices, in order
	maps    []*Fourier // one per kept part, scale 1/√D
	masses  Masses
	dropped Masses // Monte-Carlo masses of parts dropped for low acceptance
	accept  [4]float64
}

// NewAsKRFF draws asymmetric random Fourier features for the kernel with
// spectral measure mu. Frequencies of each part are drawn by rejection
// sampling from mu's proposal. A pilot run (or the exact masses) estimates
// each part's acceptance rate M_•/Bound first; a part below
// cfg.MinAcceptance carries negligible mass (at most MinAcceptance·Bound)
// and is dropped, as is a part that cannot reach D samples within
// 4D/MinAcceptance proposals. [AsymMap.Dropped] reports what was dropped. X and k are used only by
// [MassSubset] (k nil: mu itself if it implements Eval).
func NewAsKRFF(mu SpectralMeasure, cfg AsKRFFConfig, X *mat.Dense, k Evaluator, rng *rand.Rand) (*AsymMap, error) {
	if mu == nil {
		return nil, fmt.Errorf("features: nil spectral measure: %w", ErrParam)
	}
	if err := mu.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("features: nil random source: %w", ErrParam)
	}
	d := mu.Dim()
	if err := checkDims(d, cfg.D); err != nil {
		return nil, err
	}
	if cfg.MCSamples <= 0 {
		cfg.MCSamples = 100000
	}
	if cfg.SubsetSize <= 0 {
		cfg.SubsetSize = 500
	}
	if cfg.Pilot <= 0 {
		cfg.Pilot = 20000
	}
	if cfg.MinAcceptance <= 0 {
		cfg.MinAcceptance = 1e-3
	}
	if cfg.MinAcceptance > 1 {
		return nil, fmt.Errorf("features: MinAcceptance must be at most 1, got %v: %w", cfg.MinAcceptance, ErrParam)
	}
	var exact Masses
	switch cfg.Mass {
	case MassExact:
		em, ok := mu.(ExactMasser)
		if !ok {
			return nil, fmt.Errorf("features: exact masses requested but the measure has no closed form; use montecarlo or subset: %w", ErrParam)
		}
		exact = em.ExactMasses()
	case MassMonteCarlo:
	case MassSubset:
		if X == nil {
			return nil, fmt.Errorf("features: subset mass estimation needs training data: %w", ErrShape)
		}
		if _, c := X.Dims(); c != d {
			return nil, fmt.Errorf("features: data have %d columns, the measure has dimension %d: %w", c, d, ErrShape)
		}
		if k == nil {
			kk, ok := mu.(Evaluator)
			if !ok {
				return nil, fmt.Errorf("features: subset mass estimation needs the exact kernel: %w", ErrParam)
			}
			k = kk
		}
	default:
		return nil, fmt.Errorf("features: unknown mass method %v: %w", cfg.Mass, ErrParam)
	}

	a := &AsymMap{d: d, D: cfg.D}
	bound := mu.Bound()
	if !(bound > 0) || math.IsInf(bound, 0) {
		return nil, fmt.Errorf("features: proposal bound must be positive and finite, got %v: %w", bound, ErrParam)
	}
	// Pilot: the acceptance rate of part p is M_p/Bound; parts far below
	// MinAcceptance are dropped before any rejection sampling.
	pilot := monteCarloMasses(mu, cfg.Pilot, rng)
	if cfg.Mass == MassExact {
		pilot = exact
	}
	maxTries := int(math.Ceil(4 * float64(cfg.D) / cfg.MinAcceptance))
	w := make([]float64, d)
	for p := 0; p < 4; p++ {
		if pilot.get(p)/bound < cfg.MinAcceptance {
			a.dropped.set(p, pilot.get(p))
			continue
		}
		W := mat.NewDense(cfg.D, d, nil)
		got, tries := 0, 0
		for got < cfg.D && tries < maxTries {
			tries++
			mu.SampleProposal(w, rng)
			q := mu.ProposalDensity(w)
			v := partValue(mu, p, w)
			if v > bound*q*(1+1e-9) {
				return nil, fmt.Errorf("features: proposal does not dominate the %s part (|μ| = %g > %g·q = %g): %w", partNames[p], v, bound, bound*q, ErrParam)
			}
			if v > 0 && rng.Float64()*bound*q < v {
				copy(W.RawRowView(got), w)
				got++
			}
		}
		a.accept[p] = float64(got) / float64(tries)
		if got < cfg.D {
			a.dropped.set(p, bound*a.accept[p])
			continue
		}
		f, err := NewFourier(W, nil, CosSin)
		if err != nil {
			return nil, err
		}
		a.parts = append(a.parts, p)
		a.maps = append(a.maps, f)
	}
	if len(a.parts) == 0 {
		return nil, fmt.Errorf("features: every part of the spectral measure was rejected; check the proposal and bound: %w", ErrParam)
	}

	switch cfg.Mass {
	case MassExact:
		a.masses = exact
	case MassMonteCarlo:
		a.masses = monteCarloMasses(mu, cfg.MCSamples, rng)
	case MassSubset:
		m, err := a.subsetMasses(X, k, cfg.SubsetSize, rng)
		if err != nil {
			return nil, err
		}
		a.masses = m
	}
	// Dropped parts contribute nothing.
	for p := 0; p < 4; p++ {
		if !a.hasPart(p) {
			a.masses.set(p, 0)
		}
	}
	return a, nil
}

func (a *AsymMap) hasPart(p int) bool {
	for _, q := range a.parts {
		if q == p {
			return true
		}
	}
	return false
}

func monteCarloMasses(mu SpectralMeasure, n int, rng *rand.Rand) Masses {
	w := make([]float64, mu.Dim())
	var sum [4]float64
	for i := 0; i < n; i++ {
		mu.SampleProposal(w, rng)
		q := mu.ProposalDensity(w)
		if q <= 0 {
			continue
		}
		for p := 0; p < 4; p++ {
			sum[p] += partValue(mu, p, w) / q
		}
	}
	var m Masses
	for p := 0; p < 4; p++ {
		m.set(p, sum[p]/float64(n))
	}
	return m
}

// subsetMasses fits the masses by non-negative least squares on a random
// subset S: K_S ≈ Σ_p M_p·A_p with A_p = ±(base matrix of part p).
func (a *AsymMap) subsetMasses(X *mat.Dense, k Evaluator, size int, rng *rand.Rand) (Masses, error) {
	n, _ := X.Dims()
	size = min(size, n)
	if size < 2 {
		return Masses{}, fmt.Errorf("features: subset mass estimation needs at least 2 rows: %w", ErrShape)
	}
	perm := rng.Perm(n)[:size]
	S := mat.NewDense(size, a.d, nil)
	for i, r := range perm {
		S.SetRow(i, X.RawRowView(r))
	}
	K := mat.NewDense(size, size, nil)
	for i := 0; i < size; i++ {
		xi := S.RawRowView(i)
		for j := 0; j < size; j++ {
			K.Set(i, j, k.Eval(xi, S.RawRowView(j)))
		}
	}
	np := len(a.parts)
	bases := make([]*mat.Dense, np)
	for i, p := range a.parts {
		T, err := a.maps[i].Transform(S) // (1/√D)[c, s]
		if err != nil {
			return Masses{}, err
		}
		L := T
		if p >= 2 { // sin(ω(x−z)) = s(x)c(z) − c(x)s(z): left factor [s, −c]
			L = rotateCosSin(T, a.D)
		}
		var B mat.Dense
		B.Mul(L, T.T())
		if p == 1 || p == 2 { // signs: +R⁺, −R⁻, −I⁺, +I⁻
			B.Scale(-1, &B)
		}
		bases[i] = &B
	}
	G := mat.NewDense(np, np, nil)
	r := make([]float64, np)
	for i := 0; i < np; i++ {
		r[i] = frob(bases[i], K)
		for j := 0; j <= i; j++ {
			v := frob(bases[i], bases[j])
			G.Set(i, j, v)
			G.Set(j, i, v)
		}
	}
	m, ok := nnlsSmall(G, r)
	if !ok {
		return Masses{}, fmt.Errorf("features: subset mass fit is degenerate; use more features or rows: %w", ErrIllConditioned)
	}
	var out Masses
	for i, p := range a.parts {
		out.set(p, m[i])
	}
	return out, nil
}

// rotateCosSin maps rows [c, s] (each D wide) to [s, −c].
func rotateCosSin(T *mat.Dense, D int) *mat.Dense {
	n, _ := T.Dims()
	L := mat.NewDense(n, 2*D, nil)
	for i := 0; i < n; i++ {
		src, dst := T.RawRowView(i), L.RawRowView(i)
		for j := 0; j < D; j++ {
			dst[j] = src[D+j]
			dst[D+j] = -src[j]
		}
	}
	return L
}

func frob(A, B *mat.Dense) float64 {
	var s float64
	r, _ := A.Dims()
	for i := 0; i < r; i++ {
		s += dot(A.RawRowView(i), B.RawRowView(i))
	}
	return s
}

// nnlsSmall minimizes mᵀGm − 2mᵀr over m ≥ 0 by enumerating active sets
// (len(r) ≤ 4).
func nnlsSmall(G *mat.Dense, r []float64) ([]float64, bool) {
	n := len(r)
	best := math.Inf(1)
	var bestM []float64
	for mask := 1; mask < 1<<n; mask++ {
		var idx []int
		for i := 0; i < n; i++ {
			if mask&(1<<i) != 0 {
				idx = append(idx, i)
			}
		}
		k := len(idx)
		A := mat.NewDense(k, k, nil)
		b := mat.NewVecDense(k, nil)
		for i, p := range idx {
			b.SetVec(i, r[p])
			for j, q := range idx {
				A.Set(i, j, G.At(p, q))
			}
		}
		var x mat.VecDense
		if err := x.SolveVec(A, b); err != nil {
			continue
		}
		m := make([]float64, n)
		feasible := true
		for i, p := range idx {
			v := x.AtVec(i)
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				feasible = false
				break
			}
			m[p] = v
		}
		if !feasible {
			continue
		}
		var obj float64
		for i := 0; i < n; i++ {
			obj -= 2 * m[i] * r[i]
			for j := 0; j < n; j++ {
				obj += m[i] * G.At(i, j) * m[j]
			}
		}
		if obj < best {
			best, bestM = obj, m
		}
	}
	return bestM, bestM != nil
}

// InputDim returns d.
func (a *AsymMap) InputDim() int { return a.d }

// Dim returns the width of φ_s and φ_t: 2D per kept part.
func (a *AsymMap) Dim() int { return 2 * a.D * len(a.parts) }

// Masses returns the masses used to weight the source features (zero for
// dropped parts).
func (a *AsymMap) Masses() Masses { return a.masses }

// Dropped returns the Monte-Carlo masses of parts dropped for a too-low
// acceptance rate: an upper estimate of the bias they cause.
func (a *AsymMap) Dropped() Masses { return a.dropped }

// Acceptance returns the rejection-sampling acceptance rate of each part
// (R⁺, R⁻, I⁺, I⁻); it estimates M_•/Bound.
func (a *AsymMap) Acceptance() [4]float64 { return a.accept }

// Target returns φ_t(X).
func (a *AsymMap) Target(X *mat.Dense) (*mat.Dense, error) { return Transform(a.TargetMap(), X) }

// Source returns φ_s(X).
func (a *AsymMap) Source(X *mat.Dense) (*mat.Dense, error) { return Transform(a.SourceMap(), X) }

// SourceMap returns φ_s as a [Map].
func (a *AsymMap) SourceMap() Map { return sideMap{a, true} }

// TargetMap returns φ_t as a [Map].
func (a *AsymMap) TargetMap() Map { return sideMap{a, false} }

// Gram returns K̃ = φ_s(X)·φ_t(Z)ᵀ ≈ [k(x_i, z_j)].
func (a *AsymMap) Gram(X, Z *mat.Dense) (*mat.Dense, error) {
	S, err := a.Source(X)
	if err != nil {
		return nil, err
	}
	T, err := a.Target(Z)
	if err != nil {
		return nil, err
	}
	var G mat.Dense
	G.Mul(S, T.T())
	return &G, nil
}

type sideMap struct {
	a      *AsymMap
	source bool
}

func (s sideMap) InputDim() int { return s.a.d }
func (s sideMap) Dim() int      { return s.a.Dim() }
func (s sideMap) TransformTo(dst, X *mat.Dense) error {
	a := s.a
	if err := checkShapes(dst, X, a.d, a.Dim()); err != nil {
		return err
	}
	n, _ := X.Dims()
	D := a.D
	for i, f := range a.maps {
		blk := dst.Slice(0, n, 2*D*i, 2*D*(i+1)).(*mat.Dense)
		f.transformRaw(blk.RawMatrix(), X.RawMatrix())
		if !s.source {
			continue
		}
		p := a.parts[i]
		m := a.masses.get(p)
		raw := blk.RawMatrix()
		parallelRows(n, 256, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				row := raw.Data[r*raw.Stride : r*raw.Stride+2*D]
				switch p {
				case 0:
					scaleSlice(row, m)
				case 1:
					scaleSlice(row, -m)
				case 2, 3:
					wgt := m // I⁻: +M[s; −c]
					if p == 2 {
						wgt = -m // I⁺: −M[s; −c]
					}
					for j := 0; j < D; j++ {
						c, sn := row[j], row[D+j]
						row[j] = wgt * sn
						row[D+j] = -wgt * c
					}
				}
			}
		})
	}
	return nil
}

func scaleSlice(v []float64, a float64) {
	for i := range v {
		v[i] *= a
	}
}
