package ood

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/kernel/features"
	"github.com/trustml/trustml/model"
)

func init() {
	for _, mp := range []string{"linear", "cos", "cos-rff", "cos-nystrom"} {
		Register("kpca-"+mp, func(c Config) Detector {
			k := c.KPCA
			k.Map = mp
			if k.Seed == 0 {
				k.Seed = c.Seed
			}
			return &k
		})
	}
	Register("kpca-cos-rff+msp", func(c Config) Detector {
		k := c.KPCA
		k.Map, k.Seed = "cos-rff", c.Seed
		return &Fused{KPCA: &k, Other: &MSP{T: c.Temperature}}
	})
	Register("kpca-cos-nystrom+energy", func(c Config) Detector {
		k := c.KPCA
		k.Map, k.Seed = "cos-nystrom", c.Seed
		return &Fused{KPCA: &k, Other: &Energy{T: c.Temperature}}
	})
}

// KPCA is the kernel-PCA reconstruction-error detector of the KPCA-OoD
// papers (kernels.md §6): penultimate features are L2-normalized
// (ẑ = z/(‖z‖+1e-10)), mapped by an explicit feature map Φ, centred with the
// mean of Φ over the ID training features, and scored by the negative
// reconstruction error −‖Φ_c(x) − U_qU_qᵀΦ_c(x)‖ outside the top q principal
// directions U_q of the training Φ_c, q the smallest count reaching
// ExpVarRatio of the variance.
//
// Maps: "linear" (Φ = z without normalization: linear PCA, the papers'
// baseline), "cos" (Φ = ẑ, the cosine kernel), "cos-rff" (random Fourier
// features of the Gaussian kernel exp(−γ‖ẑ₁−ẑ₂‖²) on ẑ, i.e. the
// cosine-Gaussian kernel [kernel.CosineGaussian], Φ = √(2/M)·cos(Wẑ+u)),
// "cos-nystrom" (Nyström features of the same kernel on M landmarks,
// Φ = k(ẑ, L)·U S^{-1/2} Uᵀ with K_LL = USUᵀ, S clamped at 1e-12). The
// extension paper's confidence-based landmark rule ("energy", the default)
// takes the M ID training samples with the LOWEST logsumexp(logits), the
// least confident ones near the decision boundary; "uniform" draws them at
// random.
type KPCA struct {
	Map         string  // "linear", "cos", "cos-rff" or "cos-nystrom"
	Gamma       float64 // kernel exp(−γ‖·‖²); 0 means 1 (rff) or 0.5 (nystrom)
	M           int     // RFF dimension or landmarks; 0 means 1024 (rff) or 256 (nystrom)
	ExpVarRatio float64 // in (0, 1]; 0 means 0.85 (cos), 0.8 (rff), 0.99 (nystrom)
	Landmarks   string  // "energy" (default) or "uniform"; nystrom only
	Seed        uint64  // RFF frequencies and uniform landmarks
	// Draw, if set, is the random-feature map of "cos-rff" (frequencies
	// W, M×D, and phases u, Φ = √(2/M)·cos(Wẑ + u), as [LoadRFFDraw]
	// reads it) used instead of one drawn from Seed; it fixes γ and M.
	Draw *features.Fourier

	rff   *features.Fourier
	lmk   []float64 // landmarks (normalized), M×d
	proj  []float64 // nystrom: M×M U S^{-1/2} Uᵀ
	mean  []float64
	u     []float64 // q×dim
	q     int
	dim   int
	d     int
	fited bool
}

// Name returns "kpca-" + the map.
func (k *KPCA) Name() string { return "kpca-" + k.Map }

