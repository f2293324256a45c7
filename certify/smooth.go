// Package certify implements randomized smoothing (Cohen, Rosenfeld and
// Kolter, "Certified Adversarial Robustness via Randomized Smoothing", ICML
// 2019): the smoothed classifier g(x) = argmax_c P(f(x + ε) = c),
// ε ~ N(0, σ²I), of any base classifier f, its prediction with abstention
// ([Smooth.Predict]) and its certified L2 radius ([Smooth.Certify]), and
// the evaluation of a data set ([Run]): certified accuracy at radii and the
// average certified radius (ACR).
//
// Noise is added in the [0, 1] pixel space the classifier takes, without
// clipping (normalisation, if any, is the model's first layer), as in the
// reference code. Certify draws n0 samples to choose the class and n fresh
// samples to estimate its probability; the lower confidence bound is the
// one-sided Clopper–Pearson bound at level 1 − α ([ClopperPearsonLower]),
// and the radius is σ·Φ⁻¹(p_low). A sample whose bound is below ½ is an
// abstention: class [Abstain], radius 0, never counted as correct.
package certify

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// Abstain is the class Predict and Certify return when they abstain.
const Abstain = -1

// DefaultBatch is the number of noisy copies per forward pass when
// [Smooth].Batch is 0 (the reference code's default).
const DefaultBatch = 1000

// Smooth is the smoothed classifier of Base with Gaussian noise of standard
// deviation Sigma (on the [0, 1] pixel scale). Its methods draw noise from
// the *rand.Rand they are given, so the same seed gives the same answer.
// Like the models it wraps, a Smooth is not safe for concurrent use.
type Smooth struct {
	Base  model.Classifier
	Sigma float64
	Batch int // noisy copies per forward pass (0: DefaultBatch)
}

func (s Smooth) check(x []float32, n int, alpha float64) error {
	switch {
	case s.Base == nil:
		return fmt.Errorf("certify: no base classifier")
	case !(s.Sigma > 0) || math.IsInf(s.Sigma, 0):
		return fmt.Errorf("certify: σ = %g, want σ > 0", s.Sigma)
	case n < 1:
		return fmt.Errorf("certify: n = %d noise samples, want n ≥ 1", n)
	case !(alpha > 0 && alpha < 1):
		return fmt.Errorf("certify: α = %g outside (0, 1)", alpha)
	case s.Batch < 0:
		return fmt.Errorf("certify: batch %d, want ≥ 0", s.Batch)
	case len(x) != model.InputSize(s.Base):
		return fmt.Errorf("certify: %w: input has %d values, the model takes %v", model.ErrShape, len(x), s.Base.InputShape())
	}
	return nil
}

// Counts draws num noisy copies x + N(0, σ²I) of the input x and returns,
// per class, how many of them the base classifier assigns to it (argmax of
// the logits, the first on ties).
func (s Smooth) Counts(ctx context.Context, x []float32, num int, rng *rand.Rand) ([]int, error) {
	if err := s.check(x, num, 0.5); err != nil {
		return nil, err
	}
	k, d := s.Base.NumClasses(), len(x)
	bs := s.Batch
	if bs == 0 {
		bs = DefaultBatch
	}
	bs = min(bs, num)
	buf, logits := make([]float32, bs*d), make([]float32, bs*k)
	counts := make([]int, k)
	for left := num; left > 0; {
		m := min(bs, left)
		left -= m
		xb, lb := buf[:m*d], logits[:m*k]
		for i := range xb {
			xb[i] = x[i%d] + float32(rng.NormFloat64()*s.Sigma)
		}
		if err := s.Base.Logits(ctx, lb, xb); err != nil {
			return nil, fmt.Errorf("certify: base classifier: %w", err)
		}
		for i := 0; i < m; i++ {
			counts[metrics.Argmax(lb[i*k:(i+1)*k])]++
		}
	}
	return counts, nil
}

// Predict is the smoothed classifier's prediction from n noise samples: the
// most frequent class, or [Abstain] when the two-sided binomial test of its
// count against the runner-up's ([BinomTest] with p = ½) gives a p-value
// above alpha. The probability that it returns a class other than g(x)
// without abstaining is at most alpha.
func (s Smooth) Predict(ctx context.Context, x []float32, n int, alpha float64, rng *rand.Rand) (int, error) {
	if err := s.check(x, n, alpha); err != nil {
		return Abstain, err
	}
	counts, err := s.Counts(ctx, x, n, rng)
	if err != nil {
		return Abstain, err
	}
	c1, c2 := top2(counts)
	if BinomTest(counts[c1], counts[c1]+counts[c2], 0.5) > alpha {
		return Abstain, nil
	}
	return c1, nil
}

// top2 returns the indices of the largest and second largest counts (the
// first index on ties).
func top2(counts []int) (int, int) {
	c1, c2 := 0, -1
	for i := 1; i < len(counts); i++ {
		switch {
		case counts[i] > counts[c1]:
			c1, c2 = i, c1
		case c2 < 0 || counts[i] > counts[c2]:
			c2 = i
		}
	}
	if c2 < 0 { // one class
		return c1, c1
	}
	return c1, c2
}

// Certify is the smoothed classifier's certified prediction: the class c
// most frequent among n0 noise samples, its count nA among n fresh ones,
// the lower bound p_low = [ClopperPearsonLower](nA, n, alpha) and the radius
// σ·Φ⁻¹(p_low) within which g is constant with probability at least
// 1 − alpha. When p_low < ½ it abstains: ([Abstain], 0).
func (s Smooth) Certify(ctx context.Context, x []float32, n0, n int, alpha float64, rng *rand.Rand) (int, float64, error) {
	if err := s.check(x, n, alpha); err != nil {
		return Abstain, 0, err
	}
	if n0 < 1 || n0 > n {
		return Abstain, 0, fmt.Errorf("certify: n0 = %d selection samples, want 1 ≤ n0 ≤ n = %d", n0, n)
	}
	sel, err := s.Counts(ctx, x, n0, rng)
	if err != nil {
		return Abstain, 0, err
	}
	c, _ := top2(sel)
	est, err := s.Counts(ctx, x, n, rng)
	if err != nil {
		return Abstain, 0, err
	}
	r, ok := Radius(s.Sigma, est[c], n, alpha)
	if !ok {
		return Abstain, 0, nil
	}
	return c, r, nil
}
