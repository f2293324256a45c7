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
