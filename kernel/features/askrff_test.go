package features

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

var (
	testShifted = ShiftedGaussian{Sigma: 1, Shift: []float64{0.5, -0.3, 0.2, 0.4}}
	testSkewed  = SkewedGaussian{Sigma: 1, A: 0.8, C: []float64{1, 0.5, -0.5, 0.3}}
)

// TestExactMasses checks the closed-form masses against importance sampling
// and the identities M_R⁺ − M_R⁻ = κ(0), M_I⁺ = M_I⁻.
func TestExactMasses(t *testing.T) {
	for _, tc := range []struct {
		name string
		mu   SpectralMeasure
	}{{"shifted", testShifted}, {"skewed", testSkewed}, {"shifted-far", ShiftedGaussian{Sigma: 0.5, Shift: []float64{2, 1}}}} {
		t.Run(tc.name, func(t *testing.T) {
			ex := tc.mu.(ExactMasser).ExactMasses()
			mc := monteCarloMasses(tc.mu, 200000, newRand(1))
			for p := 0; p < 4; p++ {
				if math.Abs(ex.get(p)-mc.get(p)) > 0.01 {
					t.Errorf("%s mass: exact %v, Monte-Carlo %v", partNames[p], ex.get(p), mc.get(p))
				}
			}
			d := tc.mu.Dim()
			zero := make([]float64, d)
			k0 := tc.mu.(Evaluator).Eval(zero, zero)
			if math.Abs(ex.RealPos-ex.RealNeg-k0) > 1e-12 {
				t.Errorf("M_R⁺ − M_R⁻ = %v, κ(0) = %v", ex.RealPos-ex.RealNeg, k0)
			}
			if ex.ImagPos != ex.ImagNeg {
				t.Errorf("M_I⁺ = %v ≠ M_I⁻ = %v", ex.ImagPos, ex.ImagNeg)
			}
		})
	}
}

// TestAsKRFFConvergence checks the asymmetric Gram approximation
// φ_s(X)φ_t(Z)ᵀ against the exact kernel for each mass method: error falls
// like 1/D and the antisymmetric part K − Kᵀ is reproduced (a symmetrized
// estimator would lose it).
func TestAsKRFFConvergence(t *testing.T) {
	X := randDense(newRand(5), 30, 4, 0.7)
	for _, tc := range []struct {
		name string
		mu   SpectralMeasure
		mass MassMethod
	}{
		{"shifted-exact", testShifted, MassExact},
		{"shifted-montecarlo", testShifted, MassMonteCarlo},
		{"shifted-subset", testShifted, MassSubset},
		{"skewed-exact", testSkewed, MassExact},
		{"skewed-subset", testSkewed, MassSubset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			K := exactGram(tc.mu.(Evaluator), X, X)
			var asym mat.Dense
			asym.Sub(K, K.T())
			var e [2]float64
			var asymErr float64
			for i, D := range []int{16, 1024} {
				for s := uint64(0); s < 3; s++ {
					a, err := NewAsKRFF(tc.mu, AsKRFFConfig{D: D, Mass: tc.mass, MCSamples: 50000, SubsetSize: 200}, X, nil, newRand(20+s))
					if err != nil {
						t.Fatal(err)
					}
					G := must(a.Gram(X, X))
					e[i] += mse(G, K) / 3
					if i == 1 {
						var ga mat.Dense
						ga.Sub(G, G.T())
						asymErr += mse(&ga, &asym) / 3
					}
				}
			}
			if e[1] > e[0]/16 {
				t.Errorf("MSE %g at D=16, %g at D=1024: want a ≥16× drop", e[0], e[1])
			}
			if rel := asymErr / (mse(&asym, mat.NewDense(30, 30, nil)) + 1e-300); rel > 0.05 {
				t.Errorf("antisymmetric part relative MSE %.3g at D=1024", rel)
			}
		})
	}
}

