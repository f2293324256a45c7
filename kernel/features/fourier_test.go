package features

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

type mapCase struct {
	name  string
	build func(d, D int, rng *rand.Rand) (Map, error)
	k     Evaluator
	// floor is a bias floor on the MSE: SORF rows all have norm √p/σ instead
	// of χ_d/σ, a bias of order 1/d (Yu et al. 2016).
	floor float64
}

func fourierCases(sigma float64) []mapCase {
	g := Gaussian{Sigma: sigma}
	return []mapCase{
		{"rff-gauss-cossin", func(d, D int, r *rand.Rand) (Map, error) { return NewRFF(g, d, D, CosSin, r) }, g, 0},
		{"rff-gauss-phase", func(d, D int, r *rand.Rand) (Map, error) { return NewRFF(g, d, D, Phase, r) }, g, 0},
		{"rff-laplace-cossin", func(d, D int, r *rand.Rand) (Map, error) {
			return NewRFF(Laplacian{Sigma: 4 * sigma}, d, D, CosSin, r)
		}, Laplacian{Sigma: 4 * sigma}, 0},
		{"orf-gauss-cossin", func(d, D int, r *rand.Rand) (Map, error) { return NewORF(g, d, D, CosSin, r) }, g, 0},
		{"orf-gauss-phase", func(d, D int, r *rand.Rand) (Map, error) { return NewORF(g, d, D, Phase, r) }, g, 0},
		{"sorf-gauss-cossin", func(d, D int, r *rand.Rand) (Map, error) { return NewSORF(sigma, d, D, CosSin, r) }, g, 1e-3},
		{"sorf-gauss-phase", func(d, D int, r *rand.Rand) (Map, error) { return NewSORF(sigma, d, D, Phase, r) }, g, 1e-3},
	}
}

// TestFourierConvergence checks that the mean squared error of the Monte-Carlo
// kernel against the closed form falls like 1/D (averaged over seeds).
func TestFourierConvergence(t *testing.T) {
	const d = 16
	X := randDense(newRand(1), 20, d, 1)
	Z := randDense(newRand(2), 15, d, 1)
	for _, tc := range fourierCases(4) {
		t.Run(tc.name, func(t *testing.T) {
			K := exactGram(tc.k, X, Z)
			Ds := []int{32, 128, 512, 2048}
			errs := make([]float64, len(Ds))
			for i, D := range Ds {
				for s := uint64(0); s < 4; s++ {
					m, err := tc.build(d, D, newRand(100+s))
					if err != nil {
						t.Fatal(err)
					}
					errs[i] += mse(approxGram(m, X, Z), K) / 4
				}
			}
			for i := 1; i < len(errs); i++ {
				if errs[i] >= errs[i-1] {
					t.Errorf("MSE did not fall from D=%d to D=%d: %v", Ds[i-1], Ds[i], errs)
				}
			}
			// 64× more features: ideal ratio 1/64; allow 1/16 plus the bias floor.
			if errs[3] > errs[0]/16+tc.floor {
				t.Errorf("MSE ratio D=2048/D=32 is %.3g, want ≤ 1/16 (errors %v)", errs[3]/errs[0], errs)
			}
		})
	}
}

// TestOrthogonalLowerVariance compares mean squared kernel errors of
// orthogonal constructions with i.i.d. ones at equal feature count over
// 100 seeds each. Orthogonal directions must cut the error by a clear margin.
func TestOrthogonalLowerVariance(t *testing.T) {
	const d, seeds = 16, 100
	X := randDense(newRand(3), 16, d, 1)
	g := Gaussian{Sigma: 4}
	Kg := exactGram(g, X, X)
	Xs := randDense(newRand(4), 16, d, 0.25)
	dg := DeltaGaussian{Sigma1: 1, Sigma2: 10}
	Kd := exactGram(dg, Xs, Xs)
	gram := func(m Map, X *mat.Dense) *mat.Dense {
		if k, ok := m.(*KreinMap); ok {
			G, err := k.Gram(X, X)
			if err != nil {
				t.Fatal(err)
			}
			return G
		}
		return approxGram(m, X, X)
	}
	cases := []struct {
		name      string
		D         int
		X         *mat.Dense
		K         *mat.Dense
		iid, orth func(D int, r *rand.Rand) (Map, error)
		maxRatio  float64
	}{
		{"orf-vs-rff", 16, X, Kg,
			func(D int, r *rand.Rand) (Map, error) { return NewRFF(g, d, D, CosSin, r) },
			func(D int, r *rand.Rand) (Map, error) { return NewORF(g, d, D, CosSin, r) }, 0.6},
		{"orf-vs-rff-3blocks", 48, X, Kg,
			func(D int, r *rand.Rand) (Map, error) { return NewRFF(g, d, D, CosSin, r) },
			func(D int, r *rand.Rand) (Map, error) { return NewORF(g, d, D, CosSin, r) }, 0.6},
		{"sorf-vs-rff", 32, X, Kg,
			func(D int, r *rand.Rand) (Map, error) { return NewRFF(g, d, D, CosSin, r) },
			func(D int, r *rand.Rand) (Map, error) { return NewSORF(4, d, D, CosSin, r) }, 0.6},
		{"gorf-vs-grff", 32, Xs, Kd,
			func(D int, r *rand.Rand) (Map, error) { return NewGRFF(dg, d, D, r) },
			func(D int, r *rand.Rand) (Map, error) { return NewGORF(dg, d, D, r) }, 0.6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var eIID, eOrth float64
			for s := uint64(0); s < seeds; s++ {
				a, err := tc.iid(tc.D, newRand(1000+s))
				if err != nil {
					t.Fatal(err)
				}
				b, err := tc.orth(tc.D, newRand(5000+s))
				if err != nil {
					t.Fatal(err)
				}
				eIID += mse(gram(a, tc.X), tc.K) / seeds
				eOrth += mse(gram(b, tc.X), tc.K) / seeds
			}
			if r := eOrth / eIID; r > tc.maxRatio {
				t.Errorf("orthogonal/i.i.d. MSE ratio %.3f (%.3g / %.3g), want ≤ %v", r, eOrth, eIID, tc.maxRatio)
			} else {
				t.Logf("orthogonal/i.i.d. MSE ratio %.3f (%.3g / %.3g)", r, eOrth, eIID)
			}
		})
	}
}

