package features

import (
	"math"
	"testing"
)

type besselGolden struct {
	Orders []float64
	X      []float64
	J      [][]float64
	Poly   []struct {
		D  int
		A  float64
		P  int
		R  float64
		Mu float64
	} `json:"poly_density"`
}

// TestBesselGolden checks integer and half-integer J_ν against scipy.special.jv.
func TestBesselGolden(t *testing.T) {
	var g besselGolden
	readJSON(t, "bessel.json", &g)
	for i, nu := range g.Orders {
		for j, x := range g.X {
			got, want := besselJ(nu, x), g.J[i][j]
			if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) && math.Abs(got-want) > 1e-10*math.Abs(want) {
				t.Errorf("J_%v(%v) = %v, scipy %v", nu, x, got, want)
			}
		}
	}
}

// TestPolySphereDensityGolden checks the closed-form spectral density of the
// polynomial kernel on the sphere against scipy (which the generator also
// cross-checks with a Hankel-transform quadrature).
func TestPolySphereDensityGolden(t *testing.T) {
	var g besselGolden
	readJSON(t, "bessel.json", &g)
	for _, c := range g.Poly {
		got := PolySphereDensity(c.D, c.A, c.P)(c.R)
		if math.Abs(got-c.Mu) > 1e-10*math.Abs(c.Mu)+1e-30 {
			t.Errorf("d=%d a=%v p=%d: μ(%v) = %v, scipy %v", c.D, c.A, c.P, c.R, got, c.Mu)
		}
	}
}

// TestBesselRatioContinuity checks that the series and Bessel branches of
// (2/w)^ν J_ν(2w) agree where they switch.
func TestBesselRatioContinuity(t *testing.T) {
	for _, nu := range []float64{0.5, 1, 1.5, 4, 8.5, 33} {
		w := math.Sqrt(nu + 1)
		a := besselRatio(nu, w*(1-1e-12))
		b := besselRatio(nu, w*(1+1e-12))
		if math.Abs(a-b) > 1e-9*math.Abs(a) {
			t.Errorf("ν=%v: branches differ at w=%v: %v vs %v", nu, w, a, b)
		}
	}
}
