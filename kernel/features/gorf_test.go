package features

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

type profileKernel struct{ f func(t float64) float64 }

func (p profileKernel) Eval(x, z []float64) float64 { return p.f(dist(x, z)) }

func unitRows(n, d int, seed uint64) *mat.Dense {
	X := randDense(newRand(seed), n, d, 1)
	for i := 0; i < n; i++ {
		r := X.RawRowView(i)
		nr := math.Sqrt(dot(r, r))
		for j := range r {
			r[j] /= nr
		}
	}
	return X
}

// TestKreinDiagonal checks K̃_ii = M₊ − M₋ exactly (cos² + sin² = 1), which
// is κ(0) = 0 for the Delta-Gaussian kernel.
func TestKreinDiagonal(t *testing.T) {
	X := randDense(newRand(1), 10, 4, 1)
	k := must(NewGORF(DeltaGaussian{Sigma1: 1, Sigma2: 10}, 4, 33, newRand(2)))
	G, err := k.Gram(X, X)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if math.Abs(G.At(i, i)) > 1e-12 {
			t.Errorf("K̃[%d,%d] = %g, want κ(0) = 0", i, i, G.At(i, i))
		}
	}
	if _, c := must(k.Transform(X)).Dims(); c != 4*33 {
		t.Errorf("Transform has %d columns, want 4D = %d", c, 4*33)
	}
}

// TestKreinConvergence checks the Monte-Carlo error of GORF and GRFF against
// the closed-form Delta-Gaussian kernel falls like 1/D.
func TestKreinConvergence(t *testing.T) {
	const d = 8
	dg := DeltaGaussian{Sigma1: 1, Sigma2: 10}
	X := randDense(newRand(3), 15, d, 0.4)
	K := exactGram(dg, X, X)
	for _, ortho := range []bool{false, true} {
		var e [2]float64
		for i, D := range []int{16, 1024} {
			for s := uint64(0); s < 4; s++ {
				k := must(newKrein(dg, d, D, ortho, newRand(s)))
				e[i] += mse(must(k.Gram(X, X)), K) / 4
			}
		}
		if e[1] > e[0]/16 {
			t.Errorf("orthogonal=%v: MSE %g at D=16, %g at D=1024: want a ≥16× drop", ortho, e[0], e[1])
		}
	}
}

// TestPolySphereMassesGolden compares grid masses with scipy quadrature
// between the sign changes of the density (testdata/gen_golden.py).
func TestPolySphereMassesGolden(t *testing.T) {
	var g struct {
		PolyMasses []struct {
			D        int
			A        float64
			P        int
			Rmax     float64
			Pos, Neg float64
		} `json:"poly_masses"`
	}
	readJSON(t, "bessel.json", &g)
	for _, c := range g.PolyMasses {
		m, err := PolySphere(c.D, c.A, c.P, c.Rmax, 20000)
		if err != nil {
			t.Fatal(err)
		}
		mp, mn := m.Masses()
		if math.Abs(mp-c.Pos) > 1e-4*c.Pos || math.Abs(mn-c.Neg) > 1e-4*c.Pos {
			t.Errorf("d=%d p=%d rmax=%v: masses %v, %v; scipy %v, %v", c.D, c.P, c.Rmax, mp, mn, c.Pos, c.Neg)
		}
	}
}

