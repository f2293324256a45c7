package repro

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
)

// This file holds what the kernel reproductions (AsK-LS, LAB RBF, AsK-RFF,
// GORF) share: data preparation, splits and model selection. Unexported
// names carry the prefix kern so that other papers' files of the package
// cannot collide with them.

// kernStandIn is one of our data sets with the paper's data set it stands
// in for.
type kernStandIn struct{ Paper, Ours string }

// kernSets pairs the names a caller chose with the paper's data sets they
// stand in for (by our name in defaults; other names get fallback).
func kernSets(names []string, defaults []kernStandIn, fallback string) []kernStandIn {
	if len(names) == 0 {
		return defaults
	}
	out := make([]kernStandIn, len(names))
	for i, n := range names {
		out[i] = kernStandIn{Paper: fallback, Ours: n}
		for _, d := range defaults {
			if d.Ours == n {
				out[i].Paper = d.Paper
			}
		}
	}
	return out
}

// kernDiffers says which data set stands in for the paper's.
func kernDiffers(s kernStandIn) string {
	return fmt.Sprintf("data: %s stands in for %s", s.Ours, s.Paper)
}

// kernCheckReps checks the repetition count shared by the kernel configs.
func kernCheckReps(reps int) error {
	if reps < 1 {
		return fmt.Errorf("repro: repetitions must be at least 1, got %d", reps)
	}
	return nil
}

// kernEachSet runs fn for each data set. A set whose run fails is recorded
// in t.Failed and the others still run, so that the rows already computed
// are kept; a cancelled ctx stops the loop with its error.
func kernEachSet(ctx context.Context, t *Table, sets []kernStandIn, fn func(s kernStandIn) error) error {
	start := time.Now()
	defer func() { t.Seconds = time.Since(start).Seconds() }()
	for _, s := range sets {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(s); err != nil {
			if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				return err
			}
			t.Failed = append(t.Failed, fmt.Sprintf("%s: %v", s.Ours, err))
		}
	}
	return nil
}

// kernLoad opens a data set by name (an embedded tabular set such as
// "boston", or a file; see data.Open).
func kernLoad(name string) (*data.Dataset, error) {
	return data.Open(name, data.Train, "")
}

// kernPrepared holds standardized float64 train/test data.
type kernPrepared struct {
	Xtr, Xte *mat.Dense
	ytr, yte []int
	ttr, tte []float64
}

// kernPrepare splits d (stratified, when testFrac > 0, with the seed) and
// standardizes both parts with the training part's statistics.
func kernPrepare(d *data.Dataset, testFrac float64, seed uint64) (*kernPrepared, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if len(d.Shape) != 1 {
		return nil, fmt.Errorf("data set %s has samples of shape %v; kernel methods need tabular data (one feature vector per row)", d.Name, d.Shape)
	}
	if !d.IsLabeled() && !d.IsRegression() {
		return nil, fmt.Errorf("data set %s has no labels or targets", d.Name)
	}
	tr, te := d, (*data.Dataset)(nil)
	if testFrac > 0 {
		var err error
		if tr, te, err = data.StratifiedSplit(d, testFrac, seed); err != nil {
			return nil, err
		}
	}
	st, err := data.FitStandardizer(tr)
	if err != nil {
		return nil, err
	}
	standardized := func(d *data.Dataset) *mat.Dense {
		X := d.Float64()
		r, _ := X.Dims()
		for i := 0; i < r; i++ {
			row := X.RawRowView(i)
			for j := range row {
				row[j] = (row[j] - st.Mean[j]) / st.Std[j]
			}
		}
		return X
	}
	p := &kernPrepared{Xtr: standardized(tr), ytr: tr.Y, ttr: tr.Target}
	if te != nil {
		p.Xte, p.yte, p.tte = standardized(te), te.Y, te.Target
	}
	return p, nil
}

// kernMedianSqDist is the median squared distance over up to 400 random
// pairs of rows of X.
func kernMedianSqDist(X *mat.Dense, rng *rand.Rand) float64 {
	n, _ := X.Dims()
	var d []float64
	for t := 0; t < 400; t++ {
		i, j := rng.IntN(n), rng.IntN(n)
		if i == j {
			continue
		}
		var s float64
		for k, v := range X.RawRowView(i) {
			u := v - X.At(j, k)
			s += u * u
		}
		d = append(d, s)
	}
	sort.Float64s(d)
	if len(d) == 0 {
		return 1
	}
	return d[len(d)/2]
}

// kernRows returns the rows idx of X.
func kernRows(X *mat.Dense, idx []int) *mat.Dense {
	_, c := X.Dims()
	out := mat.NewDense(len(idx), c, nil)
	for i, r := range idx {
		out.SetRow(i, X.RawRowView(r))
	}
	return out
}

// kernPick returns y[idx].
func kernPick[T any](y []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, r := range idx {
		out[i] = y[r]
	}
	return out
}

// kernCVSelect returns the index of the parameter combination (of ncombo)
// with the best mean validation accuracy over stratified folds of (X, y).
func kernCVSelect(ctx context.Context, X *mat.Dense, y []int, folds int, rng *rand.Rand, ncombo int,
	eval func(c int, Xa *mat.Dense, ya []int, Xb *mat.Dense, yb []int) (float64, error)) (int, error) {
	fs, err := kernel.StratifiedKFold(y, folds, rng)
	if err != nil {
		return 0, err
	}
	n := len(y)
	best, bestScore := 0, math.Inf(-1)
	for c := 0; c < ncombo; c++ {
		var s float64
		for _, test := range fs {
			in := make([]bool, n)
			for _, i := range test {
				in[i] = true
			}
			var train []int
			for i := 0; i < n; i++ {
				if !in[i] {
					train = append(train, i)
				}
			}
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			acc, err := eval(c, kernRows(X, train), kernPick(y, train), kernRows(X, test), kernPick(y, test))
			if err != nil {
				return 0, err
			}
			s += acc / float64(len(fs))
		}
		if s > bestScore {
			best, bestScore = c, s
		}
	}
	return best, nil
}

// kernRelFrob is ‖K − A‖_F / ‖K‖_F.
func kernRelFrob(K, A *mat.Dense) float64 {
	var D mat.Dense
	D.Sub(K, A)
	return mat.Norm(&D, 2) / mat.Norm(K, 2)
}
