package ood

import (
	"context"
	"errors"
	"testing"
)

// TestGradKNNSeparatesNoise fits the class-average gradient detector on 200 ID images
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
	d := &GradKNN{K: 5, Subspace: "class"}
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

// TestGradKNNPCA fits the principal-subspace gradient detector on few ID
// images, with and without fusion with the forward-feature KNN score, and
// checks it separates Gaussian noise from ID test images.
func TestGradKNNPCA(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	var noise Set
	for _, s := range f.sets {
		if s.Name == "gaussian" {
			noise = s
		}
	}
	noise.X = noise.X[:40*784]
	for _, d := range []*GradKNN{{K: 5, Components: 8, Iters: 2, Seed: 1}, {K: 5, Components: 8, Iters: 2, Seed: 1, Fuse: 1}} {
		res, err := Benchmark(ctx, f.net, []Detector{d}, NewInputs(f.train.X[:80*784], f.train.Y[:80]), NewInputs(f.test.X[:40*784], nil), []Set{noise})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("gradknn pca (fuse %g) vs gaussian: %+v (%d-dim gradient features)", d.Fuse, res[0].Metrics, d.c)
		if d.c != 8 {
			t.Errorf("%d components, want 8", d.c)
		}
		if res[0].AUROC <= 0.8 {
			t.Errorf("fuse %g: AUROC %.3f ≤ 0.8", d.Fuse, res[0].AUROC)
		}
	}
	bad := &GradKNN{Subspace: "nope"}
	if err := bad.Fit(ctx, f.net, NewInputs(f.train.X[:20*784], f.train.Y[:20])); err == nil {
		t.Error("subspace nope: no error")
	}
}
