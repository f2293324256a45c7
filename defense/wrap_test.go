package defense_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/model"
)

// linear is a small real classifier for the tests: logits = W·x + b over
// 1×2×2 inputs and 3 classes. It records the last inputs it saw.
type linear struct {
	w    [3][4]float32
	b    [3]float32
	seen []float32
	fail error
}

func newLinear() *linear {
	return &linear{
		w: [3][4]float32{{4, -1, 0, 2}, {-2, 3, 1, 0}, {0, 0, -3, 5}},
		b: [3]float32{0.1, -0.2, 0},
	}
}

func (l *linear) InputShape() []int { return []int{1, 2, 2} }
func (l *linear) NumClasses() int   { return 3 }

func (l *linear) Logits(_ context.Context, dst, x []float32) error {
	if l.fail != nil {
		return l.fail
	}
	n, err := model.CheckBatch(l, dst, x, 3)
	if err != nil {
		return err
	}
	l.seen = slices.Clone(x)
	for i := range n {
		for c := range 3 {
			s := l.b[c]
			for j := range 4 {
				s += l.w[c][j] * x[i*4+j]
			}
			dst[i*3+c] = s
		}
	}
	return nil
}

func images(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, seed))
	x := make([]float32, n*4)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

func TestWrapOutputDefense(t *testing.T) {
	ctx := context.Background()
	c := newLinear()
	x := images(8, 1)
	for _, name := range defense.Names() {
		d1, err := defense.New(name, defense.Options{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		d2, _ := defense.New(name, defense.Options{Seed: 3})
		if _, ok := d1.(defense.ModelWrapper); ok {
			continue // needs a model with features: unig_test.go
		}
		w := defense.Wrap(c, d1)
		if w.NumClasses() != 3 || !slices.Equal(w.InputShape(), []int{1, 2, 2}) || w.Output() != d1.Output() || w.Defense() != d1 || w.Classifier() != c {
			t.Errorf("%s: accessors do not reflect the wrapped parts", name)
		}
		got := make([]float32, 8*3)
		if err := w.Logits(ctx, got, x); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, pre := d1.(defense.Preprocessor); pre {
			continue // checked below
		}
		// Same as defending the model's logits directly.
		raw := make([]float32, 8*3)
		if err := c.Logits(ctx, raw, x); err != nil {
			t.Fatal(err)
		}
		want := make([]float32, 8*3)
		if err := d2.Apply(want, raw, 3); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: wrapped %v, want %v", name, got, want)
		}
	}
}

func TestWrapInputNoise(t *testing.T) {
	ctx := context.Background()
	x := images(8, 2)
	c := newLinear()
	clean := make([]float32, 8*3)
	if err := c.Logits(ctx, clean, x); err != nil {
		t.Fatal(err)
	}

	d, _ := defense.New("rnd", defense.Options{Seed: 5, Params: map[string]float64{"sigma": 0.05}})
	w := defense.Wrap(c, d)
	got := make([]float32, 8*3)
	if err := w.Logits(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(got, clean) {
		t.Error("RND did not change the logits")
	}
	// The model saw the preprocessed inputs, which the same seed reproduces.
	ref, _ := defense.New("rnd", defense.Options{Seed: 5, Params: map[string]float64{"sigma": 0.05}})
	want := make([]float32, len(x))
	if err := ref.(defense.Preprocessor).Preprocess(want, x); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.seen, want) {
		t.Error("the model did not see the preprocessed inputs")
	}
	if slices.Equal(x, want) {
		t.Error("the caller's inputs were modified")
	}

	// σ = 0: the clean logits.
	d0, _ := defense.New("rnd", defense.Options{Params: map[string]float64{"sigma": 0}})
	if err := defense.Wrap(c, d0).Logits(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, clean) {
		t.Error("RND with σ = 0 changed the logits")
	}
}

func TestWrapErrors(t *testing.T) {
	ctx := context.Background()
	c := newLinear()
	for _, name := range []string{"aaa-linear", "rnd"} {
		d, _ := defense.New(name, defense.Options{})
		w := defense.Wrap(c, d)
		if err := w.Logits(ctx, make([]float32, 3), make([]float32, 5)); !errors.Is(err, model.ErrShape) {
			t.Errorf("%s: ragged input: %v", name, err)
		}
		if err := w.Logits(ctx, make([]float32, 4), make([]float32, 4)); !errors.Is(err, model.ErrShape) {
			t.Errorf("%s: wrong dst: %v", name, err)
		}
		boom := errors.New("remote model down")
		c.fail = boom
		if err := w.Logits(ctx, make([]float32, 3), make([]float32, 4)); !errors.Is(err, boom) {
			t.Errorf("%s: model error not returned: %v", name, err)
		}
		c.fail = nil
	}
}
