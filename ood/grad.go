package ood

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

func init() {
	Register("gradknn", func(c Config) Detector {
		return &GradKNN{K: c.K, Subspace: c.GradSubspace, Components: c.GradDim, Fuse: c.GradFuse, Seed: c.Seed}
	})
}

// GradKNN is the low-dimensional gradient detector of training.md §16: the
// per-sample gradient z(x) = ∇_θ logsumexp(f(x)) over all parameters is
// normalized element-wise with the ID mean Z and Scale = 1/std (NFK;
// zero-variance parameters get the largest finite scale), projected onto a
// low-dimensional subspace of the normalized ID gradients ẑ, and the
// projected gradient features are scored by KNN with L2 normalization.
//
// Subspace "pca" (the default; the official code's CIFAR variant) is the
// top-Components principal subspace of the ẑ of the ID fitting inputs,
// found by randomized subspace iteration in float64 (Iters passes over the
// ID gradients, seeded by Seed, plus a Rayleigh–Ritz step; the gradients
// are recomputed per pass, never stored as an n×D matrix). Subspace
// "class" (the ImageNet variant) uses the C unit-length class means of ẑ
// (not orthogonalized).
//
// With Fuse = a ≠ 0 the score is combined with the forward-feature base
// score as the reference code's coefficient of combination does:
// s(x) = s_grad(x) + a·s_feat(x), with s_feat the KNN score (same K) of
// the L2-normalized penultimate features.
//
// The model must be a [model.ParamGrader]; it costs one backward pass per
// input and pass (batch size 1, as per-sample gradients require).
type GradKNN struct {
	K          int     // KNN neighbour, 0 means 10
	Subspace   string  // "pca" (default) or "class"
	Components int     // PCA dimension, 0 means 32 (capped at the ID samples)
	Iters      int     // subspace iterations, 0 means 3
	Fuse       float64 // weight a of the forward-feature KNN score, 0 = none
	Seed       uint64  // seed of the random start of the subspace iteration

	z, scale []float64 // D
	v        []float64 // C×D basis, rows unit length
	c, d     int
	knn      KNN
	feat     *KNN
}

// Name returns "gradknn".
func (*GradKNN) Name() string { return "gradknn" }

// energyLoss is the loss s(x) = Σ logsumexp(f(x)) with gradient softmax.
func energyLoss(logits, dl []float32, n, k int) float64 {
	var s float64
	for i := range n {
		row := logits[i*k : (i+1)*k]
		l := logSumExp(row, 1)
		s += l
		for c, v := range row {
			dl[i*k+c] = float32(math.Exp(float64(v) - l))
		}
	}
	return s
}

// grads calls f with the per-sample gradient of each input.
func perSampleGrads(ctx context.Context, pg model.ParamGrader, x []float32, f func(i int, g []float32)) error {
	s := model.InputSize(pg)
	n, err := model.CheckBatch(pg, nil, x, 0)
	if err != nil {
		return err
	}
	g := make([]float32, pg.NumParams())
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := pg.ParamGrad(ctx, g, x[i*s:(i+1)*s], energyLoss); err != nil {
			return fmt.Errorf("ood: gradient of input %d: %w", i, err)
		}
		if err := checkFinite("parameter gradient", g, len(g)); err != nil {
			return err
		}
		f(i, g)
	}
	return nil
}

func paramGrader(m model.Classifier) (model.ParamGrader, error) {
	pg, ok := m.(model.ParamGrader)
	if !ok {
		return nil, fmt.Errorf("ood: gradknn needs parameter gradients, the model (%T) is not a model.ParamGrader", m)
	}
	return pg, nil
}

