package pwl

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Canonical is the canonical piecewise-linear representation of Chua and
// Kang (1977), the first PWLNN model class of the primer:
//
//	f(x) = a + B·x + Σ_{i<K} c_i |α_i·x − β_i|
//
// one output per class. Its linear regions are the cells of the K
// hyperplanes α_i·x = β_i. [FitCanonical] draws the hyperplanes (random
// unit directions α_i through random training points) and fits a, B and c
// by ridge least squares on one-hot targets; with K = 0 it is the linear
// model.
type Canonical struct {
	In, Out, K int
	Alpha      []float64 // K×In
	Beta       []float64 // K
	// Coef is (1+In+K)×Out: rows for a, B and c.
	Coef []float64
}

func (m *Canonical) features(dst, x []float64) {
	dst[0] = 1
	copy(dst[1:], x)
	for i := 0; i < m.K; i++ {
		s := -m.Beta[i]
		for j, v := range m.Alpha[i*m.In : (i+1)*m.In] {
			s += v * x[j]
		}
		dst[1+m.In+i] = math.Abs(s)
	}
}

// FitCanonical fits the model to the n rows of x (row-major n×d) with
// class labels y in [0, classes), K hyperplanes and ridge lambda, drawing
// the hyperplanes from rng.
func FitCanonical(x []float64, y []int, d, classes, k int, lambda float64, rng *rand.Rand) (*Canonical, error) {
	n := len(y)
	if d < 1 || n < 1 || len(x) != n*d || classes < 2 || k < 0 || !(lambda > 0) {
		return nil, fmt.Errorf("pwl: canonical fit needs n·d values (%d for n %d, d %d), ≥ 2 classes, K ≥ 0 and lambda > 0 (got %d, %d, %g)", len(x), n, d, classes, k, lambda)
	}
	m := &Canonical{In: d, Out: classes, K: k, Alpha: make([]float64, k*d), Beta: make([]float64, k)}
	for i := 0; i < k; i++ {
		a := m.Alpha[i*d : (i+1)*d]
		var s float64
		for j := range a {
			a[j] = rng.NormFloat64()
			s += a[j] * a[j]
		}
		p := x[rng.IntN(n)*d:]
		for j := range a {
			a[j] /= math.Sqrt(s)
			m.Beta[i] += a[j] * p[j]
		}
	}
	f := 1 + d + k
	phi := mat.NewDense(n, f, nil)
	Y := mat.NewDense(n, classes, nil)
	for r := 0; r < n; r++ {
		if y[r] < 0 || y[r] >= classes {
			return nil, fmt.Errorf("pwl: label %d of row %d outside [0, %d)", y[r], r, classes)
		}
		m.features(phi.RawRowView(r), x[r*d:(r+1)*d])
		Y.Set(r, y[r], 1)
	}
	var A mat.Dense
	A.Mul(phi.T(), phi)
	for i := 1; i < f; i++ { // the intercept is not penalized
		A.Set(i, i, A.At(i, i)+lambda)
	}
	var rhs, w mat.Dense
	rhs.Mul(phi.T(), Y)
	if err := w.Solve(&A, &rhs); err != nil {
		return nil, fmt.Errorf("pwl: canonical least squares: %w", err)
	}
	m.Coef = w.RawMatrix().Data
	if rm := w.RawMatrix(); rm.Stride != classes {
		return nil, errors.New("pwl: internal: unexpected matrix stride")
	}
	return m, nil
}

// Predict returns the outputs at x.
func (m *Canonical) Predict(x []float64) []float64 {
	f := make([]float64, 1+m.In+m.K)
	m.features(f, x)
	out := make([]float64, m.Out)
	for i, v := range f {
		for o := range out {
			out[o] += v * m.Coef[i*m.Out+o]
		}
	}
	return out
}

// LinePieces counts the linear pieces of the model along the segment from
// x0 to x1 exactly: one more than the hyperplanes it crosses (the model is
// linear between crossings; a hyperplane whose coefficients are all zero
// still counts as a crossing of the representation).
func (m *Canonical) LinePieces(x0, x1 []float64) int {
	pieces := 1
	for i := 0; i < m.K; i++ {
		var a, b float64
		for j, v := range m.Alpha[i*m.In : (i+1)*m.In] {
			a += v * x0[j]
			b += v * x1[j]
		}
		a, b = a-m.Beta[i], b-m.Beta[i]
		if a*b < 0 {
			pieces++
		}
	}
	return pieces
}
