package attack

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/trustml/trustml/model"
)

// meanCE is the mean cross-entropy of g's predictions on x.
func meanCE(t *testing.T, g model.Classifier, x []float32, y []int) float64 {
	t.Helper()
	k := g.NumClasses()
	z := make([]float32, len(y)*k)
	if err := g.Logits(context.Background(), z, x); err != nil {
		t.Fatal(err)
	}
	var s float64
	for i, l := range y {
		s -= LossCE.Value(z[i*k:(i+1)*k], l, false) // −log p_y
	}
	return s / float64(len(y))
}

// TestPGDBeatsFGSM: at the same radius PGD reaches at least FGSM's loss,
// and both raise the loss above the clean one.
func TestPGDBeatsFGSM(t *testing.T) {
	models := map[string]model.InputGrader{
		"linear": newSmoothLinear(3, 1, 8, 8, 4, 10, 1),
		"mlp":    newMLP(4, []int{1, 8, 8}, 16, 10),
	}
	for name, g := range models {
		x, y := dataset(g, 50, 8, 0)
		for _, norm := range []Norm{LInf, L2} {
			eps := 0.05
			if norm == L2 {
				eps = 0.3
			}
			f := NewFGSM()
			f.Norm, f.Eps = norm, eps
			p := NewPGD()
			p.Norm, p.Eps, p.Steps, p.RandomStart = norm, eps, 20, false
			fx, px := make([]float32, len(x)), make([]float32, len(x))
			if err := f.Perturb(context.Background(), g, fx, x, y); err != nil {
				t.Fatal(err)
			}
			if err := p.Perturb(context.Background(), g, px, x, y, nil); err != nil {
				t.Fatal(err)
			}
			clean, lf, lp := meanCE(t, g, x, y), meanCE(t, g, fx, y), meanCE(t, g, px, y)
			t.Logf("%s %v: CE clean %.4f, FGSM %.4f, PGD %.4f", name, norm, clean, lf, lp)
			if !(lf > clean) || lp < lf-1e-6 {
				t.Errorf("%s %v: CE clean %.4f, FGSM %.4f, PGD %.4f; want clean < FGSM ≤ PGD", name, norm, clean, lf, lp)
			}
			for i := range y {
				x0 := x[i*64 : (i+1)*64]
				for _, adv := range [][]float32{fx[i*64 : (i+1)*64], px[i*64 : (i+1)*64]} {
					if norm == L2 && dist2(adv, x0) > eps {
						t.Fatalf("%s: ‖δ‖₂ = %v > %v", name, dist2(adv, x0), eps)
					}
					for j, v := range adv {
						if v < 0 || v > 1 || (norm == LInf && math.Abs(float64(v)-float64(x0[j])) > eps) {
							t.Fatalf("%s %v: value %v (clean %v) outside the threat set", name, norm, v, x0[j])
						}
					}
				}
			}
		}
	}
}

