// Package robustopt solves robust out-of-distribution stochastic
// optimization problems with an RKHS-ball uncertainty set (kernels.md §11):
// the kernel mean embeddings of K source distributions define a ball around
// their center whose radius is a quantile of the embeddings' distances, and
// the decision minimizes the worst-case expected loss over distributions,
// supported on the pooled sample points, whose embedding lies in the ball.
// The min–max is solved by row generation. Only scalar decisions are
// supported (the newsvendor).
package robustopt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/trustml/trustml/kernel"
)

// Loss is a loss ℓ(x, ξ) convex in the scalar decision x.
type Loss func(x, xi float64) float64

// Newsvendor returns the newsvendor loss h·(x−ξ)⁺ + b·(ξ−x)⁺ with holding
// cost h and backorder cost b.
func Newsvendor(h, b float64) Loss {
	return func(x, xi float64) float64 { return h*math.Max(x-xi, 0) + b*math.Max(xi-x, 0) }
}

// UncertaintySet is the ball {w ∈ simplex : ‖Σ w_s φ(ξ_s) − μ̄‖ ≤ Radius}
// over weights w on the pooled points.
type UncertaintySet struct {
	// Points are the pooled sample points ξ_s; Gram their RBF Gram matrix.
	Points []float64
	Gram   [][]float64
	// Center are the weights of the center μ̄ (mean of the source embeddings).
	Center []float64
	// Radius is the ball radius in the RKHS norm; Distances the sources'
	// distances to the center.
	Radius    float64
	Distances []float64
	// Kernel is the RBF kernel used (median-heuristic bandwidth).
	Kernel kernel.RBF
}

// Fit builds the uncertainty set from source samples: each source's
// empirical embedding, their center, and the radius as the level-quantile
// (level in [0, 1], the conservatism) of the sources' distances to the
// center.
func Fit(sources [][]float64, level float64) (*UncertaintySet, error) {
	if len(sources) < 2 {
		return nil, fmt.Errorf("robustopt: need at least 2 source samples, got %d", len(sources))
	}
	if !(level >= 0 && level <= 1) {
		return nil, fmt.Errorf("robustopt: level %g not in [0, 1]", level)
	}
	u := &UncertaintySet{}
	var owners []int
	for k, s := range sources {
		if len(s) == 0 {
			return nil, fmt.Errorf("robustopt: source %d is empty", k)
		}
		for i, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("robustopt: source %d sample %d is %g", k, i, v)
			}
			u.Points = append(u.Points, v)
			owners = append(owners, k)
		}
	}
	S := len(u.Points)
	u.Kernel = kernel.RBF{Gamma: 1 / (2 * sq(medianDist(u.Points)))}
	u.Gram = make([][]float64, S)
	for i := range S {
		u.Gram[i] = make([]float64, S)
		for j := range S {
			u.Gram[i][j] = u.Kernel.Eval(u.Points[i:i+1], u.Points[j:j+1])
		}
	}
	W := make([][]float64, len(sources))
	u.Center = make([]float64, S)
	for k := range W {
		W[k] = make([]float64, S)
	}
	for s, k := range owners {
		W[k][s] = 1 / float64(len(sources[k]))
		u.Center[s] += W[k][s] / float64(len(sources))
	}
	for k := range W {
		u.Distances = append(u.Distances, math.Sqrt(math.Max(u.quad(W[k]), 0)))
	}
	u.Radius = quantile(u.Distances, level)
	return u, nil
}

// Distance returns the RKHS distance between the empirical embedding of
// sample and the center.
func (u *UncertaintySet) Distance(sample []float64) float64 {
	n := float64(len(sample))
	var tt, tc float64
	for _, a := range sample {
		for _, b := range sample {
			tt += u.Kernel.Eval([]float64{a}, []float64{b})
		}
		for s, p := range u.Points {
			tc += u.Center[s] * u.Kernel.Eval([]float64{a}, []float64{p})
		}
	}
	cc := 0.0
	for i := range u.Points {
		for j := range u.Points {
			cc += u.Center[i] * u.Gram[i][j] * u.Center[j]
		}
	}
	return math.Sqrt(math.Max(tt/(n*n)-2*tc/n+cc, 0))
}

// quad returns (w−c)ᵀK(w−c).
func (u *UncertaintySet) quad(w []float64) float64 {
	d := make([]float64, len(w))
	for i := range w {
		d[i] = w[i] - u.Center[i]
	}
	q := 0.0
	for i := range d {
		for j := range d {
			q += d[i] * u.Gram[i][j] * d[j]
		}
	}
	return q
}

// WorstCase solves the inner problem max_w Σ w_s ℓ(x, ξ_s) over the set for
// the decision x and returns the maximizing weights and the value. It
// bisects the multiplier λ of the ball constraint, maximizing
// ℓᵀw − (λ/2)(w−c)ᵀK(w−c) on the simplex by projected gradient ascent.
func (u *UncertaintySet) WorstCase(loss Loss, x float64) ([]float64, float64) {
	S := len(u.Points)
	l := make([]float64, S)
	for s, p := range u.Points {
		l[s] = loss(x, p)
	}
	r2 := u.Radius * u.Radius
	if u.Radius == 0 {
		return slices.Clone(u.Center), dot(l, u.Center)
	}
	lo, hi := -12.0, 12.0 // log10 λ
	best := slices.Clone(u.Center)
	for range 45 {
		mid := (lo + hi) / 2
		w := u.penalized(l, math.Pow(10, mid), best)
		if u.quad(w) <= r2 {
			hi, best = mid, w // feasible: try a smaller λ (larger ball use)
		} else {
			lo = mid
		}
	}
	return best, dot(l, best)
}

