package ood

import (
	"context"
	"math"
	"testing"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/zoo"
)

func TestModeEnsemble(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	r8, _, err := zoo.Load("fashion-resnet8")
	if err != nil {
		t.Fatal(err)
	}
	ens, err := NewModeEnsemble(f.net, r8)
	if err != nil {
		t.Fatal(err)
	}
	x := f.test.X[:4*784]
	// Logits are the mean of the members'.
	a, b, m := make([]float32, 40), make([]float32, 40), make([]float32, 40)
	_ = f.net.Logits(ctx, a, x)
	_ = r8.Logits(ctx, b, x)
	if err := ens.Logits(ctx, m, x); err != nil {
		t.Fatal(err)
	}
	for i := range m {
		if math.Abs(float64(m[i]-(a[i]+b[i])/2)) > 1e-5 {
			t.Fatalf("logit %d: %v, want %v", i, m[i], (a[i]+b[i])/2)
		}
	}
	// InputGrad matches a finite difference of the energy of the mean
	// logits along the gradient direction.
	gx := make([]float32, len(x))
	loss := func(l, d []float32, n, k int) float64 { return energyLoss(l, d, n, k) }
	if _, err := ens.InputGrad(ctx, gx, x, loss); err != nil {
		t.Fatal(err)
	}
	energy := func(x []float32) float64 {
		l := make([]float32, 40)
		_ = ens.Logits(ctx, l, x)
		return energyLoss(l, make([]float32, 40), 4, 10)
	}
	var nrm float64
	for _, v := range gx {
		nrm += float64(v * v)
	}
	h := 1e-2 / math.Sqrt(nrm)
	xp, xm := append([]float32(nil), x...), append([]float32(nil), x...)
	for i, v := range gx {
		xp[i] += float32(h) * v
		xm[i] -= float32(h) * v
	}
	fd := (energy(xp) - energy(xm)) / (2 * h)
	if math.Abs(fd-nrm) > 0.05*nrm {
		t.Errorf("directional derivative %v, gradient norm² %v", fd, nrm)
	}
	var _ model.InputGrader = ens
	// Ensemble energy separates noise.
	var noise Set
	for _, s := range f.sets {
		if s.Name == "uniform" {
			noise = s
		}
	}
	noise.X = noise.X[:100*784]
	for _, d := range []Detector{&Energy{}, &ODIN{}} {
		res, err := Benchmark(ctx, ens, []Detector{d}, NewInputs(nil, nil), NewInputs(f.test.X[:100*784], nil), []Set{noise})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("ensemble %s vs uniform: %+v", d.Name(), res[0].Metrics)
		if res[0].AUROC < 0.8 {
			t.Errorf("ensemble %s: AUROC %.3f < 0.8", d.Name(), res[0].AUROC)
		}
	}
	if _, err := NewModeEnsemble(); err == nil {
		t.Error("empty ensemble accepted")
	}
}

// TestScoreEnsemble checks the score-averaging rule: two copies of one
// model give that model's scores exactly, two different models the mean
// of their scores.
func TestScoreEnsemble(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	r8, _, err := zoo.Load("fashion-resnet8")
	if err != nil {
		t.Fatal(err)
	}
	train := f.train.Subset(seq(0, 400))
	x := f.test.X[:50*784]
	single := func(name string, m model.Classifier) []float64 {
		d, err := New(name, Config{K: 10, Seed: 1, KPCA: KPCA{M: 64}})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Fit(ctx, m, NewInputs(train.X, train.Y)); err != nil {
			t.Fatal(err)
		}
		s := make([]float64, 50)
		if err := d.Score(ctx, m, s, NewInputs(x, nil)); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, name := range []string{"energy", "knn"} {
		a, b := single(name, f.net), single(name, r8)
		for _, tc := range []struct {
			what   string
			models []model.Classifier
			want   func(i int) float64
		}{
			{"identical", []model.Classifier{f.net, f.net}, func(i int) float64 { return a[i] }},
			{"different", []model.Classifier{f.net, r8}, func(i int) float64 { return (a[i] + b[i]) / 2 }},
		} {
			me, err := NewModeEnsemble(tc.models...)
			if err != nil {
				t.Fatal(err)
			}
			se, err := NewScoreEnsemble(name, Config{K: 10, Seed: 1, KPCA: KPCA{M: 64}}, 2)
			if err != nil {
				t.Fatal(err)
			}
			if err := se.Fit(ctx, me, NewInputs(train.X, train.Y)); err != nil {
				t.Fatal(err)
			}
			got := make([]float64, 50)
			if err := se.Score(ctx, me, got, NewInputs(x, nil)); err != nil {
				t.Fatal(err)
			}
			for i, g := range got {
				if w := tc.want(i); math.Abs(g-w) > 1e-12*math.Max(1, math.Abs(w)) {
					t.Fatalf("%s, %s models: score %d = %v, want %v", name, tc.what, i, g, w)
				}
			}
		}
	}
	se, _ := NewScoreEnsemble("energy", Config{}, 2)
	if err := se.Fit(ctx, f.net, NewInputs(train.X, nil)); err == nil {
		t.Error("2 members on one model: no error")
	}
	if _, err := NewScoreEnsemble("energy", Config{}, 0); err == nil {
		t.Error("0 members: no error")
	}
}
