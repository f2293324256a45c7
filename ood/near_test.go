package ood

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/trustml/trustml/data"
)

// imageKey identifies an image by its pixel values.
func imageKey(x []float32) string {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		u := math.Float32bits(v)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return string(b)
}

func TestFashionHeldOutSplit(t *testing.T) {
	s, err := FashionHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "near: held-out classes 6-9" {
		t.Errorf("name %q", s.Name)
	}
	if !slices.Equal(s.IDClasses, []int{0, 1, 2, 3, 4, 5}) || !slices.Equal(s.OoDClasses, []int{6, 7, 8, 9}) {
		t.Errorf("ID classes %v, OoD classes %v", s.IDClasses, s.OoDClasses)
	}
	if want := []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal"}; !slices.Equal(s.Train.Classes, want) || !slices.Equal(s.TestID.Classes, want) {
		t.Errorf("ID class names %v / %v, want %v", s.Train.Classes, s.TestID.Classes, want)
	}
	tr, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	// Every part is labelled in its range and holds exactly the images of
	// its classes: counted per (image, original label).
	tests := []struct {
		name     string
		part     *data.Dataset
		src      *data.Dataset
		lo, hi   int // original labels in [lo, hi)
		relabels bool
	}{
		{"train", s.Train, tr, 0, 6, true},
		{"test ID", s.TestID, te, 0, 6, true},
		{"test OoD", s.TestOoD, te, 6, 10, false},
	}
	for _, tc := range tests {
		want := map[string]int{}
		for i, y := range tc.src.Y {
			if y >= tc.lo && y < tc.hi {
				want[imageKey(tc.src.Row(i))+string(rune(y))]++
			}
		}
		got := map[string]int{}
		for i, y := range tc.part.Y {
			orig := y
			if tc.relabels {
				if y < 0 || y >= 6 {
					t.Fatalf("%s: label %d outside [0, 6)", tc.name, y)
				}
				orig = s.IDClasses[y]
			}
			if orig < tc.lo || orig >= tc.hi {
				t.Fatalf("%s: image %d has class %d outside [%d, %d)", tc.name, i, orig, tc.lo, tc.hi)
			}
			got[imageKey(tc.part.Row(i))+string(rune(orig))]++
		}
		if len(got) == 0 || !mapsEqual(got, want) {
			t.Errorf("%s: %d distinct images, want the %d of classes %d-%d", tc.name, len(got), len(want), tc.lo, tc.hi-1)
		}
	}
	// ID and OoD test images are disjoint.
	ids := map[string]bool{}
	for i := range s.TestID.Len() {
		ids[imageKey(s.TestID.Row(i))] = true
	}
	for i := range s.TestOoD.Len() {
		if ids[imageKey(s.TestOoD.Row(i))] {
			t.Fatalf("OoD test image %d also in the ID test set", i)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestNewHeldOutSplitErrors(t *testing.T) {
	tr, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range [][]int{nil, {3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 10}, {1, 1, 2}, {-1, 2}} {
		if _, err := NewHeldOutSplit(tr, te, ids); err == nil {
			t.Errorf("ID classes %v: no error", ids)
		}
	}
	if _, err := NewHeldOutSplit(tr, &data.Dataset{}, NearIDClasses); err == nil {
		t.Error("unlabelled test set: no error")
	}
	s, err := NewHeldOutSplit(tr, te, []int{7, 2})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "near: held-out classes 0,1,3,4,5,6,8,9" || s.Train.Classes[0] != tr.Classes[7] {
		t.Errorf("ID {7, 2}: name %q, classes %v", s.Name, s.Train.Classes)
	}
}

// TestHeldOutNearOoD trains a small 6-class model briefly and checks that
// feature detectors separate the held-out classes better than chance.
func TestHeldOutNearOoD(t *testing.T) {
	ctx := context.Background()
	s, err := FashionHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	net, err := TrainHeldOut(ctx, s, NearTrainConfig{Width: 8, Hidden: 32, Steps: 150, Batch: 64, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if net.NumClasses() != 6 {
		t.Fatalf("%d classes, want 6", net.NumClasses())
	}
	first := func(d *data.Dataset, n int) *data.Dataset {
		idx := make([]int, min(n, d.Len()))
		for i := range idx {
			idx[i] = i
		}
		return d.Subset(idx)
	}
	fit, id, od := first(s.Train, 1500), first(s.TestID, 300), first(s.TestOoD, 300)
	res, err := Benchmark(ctx, net, []Detector{&KNN{K: 10}, &Mahalanobis{}}, NewInputs(fit.X, fit.Y), NewInputs(id.X, nil),
		[]Set{{Name: s.Name, Why: s.Why, X: od.X}})
	if err != nil {
		t.Fatal(err)
	}
	best := 0.0
	for _, r := range res {
		t.Logf("%s on %s: AUROC %.3f FPR95 %.3f", r.Detector, r.OoD, r.AUROC, r.FPR95)
		best = max(best, r.AUROC)
	}
	if best <= 0.6 {
		t.Errorf("best feature-detector AUROC %.3f ≤ 0.6 on the held-out classes", best)
	}
}
