package data

import (
	"math"
	"slices"
	"testing"
)

// labeled builds a dataset with the given number of samples per class; the
// value of sample i is i, so samples can be traced.
func labeled(counts ...int) *Dataset {
	d := &Dataset{Name: "lab", Shape: []int{1}}
	for c, n := range counts {
		d.Classes = append(d.Classes, string(rune('a'+c)))
		for range n {
			d.X = append(d.X, float32(len(d.X)))
			d.Y = append(d.Y, c)
		}
	}
	// Interleave the classes a little, so that order is not by class.
	p := []int{}
	for i := range d.Len() {
		p = append(p, (i*7919)%d.Len())
	}
	if d.Len() > 0 && isPerm(p, d.Len()) {
		d = d.Subset(p)
	}
	return d
}

func isPerm(p []int, n int) bool {
	s := slices.Sorted(slices.Values(p))
	for i, v := range s {
		if v != i {
			return false
		}
	}
	return len(s) == n
}

func TestStratifiedSplit(t *testing.T) {
	cases := []struct {
		counts []int
		frac   float64
	}{
		{[]int{50, 50, 50}, 0.2},
		{[]int{100, 10, 3}, 0.25},
		{[]int{59, 71, 48}, 0.3},
		{[]int{7, 1, 2}, 0.5},
		{[]int{1000, 1}, 0.1},
		{[]int{3, 0, 5}, 1.0 / 3},
	}
	for _, tc := range cases {
		d := labeled(tc.counts...)
		n := d.Len()
		tr, te, err := StratifiedSplitIndices(d, tc.frac, 7)
		if err != nil {
			t.Fatal(err)
		}
		// Disjoint and covering.
		if !isPerm(append(slices.Clone(tr), te...), n) {
			t.Fatalf("%v: train and test are not a partition of 0..%d", tc.counts, n-1)
		}
		// Size and class proportions.
		if want := int(math.Round(tc.frac * float64(n))); len(te) != want {
			t.Errorf("%v: %d test samples, want %d", tc.counts, len(te), want)
		}
		got := d.Subset(te).ClassCounts()
		for c, nc := range tc.counts {
			want := tc.frac * float64(nc)
			if math.Abs(float64(got[c])-want) >= 1 {
				t.Errorf("%v frac %v: class %d has %d test samples, want %v ± <1", tc.counts, tc.frac, c, got[c], want)
			}
		}
		// Deterministic per seed, different for another seed.
		tr2, te2, _ := StratifiedSplitIndices(d, tc.frac, 7)
		if !slices.Equal(tr, tr2) || !slices.Equal(te, te2) {
			t.Errorf("%v: same seed, different split", tc.counts)
		}
		if n > 20 {
			_, te3, _ := StratifiedSplitIndices(d, tc.frac, 8)
			if slices.Equal(te, te3) {
				t.Errorf("%v: seeds 7 and 8 give the same split", tc.counts)
			}
		}
		// The datasets hold the indexed samples.
		trd, ted, err := StratifiedSplit(d, tc.frac, 7)
		if err != nil {
			t.Fatal(err)
		}
		for j, i := range te {
			if ted.X[j] != d.X[i] || ted.Y[j] != d.Y[i] {
				t.Fatalf("test sample %d is not sample %d", j, i)
			}
		}
		if trd.Len()+ted.Len() != n {
			t.Errorf("sizes %d + %d != %d", trd.Len(), ted.Len(), n)
		}
	}
}

func TestStratifiedSplitRegression(t *testing.T) {
	d := &Dataset{Name: "r", Shape: []int{1}, X: make([]float32, 10), Target: make([]float64, 10)}
	for i := range 10 {
		d.X[i], d.Target[i] = float32(i), float64(i)*2
	}
	tr, te, err := StratifiedSplit(d, 0.3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 7 || te.Len() != 3 || tr.Y != nil || len(te.Target) != 3 {
		t.Fatalf("sizes %d %d", tr.Len(), te.Len())
	}
	seen := map[float32]bool{}
	for _, s := range []*Dataset{tr, te} {
		for i, x := range s.X {
			if s.Target[i] != float64(x)*2 {
				t.Error("target does not follow its sample")
			}
			seen[x] = true
		}
	}
	if len(seen) != 10 {
		t.Error("split does not cover the set")
	}
}

func TestStratifiedSplitErrors(t *testing.T) {
	d := labeled(5, 5)
	for _, f := range []float64{0, 1, -0.1, 1.5, math.NaN(), 0.01, 0.99} {
		if _, _, err := StratifiedSplit(d, f, 1); err == nil {
			t.Errorf("fraction %v accepted", f)
		}
	}
	if _, _, err := StratifiedSplit(labeled(1), 0.5, 1); err == nil {
		t.Error("one sample accepted")
	}
}

func TestStratifiedSample(t *testing.T) {
	d := labeled(30, 20, 25)
	idx, err := StratifiedSampleIndices(d, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	s, err := StratifiedSample(d, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 30 || !equalInts(s.ClassCounts(), []int{10, 10, 10}) {
		t.Fatalf("len %d counts %v", s.Len(), s.ClassCounts())
	}
	if len(idx) != 30 || len(slices.Compact(slices.Sorted(slices.Values(idx)))) != 30 {
		t.Error("indices repeat")
	}
	// Stratified-shuffled order: every run of 3 has one of each class.
	for r := 0; r < 30; r += 3 {
		if got := slices.Sorted(slices.Values(s.Y[r : r+3])); !equalInts(got, []int{0, 1, 2}) {
			t.Fatalf("round %d has classes %v", r/3, s.Y[r:r+3])
		}
	}
	idx2, _ := StratifiedSampleIndices(d, 10, 3)
	idx3, _ := StratifiedSampleIndices(d, 10, 4)
	if !slices.Equal(idx, idx2) || slices.Equal(idx, idx3) {
		t.Error("not deterministic per seed")
	}
	if _, err := StratifiedSample(d, 21, 1); err == nil {
		t.Error("more per class than available accepted")
	}
	if _, err := StratifiedSample(d, 0, 1); err == nil {
		t.Error("0 per class accepted")
	}
	if _, err := StratifiedSample(&Dataset{Shape: []int{1}, X: []float32{1}, Target: []float64{1}}, 1, 1); err == nil {
		t.Error("regression set accepted")
	}
}
