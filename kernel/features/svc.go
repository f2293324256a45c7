package features

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// LinearSVC is the L2-regularized squared-hinge (L2-loss) linear SVM
//
//	min_w ½‖w‖² + C Σ_i max(0, 1 − y_i wᵀx_i)²
//
// trained by dual coordinate descent (Hsieh et al. 2008), the model of
// liblinear -s 1/-s 2 (same optimum). The GORF paper trains it on random
// features with C = 1000. Bias > 0 appends a constant feature of that value
// (liblinear -B); the zero value fits no bias, as liblinear's default.
// Multiclass is one-vs-rest, argmax of the decision values; the per-class
// problems run in parallel.
type LinearSVC struct {
	C       float64 // > 0; default 1 when zero
	Bias    float64 // constant feature appended when > 0
	Tol     float64 // stop when the projected-gradient range is below Tol; default 0.01
	MaxIter int     // epochs; default 1000

	classes []int
	w       *mat.Dense // C×(D[+1])
	iters   []int
}

// Classes returns the sorted class labels.
func (s *LinearSVC) Classes() []int { return s.classes }

// Epochs returns the number of epochs each one-vs-rest problem ran; an
// entry equal to MaxIter means that problem did not reach Tol.
func (s *LinearSVC) Epochs() []int { return s.iters }

// Fit trains on features Phi (n×D) and labels y; rng orders the coordinate
// sweeps (seeded: same seed, same model).
func (s *LinearSVC) Fit(ctx context.Context, Phi *mat.Dense, y []int, rng *rand.Rand) error {
	c := s.C
	if c == 0 {
		c = 1
	}
	if !(c > 0) || math.IsInf(c, 0) {
		return fmt.Errorf("features: LinearSVC C must be positive, got %v: %w", s.C, ErrParam)
	}
	if s.Bias < 0 || math.IsNaN(s.Bias) || math.IsInf(s.Bias, 0) {
		return fmt.Errorf("features: LinearSVC bias must be ≥ 0 and finite, got %v: %w", s.Bias, ErrParam)
	}
	if rng == nil {
		return fmt.Errorf("features: nil random source: %w", ErrParam)
	}
	tol := s.Tol
	if tol <= 0 {
		tol = 0.01
	}
	maxIter := s.MaxIter
	if maxIter <= 0 {
		maxIter = 1000
	}
	classes, Y, err := oneVsRest(y)
	if err != nil {
		return err
	}
	n := len(y)
	if err := checkFeatures(Phi, n); err != nil {
		return err
	}
	_, D := Phi.Dims()
	Dw := D
	if s.Bias > 0 {
		Dw++
	}
	qd := make([]float64, n)
	for i := 0; i < n; i++ {
		q := dot(Phi.RawRowView(i), Phi.RawRowView(i)) + s.Bias*s.Bias
		qd[i] = q + 1/(2*c)
	}
	nc := len(classes)
	if nc == 2 {
		nc = 1 // the second problem is the negation of the first
	}
	seeds := make([]uint64, nc)
	for k := range seeds {
		seeds[k] = rng.Uint64()
	}
	W := mat.NewDense(nc, Dw, nil)
	iters := make([]int, nc)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, workers()))
	for k := 0; k < nc; k++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(k int) {
			defer wg.Done()
			defer func() { <-sem }()
			yk := mat.Col(nil, k, Y)
			if len(classes) == 2 {
				yk = mat.Col(nil, 1, Y)
			}
			r := rand.New(rand.NewPCG(seeds[k], seeds[k]^0x9e3779b97f4a7c15))
			iters[k] = dcdL2(ctx, Phi, yk, s.Bias, c, qd, tol, maxIter, W.RawRowView(k), r)
		}(k)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.classes, s.w, s.iters = classes, W, iters
	return nil
}

// dcdL2 runs dual coordinate descent for one binary L2-loss SVM and leaves
// w = Σα_i y_i x_i in w. It returns the number of epochs.
func dcdL2(ctx context.Context, Phi *mat.Dense, y []float64, bias, c float64, qd []float64, tol float64, maxIter int, w []float64, rng *rand.Rand) int {
	n, D := Phi.Dims()
	alpha := make([]float64, n)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	dii := 1 / (2 * c)
	for it := 1; it <= maxIter; it++ {
		if it%16 == 0 && ctx.Err() != nil {
			return it
		}
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		pgMax, pgMin := math.Inf(-1), math.Inf(1)
		for _, i := range order {
			x := Phi.RawRowView(i)
			wx := dot(w[:D], x)
			if bias > 0 {
				wx += w[D] * bias
			}
			g := y[i]*wx - 1 + dii*alpha[i]
			pg := g
			if alpha[i] == 0 && g > 0 {
				pg = 0
			}
			pgMax = math.Max(pgMax, pg)
			pgMin = math.Min(pgMin, pg)
			if pg == 0 {
				continue
			}
			old := alpha[i]
			alpha[i] = math.Max(old-g/qd[i], 0)
			delta := (alpha[i] - old) * y[i]
			if delta == 0 {
				continue
			}
			for j, v := range x {
				w[j] += delta * v
			}
			if bias > 0 {
				w[D] += delta * bias
			}
		}
		if pgMax-pgMin < tol {
			return it
		}
	}
	return maxIter
}

// Decision returns the n×C one-vs-rest decision values (n×2 for two classes,
// the second column being the first negated).
func (s *LinearSVC) Decision(Phi *mat.Dense) (*mat.Dense, error) {
	if s.w == nil {
		return nil, fmt.Errorf("features: model is not fitted: %w", ErrNotFitted)
	}
	if Phi == nil {
		return nil, fmt.Errorf("features: nil feature matrix: %w", ErrShape)
	}
	n, D := Phi.Dims()
	nc, Dw := s.w.Dims()
	if s.Bias > 0 {
		Dw--
	}
	if D != Dw {
		return nil, fmt.Errorf("features: feature matrix has %d columns, the model was fitted on %d: %w", D, Dw, ErrShape)
	}
	out := mat.NewDense(n, len(s.classes), nil)
	for i := 0; i < n; i++ {
		x := Phi.RawRowView(i)
		row := out.RawRowView(i)
		for k := 0; k < nc; k++ {
			wk := s.w.RawRowView(k)
			v := dot(wk[:D], x)
			if s.Bias > 0 {
				v += wk[D] * s.Bias
			}
			row[k] = v
		}
		if len(s.classes) == 2 {
			row[0], row[1] = -row[0], row[0]
		}
	}
	return out, nil
}

// Predict returns the predicted labels.
func (s *LinearSVC) Predict(Phi *mat.Dense) ([]int, error) {
	S, err := s.Decision(Phi)
	if err != nil {
		return nil, err
	}
	return kernel.ArgmaxClasses(S, s.classes), nil
}
