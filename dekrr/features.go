package dekrr

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Features is one node's random Fourier feature map
// z(x) = √(2/D)·cos(Ωx + b), Ω of shape D×d.
type Features struct {
	Omega *mat.Dense
	B     []float64
}

// D is the number of features.
func (f Features) D() int { r, _ := f.Omega.Dims(); return r }

// Map returns Z(X), of shape D×N, for the rows of X (N×d).
func (f Features) Map(X *mat.Dense) *mat.Dense {
	D := f.D()
	n, _ := X.Dims()
	Z := mat.NewDense(D, n, nil)
	Z.Mul(f.Omega, X.T())
	s := math.Sqrt(2 / float64(D))
	for k := range D {
		row := Z.RawRowView(k)
		for i := range row {
			row[i] = s * math.Cos(row[i]+f.B[k])
		}
	}
	return Z
}

// EERF draws D·pool Gaussian random Fourier candidates (ω ~ N(0, σ⁻²I),
// b ~ U[0, 2π)), scores each by |(1/N) Σ_i y_i z(x_i)|, keeps the D best
// frequencies and redraws their phases (Shahrampour et al.; kernels.md §8.2).
func EERF(X *mat.Dense, y []float64, D, pool int, sigma float64, rng *rand.Rand) (Features, error) {
	n, d := X.Dims()
	if n != len(y) || n == 0 {
		return Features{}, fmt.Errorf("dekrr: EERF: %d rows and %d targets", n, len(y))
	}
	if D < 1 || pool < 1 || !(sigma > 0) {
		return Features{}, fmt.Errorf("dekrr: EERF: D %d, pool rate %d, σ %g: want D ≥ 1, pool ≥ 1, σ > 0", D, pool, sigma)
	}
	D0 := D * pool
	cand := drawRFF(D0, d, sigma, rng)
	Z := cand.Map(X)
	score := make([]float64, D0)
	idx := make([]int, D0)
	for k := range D0 {
		score[k] = math.Abs(mat.Dot(Z.RowView(k), mat.NewVecDense(n, y))) / float64(n)
		idx[k] = k
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case score[a] > score[b]:
			return -1
		case score[a] < score[b]:
			return 1
		}
		return 0
	})
	f := Features{Omega: mat.NewDense(D, d, nil), B: make([]float64, D)}
	for k := range D {
		f.Omega.SetRow(k, cand.Omega.RawRowView(idx[k]))
		f.B[k] = 2 * math.Pi * rng.Float64()
	}
	return f, nil
}