// penalized maximizes ℓᵀw − (λ/2)(w−c)ᵀK(w−c) over the simplex,
// starting from start.
func (u *UncertaintySet) penalized(l []float64, lambda float64, start []float64) []float64 {
	S := len(l)
	w, g := slices.Clone(start), make([]float64, S)
	step := 1 / (lambda * float64(S)) // K's largest eigenvalue ≤ S
	for range 400 {
		for i := range S {
			kd := 0.0
			for j := range S {
				kd += u.Gram[i][j] * (w[j] - u.Center[j])
			}
			g[i] = w[i] + step*(l[i]-lambda*kd)
		}
		projectSimplex(g)
		change := 0.0
		for i := range S {
			change = math.Max(change, math.Abs(g[i]-w[i]))
		}
		copy(w, g)
		if change < 1e-10 {
			break
		}
	}
	return w
}

// Solution is the result of [RobustSolve].
type Solution struct {
	// X is the decision; Value its certified worst-case expected loss
	// over the uncertainty set; Nominal its expected loss under the center.
	X, Value, Nominal float64
	// Iterations is the number of row-generation rounds; Gap the final
	// gap between the worst case at X and the master's value.
	Iterations int
	Gap        float64
}

// RobustSolve minimizes max_{w ∈ U} Σ w_s ℓ(x, ξ_s) over x ∈ [lo, hi] by
// row generation: the master minimizes the maximum over the current finite
// set of worst-case weights (a convex function of x, by golden-section
// search), the inner problem adds the worst case at the master's x, until
// the gap is below tol.
func RobustSolve(ctx context.Context, loss Loss, u *UncertaintySet, lo, hi, tol float64) (Solution, error) {
	if !(lo <= hi) {
		return Solution{}, fmt.Errorf("robustopt: bounds [%g, %g] empty", lo, hi)
	}
	rows := [][]float64{u.Center}
	var sol Solution
	for it := 1; it <= 100; it++ {
		if err := ctx.Err(); err != nil {
			return sol, err
		}
		x, master := minimize1D(func(x float64) float64 {
			m := math.Inf(-1)
			for _, w := range rows {
				m = math.Max(m, expect(loss, x, u.Points, w))
			}
			return m
		}, lo, hi)
		w, v := u.WorstCase(loss, x)
		sol = Solution{X: x, Value: v, Nominal: expect(loss, x, u.Points, u.Center), Iterations: it, Gap: v - master}
		if sol.Gap <= tol {
			return sol, nil
		}
		rows = append(rows, w)
	}
	return sol, errors.New("robustopt: row generation did not converge in 100 rounds")
}

// SAA minimizes the sample-average loss under the center (the pooled
// empirical distribution) over [lo, hi].
func SAA(loss Loss, u *UncertaintySet, lo, hi float64) Solution {
	x, v := minimize1D(func(x float64) float64 { return expect(loss, x, u.Points, u.Center) }, lo, hi)
	_, wc := u.WorstCase(loss, x)
	return Solution{X: x, Value: wc, Nominal: v}
}

func expect(loss Loss, x float64, pts, w []float64) float64 {
	e := 0.0
	for s, p := range pts {
		e += w[s] * loss(x, p)
	}
	return e
}

// minimize1D minimizes a convex f on [lo, hi] by golden-section search.
func minimize1D(f func(float64) float64, lo, hi float64) (float64, float64) {
	g := (math.Sqrt(5) - 1) / 2
	a, b := lo, hi
	c, d := b-g*(b-a), a+g*(b-a)
	fc, fd := f(c), f(d)
	for b-a > 1e-10*(1+math.Abs(a)+math.Abs(b)) {
		if fc <= fd {
			b, d, fd = d, c, fc
			c = b - g*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + g*(b-a)
			fd = f(d)
		}
	}
	x := (a + b) / 2
	return x, f(x)
}

// projectSimplex projects v onto the probability simplex in place.
func projectSimplex(v []float64) {
	u := slices.Clone(v)
	slices.Sort(u)
	slices.Reverse(u)
	cum, theta := 0.0, 0.0
	for i, ui := range u {
		cum += ui
		if t := (cum - 1) / float64(i+1); ui-t > 0 {
			theta = t
		}
	}
	for i := range v {
		v[i] = math.Max(v[i]-theta, 0)
	}
}

func medianDist(p []float64) float64 {
	var d []float64
	for i := range p {
		for j := i + 1; j < len(p); j++ {
			d = append(d, math.Abs(p[i]-p[j]))
		}
	}
	m := quantile(d, 0.5)
	if m <= 0 {
		return 1
	}
	return m
}

// quantile returns the linear-interpolated level-quantile of v.
func quantile(v []float64, level float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	pos := level * float64(len(s)-1)
	i := int(math.Floor(pos))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func sq(x float64) float64 { return x * x }