// TestSameSeedSameFeatures checks bit-for-bit reproducibility per seed.
func TestSameSeedSameFeatures(t *testing.T) {
	const d = 7
	X := randDense(newRand(9), 300, d, 1)
	builds := map[string]func(r *rand.Rand) (Map, error){
		"rff":  func(r *rand.Rand) (Map, error) { return NewRFF(Gaussian{Sigma: 1}, d, 50, Phase, r) },
		"orf":  func(r *rand.Rand) (Map, error) { return NewORF(Gaussian{Sigma: 1}, d, 50, CosSin, r) },
		"sorf": func(r *rand.Rand) (Map, error) { return NewSORF(1, d, 50, Phase, r) },
		"gorf": func(r *rand.Rand) (Map, error) { return NewGORF(DeltaGaussian{1, 10}, d, 20, r) },
		"grff": func(r *rand.Rand) (Map, error) { return NewGRFF(DeltaGaussian{1, 10}, d, 20, r) },
		"askrff-source": func(r *rand.Rand) (Map, error) {
			a, err := NewAsKRFF(ShiftedGaussian{Sigma: 1, Shift: []float64{.3, 0, 0, .1, 0, 0, .2}}, AsKRFFConfig{D: 20, Mass: MassMonteCarlo, MCSamples: 2000}, nil, nil, r)
			if err != nil {
				return nil, err
			}
			return a.SourceMap(), nil
		},
	}
	for name, b := range builds {
		t.Run(name, func(t *testing.T) {
			m1, err := b(newRand(42))
			if err != nil {
				t.Fatal(err)
			}
			m2, _ := b(newRand(42))
			m3, _ := b(newRand(43))
			F1, _ := Transform(m1, X)
			F2, _ := Transform(m2, X)
			F3, _ := Transform(m3, X)
			a, b, c := F1.RawMatrix().Data, F2.RawMatrix().Data, F3.RawMatrix().Data
			for i := range a {
				if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
					t.Fatalf("same seed, feature %d differs: %v vs %v", i, a[i], b[i])
				}
			}
			same := true
			for i := range a {
				if a[i] != c[i] {
					same = false
					break
				}
			}
			if same {
				t.Error("different seeds gave identical features")
			}
		})
	}
}

// TestSORFFastEqualsDense checks the fast Walsh–Hadamard path against the
// materialized matrix, and the structure of W: rows of norm √p/σ (d = p),
// orthogonal within a block.
func TestSORFFastEqualsDense(t *testing.T) {
	for _, tc := range []struct {
		d, D int
		form Form
	}{{16, 40, CosSin}, {5, 19, Phase}, {1, 3, CosSin}, {33, 70, Phase}} {
		f, err := NewSORF(2, tc.d, tc.D, tc.form, newRand(5))
		if err != nil {
			t.Fatal(err)
		}
		W := f.Frequencies()
		g, err := NewFourier(W, f.Phases(), tc.form)
		if err != nil {
			t.Fatal(err)
		}
		X := randDense(newRand(6), 50, tc.d, 1)
		A, _ := f.Transform(X)
		B, _ := g.Transform(X)
		if d := maxAbsDiff(A.RawMatrix().Data, B.RawMatrix().Data); d > 1e-12 {
			t.Errorf("d=%d D=%d: fast and dense SORF differ by %g", tc.d, tc.D, d)
		}
		if tc.d == 16 {
			for i := 0; i < 16; i++ {
				for j := 0; j < 16; j++ {
					v := mat.Dot(W.RowView(i), W.RowView(j))
					want := 0.0
					if i == j {
						want = 16.0 / 4 // p/σ²
					}
					if math.Abs(v-want) > 1e-10 {
						t.Fatalf("SORF block rows %d,%d: inner product %v, want %v", i, j, v, want)
					}
				}
			}
		}
	}
}

