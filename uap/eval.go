package uap

import (
	"context"
	"fmt"
	"slices"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
)

// evalChunk bounds the images evaluated at once.
const evalChunk = 256

// predict writes the predicted class of every image of X (in values each)
// into out; with v not nil the images are x + v, clipped to [0, 1] when
// clip is set.
func predict(ctx context.Context, m model.Classifier, X []float32, in, k int, clip bool, v []float32, out []int) error {
	n := len(X) / in
	buf := make([]float32, min(n, evalChunk)*in)
	logits := make([]float32, min(n, evalChunk)*k)
	for lo := 0; lo < n; lo += evalChunk {
		hi := min(lo+evalChunk, n)
		x := X[lo*in : hi*in]
		if v != nil {
			b := buf[:len(x)]
			Perturb(b, x, v, clip)
			x = b
		}
		z := logits[:(hi-lo)*k]
		if err := m.Logits(ctx, z, x); err != nil {
			return err
		}
		for i := range hi - lo {
			out[lo+i] = argmax(z[i*k : (i+1)*k])
		}
	}
	return nil
}

// Perturb writes the images x (each of len(v) values) plus v into dst,
// clipped to [0, 1] when clip is set.
func Perturb(dst, x, v []float32, clip bool) {
	in := len(v)
	for i := range x {
		d := x[i] + v[i%in]
		if clip {
			d = min(max(d, 0), 1)
		}
		dst[i] = d
	}
}

// Outcome is a model's accuracy and fooling rate on the perturbed images
// under one convention (x + v as is, or clipped to [0, 1]).
type Outcome struct {
	Accuracy float64 `json:"accuracy"`
	// FoolingRate is the fraction of images whose prediction differs from
	// the prediction on the clean image (the paper's definition).
	FoolingRate float64 `json:"fooling_rate"`
}

// Eval is one model's behaviour under a universal perturbation.
type Eval struct {
	Model         string  `json:"model"`
	Transfer      bool    `json:"transfer"` // crafted on another model
	Images        int     `json:"images"`
	CleanAccuracy float64 `json:"clean_accuracy"`
	// Unclipped is x + v as the FG-UAP paper evaluates it; Clipped keeps
	// x + v in [0, 1], what an image file can carry.
	Unclipped Outcome `json:"unclipped"`
	Clipped   Outcome `json:"clipped"`
	// Perturbed are the predictions on the unclipped images, Clean on the
	// clean ones (not in JSON).
	Perturbed []int `json:"-"`
	Clean     []int `json:"-"`
}

// Evaluate measures m (called name) on the labelled images of test and on
// them plus v, unclipped and clipped.
func Evaluate(ctx context.Context, m model.Classifier, name string, test *data.Dataset, v []float32) (*Eval, error) {
	return EvaluateWith(ctx, m, name, test, v, nil)
}

// EvaluateWith is [Evaluate] given m's predictions on the clean images
// (nil: computed), for evaluating many perturbations on one model.
func EvaluateWith(ctx context.Context, m model.Classifier, name string, test *data.Dataset, v []float32, clean []int) (*Eval, error) {
	if m == nil || test == nil || test.Len() == 0 || !test.IsLabeled() {
		return nil, fmt.Errorf("uap: evaluation needs a model and labelled images")
	}
	if !slices.Equal(test.Shape, m.InputShape()) || len(v) != test.SampleSize() {
		return nil, fmt.Errorf("uap: model %s takes inputs of shape %v; the data set %s has %v and the perturbation %d values",
			name, m.InputShape(), test.Name, test.Shape, len(v))
	}
	n, in, k := test.Len(), test.SampleSize(), m.NumClasses()
	e := &Eval{Model: name, Images: n, Clean: make([]int, n), Perturbed: make([]int, n)}
	clipped := make([]int, n)
	if len(clean) == n {
		copy(e.Clean, clean)
	} else if err := predict(ctx, m, test.X, in, k, false, nil, e.Clean); err != nil {
		return nil, fmt.Errorf("uap: model %s: %w", name, err)
	}
	if err := predict(ctx, m, test.X, in, k, false, v, e.Perturbed); err != nil {
		return nil, fmt.Errorf("uap: model %s: %w", name, err)
	}
	if err := predict(ctx, m, test.X, in, k, true, v, clipped); err != nil {
		return nil, fmt.Errorf("uap: model %s: %w", name, err)
	}
	var ca, ua, ka, uf, kf int
	for i, y := range test.Y {
		ca += b2i(e.Clean[i] == y)
		ua += b2i(e.Perturbed[i] == y)
		ka += b2i(clipped[i] == y)
		uf += b2i(e.Perturbed[i] != e.Clean[i])
		kf += b2i(clipped[i] != e.Clean[i])
	}
	f := float64(n)
	e.CleanAccuracy = float64(ca) / f
	e.Unclipped = Outcome{Accuracy: float64(ua) / f, FoolingRate: float64(uf) / f}
	e.Clipped = Outcome{Accuracy: float64(ka) / f, FoolingRate: float64(kf) / f}
	return e, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
