package defense_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/metrics"
)

// moments returns the mean and standard deviation of x.
func moments(x []float32) (mean, std float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}

func TestOutputNoiseStatistics(t *testing.T) {
	const n, k, sigma = 4000, 5, 0.3
	d, err := defense.NewOutputNoise(sigma, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, n*k)
	for i := range logits {
		logits[i] = float32(i % k)
	}
	out := make([]float32, n*k)
	if err := d.Apply(out, logits, k); err != nil {
		t.Fatal(err)
	}
	noise := make([]float32, n*k)
	for i := range out {
		noise[i] = out[i] - logits[i]
	}
	mean, std := moments(noise)
	// 20000 draws: the mean's standard error is σ/141, the std's about σ/200.
	if math.Abs(mean) > 4*sigma/141 || math.Abs(std-sigma) > 4*sigma/200 {
		t.Errorf("noise mean %v, std %v; want 0, %v", mean, std, sigma)
	}
	// Fresh noise on every call.
	again := make([]float32, n*k)
	if err := d.Apply(again, logits, k); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(again, out) {
		t.Error("two calls returned the same noise")
	}
	// Different seeds give different noise.
	a, _ := defense.New("outrnd", defense.Options{Seed: 1})
	b, _ := defense.New("outrnd", defense.Options{Seed: 2})
	x, y := make([]float32, k), make([]float32, k)
	a.Apply(x, logits[:k], k)
	b.Apply(y, logits[:k], k)
	if slices.Equal(x, y) {
		t.Error("seeds 1 and 2 gave the same noise")
	}
}

func TestGaussianNoise(t *testing.T) {
	const n, k = 400, 2
	// A huge scale makes both noisy scores of many rows negative: those rows
	// become uniform instead of 0/0.
	d, err := defense.NewGaussianNoise(1e6, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, n*k)
	out := make([]float32, n*k)
	if err := d.Apply(out, logits, k); err != nil {
		t.Fatal(err)
	}
	uniform := 0
	for i := 0; i < n*k; i += k {
		if out[i] == 0.5 && out[i+1] == 0.5 {
			uniform++
		}
		if s := out[i] + out[i+1]; math.Abs(float64(s)-1) > 1e-6 {
			t.Fatalf("row %d sums to %v", i/k, s)
		}
	}
	// About a quarter of the rows have two negative draws.
	if uniform < n/8 || uniform > n/2 {
		t.Errorf("%d of %d rows uniform, want about %d", uniform, n, n/4)
	}
	// A small scale keeps the probabilities close to the softmax.
	d, _ = defense.NewGaussianNoise(1e-4, rand.New(rand.NewPCG(3, 3)))
	z := []float32{2, 0, -1, 0.5}
	p := make([]float32, 4)
	metrics.Softmax(p, z, 4)
	if err := d.Apply(out[:4], z, 4); err != nil {
		t.Fatal(err)
	}
	for j := range p {
		if math.Abs(float64(out[j]-p[j])) > 1e-3 {
			t.Errorf("class %d: %v, softmax %v", j, out[j], p[j])
		}
	}
}

func TestInputNoise(t *testing.T) {
	const n, sigma = 20000, 0.02
	d, err := defense.NewInputNoise(sigma, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = 0.5
	}
	y := make([]float32, n)
	if err := d.Preprocess(y, x); err != nil {
		t.Fatal(err)
	}
	mean, std := moments(y)
	if math.Abs(mean-0.5) > 4*sigma/141 || math.Abs(std-sigma) > 4*sigma/141 {
		t.Errorf("noisy inputs: mean %v, std %v; want 0.5, %v", mean, std, sigma)
	}
	// At the border, clipping puts about half of the values exactly at 0.
	clear(x)
	if err := d.Preprocess(y, x); err != nil {
		t.Fatal(err)
	}
	zeros := 0
	for _, v := range y {
		if v == 0 {
			zeros++
		}
		if v < 0 || v > 1 {
			t.Fatalf("value %v outside [0, 1]", v)
		}
	}
	if zeros < n*45/100 || zeros > n*55/100 {
		t.Errorf("%d of %d clipped to 0, want about half", zeros, n)
	}
}

// TestArgmaxClaims shows, for the defenses that do not claim KeepsArgmax, an
// input where the prediction is indeed lost.
func TestArgmaxClaims(t *testing.T) {
	logf := func(p ...float64) []float32 {
		z := make([]float32, len(p))
		for i, v := range p {
			z[i] = float32(math.Log(v))
		}
		return z
	}
	tests := []struct {
		name   string
		logits []float32
	}{
		// Many classes sharing the mass: the reverse sigmoid lifts a
		// near-zero class above the top one.
		{"reverse-sigmoid", logf(0.35, 0.33, 0.32, 1e-12)},
		// No probability reaches the cutoff: every score is 0, and the
		// argmax of the output is class 0.
		{"high-confidence", logf(0.2, 0.2, 0.2, 0.2, 0.2001)},
	}
	for _, tt := range tests {
		d, err := defense.New(tt.name, defense.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d.KeepsArgmax() {
			t.Errorf("%s claims KeepsArgmax", tt.name)
		}
		out := make([]float32, len(tt.logits))
		if err := d.Apply(out, tt.logits, len(tt.logits)); err != nil {
			t.Fatal(err)
		}
		if metrics.Argmax(out) == metrics.Argmax(tt.logits) {
			t.Errorf("%s: argmax kept on %v → %v", tt.name, tt.logits, out)
		}
	}
}
