package ood

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// Set is a named batch of inputs.
type Set struct {
	Name string
	// Why says in one line why the set is out of distribution.
	Why string
	X   []float32
}

// FarOoDSets builds far-OoD image sets of n images (n ≤ 1797 for digits,
// ≤ len(fashion) for inverted) shaped 1×28×28 in [0, 1], from data that
// ship with trustml, for a model trained on Fashion-MNIST:
//
//   - "digits": scikit-learn's 8×8 handwritten digits (data.Tabular
//     "digits", values 0..16) scaled to [0, 1] and bilinearly upsampled to
//     28×28 — handwritten strokes, a semantic and low-level shift (blurry
//     8×8 sources) from photographed clothing.
//   - "gaussian": i.i.d. N(0.5, 0.25²) pixels clipped to [0, 1] — no
//     object at all, dense high-frequency texture never seen in training.
//   - "uniform": i.i.d. U[0, 1] pixels — as above, with a flat histogram.
//   - "inverted": Fashion-MNIST test images x ↦ 1 − x — the same shapes
//     with a white background, a covariate shift that breaks the black
//     background every training image has.
//
// fashion are ID images (for "inverted"; pass the ID test set) and rng seeds
// the noise and the digit subset.
func FarOoDSets(fashion *data.Dataset, n int, rng *rand.Rand) ([]Set, error) {
	const side = 28
	if fmt.Sprint(fashion.Shape) != "[1 28 28]" {
		return nil, fmt.Errorf("ood: far-OoD sets need 1×28×28 ID images, got shape %v", fashion.Shape)
	}
	if n < 1 || n > fashion.Len() {
		return nil, fmt.Errorf("ood: %d OoD images requested, the ID set has %d", n, fashion.Len())
	}
	dig, err := data.Tabular("digits")
	if err != nil {
		return nil, err
	}
	if n > dig.Len() {
		return nil, fmt.Errorf("ood: %d OoD images requested, digits has %d", n, dig.Len())
	}
	px := side * side
	perm := rng.Perm(dig.Len())[:n]
	digits := make([]float32, n*px)
	for i, j := range perm {
		upsample(digits[i*px:(i+1)*px], dig.Row(j), 8, side)
	}
	gauss := make([]float32, n*px)
	for i := range gauss {
		gauss[i] = float32(min(1, max(0, 0.5+0.25*rng.NormFloat64())))
	}
	unif := make([]float32, n*px)
	for i := range unif {
		unif[i] = float32(rng.Float64())
	}
	inv := make([]float32, n*px)
	for i, v := range fashion.X[:n*px] {
		inv[i] = 1 - v
	}
	return []Set{
		{"digits", "sklearn 8×8 handwritten digits upsampled to 28×28: strokes, not clothing", digits},
		{"gaussian", "N(0.5, 0.25²) pixel noise: no object", gauss},
		{"uniform", "U[0, 1] pixel noise: no object", unif},
		{"inverted", "Fashion test images inverted (1 − x): white background never seen", inv},
	}, nil
}

// upsample bilinearly resizes a src×src image with values 0..16 to
// dst×dst in [0, 1] (pixel centres aligned, edges clamped).
func upsample(dst []float32, img []float32, src, side int) {
	scale := float64(src) / float64(side)
	for y := range side {
		fy := (float64(y)+0.5)*scale - 0.5
		for x := range side {
			fx := (float64(x)+0.5)*scale - 0.5
			dst[y*side+x] = float32(bilinear(img, src, fx, fy) / 16)
		}
	}
}

func bilinear(img []float32, n int, fx, fy float64) float64 {
	clamp := func(v int) int { return min(n-1, max(0, v)) }
	x0, y0 := int(floor(fx)), int(floor(fy))
	ax, ay := fx-floor(fx), fy-floor(fy)
	at := func(x, y int) float64 { return float64(img[clamp(y)*n+clamp(x)]) }
	return (1-ay)*((1-ax)*at(x0, y0)+ax*at(x0+1, y0)) + ay*((1-ax)*at(x0, y0+1)+ax*at(x0+1, y0+1))
}

func floor(v float64) float64 {
	f := float64(int(v))
	if f > v {
		f--
	}
	return f
}

// Metrics are the OoD detection numbers of one detector on one OoD set
// (package metrics computes them).
type Metrics = metrics.OoD

// Result is one detector × OoD set row of a benchmark.
type Result struct {
	Detector string `json:"detector"`
	OoD      string `json:"ood"`
	Metrics
	// ROC is the ROC curve with ID positive (omitted from JSON).
	ROC *metrics.ROC `json:"-"`
}

// Benchmark fits each detector on the ID training inputs, scores the ID test
// inputs and every OoD set, and returns one [Result] per detector × set in
// that order. A detector that fails to fit or score aborts the benchmark
// with an error naming it. It is [BenchmarkScores] followed by
// [ResultsFromScores].
func Benchmark(ctx context.Context, m model.Classifier, dets []Detector, train, test *Inputs, sets []Set) ([]Result, error) {
	sc, err := BenchmarkScores(ctx, m, dets, train, test, sets)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(sets))
	for i, s := range sets {
		names[i] = s.Name
	}
	return ResultsFromScores(sc, names)
}

