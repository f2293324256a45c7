package pwl

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Hinging is Breiman's hinging-hyperplanes model (1993), the primer's
// second shallow PWLNN class: for each output o,
//
//	f_o(x) = Σ_{k<K} h_{o,k}(x),   h(x) = max(θ⁺·x̃, θ⁻·x̃) or min(θ⁺·x̃, θ⁻·x̃),
//
// with x̃ = (1, x). Each hinge is linear on either side of its hinge
// hyperplane (θ⁺ − θ⁻)·x̃ = 0. [FitHinging] fits it by backfitting with
// Breiman's hinge-finding algorithm.
type Hinging struct {
	In, Out, K int
	// Plus and Minus hold θ⁺ and θ⁻ of hinge k of output o at
	// [(o·K + k)·(In+1):], intercept first.
	Plus, Minus []float64
	// Max tells, per hinge, a max (true) or min hinge.
	Max []bool
}

// hinge evaluates hinge h (index o·K + k) at x.
func (m *Hinging) hinge(h int, x []float64) float64 {
	p, q := m.Plus[h*(m.In+1):], m.Minus[h*(m.In+1):]
	a, b := p[0], q[0]
	for j, v := range x {
		a += p[1+j] * v
		b += q[1+j] * v
	}
	if m.Max[h] {
		return math.Max(a, b)
	}
	return math.Min(a, b)
}

// Predict returns the outputs at x.
func (m *Hinging) Predict(x []float64) []float64 {
	out := make([]float64, m.Out)
	for o := range out {
		for k := range m.K {
			out[o] += m.hinge(o*m.K+k, x)
		}
	}
	return out
}

// FitHinging fits K hinges per class to one-hot targets of the n rows of
// x (row-major n×d), labels y in [0, classes): backfitting sweeps, each
// hinge refitted to the residual of the others by the hinge-finding
// algorithm (split the data at the hinge, least squares with ridge lambda
// on each side, move the hinge to where the two planes meet, as max or min
// hinge, whichever fits better; repeat until the split is stable). Each
// hinge starts at a random hyperplane through a random training point.
func FitHinging(x []float64, y []int, d, classes, k, sweeps int, lambda float64, rng *rand.Rand) (*Hinging, error) {
	n := len(y)
	if d < 1 || n < 1 || len(x) != n*d || classes < 2 || k < 1 || sweeps < 1 || !(lambda > 0) {
		return nil, fmt.Errorf("pwl: hinging fit needs n·d values (%d for n %d, d %d), ≥ 2 classes, K ≥ 1, sweeps ≥ 1 and lambda > 0 (got %d, %d, %d, %g)", len(x), n, d, classes, k, sweeps, lambda)
	}
	for r, c := range y {
		if c < 0 || c >= classes {
			return nil, fmt.Errorf("pwl: label %d of row %d outside [0, %d)", c, r, classes)
		}
	}
	m := &Hinging{In: d, Out: classes, K: k, Plus: make([]float64, classes*k*(d+1)),
		Minus: make([]float64, classes*k*(d+1)), Max: make([]bool, classes*k)}
	fit := make([][]float64, classes*k) // each hinge's values at the rows
	for h := range fit {
		fit[h] = make([]float64, n)
	}
	res := make([]float64, n)
	side := make([]bool, n)
	for o := range classes {
		for s := range sweeps {
			for kk := range k {
				h := o*k + kk
				for r := range n {
					res[r] = 0
					if y[r] == o {
						res[r] = 1
					}
					for j := range k {
						if j != kk {
							res[r] -= fit[o*k+j][r]
						}
					}
				}
				if s == 0 { // a random hyperplane through a training point
					a := make([]float64, d)
					var off float64
					p := x[rng.IntN(n)*d:]
					for j := range a {
						a[j] = rng.NormFloat64()
						off += a[j] * p[j]
					}
					for r := range n {
						var v float64
						for j, aj := range a {
							v += aj * x[r*d+j]
						}
						side[r] = v >= off
					}
				} else {
					for r := range n {
						side[r] = m.hinge(h, x[r*d:(r+1)*d]) == m.plane(h, true, x[r*d:(r+1)*d])
					}
				}
				if err := m.findHinge(h, x, res, side, lambda); err != nil {
					return nil, err
				}
				for r := range n {
					fit[h][r] = m.hinge(h, x[r*d:(r+1)*d])
				}
			}
		}
	}
	return m, nil
}