// TestAsKRFFParts checks part bookkeeping: the skewed Gaussian has no μ_R⁻
// (dropped, 3 parts), and a zero shift reduces AsK-RFF to plain RFF with
// φ_s = φ_t.
func TestAsKRFFParts(t *testing.T) {
	a := must(NewAsKRFF(testSkewed, AsKRFFConfig{D: 10}, nil, nil, newRand(1)))
	if a.Dim() != 3*2*10 {
		t.Errorf("skewed Gaussian: Dim %d, want %d (R⁻ part dropped)", a.Dim(), 60)
	}
	if a.Masses().RealNeg != 0 || a.Dropped().RealNeg != 0 {
		t.Errorf("skewed Gaussian R⁻ mass %v, dropped %v; want 0", a.Masses().RealNeg, a.Dropped().RealNeg)
	}
	sym := ShiftedGaussian{Sigma: 1, Shift: []float64{0, 0, 0}}
	b := must(NewAsKRFF(sym, AsKRFFConfig{D: 10}, nil, nil, newRand(1)))
	if b.Dim() != 20 {
		t.Fatalf("zero shift: Dim %d, want 20 (only R⁺)", b.Dim())
	}
	X := randDense(newRand(2), 5, 3, 1)
	S, T := must(b.Source(X)), must(b.Target(X))
	if d := maxAbsDiff(S.RawMatrix().Data, T.RawMatrix().Data); d != 0 {
		t.Errorf("zero shift: source and target features differ by %g", d)
	}
}

type noMasses struct{ SpectralMeasure }

type badBound struct{ ShiftedGaussian }

func (badBound) Bound() float64 { return 0.01 }

// TestAsKRFFErrors checks argument validation.
func TestAsKRFFErrors(t *testing.T) {
	r := newRand(1)
	X := randDense(newRand(2), 5, 4, 1)
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"no closed form", func() error {
			_, err := NewAsKRFF(noMasses{testShifted}, AsKRFFConfig{D: 4}, nil, nil, r)
			return err
		}, "no closed form"},
		{"subset without data", func() error {
			_, err := NewAsKRFF(testShifted, AsKRFFConfig{D: 4, Mass: MassSubset}, nil, nil, r)
			return err
		}, "training data"},
		{"subset wrong columns", func() error {
			_, err := NewAsKRFF(testShifted, AsKRFFConfig{D: 4, Mass: MassSubset}, mat.NewDense(3, 2, nil), nil, r)
			return err
		}, "2 columns"},
		{"subset without kernel", func() error {
			_, err := NewAsKRFF(noMasses{testShifted}, AsKRFFConfig{D: 4, Mass: MassSubset}, X, nil, r)
			return err
		}, "exact kernel"},
		{"bound", func() error {
			_, err := NewAsKRFF(badBound{testShifted}, AsKRFFConfig{D: 4, Mass: MassMonteCarlo, MCSamples: 100}, nil, nil, r)
			return err
		}, "does not dominate"},
		{"D", func() error { _, err := NewAsKRFF(testShifted, AsKRFFConfig{}, nil, nil, r); return err }, "number of features"},
		{"sigma", func() error {
			_, err := NewAsKRFF(ShiftedGaussian{Shift: []float64{1}}, AsKRFFConfig{D: 3}, nil, nil, r)
			return err
		}, "sigma"},
		{"nil rng", func() error {
			_, err := NewAsKRFF(testShifted, AsKRFFConfig{D: 3}, nil, nil, (*rand.Rand)(nil))
			return err
		}, "random source"},
		{"transform columns", func() error {
			a := must(NewAsKRFF(testShifted, AsKRFFConfig{D: 3}, nil, nil, r))
			_, err := a.Source(mat.NewDense(2, 3, nil))
			return err
		}, "3 columns"},
		{"mass method", func() error { _, err := ParseMassMethod("guess"); return err }, "unknown mass method"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestShiftedMassesBranches checks continuity of the closed-form masses
// where the small-shift branch takes over, and the zero-shift limit.
func TestShiftedMassesBranches(t *testing.T) {
	lo := ShiftedGaussian{Sigma: 1, Shift: []float64{0.25 * (1 - 1e-9)}}.ExactMasses()
	hi := ShiftedGaussian{Sigma: 1, Shift: []float64{0.25}}.ExactMasses()
	for p := 0; p < 4; p++ {
		if math.Abs(lo.get(p)-hi.get(p)) > 1e-9 {
			t.Errorf("%s mass jumps at s = 1/4: %v vs %v", partNames[p], lo.get(p), hi.get(p))
		}
	}
	z := ShiftedGaussian{Sigma: 1, Shift: []float64{0, 0}}.ExactMasses()
	if z != (Masses{RealPos: 1}) {
		t.Errorf("zero shift masses %+v, want only M_R⁺ = 1", z)
	}
}