func (k *KPCA) settings() (gamma float64, m int, r float64, err error) {
	gamma, m, r = k.Gamma, k.M, k.ExpVarRatio
	switch k.Map {
	case "linear", "cos":
		if r == 0 {
			r = 0.85
		}
	case "cos-rff":
		if r == 0 {
			r = 0.8
		}
		if k.Draw != nil {
			if m != 0 && m != k.Draw.NumFreq() {
				return 0, 0, 0, fmt.Errorf("ood: kpca M = %d with a random-feature draw of %d features", m, k.Draw.NumFreq())
			}
			if k.Draw.Form() != features.Phase {
				return 0, 0, 0, fmt.Errorf("ood: kpca random-feature draw of form %v, want phase (√(2/M)·cos(Wz + u))", k.Draw.Form())
			}
			return gamma, k.Draw.NumFreq(), r, nil // γ is the draw's: 0 = not known
		}
		if gamma == 0 {
			gamma = 1
		}
		if m == 0 {
			m = 1024
		}
	case "cos-nystrom":
		if gamma == 0 {
			gamma = 0.5
		}
		if m == 0 {
			m = 256
		}
		if r == 0 {
			r = 0.99
		}
		if k.Landmarks != "" && k.Landmarks != "energy" && k.Landmarks != "uniform" {
			return 0, 0, 0, fmt.Errorf("ood: kpca landmarks %q, want energy or uniform", k.Landmarks)
		}
	default:
		return 0, 0, 0, fmt.Errorf("ood: kpca map %q, want linear, cos, cos-rff or cos-nystrom", k.Map)
	}
	if !(r > 0 && r <= 1) {
		return 0, 0, 0, fmt.Errorf("ood: kpca explained-variance ratio %v, want in (0, 1]", r)
	}
	if k.Map != "cos" && k.Map != "linear" && (!(gamma > 0) || math.IsInf(gamma, 0) || m < 1) {
		return 0, 0, 0, fmt.Errorf("ood: kpca %s needs gamma > 0 and M ≥ 1 (got %v, %d)", k.Map, gamma, m)
	}
	return gamma, m, r, nil
}

// mapFeatures returns Φ(ẑ) of the normalized n×d features x (n×dim).
func (k *KPCA) mapFeatures(x []float64, n int, gamma float64) ([]float64, error) {
	switch k.Map {
	case "cos-rff":
		out, err := k.rff.Transform(mat.NewDense(n, k.d, x))
		if err != nil {
			return nil, err
		}
		return out.RawMatrix().Data, nil
	case "cos-nystrom":
		// φ = K(x, landmarks)·proj in row blocks of x (the kernel rows
		// through GEMM, at most 16 MB of them at a time).
		m := len(k.lmk) / k.d
		rbf := kernel.RBF{Gamma: gamma}
		lmk := mat.NewDense(m, k.d, k.lmk)
		out := make([]float64, n*m)
		rows := max(1, min(n, (1<<21)/m))
		kx := make([]float64, rows*m)
		for lo := 0; lo < n; lo += rows {
			hi := min(lo+rows, n)
			kb := mat.NewDense(hi-lo, m, kx[:(hi-lo)*m])
			if err := kernel.GramTo(kb, rbf, mat.NewDense(hi-lo, k.d, x[lo*k.d:hi*k.d]), lmk); err != nil {
				return nil, fmt.Errorf("ood: kpca nystrom features: %w", err)
			}
			linalg.Dgemm(false, false, hi-lo, m, m, 1, kx, m, k.proj, m, 0, out[lo*m:], m)
		}
		return out, nil
	}
	return x, nil
}

