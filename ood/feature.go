package ood

import (
	"context"
	"fmt"
	"math"

	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
)

func init() {
	Register("mahalanobis", func(Config) Detector { return &Mahalanobis{} })
	Register("knn", func(c Config) Detector { return &KNN{K: c.K} })
	Register("vim", func(c Config) Detector { return &ViM{Dim: c.ViMDim} })
}

// features64 returns the features of in as a row-major n×d float64 matrix.
func features64(ctx context.Context, m model.Classifier, in *Inputs) ([]float64, int, int, error) {
	f, d, err := in.Features(ctx, m)
	if err != nil {
		return nil, 0, 0, err
	}
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out, len(f) / d, d, nil
}

// scoreFeatures returns the features of in for scoring by a detector
// fitted on fitted-dimensional features, checking their dimension and that
// dst has one entry per input.
func scoreFeatures(ctx context.Context, m model.Classifier, dst []float64, in *Inputs, fitted int) ([]float64, int, error) {
	x, n, dim, err := features64(ctx, m, in)
	if err != nil {
		return nil, 0, err
	}
	if dim != fitted {
		return nil, 0, fmt.Errorf("%w: %d features, fitted on %d", model.ErrShape, dim, fitted)
	}
	if err := checkDst(dst, n); err != nil {
		return nil, 0, err
	}
	return x, n, nil
}

