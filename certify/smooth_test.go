package certify

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/shard"
)

// constant always predicts class c of k.
type constant struct{ c, k, d int }

func (m constant) InputShape() []int { return []int{m.d} }
func (m constant) NumClasses() int   { return m.k }
func (m constant) Logits(_ context.Context, dst, x []float32) error {
	clear(dst)
	for i := 0; i < len(x)/m.d; i++ {
		dst[i*m.k+m.c] = 1
	}
	return nil
}

// linear is the two-class classifier 1[w·x > b]: its decision boundary is
// at L2 distance |w·x − b|/‖w‖ from x, which is also the exact robust
// radius of its smoothed classifier.
type linear struct {
	w []float64
	b float64
}

func (m linear) InputShape() []int { return []int{len(m.w)} }
func (m linear) NumClasses() int   { return 2 }
func (m linear) Logits(_ context.Context, dst, x []float32) error {
	d := len(m.w)
	for i := 0; i < len(x)/d; i++ {
		s := -m.b
		for j, w := range m.w {
			s += w * float64(x[i*d+j])
		}
		dst[2*i], dst[2*i+1] = 0, float32(s)
	}
	return nil
}
func (m linear) Clone() model.Classifier { return m }

func TestCertifyConstantGivesMaxRadius(t *testing.T) {
	x := make([]float32, 4)
	for _, sigma := range []float64{0.12, 0.25, 1} {
		s := Smooth{Base: constant{c: 3, k: 5, d: 4}, Sigma: sigma, Batch: 64}
		c, r, err := s.Certify(context.Background(), x, 10, 1000, 0.001, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		want := sigma * NormalQuantile(math.Pow(0.001, 1.0/1000))
		if c != 3 || !near(r, want, 1e-12) || !near(r, MaxRadius(sigma, 1000, 0.001), 1e-12) {
			t.Errorf("σ=%g: Certify = (%d, %g), want (3, σ·Φ⁻¹(α^{1/n}) = %g)", sigma, c, r, want)
		}
		p, err := s.Predict(context.Background(), x, 100, 0.001, rand.New(rand.NewPCG(1, 3)))
		if err != nil || p != 3 {
			t.Errorf("σ=%g: Predict = %d, %v; want 3", sigma, p, err)
		}
	}
}

func TestCertifyLinearIsSound(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const d = 6
	for trial := 0; trial < 40; trial++ {
		w := make([]float64, d)
		var norm float64
		for j := range w {
			w[j] = r.NormFloat64()
			norm += w[j] * w[j]
		}
		norm = math.Sqrt(norm)
		x := make([]float32, d)
		for j := range x {
			x[j] = float32(r.Float64())
		}
		var wx float64
		for j := range w {
			wx += w[j] * float64(x[j])
		}
		sigma := []float64{0.12, 0.25, 0.5}[trial%3]
		dist := sigma * 2.5 * r.Float64() // distance of x to the boundary
		b := wx - dist*norm               // x is on the class-1 side
		want := 1
		if trial%2 == 1 { // or on the class-0 side
			b, want = wx+dist*norm, 0
		}
		s := Smooth{Base: linear{w, b}, Sigma: sigma, Batch: 500}
		c, rad, err := s.Certify(context.Background(), x, 100, 10000, 0.001, rand.New(rand.NewPCG(uint64(trial), 1)))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c == Abstain:
			if rad != 0 {
				t.Errorf("trial %d: abstained with radius %g", trial, rad)
			}
			if dist > 0.5*sigma {
				t.Errorf("trial %d: abstained at distance %g = %.2fσ from the boundary", trial, dist, dist/sigma)
			}
		case c != want:
			t.Errorf("trial %d: class %d, want %d (distance %g)", trial, c, want, dist)
		case rad > dist:
			t.Errorf("trial %d: certified radius %g exceeds the distance %g to the decision boundary", trial, rad, dist)
		case rad < 0.75*dist-0.1*sigma:
			t.Errorf("trial %d: certified radius %g far below the true radius %g", trial, rad, dist)
		}
	}
}

// coin predicts class 0 when the first input value is positive, else 1:
// at x = 0 the smoothed classifier is a fair coin, so it must abstain.
type coin struct{ constant }

