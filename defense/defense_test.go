package defense_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/defense/defensetest"
)

// TestConformance runs the shared property tests on every registered
// defense with its defaults, and on non-default settings.
func TestConformance(t *testing.T) {
	for _, name := range defense.Names() {
		t.Run(name, func(t *testing.T) {
			defensetest.Check(t, func() (defense.Defense, error) {
				return defense.New(name, defense.Options{Seed: 7})
			})
		})
	}
	settings := []struct {
		name   string
		params string
	}{
		{"aaa-linear", "tau=1,alpha=0.5,temperature=2.5"},
		{"aaa-linear", "tau=20,kappa=0,iters=10,lr=1"},
		{"aaa-sine", "tau=2,temperature=0.3,iters=250"},
		{"aaa-linear", "lr=1e30"}, // overflows float32: every row is reverted
		{"aaa-sine", "lr=1e308"},  // overflows float64 to NaN: reverted too
		{"aaa-linear", "kappa=1e300,temperature=1e-300,tau=1e-300"},
		{"aaa-linear", "rowwise=1"},                  // per-row mode: rows independent
		{"aaa-sine", "rowwise=1,tau=6,eps=1e-3"},     //
		{"aaa-linear", "tau=6,eps=1e-300"},           // official mode, ε negligible
		{"aaa-sine", "tau=6,temperature=2,eps=0.01"}, // official mode, ε large
		{"top-k", "k=3"},
		{"top-k", "k=1000"},
		{"rounded", "decimals=1"},
		{"high-confidence", "cutoff=1"},
		{"reverse-sigmoid", "beta=5,gamma=3"},
		{"outrnd", "sigma=0"},
		{"gaussian-noise", "scale=3"},
		{"rnd", "sigma=1"},
	}
	for _, s := range settings {
		t.Run(s.name+":"+s.params, func(t *testing.T) {
			params, err := defense.ParseParams(s.params)
			if err != nil {
				t.Fatal(err)
			}
			defensetest.Check(t, func() (defense.Defense, error) {
				return defense.New(s.name, defense.Options{Seed: 99, Params: params})
			})
		})
	}
	// Typed constructors with a caller-owned source.
	t.Run("NewOutputNoise", func(t *testing.T) {
		defensetest.Check(t, func() (defense.Defense, error) {
			return defense.NewOutputNoise(1, rand.New(rand.NewPCG(1, 2)))
		})
	})
}

// TestApplyAllocs: once warmed up, no defense allocates in Apply (AAA on
// one worker), nor does Wrap's Logits.
func TestApplyAllocs(t *testing.T) {
	const n, k = 16, 10
	rng := rand.New(rand.NewPCG(1, 1))
	logits := make([]float32, n*k)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64())
	}
	dst := make([]float32, n*k)
	for _, name := range defense.Names() {
		opts := defense.Options{}
		if info, _ := defense.Lookup(name); len(info.Params) > 0 && info.Params[len(info.Params)-1].Name == "workers" {
			opts.Params = map[string]float64{"workers": 1}
		}
		d, err := defense.New(name, opts)
		if err != nil {
			t.Fatal(err)
		}
		if allocs := testing.AllocsPerRun(5, func() {
			if err := d.Apply(dst, logits, k); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("%s: %v allocations per Apply", name, allocs)
		}
		if _, ok := d.(defense.ModelWrapper); ok {
			continue // needs a model with features: TestUniGModelAllocs
		}
		w := defense.Wrap(constant(logits[:k]), d)
		x := make([]float32, n*4)
		if allocs := testing.AllocsPerRun(5, func() {
			if err := w.Logits(context.Background(), dst, x); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("%s: %v allocations per wrapped Logits", name, allocs)
		}
	}
}