// Scores are one detector's per-sample scores of a benchmark: ID[i] is the
// score of ID test sample i and OoD[j][i] that of sample i of OoD set j.
// Scores of disjoint shards of the samples can be concatenated and passed
// to [ResultsFromScores]: the metrics depend on the scores only.
type Scores struct {
	Detector string      `json:"detector"`
	ID       []float64   `json:"id"`
	OoD      [][]float64 `json:"ood"`
}

// BenchmarkScores fits each detector on the ID training inputs and returns
// its scores of the ID test inputs and of every OoD set, one [Scores] per
// detector in order.
func BenchmarkScores(ctx context.Context, m model.Classifier, dets []Detector, train, test *Inputs, sets []Set) ([]Scores, error) {
	oods := make([]*Inputs, len(sets))
	names := make([]string, len(sets))
	for i, s := range sets {
		oods[i], names[i] = NewInputs(s.X, nil), s.Name
	}
	return benchmarkInputs(ctx, m, dets, train, test, oods, names)
}

// benchmarkInputs is [BenchmarkScores] of the OoD inputs oods named names.
func benchmarkInputs(ctx context.Context, m model.Classifier, dets []Detector, train, test *Inputs, oods []*Inputs, names []string) ([]Scores, error) {
	out := make([]Scores, 0, len(dets))
	for _, d := range dets {
		if err := d.Fit(ctx, m, train); err != nil {
			return nil, fmt.Errorf("ood: fit %s: %w", d.Name(), err)
		}
		sc := Scores{Detector: d.Name(), ID: make([]float64, test.N(m)), OoD: make([][]float64, len(oods))}
		if err := d.Score(ctx, m, sc.ID, test); err != nil {
			return nil, fmt.Errorf("ood: score %s on ID: %w", d.Name(), err)
		}
		for i, in := range oods {
			sc.OoD[i] = make([]float64, in.N(m))
			if err := d.Score(ctx, m, sc.OoD[i], in); err != nil {
				return nil, fmt.Errorf("ood: score %s on %s: %w", d.Name(), names[i], err)
			}
		}
		out = append(out, sc)
	}
	return out, nil
}

// ResultsFromScores computes the metrics and ROC curve of every detector ×
// OoD set (named by sets, in the order of Scores.OoD), in that order.
func ResultsFromScores(scores []Scores, sets []string) ([]Result, error) {
	var out []Result
	for _, sc := range scores {
		if len(sc.OoD) != len(sets) {
			return nil, fmt.Errorf("ood: %s has scores of %d OoD sets, want %d", sc.Detector, len(sc.OoD), len(sets))
		}
		for i, name := range sets {
			met, err := metrics.EvaluateOoD(sc.ID, sc.OoD[i])
			if err != nil {
				return nil, fmt.Errorf("ood: %s on %s: %w", sc.Detector, name, err)
			}
			roc, _ := metrics.NewROC(sc.ID, sc.OoD[i], metrics.InPositive)
			out = append(out, Result{Detector: sc.Detector, OoD: name, Metrics: met, ROC: roc})
		}
	}
	return out, nil
}

// PermutedSet returns n OoD images made by permuting the pixels of each of
// the first n images of x (size values each) with its own random
// permutation: the ID intensity histogram with the spatial structure
// destroyed. It is meant as a validation OoD set for choosing
// hyperparameters, kept apart from the test OoD sets of [FarOoDSets].
func PermutedSet(x []float32, size, n int, rng *rand.Rand) (Set, error) {
	if size < 1 || n < 1 || n*size > len(x) {
		return Set{}, fmt.Errorf("ood: %d permuted images of %d values from %d values", n, size, len(x))
	}
	out := make([]float32, n*size)
	for i := range n {
		p := rng.Perm(size)
		for j, k := range p {
			out[i*size+j] = x[i*size+k]
		}
	}
	return Set{Name: "permuted", Why: "ID images with their pixels randomly permuted: no spatial structure", X: out}, nil
}

// Select fits each candidate detector on train and returns the index of
// the one with the highest AUROC of valID against valOoD, with that AUROC
// (the first wins ties). Use it with an ID validation split and a
// validation OoD set that are not the test sets.
func Select(ctx context.Context, m model.Classifier, cands []Detector, train, valID, valOoD *Inputs) (int, float64, error) {
	best, bestAUC := -1, -1.0
	for i, d := range cands {
		if err := d.Fit(ctx, m, train); err != nil {
			return 0, 0, fmt.Errorf("ood: select: fit candidate %d (%s): %w", i, d.Name(), err)
		}
		id := make([]float64, valID.N(m))
		od := make([]float64, valOoD.N(m))
		if err := d.Score(ctx, m, id, valID); err != nil {
			return 0, 0, err
		}
		if err := d.Score(ctx, m, od, valOoD); err != nil {
			return 0, 0, err
		}
		a, err := metrics.AUROC(id, od, metrics.InPositive)
		if err != nil {
			return 0, 0, err
		}
		if a > bestAUC {
			best, bestAUC = i, a
		}
	}
	if best < 0 {
		return 0, 0, fmt.Errorf("ood: select: no candidates")
	}
	return best, bestAUC, nil
}