// checkVarying returns an error if every feature is constant over the n rows.
func checkVarying(name string, x []float64, n, d int) error {
	for j := range d {
		for i := 1; i < n; i++ {
			if x[i*d+j] != x[j] {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %s: all %d features are constant over the %d ID samples", ErrFeatures, name, d, n)
}

// symEig returns the k largest eigenvalues (descending) and eigenvectors
// (rows of the k×n result) of the symmetric n×n matrix a (lower triangle
// used, destroyed).
func symEig(a []float64, n, k int) ([]float64, []float64, error) {
	w := make([]float64, k)
	z := make([]float64, k*n)
	if err := linalg.DsyevTop(n, a, n, k, w, z, n); err != nil {
		return nil, nil, fmt.Errorf("ood: eigendecomposition of a %d×%d matrix: %w", n, n, err)
	}
	return w, z, nil
}

// Mahalanobis scores −min_c (z−μ_c)ᵀ Σ⁺ (z−μ_c) on penultimate features z,
// with class means μ_c and one tied (pooled within-class, 1/n) covariance Σ
// of the ID training features (Lee et al. 2018, without input
// pre-processing or layer ensembles). Σ⁺ is the pseudo-inverse, as
// scikit-learn's EmpiricalCovariance computes it, so dead (constant) units
// are ignored. Class labels come from Inputs.Y when set, else from the
// model's predictions.
type Mahalanobis struct {
	k, d  int
	w     []float64 // r×d whitening: rows v_j/√λ_j
	r     int
	means []float64 // k×r whitened class means
}

// Name returns "mahalanobis".
func (*Mahalanobis) Name() string { return "mahalanobis" }

// Fit estimates the class means and the tied covariance. It needs at least
// D + K samples (D features, K classes), so that the covariance can have
// full rank.
func (d *Mahalanobis) Fit(ctx context.Context, m model.Classifier, in *Inputs) error {
	x, n, dim, err := features64(ctx, m, in)
	if err != nil {
		return err
	}
	k := m.NumClasses()
	if n < dim+k {
		return fmt.Errorf("%w: mahalanobis needs at least features+classes = %d+%d ID samples for the covariance, got %d", ErrFeatures, dim, k, n)
	}
	if err := checkVarying("mahalanobis", x, n, dim); err != nil {
		return err
	}
	y := in.Y
	if y == nil {
		lg, err := in.Logits(ctx, m)
		if err != nil {
			return err
		}
		y = make([]int, n)
		for i := range y {
			y[i] = metrics.Argmax(lg[i*k : (i+1)*k])
		}
	} else if len(y) != n {
		return fmt.Errorf("%w: %d labels for %d inputs", model.ErrShape, len(y), n)
	}
	mu := make([]float64, k*dim)
	cnt := make([]int, k)
	for i, c := range y {
		if c < 0 || c >= k {
			return fmt.Errorf("ood: label %d of input %d outside [0, %d)", c, i, k)
		}
		cnt[c]++
		for j := range dim {
			mu[c*dim+j] += x[i*dim+j]
		}
	}
	for c := range k {
		for j := range dim {
			if cnt[c] > 0 {
				mu[c*dim+j] /= float64(cnt[c])
			}
		}
	}
	xc := make([]float64, len(x))
	for i, c := range y {
		for j := range dim {
			xc[i*dim+j] = x[i*dim+j] - mu[c*dim+j]
		}
	}
	cov := make([]float64, dim*dim)
	linalg.Dsyrk(true, dim, n, 1/float64(n), xc, dim, 0, cov, dim)
	lam, vec, err := symEig(cov, dim, dim)
	if err != nil {
		return err
	}
	cut := lam[0] * 1e-10 * float64(dim)
	r := 0
	for r < dim && lam[r] > cut {
		r++
	}
	if r == 0 {
		return fmt.Errorf("%w: mahalanobis: the within-class covariance is zero", ErrFeatures)
	}
	w := vec[:r*dim]
	for i := range r {
		s := 1 / math.Sqrt(lam[i])
		for j := range dim {
			w[i*dim+j] *= s
		}
	}
	present := make([]float64, 0, k*dim)
	for c := range k {
		if cnt[c] > 0 {
			present = append(present, mu[c*dim:(c+1)*dim]...)
		}
	}
	kp := len(present) / dim
	d.means = make([]float64, kp*r)
	linalg.Dgemm(false, true, kp, r, dim, 1, present, dim, w, dim, 0, d.means, r)
	d.k, d.d, d.w, d.r = kp, dim, w, r
	return nil
}

// Score writes the negative minimum Mahalanobis distances.
func (d *Mahalanobis) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	if d.w == nil {
		return fmt.Errorf("%w: mahalanobis", ErrNotFitted)
	}
	x, n, err := scoreFeatures(ctx, m, dst, in, d.d)
	if err != nil {
		return err
	}
	dim := d.d
	wx := make([]float64, n*d.r)
	linalg.Dgemm(false, true, n, d.r, dim, 1, x, dim, d.w, dim, 0, wx, d.r)
	for i := range n {
		best := math.Inf(1)
		row := wx[i*d.r : (i+1)*d.r]
		for c := range d.k {
			var s float64
			for j, v := range d.means[c*d.r : (c+1)*d.r] {
				t := row[j] - v
				s += t * t
			}
			best = min(best, s)
		}
		dst[i] = -best
	}
	return nil
}

// normalizeRows divides each row by its L2 norm + [kernelEps] in place.
func normalizeRows(x []float64, n, d int) {
	for i := range n {
		row := x[i*d : (i+1)*d]
		var s float64
		for _, v := range row {
			s += v * v
		}
		s = 1 / (math.Sqrt(s) + kernelEps)
		for j := range row {
			row[j] *= s
		}
	}
}

// kernelEps is the constant of the normalizer ẑ = z/(‖z‖ + 1e-10).
const kernelEps = 1e-10

// KNN scores −(distance to the K-th nearest ID training feature), with
// features L2-normalized (Sun et al. 2022). Exact search by brute force.
type KNN struct {
	K     int // neighbour, 0 means 50
	train []float64
	sq    []float64
	n, d  int
}

// Name returns "knn".
func (*KNN) Name() string { return "knn" }

func (d *KNN) k() int {
	if d.K == 0 {
		return 50
	}
	return d.K
}

// Fit stores the normalized ID training features.
func (d *KNN) Fit(ctx context.Context, m model.Classifier, in *Inputs) error {
	if d.k() < 1 {
		return fmt.Errorf("ood: knn K = %d, want ≥ 1", d.K)
	}
	x, n, dim, err := features64(ctx, m, in)
	if err != nil {
		return err
	}
	if n < d.k() {
		return fmt.Errorf("%w: knn with K = %d needs at least %d ID samples, got %d", ErrFeatures, d.k(), d.k(), n)
	}
	if err := checkVarying("knn", x, n, dim); err != nil {
		return err
	}
	normalizeRows(x, n, dim)
	d.sq = rowSq(x, n, dim)
	d.train, d.n, d.d = x, n, dim
	return nil
}

func rowSq(x []float64, n, d int) []float64 {
	s := make([]float64, n)
	for i := range n {
		for _, v := range x[i*d : (i+1)*d] {
			s[i] += v * v
		}
	}
	return s
}

// Score writes −(distance to the K-th nearest training feature).
func (d *KNN) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	if d.train == nil {
		return fmt.Errorf("%w: knn", ErrNotFitted)
	}
	x, n, err := scoreFeatures(ctx, m, dst, in, d.d)
	if err != nil {
		return err
	}
	dim := d.d
	normalizeRows(x, n, dim)
	qs := rowSq(x, n, dim)
	const blk = 128
	dot := make([]float64, blk*d.n)
	for lo := 0; lo < n; lo += blk {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(n, lo+blk)
		b := hi - lo
		linalg.Dgemm(false, true, b, d.n, dim, 1, x[lo*dim:hi*dim], dim, d.train, dim, 0, dot[:b*d.n], d.n)
		for i := range b {
			row := dot[i*d.n : (i+1)*d.n]
			for j := range row {
				row[j] = max(0, qs[lo+i]+d.sq[j]-2*row[j])
			}
			dst[lo+i] = -math.Sqrt(kthSmallest(row, d.k()))
		}
	}
	return nil
}

// LinearHead is a classifier whose logits are W·z + b of its penultimate
// features z; ViM needs W (K×D, row-major) and b. Networks of package nn
// provide it through their parameters; other models can implement it.
type LinearHead interface {
	Head() (w, b []float32)
}

// head returns the last layer of m.
func head(m model.Classifier) (w, b []float32, err error) {
	fe, ok := m.(model.FeatureExtractor)
	if !ok {
		return nil, nil, fmt.Errorf("ood: the model (%T) does not expose penultimate features", m)
	}
	k, dim := m.NumClasses(), fe.FeatureDim()
	if h, ok := m.(LinearHead); ok {
		w, b = h.Head()
	} else if net, ok := m.(*nn.Network); ok {
		ps := net.Params()
		if len(ps) >= 2 {
			w, b = ps[len(ps)-2].W, ps[len(ps)-1].W
		}
	} else {
		return nil, nil, fmt.Errorf("ood: vim needs the last layer's weights; the model (%T) implements neither ood.LinearHead nor is an nn.Network", m)
	}
	if len(w) != k*dim || len(b) != k {
		return nil, nil, fmt.Errorf("%w: last layer has %d weights and %d biases, want %d×%d and %d", model.ErrShape, len(w), len(b), k, dim, k)
	}
	return w, b, nil
}

// ViM is the virtual-logit matching score (Wang et al. 2022): with origin
// o = −W⁺b of the last layer, P the top Dim eigenvectors of the
// (uncentred) covariance of z − o over ID training features and
// r(z) = ‖(I − PPᵀ)(z − o)‖, the score is logsumexp(f(x)) − α·r(z) with
// α = mean_ID max-logit / mean_ID r.
//
// The default D_p differs from the paper's rule of thumb (about half the
// feature dimension): penultimate features of small networks have a low
// effective rank (on the default model, D_p = 64 of 128 leaves a residual
// of noise and gives AUROC ≈ 0.57 against noise images, D_p = 20 gives
// 0.98), so Dim = 0 takes the smallest D_p whose eigenvalues explain 90% of
// the variance of z − o.
type ViM struct {
	Dim int // principal dimension D_p, 0 means 90% explained variance

	o, p  []float64
	alpha float64
	dim   int
	dp    int
}

// Name returns "vim".
func (*ViM) Name() string { return "vim" }

// Fit computes the origin, the principal subspace and α.
func (d *ViM) Fit(ctx context.Context, m model.Classifier, in *Inputs) error {
	w32, b32, err := head(m)
	if err != nil {
		return err
	}
	x, n, dim, err := features64(ctx, m, in)
	if err != nil {
		return err
	}
	dp := d.Dim
	if dp < 0 || dp >= dim {
		return fmt.Errorf("ood: vim principal dimension %d, want in [1, %d)", dp, dim)
	}
	if n <= dp || n < 2 {
		return fmt.Errorf("%w: vim with principal dimension %d needs more than %d ID samples, got %d", ErrFeatures, dp, max(dp, 1), n)
	}
	if err := checkVarying("vim", x, n, dim); err != nil {
		return err
	}
	k := m.NumClasses()
	// o = −Wᵀ(WWᵀ)⁻¹b, the minimum-norm point with zero logits.
	w := make([]float64, k*dim)
	for i, v := range w32 {
		w[i] = float64(v)
	}
	g := make([]float64, k*k)
	linalg.Dgemm(false, true, k, k, dim, 1, w, dim, w, dim, 0, g, k)
	rhs := make([]float64, k)
	for i, v := range b32 {
		rhs[i] = float64(v)
	}
	if err := linalg.Dpotrf(k, g, k); err != nil {
		return fmt.Errorf("ood: vim: the last layer's weights are rank deficient: %w", err)
	}
	linalg.Dpotrs(k, 1, g, k, rhs, 1)
	o := make([]float64, dim)
	linalg.Dgemm(true, false, dim, 1, k, -1, w, dim, rhs, 1, 0, o, 1)
	xc := make([]float64, len(x))
	for i := range n {
		for j := range dim {
			xc[i*dim+j] = x[i*dim+j] - o[j]
		}
	}
	cov := make([]float64, dim*dim)
	linalg.Dsyrk(true, dim, n, 1/float64(n), xc, dim, 0, cov, dim)
	lam, p, err := symEig(cov, dim, dim)
	if err != nil {
		return err
	}
	if dp == 0 {
		var tot, cum float64
		for _, v := range lam {
			tot += max(v, 0)
		}
		for dp < dim-1 && cum < 0.9*tot {
			cum += max(lam[dp], 0)
			dp++
		}
	}
	p = p[:dp*dim]
	d.o, d.p, d.dim, d.dp = o, p, dim, dp
	res := d.residuals(xc, n)
	lg, err := in.Logits(ctx, m)
	if err != nil {
		return err
	}
	var ml, mr float64
	for i := range n {
		ml += float64(lg[i*k+metrics.Argmax(lg[i*k:(i+1)*k])])
		mr += res[i]
	}
	if mr == 0 {
		d.p = nil
		return fmt.Errorf("%w: vim: ID features have no residual outside the principal subspace", ErrFeatures)
	}
	d.alpha = ml / mr
	return nil
}

// residuals returns ‖(I − PPᵀ)x_i‖ of the centred rows x_i.
func (d *ViM) residuals(xc []float64, n int) []float64 {
	proj := make([]float64, n*d.dp)
	linalg.Dgemm(false, true, n, d.dp, d.dim, 1, xc, d.dim, d.p, d.dim, 0, proj, d.dp)
	return residualNorms(xc, proj, n, d.dim, d.dp)
}

// residualNorms returns √max(0, ‖x_i‖² − ‖proj_i‖²).
func residualNorms(x, proj []float64, n, dim, q int) []float64 {
	r := make([]float64, n)
	for i := range n {
		var a, b float64
		for _, v := range x[i*dim : (i+1)*dim] {
			a += v * v
		}
		for _, v := range proj[i*q : (i+1)*q] {
			b += v * v
		}
		r[i] = math.Sqrt(max(0, a-b))
	}
	return r
}

// Score writes logsumexp(f(x)) − α·r(z).
func (d *ViM) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	if d.p == nil {
		return fmt.Errorf("%w: vim", ErrNotFitted)
	}
	x, n, err := scoreFeatures(ctx, m, dst, in, d.dim)
	if err != nil {
		return err
	}
	dim := d.dim
	for i := range n {
		for j := range dim {
			x[i*dim+j] -= d.o[j]
		}
	}
	res := d.residuals(x, n)
	lg, err := in.Logits(ctx, m)
	if err != nil {
		return err
	}
	k := m.NumClasses()
	for i := range n {
		dst[i] = logSumExp(lg[i*k:(i+1)*k], 1) - d.alpha*res[i]
	}
	return nil
}
