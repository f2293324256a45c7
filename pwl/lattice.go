package pwl

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Lattice is the lattice representation of piecewise-linear functions
// (Tarela and Martínez, 1999), the primer's third shallow PWLNN class:
// for each output o,
//
//	f_o(x) = max_{i<M} min_{j<J} (w_{o,i,j}·x + b_{o,i,j}),
//
// a max of M concave pieces, each the min of J planes; every continuous
// PWL function has such a form. [FitLattice] trains it as a classifier
// (softmax cross-entropy, full-batch Adam on the subgradient through the
// active planes).
type Lattice struct {
	In, Out, M, J int
	// W holds plane (o, i, j) at [((o·M + i)·J + j)·(In+1):], bias first.
	W []float64
}

// plane evaluates plane p (index (o·M + i)·J + j) at x.
func (m *Lattice) plane(p int, x []float64) float64 {
	w := m.W[p*(m.In+1):]
	v := w[0]
	for j, xv := range x {
		v += w[1+j] * xv
	}
	return v
}

// active returns output o's value at x and the index of its active plane.
func (m *Lattice) active(o int, x []float64) (float64, int) {
	best, arg := math.Inf(-1), -1
	for i := range m.M {
		lo, la := math.Inf(1), -1
		for j := range m.J {
			p := (o*m.M+i)*m.J + j
			if v := m.plane(p, x); v < lo {
				lo, la = v, p
			}
		}
		if lo > best {
			best, arg = lo, la
		}
	}
	return best, arg
}

// Predict returns the outputs at x.
func (m *Lattice) Predict(x []float64) []float64 {
	out := make([]float64, m.Out)
	for o := range out {
		out[o], _ = m.active(o, x)
	}
	return out
}

// FitLattice trains an M×J lattice per class on the n rows of x (row-major
// n×d) with labels y in [0, classes): softmax cross-entropy over the
// outputs, full-batch Adam (learning rate lr) for the given epochs, planes
// initialized N(0, 1/d) with zero bias.
func FitLattice(x []float64, y []int, d, classes, M, J, epochs int, lr float64, rng *rand.Rand) (*Lattice, error) {
	n := len(y)
	if d < 1 || n < 1 || len(x) != n*d || classes < 2 || M < 1 || J < 1 || epochs < 1 || !(lr > 0) {
		return nil, fmt.Errorf("pwl: lattice fit needs n·d values (%d for n %d, d %d), ≥ 2 classes, M, J, epochs ≥ 1 and lr > 0 (got %d, %d, %d, %d, %g)", len(x), n, d, classes, M, J, epochs, lr)
	}
	for r, c := range y {
		if c < 0 || c >= classes {
			return nil, fmt.Errorf("pwl: label %d of row %d outside [0, %d)", c, r, classes)
		}
	}
	m := &Lattice{In: d, Out: classes, M: M, J: J, W: make([]float64, classes*M*J*(d+1))}
	for p := range classes * M * J {
		for j := 1; j <= d; j++ {
			m.W[p*(d+1)+j] = rng.NormFloat64() / math.Sqrt(float64(d))
		}
	}
	g := make([]float64, len(m.W))
	mom, vel := make([]float64, len(m.W)), make([]float64, len(m.W))
	out := make([]float64, classes)
	act := make([]int, classes)
	const b1, b2, eps = 0.9, 0.999, 1e-8
	for t := 1; t <= epochs; t++ {
		clear(g)
		for r := range n {
			xr := x[r*d : (r+1)*d]
			mx := math.Inf(-1)
			for o := range classes {
				out[o], act[o] = m.active(o, xr)
				mx = math.Max(mx, out[o])
			}
			var s float64
			for o := range out {
				out[o] = math.Exp(out[o] - mx)
				s += out[o]
			}
			for o := range out {
				dz := out[o] / s / float64(n)
				if o == y[r] {
					dz -= 1 / float64(n)
				}
				gp := g[act[o]*(d+1):]
				gp[0] += dz
				for j, xv := range xr {
					gp[1+j] += dz * xv
				}
			}
		}
		c1, c2 := 1-math.Pow(b1, float64(t)), math.Sqrt(1-math.Pow(b2, float64(t)))
		for i, gi := range g {
			mom[i] = b1*mom[i] + (1-b1)*gi
			vel[i] = b2*vel[i] + (1-b2)*gi*gi
			m.W[i] -= lr / c1 * mom[i] / (math.Sqrt(vel[i])/c2 + eps)
		}
	}
	return m, nil
}

// LinePieces counts the linear pieces of the model's output vector along
// the segment from x0 to x1 exactly: along the segment every plane is an
// affine function of t ∈ [0, 1], so the active plane of an output can
// change only where two of its planes meet; between consecutive such
// points the active planes are constant, and a piece ends where one of
// them changes to a plane with a different restriction to the segment.
func (m *Lattice) LinePieces(x0, x1 []float64) int {
	P := m.M * m.J
	a := make([]float64, m.Out*P) // plane values at t = 0
	b := make([]float64, m.Out*P) // slopes in t
	for p := range a {
		a[p] = m.plane(p, x0)
		b[p] = m.plane(p, x1) - a[p]
	}
	ts := []float64{0, 1}
	for o := range m.Out {
		for p := o * P; p < (o+1)*P; p++ {
			for q := p + 1; q < (o+1)*P; q++ {
				if db := b[p] - b[q]; db != 0 {
					if t := (a[q] - a[p]) / db; t > 0 && t < 1 {
						ts = append(ts, t)
					}
				}
			}
		}
	}
	distinct(ts) // sorts
	x := make([]float64, m.In)
	pieces := 0
	prev := make([]int, m.Out)
	for i := 1; i < len(ts); i++ {
		if ts[i]-ts[i-1] <= 1e-12 {
			continue
		}
		mid := (ts[i] + ts[i-1]) / 2
		for j := range x {
			x[j] = x0[j] + mid*(x1[j]-x0[j])
		}
		changed := pieces == 0
		for o := range m.Out {
			_, p := m.active(o, x)
			if pieces > 0 && (a[p] != a[prev[o]] || b[p] != b[prev[o]]) {
				changed = true
			}
			prev[o] = p
		}
		if changed {
			pieces++
		}
	}
	return max(pieces, 1)
}
