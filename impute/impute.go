// Package impute fills missing features (NaN) of tabular data: column
// means ([Mean]), k nearest neighbours ([KNN], scikit-learn's KNNImputer
// semantics), supervised kernel imputation ([Supervised],
// methods/kernels.md §9: a kernel matrix learned for the downstream SVM,
// then missing entries whose distances agree with it) and its reduced form
// ([Bandwidth]: only the kernel's bandwidth learned, kernel-weighted
// means). [Run] imputes a data file and scores a downstream model on the
// result (trustml kernel impute).
//
// Matrices hold one sample per row; NaN marks a missing entry.
package impute

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// ErrNoObserved is returned when a column has no observed value.
var ErrNoObserved = errors.New("impute: column has no observed value")

// MCAR returns a copy of X with each entry removed (set to NaN)
// independently with probability rate (missing completely at random),
// drawing from src.
func MCAR(X *mat.Dense, rate float64, src rand.Source) (*mat.Dense, error) {
	if !(rate >= 0 && rate < 1) {
		return nil, fmt.Errorf("impute: missing rate %g outside [0, 1)", rate)
	}
	rng := rand.New(src)
	out := mat.DenseCopyOf(X)
	n, d := out.Dims()
	for i := range n {
		for j := range d {
			if rng.Float64() < rate {
				out.Set(i, j, math.NaN())
			}
		}
	}
	return out, nil
}

// columnMeans returns the mean of the observed values of each column.
func columnMeans(X *mat.Dense) ([]float64, error) {
	n, d := X.Dims()
	means := make([]float64, d)
	for j := range d {
		var s float64
		var c int
		for i := range n {
			if v := X.At(i, j); !math.IsNaN(v) {
				s += v
				c++
			}
		}
		if c == 0 {
			return nil, fmt.Errorf("column %d: %w", j, ErrNoObserved)
		}
		means[j] = s / float64(c)
	}
	return means, nil
}

// Mean returns a copy of X with every missing entry replaced by the mean
// of the observed values of its column.
func Mean(X *mat.Dense) (*mat.Dense, error) {
	means, err := columnMeans(X)
	if err != nil {
		return nil, err
	}
	out := mat.DenseCopyOf(X)
	n, d := out.Dims()
	for i := range n {
		for j := range d {
			if math.IsNaN(out.At(i, j)) {
				out.Set(i, j, means[j])
			}
		}
	}
	return out, nil
}

// nanSqDist is scikit-learn's squared nan_euclidean distance: the squared
// distance over the coordinates observed in both rows, scaled by
// d / (number of such coordinates); NaN when none is.
func nanSqDist(x, z []float64) float64 {
	var s float64
	var c int
	for j := range x {
		if math.IsNaN(x[j]) || math.IsNaN(z[j]) {
			continue
		}
		t := x[j] - z[j]
		s += t * t
		c++
	}
	if c == 0 {
		return math.NaN()
	}
	return s * float64(len(x)) / float64(c)
}

// nanDistances returns the n×n matrix of [nanSqDist] between rows.
func nanDistances(X *mat.Dense) *mat.Dense {
	n, _ := X.Dims()
	D := mat.NewDense(n, n, nil)
	for i := range n {
		for k := i + 1; k < n; k++ {
			v := nanSqDist(X.RawRowView(i), X.RawRowView(k))
			D.Set(i, k, v)
			D.Set(k, i, v)
		}
	}
	return D
}

// KNN returns a copy of X with each missing entry (i, j) replaced by the
// mean of column j over the k rows nearest to row i among those with j
// observed, by nan-Euclidean distance, as scikit-learn's
// KNNImputer(n_neighbors=k) does with uniform weights; with no such row at
// a finite distance, the column mean.
func KNN(X *mat.Dense, k int) (*mat.Dense, error) {
	if k < 1 {
		return nil, fmt.Errorf("impute: k = %d, want at least 1", k)
	}
	means, err := columnMeans(X)
	if err != nil {
		return nil, err
	}
	D := nanDistances(X)
	out := mat.DenseCopyOf(X)
	n, d := X.Dims()
	type cand struct {
		dist float64
		idx  int
	}
	var cands []cand
	for i := range n {
		for j := range d {
			if !math.IsNaN(X.At(i, j)) {
				continue
			}
			cands = cands[:0]
			for r := range n {
				if r == i || math.IsNaN(X.At(r, j)) || math.IsNaN(D.At(i, r)) {
					continue
				}
				cands = append(cands, cand{D.At(i, r), r})
			}
			if len(cands) == 0 {
				out.Set(i, j, means[j])
				continue
			}
			sort.SliceStable(cands, func(a, b int) bool { return cands[a].dist < cands[b].dist })
			m := min(k, len(cands))
			var s float64
			for _, c := range cands[:m] {
				s += X.At(c.idx, j)
			}
			out.Set(i, j, s/float64(m))
		}
	}
	return out, nil
}

