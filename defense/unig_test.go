package defense_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
)

// tinyNet is a small untrained MLP (1×2×2 inputs, 6 features, 3 classes).
func tinyNet(t *testing.T) *nn.Network {
	t.Helper()
	net, err := nn.New(nn.MLP([]int{1, 2, 2}, []int{6}, 3), 7)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func newUniG(t *testing.T, params map[string]float64, seed uint64) defense.Defense {
	t.Helper()
	d, err := defense.New("unig", defense.Options{Seed: seed, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestUniGNeedsHead(t *testing.T) {
	d := newUniG(t, nil, 1)
	c := newLinear()
	_, err := d.(defense.ModelWrapper).WrapModel(c)
	if !errors.Is(err, defense.ErrNoHead) || !strings.Contains(err.Error(), "defense_test.linear") {
		t.Fatalf("WrapModel of a model without features: %v, want ErrNoHead naming the type", err)
	}
	w := defense.Wrap(c, d)
	if !errors.Is(w.Err(), defense.ErrNoHead) {
		t.Errorf("Wrap(...).Err() = %v", w.Err())
	}
	if err := w.Logits(context.Background(), make([]float32, 3), make([]float32, 4)); !errors.Is(err, defense.ErrNoHead) {
		t.Errorf("Logits = %v, want ErrNoHead", err)
	}
	if err := defense.Wrap(c, defense.Identity{}).Err(); err != nil {
		t.Errorf("output defense: Err() = %v", err)
	}
}

func TestUniGBadParams(t *testing.T) {
	for _, p := range []map[string]float64{{"lr": -1}, {"delta": -0.1}, {"batch": 0}, {"epochs": 1.5}, {"momentum": 2}} {
		if _, err := defense.New("unig", defense.Options{Params: p}); err == nil {
			t.Errorf("params %v accepted", p)
		}
	}
}

// With delta = 0 the multipliers are clamped to 1: the defended logits are
// the model's.
func TestUniGDeltaZeroIsUndefended(t *testing.T) {
	ctx := context.Background()
	net := tinyNet(t)
	x := images(20, 3)
	want := make([]float32, 20*3)
	if err := net.Logits(ctx, want, x); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 20*3)
	if err := defense.Wrap(net, newUniG(t, map[string]float64{"delta": 0}, 1)).Logits(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("logit %d = %v, undefended %v", i, got[i], want[i])
		}
	}
}

// Property: |z_UniG − z| ≤ δ·Σ_i |W_ci h_i| for every class c, since P stays
// in [1−δ, 1+δ]; so the prediction is kept on every input whose undefended
// margin exceeds twice that bound, and changes otherwise only where the
// batch fitting moved P.
func TestUniGBoundedChange(t *testing.T) {
	ctx := context.Background()
	net := tinyNet(t)
	w, _, k, f := net.Head()
	for _, delta := range []float64{0.05, 0.2, 0.5} {
		for seed := uint64(1); seed <= 3; seed++ {
			n := 37
			x := images(n, seed)
			z := make([]float32, n*k)
			h := make([]float32, n*f)
			if err := net.Logits(ctx, z, x); err != nil {
				t.Fatal(err)
			}
			if err := net.Features(ctx, h, x); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, n*k)
			// batch 8: the 37 rows are fitted in five groups.
			d := newUniG(t, map[string]float64{"delta": delta, "batch": 8}, seed)
			if err := defense.Wrap(net, d).Logits(ctx, got, x); err != nil {
				t.Fatal(err)
			}
			changed := 0
			for j := 0; j < n; j++ {
				var bound float64
				for c := 0; c < k; c++ {
					var s float64
					for i := 0; i < f; i++ {
						s += math.Abs(float64(w[c*f+i] * h[j*f+i]))
					}
					if diff := math.Abs(float64(got[j*k+c] - z[j*k+c])); diff > delta*s+1e-4 {
						t.Fatalf("δ=%v row %d class %d: changed by %v > bound %v", delta, j, c, diff, delta*s)
					}
					bound = max(bound, delta*s)
					if got[j*k+c] != z[j*k+c] {
						changed++
					}
				}
				row := z[j*k : (j+1)*k]
				y := metrics.Argmax(row)
				sorted := slices.Clone(row)
				slices.Sort(sorted)
				if margin := float64(sorted[k-1] - sorted[k-2]); margin > 2*bound+1e-4 && metrics.Argmax(got[j*k:(j+1)*k]) != y {
					t.Errorf("δ=%v row %d: margin %v > 2·%v but the prediction changed", delta, j, margin, bound)
				}
			}
			if changed == 0 {
				t.Errorf("δ=%v: UniG changed no logit", delta)
			}
		}
	}
}

// Same seed, same outputs; a second call draws fresh multipliers.
func TestUniGDeterministic(t *testing.T) {
	ctx := context.Background()
	net := tinyNet(t)
	x := images(10, 2)
	a, b, c := make([]float32, 30), make([]float32, 30), make([]float32, 30)
	w1, w2 := defense.Wrap(net, newUniG(t, nil, 9)), defense.Wrap(net, newUniG(t, nil, 9))
	if err := errors.Join(w1.Logits(ctx, a, x), w2.Logits(ctx, b, x), w1.Logits(ctx, c, x)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Error("same seed gave different outputs")
	}
	if slices.Equal(a, c) {
		t.Error("second call repeated the first call's multipliers")
	}
}

func TestUniGModelShape(t *testing.T) {
	net := tinyNet(t)
	w := defense.Wrap(net, newUniG(t, nil, 1))
	if err := w.Logits(context.Background(), make([]float32, 4), make([]float32, 8)); err == nil {
		t.Error("wrong destination length accepted")
	}
	if err := w.Logits(context.Background(), make([]float32, 3), make([]float32, 5)); err == nil {
		t.Error("partial input accepted")
	}
	if err := w.Logits(context.Background(), nil, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func BenchmarkUniG(b *testing.B) {
	net, err := nn.New(nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{}), 1)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 64*28*28)
	for i := range x {
		x[i] = r.Float32()
	}
	dst := make([]float32, 64*10)
	d, _ := defense.New("unig", defense.Options{Seed: 1})
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"forward", func() error { return net.Logits(context.Background(), dst, x) }},
		{"unig", func() error { return defense.Wrap(net, d).Logits(context.Background(), dst, x) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// served stands for a model behind a URL (an oip.Client).
type served struct{ *linear }

func (served) URL() string { return "http://h:1/v2/models/m" }

func TestUniGServedModel(t *testing.T) {
	_, err := newUniG(t, nil, 1).(defense.ModelWrapper).WrapModel(served{newLinear()})
	if !errors.Is(err, defense.ErrNoHead) || !strings.Contains(err.Error(), "http://h:1/v2/models/m") || !strings.Contains(err.Error(), "serve --defense unig") {
		t.Errorf("served model: %v", err)
	}
}