// Fit computes the normalization, the class-average basis and the KNN
// index of the ID gradient features. Labels come from Inputs.Y when set,
// else from the model's predictions.
func (d *GradKNN) Fit(ctx context.Context, m model.Classifier, in *Inputs) error {
	pg, err := paramGrader(m)
	if err != nil {
		return err
	}
	k := d.K
	if k == 0 {
		k = 10
	}
	n := in.N(m)
	if n < max(k, 2) {
		return fmt.Errorf("%w: gradknn with K = %d needs at least %d ID samples, got %d", ErrFeatures, k, max(k, 2), n)
	}
	c, dim := m.NumClasses(), pg.NumParams()
	y := in.Y
	if y == nil {
		lg, err := in.Logits(ctx, m)
		if err != nil {
			return err
		}
		y = make([]int, n)
		for i := range y {
			y[i] = metrics.Argmax(lg[i*c : (i+1)*c])
		}
	} else if len(y) != n {
		return fmt.Errorf("%w: %d labels for %d inputs", model.ErrShape, len(y), n)
	}
	sum := make([]float64, dim)
	sq := make([]float64, dim)
	csum := make([]float64, c*dim)
	cnt := make([]int, c)
	// Keep the raw gradients for the later passes when they fit in memory.
	var cache []float32
	if n*dim <= gradCacheLimit {
		cache = make([]float32, n*dim)
	}
	err = perSampleGrads(ctx, pg, in.X, func(i int, g []float32) {
		if cache != nil {
			copy(cache[i*dim:(i+1)*dim], g)
		}
		yc := y[i]
		if yc < 0 || yc >= c {
			return
		}
		cnt[yc]++
		row := csum[yc*dim : (yc+1)*dim]
		for j, v := range g {
			f := float64(v)
			sum[j] += f
			sq[j] += f * f
			row[j] += f
		}
	})
	if err != nil {
		return err
	}
	d.z = make([]float64, dim)
	d.scale = make([]float64, dim)
	maxScale := 0.0
	for j := range dim {
		mu := sum[j] / float64(n)
		d.z[j] = mu
		v := sq[j]/float64(n) - mu*mu
		if v > 0 {
			d.scale[j] = 1 / math.Sqrt(v)
			maxScale = max(maxScale, d.scale[j])
		}
	}
	if maxScale == 0 {
		return fmt.Errorf("%w: gradknn: every parameter gradient is constant over the ID samples", ErrFeatures)
	}
	for j := range dim {
		if d.scale[j] == 0 {
			d.scale[j] = maxScale
		}
	}
	fitGrads := func(f func(i int, g []float32)) error {
		if cache == nil {
			return perSampleGrads(ctx, pg, in.X, f)
		}
		for i := range n {
			f(i, cache[i*dim:(i+1)*dim])
		}
		return nil
	}
	switch d.Subspace {
	case "", "pca":
		comps, iters := d.Components, d.Iters
		if comps == 0 {
			comps = 32
		}
		if iters == 0 {
			iters = 3
		}
		if comps < 0 || iters < 0 {
			return fmt.Errorf("ood: gradknn: %d components, %d iterations: want ≥ 0", d.Components, d.Iters)
		}
		comps = min(comps, n, dim)
		const block = 32
		zb := make([]float64, block*dim)
		pass := func(fn func([]float64, int)) error {
			rows := 0
			err := fitGrads(func(_ int, g []float32) {
				zh := zb[rows*dim : (rows+1)*dim]
				for j, v := range g {
					zh[j] = d.scale[j] * (float64(v) - d.z[j])
				}
				if rows++; rows == block {
					fn(zb, rows)
					rows = 0
				}
			})
			if err == nil && rows > 0 {
				fn(zb[:rows*dim], rows)
			}
			return err
		}
		if d.v, _, err = principalSubspace(ctx, dim, comps, iters, rand.New(rand.NewPCG(d.Seed, 0x67726164)), pass); err != nil {
			return err
		}
	case "class":
		d.v = d.classBasis(c, dim, csum, cnt)
	default:
		return fmt.Errorf("ood: gradknn subspace %q: want pca or class", d.Subspace)
	}
	d.c, d.d = len(d.v)/dim, dim
	e, err := d.embed(n, fitGrads)
	if err != nil {
		return err
	}
	d.knn = KNN{K: k}
	if err := d.knn.Fit(ctx, featOnly{d.c}, NewFeatureInputs(nil, e, nil)); err != nil {
		return err
	}
	d.feat = nil
	if d.Fuse != 0 {
		d.feat = &KNN{K: k}
		if err := d.feat.Fit(ctx, m, in); err != nil {
			return fmt.Errorf("ood: gradknn fusion: %w", err)
		}
	}
	return nil
}

