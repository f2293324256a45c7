package ood

import (
	"context"
	"errors"
	"testing"
)

// TestGradKNNSeparatesNoise fits the gradient detector on 200 ID images
// and checks it separates uniform noise from 100 ID test images.
func TestGradKNNSeparatesNoise(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	var noise Set
	for _, s := range f.sets {
		if s.Name == "uniform" {
			noise = s
		}
	}
	noise.X = noise.X[:100*784]
	d := &GradKNN{K: 5}
	if err := d.Score(ctx, f.net, make([]float64, 1), NewInputs(f.test.X[:784], nil)); !errors.Is(err, ErrNotFitted) {
		t.Errorf("Score before Fit: %v", err)
	}
	res, err := Benchmark(ctx, f.net, []Detector{d}, NewInputs(f.train.X[:200*784], f.train.Y[:200]), NewInputs(f.test.X[:100*784], nil), []Set{noise})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gradknn vs uniform: %+v (%d-dim gradient features)", res[0].Metrics, d.c)
	if res[0].AUROC < 0.9 {
		t.Errorf("AUROC %.3f < 0.9", res[0].AUROC)
	}
	if _, err := New("gradknn", Config{}); err != nil {
		t.Fatal(err)
	}
}
