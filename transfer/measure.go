package transfer

import (
	"fmt"
	"math"
	"sort"
)

// Norms are the sizes of one perturbation δ = adv − x.
type Norms struct {
	L2   float64 `json:"l2"`   // ‖δ‖₂
	LInf float64 `json:"linf"` // ‖δ‖∞
	// Ratio is ‖δ‖₂ / (ε·√d): 1 at a vertex of the ℓ∞ ball of radius ε
	// in d dimensions, the largest ℓ2 norm an ℓ∞-bounded δ can have
	// (robustness.md §15).
	Ratio float64 `json:"ratio"`
}

// Measure returns the norms of the perturbations adv − x of n inputs
// (len(x) = len(adv) = n·d) relative to the ℓ∞ radius eps: the ℓ2 measure
// of ℓ∞ transferability of §15.
func Measure(x, adv []float32, n int, eps float64) ([]Norms, error) {
	if n <= 0 || len(x) != len(adv) || len(x)%n != 0 {
		return nil, fmt.Errorf("transfer: Measure: %d clean and %d adversarial values for %d inputs", len(x), len(adv), n)
	}
	if !(eps > 0) || math.IsInf(eps, 0) {
		return nil, fmt.Errorf("transfer: Measure: eps %v must be positive and finite", eps)
	}
	d := len(x) / n
	out := make([]Norms, n)
	scale := eps * math.Sqrt(float64(d))
	for i := range n {
		var s, m float64
		for j := i * d; j < (i+1)*d; j++ {
			v := float64(adv[j]) - float64(x[j])
			s += v * v
			m = math.Max(m, math.Abs(v))
		}
		out[i] = Norms{L2: math.Sqrt(s), LInf: m, Ratio: math.Sqrt(s) / scale}
	}
	return out, nil
}

// Pearson is the Pearson correlation coefficient of x and y; NaN when they
// have fewer than 2 points, differ in length, or either is constant.
func Pearson(x, y []float64) float64 {
	n := len(x)
	if n < 2 || len(y) != n {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := range x {
		a, b := x[i]-mx, y[i]-my
		sxy += a * b
		sxx += a * a
		syy += b * b
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Spearman is Spearman's rank correlation of x and y: the Pearson
// correlation of their ranks, ties given their average rank (as
// scipy.stats.spearmanr).
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) {
		return math.NaN()
	}
	return Pearson(ranks(x), ranks(y))
}

// ranks returns the 1-based ranks of v, ties averaged.
func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}