// classBasis returns the unit-length class means of ẑ = Scale ⊙ (mean_c z
// − Z), one row per class with samples.
func (d *GradKNN) classBasis(c, dim int, csum []float64, cnt []int) []float64 {
	var v []float64
	for cl := range c {
		if cnt[cl] == 0 {
			continue
		}
		row := make([]float64, dim)
		var nrm float64
		for j := range dim {
			row[j] = d.scale[j] * (csum[cl*dim+j]/float64(cnt[cl]) - d.z[j])
			nrm += row[j] * row[j]
		}
		nrm = math.Sqrt(nrm) + kernelEps
		for j := range row {
			row[j] /= nrm
		}
		v = append(v, row...)
	}
	return v
}

// gradCacheLimit is the most gradient values (n·D) Fit keeps in memory
// (float32, 256 MiB) instead of recomputing them per pass.
const gradCacheLimit = 1 << 26

// embed returns the n×C gradient features of the n gradients grads calls
// its function with.
func (d *GradKNN) embed(n int, grads func(func(i int, g []float32)) error) ([]float32, error) {
	out := make([]float32, n*d.c)
	zh := make([]float64, d.d)
	err := grads(func(i int, g []float32) {
		for j, v := range g {
			zh[j] = d.scale[j] * (float64(v) - d.z[j])
		}
		for cl := range d.c {
			var s float64
			for j, v := range d.v[cl*d.d : (cl+1)*d.d] {
				s += v * zh[j]
			}
			out[i*d.c+cl] = float32(s)
		}
	})
	return out, err
}

// Score writes the KNN scores of the gradient features.
func (d *GradKNN) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	if d.v == nil {
		return fmt.Errorf("%w: gradknn", ErrNotFitted)
	}
	pg, err := paramGrader(m)
	if err != nil {
		return err
	}
	if pg.NumParams() != d.d {
		return fmt.Errorf("%w: model has %d parameters, fitted on %d", model.ErrShape, pg.NumParams(), d.d)
	}
	if in.X == nil {
		return fmt.Errorf("ood: gradknn needs the inputs themselves, not only features")
	}
	n, err := model.CheckBatch(m, nil, in.X, 0)
	if err != nil {
		return err
	}
	if err := checkDst(dst, n); err != nil {
		return err
	}
	e, err := d.embed(n, func(f func(int, []float32)) error { return perSampleGrads(ctx, pg, in.X, f) })
	if err != nil {
		return err
	}
	if err := d.knn.Score(ctx, featOnly{d.c}, dst, NewFeatureInputs(nil, e, nil)); err != nil {
		return err
	}
	if d.feat != nil {
		fs := make([]float64, n)
		if err := d.feat.Score(ctx, m, fs, in); err != nil {
			return fmt.Errorf("ood: gradknn fusion: %w", err)
		}
		for i, v := range fs {
			dst[i] += d.Fuse * v
		}
	}
	return nil
}

// featOnly is a stand-in model for detectors run on precomputed features
// of width d.
type featOnly struct{ d int }

func (f featOnly) InputShape() []int { return []int{f.d} }
func (featOnly) NumClasses() int     { return 1 }
func (featOnly) Logits(context.Context, []float32, []float32) error {
	return fmt.Errorf("ood: no logits for precomputed features")
}
func (f featOnly) FeatureDim() int { return f.d }
func (featOnly) Features(context.Context, []float32, []float32) error {
	return fmt.Errorf("ood: features are precomputed")
}