// Fit learns the map, the mean and the principal subspace from ID training
// features (and, for the energy landmark rule, logits).
func (k *KPCA) Fit(ctx context.Context, m model.Classifier, in *Inputs) error {
	k.fited = false
	gamma, mm, ratio, err := k.settings()
	if err != nil {
		return err
	}
	x, n, d, err := features64(ctx, m, in)
	if err != nil {
		return err
	}
	if n < 2 {
		return fmt.Errorf("%w: kpca needs at least 2 ID samples, got %d", ErrFeatures, n)
	}
	if err := checkVarying("kpca", x, n, d); err != nil {
		return err
	}
	if k.Map != "linear" {
		normalizeRows(x, n, d)
	}
	k.d = d
	rng := seededRand(k.Seed)
	switch k.Map {
	case "cos-rff":
		if k.Draw != nil {
			if k.Draw.InputDim() != d {
				return fmt.Errorf("%w: kpca random-feature draw for %d features, the ID features have %d", model.ErrShape, k.Draw.InputDim(), d)
			}
			k.rff = k.Draw
			break
		}
		// exp(−γ‖a−b‖²) = exp(−‖a−b‖²/(2σ²)) with σ = 1/√(2γ).
		k.rff, err = features.NewRFF(features.Gaussian{Sigma: 1 / math.Sqrt(2*gamma)}, d, mm, features.Phase, rng)
		if err != nil {
			return fmt.Errorf("ood: kpca random features: %w", err)
		}
	case "cos-nystrom":
		if mm > n {
			return fmt.Errorf("%w: kpca nystrom with %d landmarks needs at least %d ID samples, got %d", ErrFeatures, mm, mm, n)
		}
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		if k.Landmarks == "uniform" {
			rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		} else {
			lg, err := in.Logits(ctx, m)
			if err != nil {
				return err
			}
			kc := m.NumClasses()
			e := make([]float64, n)
			for i := range n {
				e[i] = logSumExp(lg[i*kc:(i+1)*kc], 1)
			}
			sort.SliceStable(idx, func(a, b int) bool { return e[idx[a]] < e[idx[b]] })
		}
		k.lmk = make([]float64, mm*d)
		for j, i := range idx[:mm] {
			copy(k.lmk[j*d:(j+1)*d], x[i*d:(i+1)*d])
		}
		kll := make([]float64, mm*mm)
		lmk := mat.NewDense(mm, d, k.lmk)
		if err := kernel.GramTo(mat.NewDense(mm, mm, kll), kernel.RBF{Gamma: gamma}, lmk, lmk); err != nil {
			return fmt.Errorf("ood: kpca nystrom landmarks: %w", err)
		}
		s, u, err := symEig(kll, mm, mm)
		if err != nil {
			return err
		}
		// proj = U S^{-1/2} Uᵀ (u holds eigenvectors as rows).
		us := make([]float64, len(u))
		for r := range mm {
			f := 1 / math.Sqrt(max(s[r], 1e-12))
			for c := range mm {
				us[r*mm+c] = u[r*mm+c] * f
			}
		}
		k.proj = make([]float64, mm*mm)
		linalg.Dgemm(true, false, mm, mm, mm, 1, u, mm, us, mm, 0, k.proj, mm)
	}
	phi, err := k.mapFeatures(x, n, gamma)
	if err != nil {
		return err
	}
	dim := len(phi) / n
	k.mean = make([]float64, dim)
	for i := range n {
		for j, v := range phi[i*dim : (i+1)*dim] {
			k.mean[j] += v
		}
	}
	for j := range k.mean {
		k.mean[j] /= float64(n)
	}
	for i := range n {
		for j := range dim {
			phi[i*dim+j] -= k.mean[j]
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cov := make([]float64, dim*dim)
	linalg.Dsyrk(true, dim, n, 1, phi, dim, 0, cov, dim)
	_, u, q, err := topVariance(cov, dim, ratio)
	if err != nil {
		return err
	}
	k.u, k.q, k.dim, k.fited = u[:q*dim], q, dim, true
	return nil
}

// topVariance returns eigenpairs of the dim×dim PSD matrix cov (lower
// triangle set, as linalg.Dsyrk leaves it; destroyed) covering at least
// the first q, the smallest count whose eigenvalues reach ratio of the
// total Σ max(λ, 0). For large
// matrices it first tries block Krylov iteration for the top 32 and 128
// eigenpairs, whose variance it measures against the trace (= Σλ for a
// PSD matrix), and falls back to the dense solver for all of them.
func topVariance(cov []float64, dim int, ratio float64) (s, u []float64, q int, err error) {
	var trace float64
	for i := range dim {
		trace += cov[i*dim+i]
	}
	if !(trace > 0) {
		return nil, nil, 0, fmt.Errorf("%w: kpca: mapped ID features have zero variance", ErrFeatures)
	}
	if dim >= 256 {
		full := make([]float64, dim*dim)
		for i := range dim {
			for j := range i + 1 {
				full[i*dim+j], full[j*dim+i] = cov[i*dim+j], cov[i*dim+j]
			}
		}
		for _, kk := range []int{32, 128} {
			if 3*(kk+max(16, kk/4)) > dim {
				break
			}
			w, z := make([]float64, kk), make([]float64, kk*dim)
			if !linalg.SymEigTopKrylov(dim, full, dim, kk, w, z, dim, kernel.KrylovTol) {
				break
			}
			cum := 0.0
			for i := range kk {
				cum += max(w[i], 0) / trace
				if cum >= ratio {
					return w, z, i + 1, nil
				}
			}
		}
	}
	s, u, err = symEig(cov, dim, dim)
	if err != nil {
		return nil, nil, 0, err
	}
	var tot float64
	for _, v := range s {
		tot += max(v, 0)
	}
	if tot == 0 {
		return nil, nil, 0, fmt.Errorf("%w: kpca: mapped ID features have zero variance", ErrFeatures)
	}
	// q: first i > 0 with cum[i−1] < r ≤ cum[i], cum[i] = Σ_{j<i} s_j / Σ s.
	q, cum := dim, 0.0
	for i := range dim {
		cum += max(s[i], 0) / tot
		if cum >= ratio {
			q = i + 1
			break
		}
	}
	return s, u, q, nil
}

// RFF returns the random-feature map of a fitted "cos-rff" detector (drawn
// from Seed or supplied as Draw), nil otherwise; [SaveRFFDraw] writes it.
func (k *KPCA) RFF() *features.Fourier { return k.rff }

// Components is q, the number of principal directions kept (after Fit).
func (k *KPCA) Components() int { return k.q }

// Errors writes the reconstruction errors ‖Φ_c − U_qU_qᵀΦ_c‖ (positive;
// large = OoD) of the inputs into dst.
func (k *KPCA) Errors(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	if !k.fited {
		return fmt.Errorf("%w: %s", ErrNotFitted, k.Name())
	}
	gamma, _, _, err := k.settings()
	if err != nil {
		return err
	}
	x, n, err := scoreFeatures(ctx, m, dst, in, k.d)
	if err != nil {
		return err
	}
	d := k.d
	if k.Map != "linear" {
		normalizeRows(x, n, d)
	}
	phi, err := k.mapFeatures(x, n, gamma)
	if err != nil {
		return err
	}
	for i := range n {
		for j := range k.dim {
			phi[i*k.dim+j] -= k.mean[j]
		}
	}
	proj := make([]float64, n*k.q)
	linalg.Dgemm(false, true, n, k.q, k.dim, 1, phi, k.dim, k.u, k.dim, 0, proj, k.q)
	copy(dst, residualNorms(phi, proj, n, k.dim, k.q))
	return nil
}

// Score writes the negative reconstruction errors.
func (k *KPCA) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	if err := k.Errors(ctx, m, dst, in); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = -dst[i]
	}
	return nil
}