// plane evaluates θ⁺ (plus) or θ⁻ of hinge h at x.
func (m *Hinging) plane(h int, plus bool, x []float64) float64 {
	p := m.Minus[h*(m.In+1):]
	if plus {
		p = m.Plus[h*(m.In+1):]
	}
	v := p[0]
	for j, xv := range x {
		v += p[1+j] * xv
	}
	return v
}

// findHinge runs the hinge-finding algorithm for hinge h on the target t
// from the split side (true: θ⁺'s side).
func (m *Hinging) findHinge(h int, x, t []float64, side []bool, lambda float64) error {
	d, n := m.In, len(t)
	for range 20 {
		for _, plus := range []bool{true, false} {
			theta, err := ridgeFit(x, t, d, side, plus, lambda)
			if err != nil {
				return err
			}
			if plus {
				copy(m.Plus[h*(d+1):(h+1)*(d+1)], theta)
			} else {
				copy(m.Minus[h*(d+1):(h+1)*(d+1)], theta)
			}
		}
		var sse [2]float64
		for i, isMax := range []bool{true, false} {
			m.Max[h] = isMax
			for r := range n {
				e := t[r] - m.hinge(h, x[r*d:(r+1)*d])
				sse[i] += e * e
			}
		}
		m.Max[h] = sse[0] <= sse[1]
		changed := false
		for r := range n {
			s := m.hinge(h, x[r*d:(r+1)*d]) == m.plane(h, true, x[r*d:(r+1)*d])
			changed = changed || s != side[r]
			side[r] = s
		}
		if !changed {
			break
		}
	}
	return nil
}

// ridgeFit fits θ = (b, w) by ridge least squares (intercept not
// penalized) to the rows whose side equals want; with no such rows θ is 0.
func ridgeFit(x, t []float64, d int, side []bool, want bool, lambda float64) ([]float64, error) {
	A := mat.NewDense(d+1, d+1, nil)
	rhs := mat.NewVecDense(d+1, nil)
	row := make([]float64, d+1)
	some := false
	for r, s := range side {
		if s != want {
			continue
		}
		some = true
		row[0] = 1
		copy(row[1:], x[r*d:(r+1)*d])
		for i, a := range row {
			rhs.SetVec(i, rhs.AtVec(i)+a*t[r])
			for j, b := range row {
				A.Set(i, j, A.At(i, j)+a*b)
			}
		}
	}
	theta := make([]float64, d+1)
	if !some {
		return theta, nil
	}
	for i := 1; i <= d; i++ {
		A.Set(i, i, A.At(i, i)+lambda)
	}
	A.Set(0, 0, A.At(0, 0)+1e-9)
	var sol mat.VecDense
	if err := sol.SolveVec(A, rhs); err != nil {
		return nil, fmt.Errorf("pwl: hinge least squares: %w", err)
	}
	copy(theta, sol.RawVector().Data)
	return theta, nil
}

// LinePieces counts the linear pieces of the model's output vector along
// the segment from x0 to x1 exactly: one more than the distinct points
// where the segment crosses a hinge hyperplane whose two planes differ.
func (m *Hinging) LinePieces(x0, x1 []float64) int {
	var ts []float64
	for h := range m.Max {
		a := m.plane(h, true, x0) - m.plane(h, false, x0)
		b := m.plane(h, true, x1) - m.plane(h, false, x1)
		if a*b < 0 {
			ts = append(ts, a/(a-b))
		}
	}
	return 1 + distinct(ts)
}

// distinct counts the values of ts, sorted, that differ from the previous
// by more than 1e-12.
func distinct(ts []float64) int {
	slices.Sort(ts)
	c := 0
	for i, t := range ts {
		if i == 0 || t-ts[i-1] > 1e-12 {
			c++
		}
	}
	return c
}