func TestPerturbRandomStartAndErrors(t *testing.T) {
	g := newMLP(4, []int{1, 8, 8}, 16, 10)
	x, y := dataset(g, 5, 8, 0)
	p := NewPGD()
	a, b := make([]float32, len(x)), make([]float32, len(x))
	if err := p.Perturb(context.Background(), g, a, x, y, seeded(1)); err != nil {
		t.Fatal(err)
	}
	if err := p.Perturb(context.Background(), g, b, x, y, seeded(1)); err != nil {
		t.Fatal(err)
	}
	for j := range a {
		if a[j] != b[j] {
			t.Fatal("PGD with the same seed differs")
		}
	}
	cases := []struct {
		name string
		err  error
	}{
		{"nil rng with random start", p.Perturb(context.Background(), g, a, x, y, nil)},
		{"dst aliases x", p.Perturb(context.Background(), g, x, x, y, seeded(1))},
		{"short dst", p.Perturb(context.Background(), g, a[:10], x, y, seeded(1))},
		{"short x", p.Perturb(context.Background(), g, a[:10], x[:10], y, seeded(1))},
		{"label count", p.Perturb(context.Background(), g, a, x, y[:2], seeded(1))},
		{"label range", p.Perturb(context.Background(), g, a, x, []int{0, 1, 2, 3, 10}, seeded(1))},
		{"zero eps", (&FGSM{Threat: Threat{Eps: 0}}).Perturb(context.Background(), g, a, x, y)},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Perturb(ctx, g, a, x, y, seeded(1)); err == nil {
		t.Error("cancelled context: no error")
	}
}

func TestPGDSchedule(t *testing.T) {
	a := NewPGD()
	a.Steps, a.StepSize = 8, 1
	for _, c := range []struct {
		schedule string
		want     []float64
	}{
		{"", []float64{1, 1, 1, 1, 1, 1, 1, 1}},
		{"constant", []float64{1, 1, 1, 1, 1, 1, 1, 1}},
		{"halve", []float64{1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25}},
		{"cosine", []float64{1, 0.9619397662556434, 0.8535533905932737, 0.6913417161825449, 0.5, 0.3086582838174551, 0.1464466094067262, 0.03806023374435663}},
	} {
		a.Schedule = c.schedule
		for s, w := range c.want {
			if got := a.stepAt(s); math.Abs(got-w) > 1e-12 {
				t.Errorf("%q step %d: %v, want %v", c.schedule, s, got, w)
			}
		}
	}
}

// TestPGDRestarts: restarts run on the samples earlier runs left unbroken
// (the first run is the single-run attack, so restarts only add fooled
// samples), each costing Steps gradient queries and a final check.
func TestPGDRestarts(t *testing.T) {
	m := newMLP(3, []int{16}, 12, 6)
	x, y := dataset(m, 60, 5, 0.3)
	run := func(restarts int, schedule string) *Result {
		a := NewPGD()
		a.Eps, a.Steps, a.Restarts, a.Schedule = 0.08, 3, restarts, schedule
		o, err := NewOracle(m, OracleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(8)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	one, five := run(1, "halve"), run(5, "halve")
	for i := range y {
		if one.Success[i] && (!five.Success[i] || five.FooledAt[i] != one.FooledAt[i]) {
			t.Errorf("sample %d fooled at %d by one run, with restarts: %v at %d", i, one.FooledAt[i], five.Success[i], five.FooledAt[i])
		}
		if !five.Success[i] && five.Queries[i] != 1+5*4 {
			t.Errorf("unbroken sample %d used %d queries, want %d", i, five.Queries[i], 1+5*4)
		}
	}
	if !(five.RobustAccuracy(0) < one.RobustAccuracy(0)) {
		t.Errorf("restarts did not help: robust accuracy %.3f with 5, %.3f with 1", five.RobustAccuracy(0), one.RobustAccuracy(0))
	}
	t.Logf("robust accuracy: 1 run %.3f, 5 runs %.3f, cosine %.3f", one.RobustAccuracy(0), five.RobustAccuracy(0), run(1, "cosine").RobustAccuracy(0))

	for _, c := range []struct {
		edit func(a *PGD)
		want string
	}{
		{func(a *PGD) { a.Schedule = "linear" }, `schedule "linear"`},
		{func(a *PGD) { a.Restarts = -1 }, "restarts -1"},
		{func(a *PGD) { a.Restarts, a.RandomStart = 2, false }, "without random_start"},
	} {
		a := NewPGD()
		c.edit(a)
		o, err := NewOracle(m, OracleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(1)}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one mentioning %q", err, c.want)
		}
	}
	a := NewPGD()
	a.Restarts = 3
	dst := make([]float32, len(x))
	if err := a.Perturb(context.Background(), m, dst, x, y, seeded(1)); err == nil || !strings.Contains(err.Error(), "Run only") {
		t.Errorf("Perturb with restarts: error %v", err)
	}
}