// BandwidthConfig configures [Bandwidth].
type BandwidthConfig struct {
	// Gammas are the candidate γ of the observed-coordinate Gaussian
	// kernel exp(−γ·d²_nan) with d²_nan the nan-Euclidean squared distance
	// divided by the number of features (default 1/2, 1, 2, 4, 8, 16).
	Gammas []float64
	// Reg is the downstream model's regularization: LS-SVM γ for
	// classification, KRR λ (scaled by n) for regression (default 1 and 1e-2).
	Reg float64
	// Folds is the number of cross-validation folds (default 3).
	Folds int
	// Seed seeds the fold assignment.
	Seed uint64
}

// DefaultBandwidthConfig returns the defaults of [BandwidthConfig] for
// classification.
func DefaultBandwidthConfig() BandwidthConfig {
	return BandwidthConfig{Gammas: []float64{0.5, 1, 2, 4, 8, 16}, Reg: 1, Folds: 3, Seed: 1}
}

// BandwidthResult is the output of [Bandwidth].
type BandwidthResult struct {
	// X is the imputed matrix.
	X *mat.Dense
	// Gamma is the kernel parameter chosen for the downstream task.
	Gamma float64
	// CVScore is its cross-validated accuracy (classification) or R².
	CVScore float64
}

// Labels are the downstream task's labels of the first rows of X: Class
// for classification or Target for regression (exactly one non-nil).
type Labels struct {
	Class  []int
	Target []float64
}

func (l Labels) n() int { return max(len(l.Class), len(l.Target)) }

// Bandwidth imputes X in two stages (a reduced form of methods/kernels.md
// §9; [Supervised] is the full one). Stage 1 learns the kernel for the downstream task: the
// observed-coordinate Gaussian kernel K_ik = exp(−γ·d²_nan(x_i, x_k)/d)
// is computed on the rows with missing entries left missing, and γ is
// chosen among cfg.Gammas by K-fold cross-validation of the downstream
// model (LS-SVM classifier or KRR) fitted on K directly over the labeled
// first rows of X. Stage 2 imputes with the learned kernel: x_ij is the
// K-weighted mean of column j over the other rows where j is observed
// (kernel regression to the learned similarity), the column mean where
// those weights vanish. The paper's stage 1 learns a full matrix K by
// alternating Adam steps on the SVM dual and its stage 2 fits distances to
// K; [Supervised] does both.
func Bandwidth(ctx context.Context, X *mat.Dense, y Labels, cfg BandwidthConfig) (*BandwidthResult, error) {
	def := DefaultBandwidthConfig()
	if len(cfg.Gammas) == 0 {
		cfg.Gammas = def.Gammas
	}
	if cfg.Folds == 0 {
		cfg.Folds = def.Folds
	}
	if cfg.Reg == 0 {
		cfg.Reg = def.Reg
		if y.Target != nil {
			cfg.Reg = 1e-2
		}
	}
	n, d := X.Dims()
	if (y.Class == nil) == (y.Target == nil) {
		return nil, errors.New("impute: give exactly one of Labels.Class and Labels.Target")
	}
	nl := y.n()
	if nl < cfg.Folds || nl > n {
		return nil, fmt.Errorf("impute: %d labels for %d rows and %d folds", nl, n, cfg.Folds)
	}
	if cfg.Folds < 2 {
		return nil, fmt.Errorf("impute: %d folds, want at least 2", cfg.Folds)
	}
	means, err := columnMeans(X)
	if err != nil {
		return nil, err
	}
	D := nanDistances(X)
	// Rows with no observed coordinate in common are treated as the
	// farthest pair seen.
	var dmax float64
	for _, v := range D.RawMatrix().Data {
		if !math.IsNaN(v) {
			dmax = max(dmax, v)
		}
	}
	fold := rand.New(rand.NewPCG(cfg.Seed, 0x1b)).Perm(nl)
	best := &BandwidthResult{Gamma: math.NaN(), CVScore: math.Inf(-1)}
	var bestK *mat.Dense
	for _, g := range cfg.Gammas {
		if !(g > 0) {
			return nil, fmt.Errorf("impute: kernel γ %g, want > 0", g)
		}
		K := mat.NewDense(n, n, nil)
		for i := range n {
			for k := range n {
				v := D.At(i, k)
				if math.IsNaN(v) {
					v = dmax
				}
				K.Set(i, k, math.Exp(-g*v/float64(d)))
			}
		}
		score, err := cvScore(ctx, K, y, fold, cfg)
		if err != nil {
			return nil, fmt.Errorf("impute: γ %g: %w", g, err)
		}
		if score > best.CVScore {
			best.Gamma, best.CVScore, bestK = g, score, K
		}
	}
	if bestK == nil {
		return nil, fmt.Errorf("impute: no kernel γ in %v gave a finite cross-validated score (constant labels in a fold?)", cfg.Gammas)
	}
	out := mat.DenseCopyOf(X)
	for i := range n {
		for j := range d {
			if !math.IsNaN(X.At(i, j)) {
				continue
			}
			var s, w float64
			for r := range n {
				if r == i || math.IsNaN(X.At(r, j)) {
					continue
				}
				kv := bestK.At(i, r)
				s += kv * X.At(r, j)
				w += kv
			}
			if w > 1e-300 {
				out.Set(i, j, s/w)
			} else {
				out.Set(i, j, means[j])
			}
		}
	}
	best.X = out
	return best, nil
}

