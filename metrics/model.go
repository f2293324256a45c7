package metrics

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/model"
)

// Logits returns the n×K logits of c on the inputs x.
func Logits(ctx context.Context, c model.Classifier, x []float32) ([]float32, error) {
	n, err := model.CheckBatch(c, nil, x, 0)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n*c.NumClasses())
	if err := c.Logits(ctx, out, x); err != nil {
		return nil, err
	}
	return out, nil
}

// EvaluateClassifier evaluates c on inputs x with labels y: accuracy, NLL and ECE.
func EvaluateClassifier(ctx context.Context, c model.Classifier, x []float32, y []int) (Classification, []float32, error) {
	logits, err := Logits(ctx, c, x)
	if err != nil {
		return Classification{}, nil, err
	}
	if len(logits) != len(y)*c.NumClasses() {
		return Classification{}, nil, fmt.Errorf("metrics: %d inputs for %d labels", len(logits)/c.NumClasses(), len(y))
	}
	m, err := Evaluate(logits, y, c.NumClasses())
	return m, logits, err
}