// TestORFBlocksOrthogonal checks that ORF directions are orthonormal within
// each block of d rows and that radii are not all equal (χ_d scaling).
func TestORFBlocksOrthogonal(t *testing.T) {
	const d, D = 6, 15
	f, err := NewORF(Gaussian{Sigma: 1.5}, d, D, CosSin, newRand(8))
	if err != nil {
		t.Fatal(err)
	}
	W := f.Frequencies()
	norms := make([]float64, D)
	for i := range norms {
		norms[i] = mat.Norm(W.RowView(i), 2)
	}
	for b := 0; b < D; b += d {
		for i := b; i < min(b+d, D); i++ {
			for j := b; j < i; j++ {
				c := mat.Dot(W.RowView(i), W.RowView(j)) / (norms[i] * norms[j])
				if math.Abs(c) > 1e-12 {
					t.Fatalf("rows %d and %d of one block have cosine %g", i, j, c)
				}
			}
		}
	}
	if norms[0] == norms[1] {
		t.Error("ORF radii are all equal; want independent χ_d radii")
	}
}

// TestTransformRowsIndependent checks that a large parallel transform equals
// row-at-a-time transforms.
func TestTransformRowsIndependent(t *testing.T) {
	const d = 9
	X := randDense(newRand(11), 3000, d, 1)
	for _, m := range []Map{
		must(NewRFF(Gaussian{Sigma: 2}, d, 64, Phase, newRand(1))),
		must(NewSORF(2, d, 64, CosSin, newRand(1))),
	} {
		F, err := Transform(m, X)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 1, 1500, 2999} {
			row, _ := Transform(m, mat.NewDense(1, d, X.RawRowView(i)))
			if dd := maxAbsDiff(row.RawRowView(0), F.RawRowView(i)); dd > 1e-13 {
				t.Errorf("row %d differs by %g between batch and single transform", i, dd)
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestFourierErrors checks that bad arguments give errors naming the problem.
func TestFourierErrors(t *testing.T) {
	r := newRand(1)
	f := must(NewRFF(Gaussian{Sigma: 1}, 3, 10, CosSin, r))
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"sigma zero", func() error { _, err := NewRFF(Gaussian{}, 3, 10, CosSin, r); return err }, "sigma"},
		{"sigma NaN", func() error { _, err := NewORF(Gaussian{Sigma: math.NaN()}, 3, 10, CosSin, r); return err }, "sigma"},
		{"laplace negative", func() error { _, err := NewRFF(Laplacian{Sigma: -1}, 3, 10, CosSin, r); return err }, "sigma"},
		{"D zero", func() error { _, err := NewRFF(Gaussian{Sigma: 1}, 3, 0, CosSin, r); return err }, "number of features"},
		{"d zero", func() error { _, err := NewSORF(1, 0, 4, CosSin, r); return err }, "input dimension"},
		{"nil rng", func() error { _, err := NewRFF(Gaussian{Sigma: 1}, 3, 4, CosSin, nil); return err }, "random source"},
		{"nil spectrum", func() error { _, err := NewRFF(nil, 3, 4, CosSin, r); return err }, "nil spectrum"},
		{"bad form", func() error { _, err := NewRFF(Gaussian{Sigma: 1}, 3, 4, Form(9), r); return err }, "form"},
		{"phases missing", func() error { _, err := NewFourier(mat.NewDense(2, 2, nil), nil, Phase); return err }, "phases"},
		{"phases extra", func() error { _, err := NewFourier(mat.NewDense(2, 2, nil), []float64{1, 2}, CosSin); return err }, "no phases"},
		{"nonfinite W", func() error {
			_, err := NewFourier(mat.NewDense(1, 2, []float64{1, math.Inf(1)}), nil, CosSin)
			return err
		}, "non-finite"},
		{"wrong columns", func() error { _, err := f.Transform(mat.NewDense(2, 4, nil)); return err }, "4 columns"},
		{"wrong dst", func() error { return f.TransformTo(mat.NewDense(2, 5, nil), mat.NewDense(2, 3, nil)) }, "destination"},
		{"nil data", func() error { _, err := f.Transform(nil); return err }, "nil"},
		{"parse form", func() error { _, err := ParseForm("tan"); return err }, "unknown feature form"},
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
