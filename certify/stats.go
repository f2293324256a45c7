package certify

import (
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// ClopperPearsonLower is the one-sided lower confidence bound at level
// 1 − alpha on the success probability of a binomial with nA successes in n
// trials: the alpha-quantile of Beta(nA, n − nA + 1), 0 when nA = 0. It is
// the lower end of the two-sided Clopper–Pearson interval at level
// 1 − 2·alpha, which the reference code computes with statsmodels'
// proportion_confint(nA, n, alpha=2*alpha, method="beta").
func ClopperPearsonLower(nA, n int, alpha float64) float64 {
	if nA <= 0 {
		return 0
	}
	return distuv.Beta{Alpha: float64(nA), Beta: float64(n - nA + 1)}.Quantile(alpha)
}

// NormalQuantile is Φ⁻¹(p), the standard normal quantile (scipy's norm.ppf).
func NormalQuantile(p float64) float64 {
	return distuv.UnitNormal.Quantile(p)
}

// Radius is the certified L2 radius σ·Φ⁻¹(p_low) of a class seen nA times
// in n noise samples, p_low = [ClopperPearsonLower](nA, n, alpha); ok is
// false (abstain, radius 0) when p_low < ½.
func Radius(sigma float64, nA, n int, alpha float64) (r float64, ok bool) {
	p := ClopperPearsonLower(nA, n, alpha)
	if p < 0.5 {
		return 0, false
	}
	return sigma * NormalQuantile(p), true
}

// MaxRadius is the largest radius n samples can certify at level alpha,
// σ·Φ⁻¹(alpha^{1/n}) (every sample in one class): about 3.2σ for n = 10,000
// and 3.8σ for n = 100,000 at alpha = 0.001.
func MaxRadius(sigma float64, n int, alpha float64) float64 {
	r, _ := Radius(sigma, n, n, alpha)
	return r
}

// BinomTest is the p-value of the two-sided exact binomial test of k
// successes in n trials with success probability p, as scipy's
// binomtest(k, n, p).pvalue (scipy 1.10): the total probability of the
// outcomes no more likely than k, with a relative tolerance of 1e-7 on
// that comparison.
func BinomTest(k, n int, p float64) float64 {
	fn := float64(n)
	pmf := func(x float64) float64 { return distuv.Binomial{N: fn, P: p}.Prob(x) }
	// cdf(x) = P(X ≤ x), sf(x) = P(X > x), as regularized incomplete beta
	// functions so that small tails keep their precision.
	cdf := func(x float64) float64 {
		switch {
		case x < 0:
			return 0
		case x >= fn:
			return 1
		}
		return mathext.RegIncBeta(fn-x, x+1, 1-p)
	}
	sf := func(x float64) float64 {
		switch {
		case x < 0:
			return 1
		case x >= fn:
			return 0
		}
		return mathext.RegIncBeta(x+1, fn-x, p)
	}
	kf := float64(k)
	d := pmf(kf)
	const rerr = 1 + 1e-7
	var pval float64
	switch {
	case kf == p*fn:
		return 1
	case kf < p*fn:
		ix := binarySearch(func(x float64) float64 { return -pmf(x) }, -d*rerr, math.Ceil(p*fn), fn)
		y := fn - ix
		if d*rerr == pmf(ix) {
			y++
		}
		pval = cdf(kf) + sf(fn-y)
	default:
		ix := binarySearch(pmf, d*rerr, 0, math.Floor(p*fn))
		y := ix + 1
		pval = cdf(y-1) + sf(kf-1)
	}
	return min(1, pval)
}

// binarySearch returns i in [lo, hi] with a(i) ≤ d < a(i+1) for a
// nondecreasing on [lo, hi] (scipy's _binary_search_for_binom_tst).
func binarySearch(a func(float64) float64, d, lo, hi float64) float64 {
	for lo < hi {
		mid := lo + math.Floor((hi-lo)/2)
		switch v := a(mid); {
		case v < d:
			lo = mid + 1
		case v > d:
			hi = mid - 1
		default:
			return mid
		}
	}
	if a(lo) <= d {
		return lo
	}
	return lo - 1
}
