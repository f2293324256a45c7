package data

import (
	"math"
	"slices"
	"testing"
)

// TestStandardizerGolden compares with scikit-learn's StandardScaler
// (testdata/golden.py); digits has constant pixels 0, 32 and 39.
func TestStandardizerGolden(t *testing.T) {
	g := loadGolden(t)
	for _, name := range TabularNames() {
		want := g.Sets[name].Standardizer
		d, err := Tabular(name)
		if err != nil {
			t.Fatal(err)
		}
		st, err := FitStandardizer(d)
		if err != nil {
			t.Fatal(err)
		}
		for j := range st.Mean {
			if !closeRel(st.Mean[j], want.Mean[j], 1e-12) || !closeRel(st.Std[j], want.Scale[j], 1e-10) {
				t.Errorf("%s feature %d: mean %v std %v, scikit-learn %v %v", name, j, st.Mean[j], st.Std[j], want.Mean[j], want.Scale[j])
			}
		}
		if !equalInts(st.Constant, want.Constant) {
			t.Errorf("%s: constant features %v, scikit-learn %v", name, st.Constant, want.Constant)
		}
		if err := st.Apply(d); err != nil {
			t.Fatal(err)
		}
		for i, row := range want.FirstRows {
			for j, v := range row {
				if got := float64(d.Row(i)[j]); math.Abs(got-v) > 1e-6*max(1, math.Abs(v)) {
					t.Errorf("%s: standardized X[%d,%d] = %v, scikit-learn %v", name, i, j, got, v)
				}
			}
		}
		// Standardized data has mean 0 and variance 1 (0 for constants).
		st2, err := FitStandardizer(d)
		if err != nil {
			t.Fatal(err)
		}
		for j := range st2.Mean {
			wantVar := 1.0
			if slices.Contains(want.Constant, j) {
				wantVar = 0
			}
			v := st2.Std[j] * st2.Std[j]
			if slices.Contains(st2.Constant, j) {
				v = 0
			}
			if math.Abs(st2.Mean[j]) > 1e-5 || math.Abs(v-wantVar) > 1e-5 {
				t.Errorf("%s feature %d: after standardizing mean %v variance %v", name, j, st2.Mean[j], v)
			}
		}
	}
}

func TestStandardizerErrors(t *testing.T) {
	if _, err := FitStandardizer(&Dataset{Name: "e", Shape: []int{2}}); err == nil {
		t.Error("empty dataset accepted")
	}
	st, err := FitStandardizer(toy())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Apply(&Dataset{Shape: []int{3}, X: make([]float32, 3)}); err == nil {
		t.Error("wrong sample size accepted")
	}
	// Near-constant: a large offset with float32 noise in the last bits is
	// treated as constant rather than blown up.
	d := &Dataset{Name: "c", Shape: []int{2}, X: []float32{1e6, 1, 1e6, 2, 1e6, 3}}
	st, err = FitStandardizer(d)
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(st.Constant, []int{0}) || st.Std[0] != 1 || st.Mean[0] != 1e6 {
		t.Errorf("constant feature: %+v", st)
	}
	if err := st.Apply(d); err != nil {
		t.Fatal(err)
	}
	if d.X[0] != 0 || d.X[2] != 0 {
		t.Errorf("constant feature standardized to %v, %v", d.X[0], d.X[2])
	}
}