// cvScore is the mean held-out accuracy or R² of the downstream model on
// the Gram matrix K over the labeled rows; perm assigns rows to folds.
func cvScore(ctx context.Context, K *mat.Dense, y Labels, perm []int, cfg BandwidthConfig) (float64, error) {
	var total float64
	for f := range cfg.Folds {
		var tr, te []int
		for p, i := range perm {
			if p%cfg.Folds == f {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		Ktr, Kte := sub(K, tr, tr), sub(K, te, tr)
		if y.Class != nil {
			ytr, yte := pick(y.Class, tr), pick(y.Class, te)
			m := &kernel.LSSVMClassifier{Gamma: cfg.Reg}
			if err := m.FitGram(ctx, Ktr, ytr); err != nil {
				return 0, err
			}
			p, err := m.PredictGram(Kte)
			if err != nil {
				return 0, err
			}
			total += kernel.Accuracy(yte, p)
		} else {
			ytr, yte := pick(y.Target, tr), pick(y.Target, te)
			m := &kernel.KRR{Lambda: cfg.Reg, ScaleByN: true}
			if err := m.FitGram(ctx, Ktr, ytr); err != nil {
				return 0, err
			}
			p, err := m.PredictGram(Kte)
			if err != nil {
				return 0, err
			}
			total += kernel.R2(yte, p)
		}
	}
	return total / float64(cfg.Folds), nil
}

func sub(K *mat.Dense, rows, cols []int) *mat.Dense {
	out := mat.NewDense(len(rows), len(cols), nil)
	for a, i := range rows {
		for b, j := range cols {
			out.Set(a, b, K.At(i, j))
		}
	}
	return out
}

func pick[T any](v []T, idx []int) []T {
	out := make([]T, len(idx))
	for a, i := range idx {
		out[a] = v[i]
	}
	return out
}

// RMSE is the root mean squared error of filled against truth over the
// entries missing in masked (NaN there); NaN when none is.
func RMSE(filled, truth, masked *mat.Dense) float64 {
	n, d := masked.Dims()
	var s float64
	var c int
	for i := range n {
		for j := range d {
			if math.IsNaN(masked.At(i, j)) {
				t := filled.At(i, j) - truth.At(i, j)
				s += t * t
				c++
			}
		}
	}
	if c == 0 {
		return math.NaN()
	}
	return math.Sqrt(s / float64(c))
}