func (m coin) Logits(_ context.Context, dst, x []float32) error {
	for i := 0; i < len(x)/m.d; i++ {
		dst[2*i], dst[2*i+1] = 0, 0
		if x[i*m.d] > 0 {
			dst[2*i] = 1
		} else {
			dst[2*i+1] = 1
		}
	}
	return nil
}

func TestAbstainGivesZeroRadiusAndIsNeverCorrect(t *testing.T) {
	base := coin{constant{k: 2, d: 3}}
	s := Smooth{Base: base, Sigma: 0.25}
	x := make([]float32, 3)
	c, r, err := s.Certify(context.Background(), x, 100, 2000, 0.001, rand.New(rand.NewPCG(1, 1)))
	if err != nil || c != Abstain || r != 0 {
		t.Fatalf("Certify of a fair coin = (%d, %g, %v), want (Abstain, 0, nil)", c, r, err)
	}
	if p, err := s.Predict(context.Background(), x, 2000, 0.001, rand.New(rand.NewPCG(1, 2))); err != nil || p != Abstain {
		t.Fatalf("Predict of a fair coin = %d, %v, want Abstain", p, err)
	}
	// In Run, images of both labels abstain; none counts as correct.
	ds := &data.Dataset{Name: "zeros", Shape: []int{3}, X: make([]float32, 4*3), Y: []int{0, 1, 0, 1}, Classes: []string{"a", "b"}}
	rep, err := Run(context.Background(), Config{Model: base, ModelName: "coin", Data: ds, Sigmas: []float64{0.25}, N0: 50, N: 1000, Alpha: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	sr := rep.Sigmas[0]
	if sr.Abstained != 4 || sr.ACR != 0 || sr.Certified[0] != 0 {
		t.Errorf("abstaining run: %d abstained, ACR %g, certified %v; want 4, 0, 0", sr.Abstained, sr.ACR, sr.Certified)
	}
	for _, smp := range sr.Samples {
		if smp.Correct || smp.Radius != 0 || smp.Class != Abstain {
			t.Errorf("sample %+v: an abstention must have class -1, radius 0 and not be correct", smp)
		}
	}
}

// linearData is n random points in [0,1]^d labelled by m.
func linearData(m linear, n int) *data.Dataset {
	r := rand.New(rand.NewPCG(3, 3))
	d := len(m.w)
	ds := &data.Dataset{Name: "lin", Shape: []int{d}, X: make([]float32, n*d), Y: make([]int, n), Classes: []string{"neg", "pos"}}
	for i := range ds.X {
		ds.X[i] = float32(r.Float64())
	}
	lg := make([]float32, 2*n)
	m.Logits(context.Background(), lg, ds.X)
	for i := range ds.Y {
		if lg[2*i+1] > 0 {
			ds.Y[i] = 1
		}
		if i%5 == 4 { // some wrong labels
			ds.Y[i] = 1 - ds.Y[i]
		}
	}
	return ds
}

func TestRunDeterministicAcrossWorkersAndShards(t *testing.T) {
	m := linear{w: []float64{1, -2, 0.5, 1}, b: 0.2}
	cfg := Config{Model: m, ModelName: "lin", Data: linearData(m, 30), Sigmas: []float64{0.25, 0.5}, N0: 20, N: 400,
		Alpha: 0.01, Skip: 2, NImages: 12, Predict: true, Seed: 9, Batch: 64}
	run := func(c Config) *Report {
		t.Helper()
		rep, err := Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	cfg.Workers = 1
	one := run(cfg)
	cfg.Workers = 3
	if three := run(cfg); !reflect.DeepEqual(stripTimes(one), stripTimes(three)) {
		t.Error("1 and 3 workers give different results")
	}
	if again := run(cfg); !reflect.DeepEqual(stripTimes(one), stripTimes(again)) {
		t.Error("two runs with the same seed differ")
	}
	if len(one.Sigmas[0].Samples) != 12 || one.Sigmas[0].Samples[11].Index != 22 {
		t.Errorf("skip 2, 12 images: got %d samples, last index %d", len(one.Sigmas[0].Samples), one.Sigmas[0].Samples[11].Index)
	}
	var shards []*Report
	for i := 2; i >= 0; i-- {
		c := cfg
		c.Shard = shard.Spec{Index: i, Count: 3}
		shards = append(shards, run(c))
	}
	merged, err := Merge(shards...)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stripTimes(one), stripTimes(merged)) {
		t.Error("merged shards differ from the unsharded run")
	}
	if _, err := Merge(shards[:2]...); err == nil || !errors.Is(err, shard.ErrSpec) {
		t.Errorf("merging 2 of 3 shards: %v, want a missing-shard error", err)
	}
	cfg.Seed = 10
	if other := run(cfg); reflect.DeepEqual(stripTimes(one), stripTimes(other)) {
		t.Error("another seed gives identical results")
	}
	// The table's certified accuracy and ACR follow the samples.
	sr := one.Sigmas[0]
	var k int
	var acr float64
	for _, s := range sr.Samples {
		if s.Correct && s.Radius >= 0.25 {
			k++
		}
		if s.Correct {
			acr += s.Radius
		}
	}
	if sr.Certified[1] != float64(k)/12 || !near(sr.ACR, acr/12, 1e-12) {
		t.Errorf("certified@0.25 %g, ACR %g; recomputed %g, %g", sr.Certified[1], sr.ACR, float64(k)/12, acr/12)
	}
	var b strings.Builder
	if err := one.WriteText(&b); err != nil || !strings.Contains(b.String(), "r=0.25") || !strings.Contains(b.String(), "predict acc") {
		t.Errorf("WriteText: %v\n%s", err, b.String())
	}
}

func stripTimes(r *Report) *Report {
	c := *r
	c.Shard = shard.Spec{}
	c.Sigmas = nil
	for _, s := range r.Sigmas {
		s.Seconds = 0
		s.Samples = append([]Sample(nil), s.Samples...)
		for i := range s.Samples {
			s.Samples[i].Seconds = 0
		}
		c.Sigmas = append(c.Sigmas, s)
	}
	return &c
}

func TestBadInput(t *testing.T) {
	m := linear{w: []float64{1, 1}, b: 0}
	ds := linearData(m, 4)
	good := Config{Model: m, Data: ds, Sigmas: []float64{0.25}, N0: 10, N: 100, Alpha: 0.001}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"sigma 0", func(c *Config) { c.Sigmas = []float64{0.25, 0} }, "σ > 0"},
		{"sigma negative", func(c *Config) { c.Sigmas = []float64{-1} }, "σ > 0"},
		{"sigma NaN", func(c *Config) { c.Sigmas = []float64{math.NaN()} }, "σ > 0"},
		{"n0 > n", func(c *Config) { c.N0 = 101 }, "n0 101"},
		{"n0 0", func(c *Config) { c.N0 = 0 }, "n0 0"},
		{"alpha 0", func(c *Config) { c.Alpha = 0 }, "alpha 0 outside (0, 1)"},
		{"alpha 1", func(c *Config) { c.Alpha = 1 }, "alpha 1 outside (0, 1)"},
		{"data does not fit", func(c *Config) { c.Model = linear{w: []float64{1, 1, 1}} }, "does not fit model"},
		{"unlabelled", func(c *Config) { d := *ds; d.Y = nil; c.Data = &d }, "no class labels"},
		{"no sigma", func(c *Config) { c.Sigmas = nil }, "no σ"},
	} {
		cfg := good
		c.edit(&cfg)
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	s := Smooth{Base: m, Sigma: 0.25}
	x := []float32{0.5, 0.5}
	rng := rand.New(rand.NewPCG(1, 1))
	if _, _, err := s.Certify(context.Background(), x, 20, 10, 0.001, rng); err == nil || !strings.Contains(err.Error(), "n0 = 20") {
		t.Errorf("Certify n0 > n: %v", err)
	}
	if _, err := (Smooth{Base: m, Sigma: 0}).Predict(context.Background(), x, 10, 0.001, rng); err == nil {
		t.Error("Predict with σ = 0: no error")
	}
	if _, err := s.Predict(context.Background(), x, 10, 1.5, rng); err == nil {
		t.Error("Predict with α = 1.5: no error")
	}
	if _, _, err := s.Certify(context.Background(), []float32{1, 2, 3}, 1, 10, 0.001, rng); !errors.Is(err, model.ErrShape) {
		t.Errorf("Certify of a wrong-sized input: %v, want model.ErrShape", err)
	}
}

func TestRunCancelled(t *testing.T) {
	m := linear{w: []float64{1, 1}, b: 0}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Config{Model: m, Data: linearData(m, 8), Sigmas: []float64{0.25}, N0: 10, N: 100, Alpha: 0.001})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Run: %v, want context.Canceled", err)
	}
}
