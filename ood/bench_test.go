package ood

import (
	"context"
	"math/rand/v2"
	"testing"
)

func TestFarOoDSets(t *testing.T) {
	f := loadFixture(t)
	if len(f.sets) != 4 {
		t.Fatalf("%d sets, want 4", len(f.sets))
	}
	for _, s := range f.sets {
		if len(s.X) != 300*784 || s.Why == "" {
			t.Errorf("%s: %d values, why %q", s.Name, len(s.X), s.Why)
		}
		lo, hi := float32(1), float32(0)
		for _, v := range s.X {
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo < 0 || hi > 1 || hi-lo < 0.5 {
			t.Errorf("%s: values in [%v, %v], want a spread inside [0, 1]", s.Name, lo, hi)
		}
	}
	// A constant 8×8 image upsamples to the same constant.
	img := make([]float32, 64)
	for i := range img {
		img[i] = 8
	}
	dst := make([]float32, 784)
	upsample(dst, img, 8, 28)
	for i, v := range dst {
		if v != 0.5 {
			t.Fatalf("pixel %d = %v, want 0.5", i, v)
		}
	}
	// A horizontal ramp stays monotone.
	for y := range 8 {
		for x := range 8 {
			img[y*8+x] = float32(2 * x)
		}
	}
	upsample(dst, img, 8, 28)
	for x := 1; x < 28; x++ {
		if dst[5*28+x] < dst[5*28+x-1] {
			t.Fatalf("ramp not monotone at x=%d", x)
		}
	}
	if _, err := FarOoDSets(f.test, 5000, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("more OoD images than ID images accepted")
	}
}

func TestSelectPrefersSeparatingCandidate(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	val, err := PermutedSet(f.test.X, 784, 100, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	// KNN with K = 1 and K = 50 both work; a ratio-1 linear PCA keeps every
	// direction and has zero reconstruction error for everything, so it
	// cannot separate and must not be chosen.
	cands := []Detector{&KPCA{Map: "linear", ExpVarRatio: 1}, &KNN{K: 50}}
	best, auc, err := Select(ctx, f.net, cands, NewInputs(f.train.X, nil), NewInputs(f.test.X[:100*784], nil), NewInputs(val.X, nil))
	if err != nil {
		t.Fatal(err)
	}
	if best != 1 || auc < 0.9 {
		t.Errorf("Select chose %d with AUROC %v, want 1 (knn) above 0.9", best, auc)
	}
}
