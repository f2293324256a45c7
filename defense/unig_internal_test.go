package defense

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

type unigGoldenCase struct {
	Name                   string
	N, F, K                int
	LR                     float64 `json:"lr"`
	Epochs                 int
	Delta, Momentum        float64
	WeightDecay            float64 `json:"weight_decay"`
	H, W, B, P0, Logits, P []float64
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestUniGGolden checks one forward call of UniG against PyTorch autograd
// (testdata/unig_golden.py).
func TestUniGGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/unig_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Cases []unigGoldenCase }
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			cfg := UniGConfig{LR: c.LR, Epochs: c.Epochs, Delta: c.Delta, Momentum: c.Momentum, WeightDecay: c.WeightDecay, Batch: c.N}
			z := make([]float32, c.N*c.K)
			p := f32s(c.P0)
			var ws unigWork
			unigFit(z, f32s(c.H), p, f32s(c.W), f32s(c.B), c.N, c.K, c.F, cfg, &ws)
			for i, want := range c.Logits {
				if d := math.Abs(float64(z[i]) - want); d > 1e-4 {
					t.Errorf("logit %d (row %d, class %d) = %v, PyTorch %v", i, i/c.K, i%c.K, z[i], want)
				}
			}
			for i, want := range c.P {
				if d := math.Abs(float64(p[i]) - want); d > 1e-4 {
					t.Errorf("P[%d] = %v, PyTorch %v", i, p[i], want)
				}
			}
		})
	}
}

// TestUniGObjectiveGradient checks the analytic ∂L/∂P against central
// finite differences.
func TestUniGObjectiveGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sz := range []struct{ n, k, f int }{{2, 2, 3}, {5, 4, 6}, {7, 10, 4}} {
		n, k, f := sz.n, sz.k, sz.f
		h := make([]float64, n*f)
		p := make([]float64, n*f)
		w := make([]float32, k*f)
		b := make([]float32, k)
		y := make([]int, n)
		for i := range h {
			h[i] = 2 * r.Float64()
			p[i] = 1 + 0.5*r.NormFloat64()
		}
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		for i := range b {
			b[i] = float32(0.1 * r.NormFloat64())
		}
		for j := range y {
			y[j] = r.IntN(k)
		}
		var ws unigWork
		grad := make([]float64, n*f)
		unigObjective(grad, h, p, w, b, y, n, k, f, &ws)
		scratch := make([]float64, n*f)
		const eps = 1e-6
		maxErr, maxAbs := 0.0, 0.0
		for i := range p {
			orig := p[i]
			p[i] = orig + eps
			lp, _, _ := unigObjective(scratch, h, p, w, b, y, n, k, f, &ws)
			p[i] = orig - eps
			lm, _, _ := unigObjective(scratch, h, p, w, b, y, n, k, f, &ws)
			p[i] = orig
			fd := (lp - lm) / (2 * eps)
			maxErr = max(maxErr, math.Abs(fd-grad[i]))
			maxAbs = max(maxAbs, math.Abs(grad[i]))
		}
		if maxAbs == 0 {
			t.Fatalf("n=%d k=%d f=%d: gradient is identically zero", n, k, f)
		}
		if maxErr > 1e-6*max(1, maxAbs) {
			t.Errorf("n=%d k=%d f=%d: analytic and finite-difference gradients differ by %g (largest entry %g)", n, k, f, maxErr, maxAbs)
		}
	}
}