// Fused combines the KPCA reconstruction error e(x) with another
// detector's score S(x) as (1 − e(x))·S(x), the fusion of the KPCA-OoD
// papers (kernels.md §6.2 step 6).
type Fused struct {
	KPCA  *KPCA
	Other Detector
}

// Name returns "kpca-MAP+OTHER".
func (f *Fused) Name() string { return f.KPCA.Name() + "+" + f.Other.Name() }

// Fit fits both detectors.
func (f *Fused) Fit(ctx context.Context, m model.Classifier, in *Inputs) error {
	if err := f.KPCA.Fit(ctx, m, in); err != nil {
		return err
	}
	return f.Other.Fit(ctx, m, in)
}

// Score writes (1 − e(x))·S(x).
func (f *Fused) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	e := make([]float64, len(dst))
	if err := f.KPCA.Errors(ctx, m, e, in); err != nil {
		return err
	}
	if err := f.Other.Score(ctx, m, dst, in); err != nil {
		return err
	}
	for i := range dst {
		dst[i] *= 1 - e[i]
	}
	return nil
}

// parallelRows runs f over blocks of rows [0, n) on GOMAXPROCS goroutines.
// Each row is computed as the serial loop would, so results do not depend
// on the split.
func parallelRows(n int, f func(lo, hi int)) {
	const block = 64
	parts := (n + block - 1) / block
	workers := min(runtime.GOMAXPROCS(0), parts)
	if workers <= 1 {
		f(0, n)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				p := int(next.Add(1) - 1)
				if p >= parts {
					return
				}
				f(p*block, min((p+1)*block, n))
			}
		}()
	}
	wg.Wait()
}
