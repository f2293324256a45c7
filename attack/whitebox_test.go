package attack

import (
	"context"
	"math"
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
