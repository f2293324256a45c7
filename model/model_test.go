package model_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/trustml/trustml/model"
)

// constant is a minimal classifier: every input gets the same logits.
type constant struct{ shape []int }

func (c constant) InputShape() []int { return c.shape }
func (c constant) NumClasses() int   { return 2 }
func (c constant) Logits(_ context.Context, dst, x []float32) error {
	n, err := model.CheckBatch(c, dst, x, 2)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		dst[2*i], dst[2*i+1] = 1, 0
	}
	return nil
}

func TestCheckBatch(t *testing.T) {
	c := constant{[]int{1, 2, 3}}
	cases := []struct {
		name    string
		dst, x  int
		per     int
		wantN   int
		wantErr bool
	}{
		{"ok", 4, 12, 2, 2, false},
		{"empty", 0, 0, 2, 0, false},
		{"ragged input", 4, 11, 2, 0, true},
		{"short dst", 3, 12, 2, 0, true},
		{"dst unchecked", 0, 18, 0, 3, false},
	}
	for _, tc := range cases {
		n, err := model.CheckBatch(c, make([]float32, tc.dst), make([]float32, tc.x), tc.per)
		if (err != nil) != tc.wantErr || n != tc.wantN {
			t.Errorf("%s: n=%d err=%v, want n=%d error=%v", tc.name, n, err, tc.wantN, tc.wantErr)
		}
		if err != nil && !errors.Is(err, model.ErrShape) {
			t.Errorf("%s: error %v does not wrap ErrShape", tc.name, err)
		}
	}
}

// Any type with InputShape, NumClasses and Logits is a Classifier that every
// trustml method accepts.
func ExampleClassifier() {
	var c model.Classifier = constant{[]int{1, 2, 2}}
	x := make([]float32, 3*model.InputSize(c)) // three inputs
	logits := make([]float32, 3*c.NumClasses())
	err := c.Logits(context.Background(), logits, x)
	fmt.Println(logits, err)
	err = c.Logits(context.Background(), logits, x[:5])
	fmt.Println(err)
	// Output:
	// [1 0 1 0 1 0] <nil>
	// model: shape mismatch: input has 5 values, not a multiple of the input size 4 (shape [1 2 2])
}

// withFeatures is constant with one feature per input.
type withFeatures struct{ constant }

func (withFeatures) FeatureDim() int { return 1 }
func (withFeatures) Features(_ context.Context, dst, _ []float32) error {
	clear(dst)
	return nil
}

// hinted is constant with a hint on how to get features.
type hinted struct{ constant }

func (hinted) FeaturesHint() string { return "serve them and pass --features-output" }

func TestRequireFeatures(t *testing.T) {
	c := constant{[]int{2}}
	if fe, err := model.RequireFeatures(withFeatures{c}, "f"); err != nil || fe.FeatureDim() != 1 {
		t.Errorf("a FeatureExtractor: %v", err)
	}
	for _, tc := range []struct {
		m    model.Classifier
		want string
	}{
		{c, "model local.ckpt returns no features; a model_test.constant does not expose the input of its final layer (model.FeatureExtractor)"},
		{hinted{c}, "model local.ckpt returns no features; serve them and pass --features-output"},
	} {
		_, err := model.RequireFeatures(tc.m, "local.ckpt")
		var nf *model.NoFeaturesError
		if !errors.Is(err, model.ErrNoFeatures) || !errors.As(err, &nf) || nf.Model != "local.ckpt" || err.Error() != tc.want {
			t.Errorf("RequireFeatures(%T) = %v, want %q", tc.m, err, tc.want)
		}
	}
}
