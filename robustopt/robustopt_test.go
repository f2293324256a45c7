package robustopt

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

var tiny = [][]float64{{90, 110, 95}, {120, 130, 100}, {80, 85, 105}, {100, 115, 98}}

// TestGolden checks the tiny instance against testdata/golden.py (scipy
// SLSQP inner max, bounded Brent outer min).
func TestGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]float64
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	u, err := Fit(tiny, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	loss := Newsvendor(1, 4)
	sol, err := RobustSolve(context.Background(), loss, u, 0, 200, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	_, w130 := u.WorstCase(loss, 130)
	saa := SAA(loss, u, 0, 200)
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"radius", u.Radius, g["radius"], 1e-9},
		{"x", sol.X, g["x"], 0.05},
		{"value", sol.Value, g["value"], 0.005},
		{"worst at 130", w130, g["worst_at_130"], 0.005},
		{"saa nominal", saa.Nominal, g["saa_nominal"], 1e-6},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.6g, scipy %.6g (tol %g)", c.name, c.got, c.want, c.tol)
		}
	}
	if sol.Value < sol.Nominal || sol.Value > saa.Value+1e-6 {
		t.Errorf("robust bound %g not in [nominal %g, SAA's worst case %g]", sol.Value, sol.Nominal, saa.Value)
	}
}

func TestZeroRadiusIsSAA(t *testing.T) {
	u, err := Fit(tiny, 0)
	if err != nil {
		t.Fatal(err)
	}
	u.Radius = 0
	loss := Newsvendor(1, 4)
	rob, err := RobustSolve(context.Background(), loss, u, 0, 200, 1e-9)
	if err != nil {
		t.Fatal(err)
	}
	if saa := SAA(loss, u, 0, 200); math.Abs(rob.Value-saa.Nominal) > 1e-6 {
		t.Errorf("radius 0: robust %g, SAA %g", rob.Value, saa.Nominal)
	}
}

func TestProjectSimplex(t *testing.T) {
	for _, c := range []struct{ in, want []float64 }{
		{[]float64{0.2, 0.3, 0.5}, []float64{0.2, 0.3, 0.5}},
		{[]float64{2, 0, 0}, []float64{1, 0, 0}},
		{[]float64{1, 1}, []float64{0.5, 0.5}},
		{[]float64{0.5, -3, 0.9}, []float64{0.3, 0, 0.7}},
	} {
		v := append([]float64(nil), c.in...)
		projectSimplex(v)
		for i := range v {
			if math.Abs(v[i]-c.want[i]) > 1e-12 {
				t.Errorf("project %v = %v, want %v", c.in, v, c.want)
				break
			}
		}
	}
}

func TestFitErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		src   [][]float64
		level float64
	}{
		{"one source", [][]float64{{1}}, 0.5},
		{"empty source", [][]float64{{1}, {}}, 0.5},
		{"nan", [][]float64{{1}, {math.NaN()}}, 0.5},
		{"level", tiny, 1.5},
	} {
		if _, err := Fit(c.src, c.level); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestSimulateNewsvendor(t *testing.T) {
	c := DefaultNewsvendorConfig()
	c.Targets, c.TargetN = 10, 300
	r, err := SimulateNewsvendor(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Robust.Bound < r.Robust.InSample-1e-9 || r.Radius <= 0 || r.Robust.Held < 0 || r.Robust.Held > 1 {
		t.Errorf("inconsistent run %+v", r)
	}
	c.Sources = 1
	if _, err := SimulateNewsvendor(context.Background(), c); err == nil {
		t.Error("1 source: no error")
	}
}

// TestWorstCaseDominatesFeasible checks the inner maximum against random
// feasible weights: mixtures of the center and a random simplex point,
// shrunk into the ball.
func TestWorstCaseDominatesFeasible(t *testing.T) {
	u, err := Fit(tiny, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	loss := Newsvendor(1, 4)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, x := range []float64{80, 105, 130} {
		wc, v := u.WorstCase(loss, x)
		if q := u.quad(wc); q > u.Radius*u.Radius*(1+1e-9) {
			t.Errorf("x=%g: worst case outside the ball: %g > %g", x, q, u.Radius*u.Radius)
		}
		for range 200 {
			p := make([]float64, len(u.Points))
			sum := 0.0
			for i := range p {
				p[i] = rng.ExpFloat64()
				sum += p[i]
			}
			w := make([]float64, len(p))
			for a := 1.0; a > 1e-6; a /= 2 {
				for i := range w {
					w[i] = (1-a)*u.Center[i] + a*p[i]/sum
				}
				if u.quad(w) <= u.Radius*u.Radius {
					break
				}
			}
			if e := expect(loss, x, u.Points, w); e > v+1e-6 {
				t.Fatalf("x=%g: feasible weights give %g > worst case %g", x, e, v)
			}
		}
	}
}
