package robustopt

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// NewsvendorConfig configures [Newsvendor] simulations: demand of source k
// is max(0, m_k + Spread·z) with m_k = Mean + MetaStd·z′ drawn from the
// meta-distribution; unseen targets draw m from the meta-distribution
// shifted by Shift·MetaStd.
type NewsvendorConfig struct {
	Sources int     `flag:"sources" help:"number of source distributions K"`
	N       int     `flag:"n" help:"demand samples per source"`
	Level   float64 `flag:"level" help:"quantile level of the source distances giving the ball radius (conservatism)"`
	Hold    float64 `flag:"hold" help:"holding cost per unit of excess stock"`
	Back    float64 `flag:"back" help:"backorder cost per unit of unmet demand"`
	Mean    float64 `flag:"mean" help:"meta-distribution mean demand"`
	MetaStd float64 `flag:"meta-std" help:"std of the sources' mean demands"`
	Spread  float64 `flag:"spread" help:"demand std within a source"`
	Shift   float64 `flag:"shift" help:"shift of the targets' meta mean, in meta-std units"`
	Targets int     `flag:"targets" help:"unseen target distributions per run"`
	TargetN int     `flag:"target-n" help:"samples estimating each target's expected cost"`
	Seed    uint64  `flag:"seed" help:"random seed"`
}

// DefaultNewsvendorConfig is a small instance solved in well under a second.
func DefaultNewsvendorConfig() NewsvendorConfig {
	return NewsvendorConfig{Sources: 8, N: 5, Level: 0.9, Hold: 1, Back: 4, Mean: 100, MetaStd: 15, Spread: 20, Shift: 0.5, Targets: 50, TargetN: 2000, Seed: 1}
}

// Outcome is one decision's measured performance in a [NewsvendorRun].
type Outcome struct {
	// X is the order quantity.
	X float64 `json:"x"`
	// InSample is the expected cost under the pooled empirical
	// distribution, Bound the certified worst case over the ball.
	InSample, Bound float64
	// OutOfSample is the mean over targets of the realized expected cost;
	// Held the fraction of targets with realized cost ≤ Bound, HeldInBall
	// the same over the targets whose embedding lies in the ball.
	OutOfSample, Held, HeldInBall float64
}

// NewsvendorRun is the result of [SimulateNewsvendor].
type NewsvendorRun struct {
	// SAA and Robust are the two decisions' outcomes.
	SAA, Robust Outcome
	// Radius is the ball radius; InBall the fraction of targets inside it.
	Radius, InBall float64
	// Iterations is the robust solve's row-generation rounds.
	Iterations int
}

// SimulateNewsvendor draws sources from the meta-distribution, fits the
// RKHS ball, solves the SAA and robust newsvendor, and measures both on
// unseen (shifted) target distributions: each target's expected cost from
// TargetN draws, its ball membership from the embedding of its first 200.
func SimulateNewsvendor(ctx context.Context, c NewsvendorConfig) (*NewsvendorRun, error) {
	if c.Sources < 2 || c.N < 1 || c.Targets < 1 || c.TargetN < 1 {
		return nil, fmt.Errorf("robustopt: need sources ≥ 2, n, targets, target-n ≥ 1 (got %d, %d, %d, %d)", c.Sources, c.N, c.Targets, c.TargetN)
	}
	if c.Hold <= 0 || c.Back <= 0 {
		return nil, fmt.Errorf("robustopt: hold %g and back %g must be positive", c.Hold, c.Back)
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	draw := func(m float64, n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Max(0, m+c.Spread*rng.NormFloat64())
		}
		return s
	}
	src := make([][]float64, c.Sources)
	for k := range src {
		src[k] = draw(c.Mean+c.MetaStd*rng.NormFloat64(), c.N)
	}
	u, err := Fit(src, c.Level)
	if err != nil {
		return nil, err
	}
	loss := Newsvendor(c.Hold, c.Back)
	lo, hi := 0.0, 0.0
	for _, p := range u.Points {
		hi = math.Max(hi, p)
	}
	rob, err := RobustSolve(ctx, loss, u, lo, hi, 1e-6)
	if err != nil {
		return nil, err
	}
	saa := SAA(loss, u, lo, hi)
	run := &NewsvendorRun{Radius: u.Radius, Iterations: rob.Iterations,
		SAA:    Outcome{X: saa.X, InSample: saa.Nominal, Bound: saa.Value},
		Robust: Outcome{X: rob.X, InSample: rob.Nominal, Bound: rob.Value}}
	inBall := 0
	for range c.Targets {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t := draw(c.Mean+c.MetaStd*(c.Shift+rng.NormFloat64()), c.TargetN)
		in := u.Distance(t[:min(len(t), 200)]) <= u.Radius
		if in {
			inBall++
		}
		for _, o := range []*Outcome{&run.SAA, &run.Robust} {
			cost := 0.0
			for _, d := range t {
				cost += loss(o.X, d)
			}
			cost /= float64(len(t))
			o.OutOfSample += cost / float64(c.Targets)
			if cost <= o.Bound {
				o.Held += 1 / float64(c.Targets)
				if in {
					o.HeldInBall++
				}
			}
		}
	}
	run.InBall = float64(inBall) / float64(c.Targets)
	for _, o := range []*Outcome{&run.SAA, &run.Robust} {
		if inBall > 0 {
			o.HeldInBall /= float64(inBall)
		} else {
			o.HeldInBall = math.NaN()
		}
	}
	return run, nil
}