// TestPolySphereSampler checks, in d = 3 where the sphere average of
// cos(r·vᵀΔ) is sin(rt)/(rt), that GORF and GRFF are unbiased for the kernel
// of the tabulated (truncated) measure, with error falling like 1/D, and that
// this kernel approaches (1 − t²/a²)^p away from the jump at t = 2 as rmax
// grows.
func TestPolySphereSampler(t *testing.T) {
	const d = 3
	grid := must(PolySphere(d, 3, 1, 8, 20000))
	truncated := func(t float64) float64 {
		var s float64
		for i := 1; i < len(grid.r); i++ {
			r := (grid.r[i] + grid.r[i-1]) / 2
			w := (grid.posCDF[i] - grid.posCDF[i-1]) - (grid.negCDF[i] - grid.negCDF[i-1])
			if rt := r * t; rt > 0 {
				s += w * math.Sin(rt) / rt
			} else {
				s += w
			}
		}
		return s
	}
	X := unitRows(12, d, 5)
	K := exactGram(profileKernel{truncated}, X, X)
	for _, ortho := range []bool{false, true} {
		var e [2]float64
		for i, D := range []int{64, 4096} {
			for s := uint64(0); s < 3; s++ {
				k := must(newKrein(grid, d, D, ortho, newRand(10+s)))
				e[i] += mse(must(k.Gram(X, X)), K) / 3
			}
		}
		if e[1] > e[0]/16 || e[1] > 2e-3 {
			t.Errorf("orthogonal=%v: MSE vs truncated-measure kernel %g (D=64), %g (D=4096)", ortho, e[0], e[1])
		}
	}
	// Truncation error shrinks with rmax for t away from 2.
	wide := must(PolySphere(d, 3, 1, 60, 60000))
	kappa := PolySphereKernel(3, 1)
	for _, tt := range []float64{0.3, 0.8, 1.2} {
		var s float64
		for i := 1; i < len(wide.r); i++ {
			r := (wide.r[i] + wide.r[i-1]) / 2
			w := (wide.posCDF[i] - wide.posCDF[i-1]) - (wide.negCDF[i] - wide.negCDF[i-1])
			s += w * math.Sin(r*tt) / (r * tt)
		}
		if math.Abs(s-kappa(tt)) > 0.03 {
			t.Errorf("t=%v: truncated-measure kernel %v, κ = %v", tt, s, kappa(tt))
		}
	}
}

// TestRadialErrors checks argument validation.
func TestRadialErrors(t *testing.T) {
	r := newRand(1)
	grid := must(PolySphere(3, 3, 1, 5, 100))
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"a < 2", func() error { _, err := PolySphere(3, 1.5, 1, 5, 100); return err }, "a ≥ 2"},
		{"p = 0", func() error { _, err := PolySphere(3, 3, 0, 5, 100); return err }, "degree"},
		{"rmax", func() error { _, err := PolySphere(3, 3, 1, -1, 100); return err }, "rmax"},
		{"npts", func() error { _, err := PolySphere(3, 3, 1, 5, 1); return err }, "points"},
		{"dim", func() error {
			_, err := NewRadialGrid(0, func(float64) float64 { return 1 }, func(float64) float64 { return 1 }, 1, 10)
			return err
		}, "dimension"},
		{"no positive mass", func() error {
			_, err := NewRadialGrid(2, func(float64) float64 { return -1 }, func(float64) float64 { return 1 }, 1, 10)
			return err
		}, "no positive mass"},
		{"nan density", func() error {
			_, err := NewRadialGrid(2, func(float64) float64 { return math.NaN() }, func(float64) float64 { return 1 }, 1, 10)
			return err
		}, "not finite"},
		{"grid dim mismatch", func() error { _, err := NewGORF(grid, 4, 10, r); return err }, "dimension 3"},
		{"sigma", func() error { _, err := NewGORF(DeltaGaussian{Sigma1: 0, Sigma2: 1}, 4, 10, r); return err }, "sigma1"},
		{"nil measure", func() error { _, err := NewGRFF(nil, 4, 10, r); return err }, "nil"},
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

// TestPolySphereOfficial checks the official-code variant: masses sum to 1
// and radii follow μ(r) without the Jacobian (so they concentrate at small r
// compared with the correct sampler).
func TestPolySphereOfficial(t *testing.T) {
	off := must(PolySphereOfficial(16, 3, 1, 100, 20000))
	mp, mn := off.Masses()
	if math.Abs(mp+mn-1) > 1e-12 {
		t.Errorf("official masses sum to %v, want 1", mp+mn)
	}
	cor := must(PolySphere(16, 3, 1, 100, 20000))
	r := newRand(1)
	var so, sc float64
	for i := 0; i < 2000; i++ {
		so += off.SampleRadius(16, false, r)
		sc += cor.SampleRadius(16, false, r)
	}
	if so >= sc/2 {
		t.Errorf("mean radius: official %v, correct %v; want the official one much smaller", so/2000, sc/2000)
	}
}
