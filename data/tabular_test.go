package data

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// golden is data/testdata/golden.json, written by testdata/golden.py with
// scikit-learn.
type golden struct {
	SklearnVersion string `json:"sklearn_version"`
	Sets           map[string]struct {
		N            int         `json:"n"`
		D            int         `json:"d"`
		Features     []string    `json:"features"`
		ColSums      []float64   `json:"col_sums"`
		FirstRows    [][]float64 `json:"first_rows"`
		Classes      []string    `json:"classes"`
		ClassCounts  []int       `json:"class_counts"`
		FirstLabels  []int       `json:"first_labels"`
		TargetSum    float64     `json:"target_sum"`
		FirstTargets []float64   `json:"first_targets"`
		Standardizer struct {
			Mean      []float64   `json:"mean"`
			Var       []float64   `json:"var"`
			Scale     []float64   `json:"scale"`
			Constant  []int       `json:"constant"`
			FirstRows [][]float64 `json:"first_rows"`
		} `json:"standardizer"`
	} `json:"sets"`
}

func loadGolden(t *testing.T) *golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Sets) != len(TabularNames()) {
		t.Fatalf("golden has %d sets, want %d", len(g.Sets), len(TabularNames()))
	}
	return &g
}

func closeRel(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*max(1, math.Abs(a), math.Abs(b))
}

// TestTabularGolden checks the embedded tabular sets against scikit-learn's
// own loaders.
func TestTabularGolden(t *testing.T) {
	g := loadGolden(t)
	for _, name := range TabularNames() {
		want, ok := g.Sets[name]
		if !ok {
			t.Fatalf("%s: not in golden.json", name)
		}
		d, err := Tabular(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if d.Name != name || d.Len() != want.N || !equalInts(d.Shape, []int{want.D}) || !slices.Equal(d.Features, want.Features) {
			t.Errorf("%s: name %q len %d shape %v features %q; want %d×%d %q", name, d.Name, d.Len(), d.Shape, d.Features, want.N, want.D, want.Features)
			continue
		}
		sums := make([]float64, want.D)
		for i := range d.Len() {
			for j, v := range d.Row(i) {
				sums[j] += float64(v)
			}
		}
		for j := range sums {
			if !closeRel(sums[j], want.ColSums[j], 1e-12) {
				t.Errorf("%s: column %d sums to %v, scikit-learn %v", name, j, sums[j], want.ColSums[j])
			}
		}
		for i, row := range want.FirstRows {
			for j, v := range row {
				if float64(d.Row(i)[j]) != v {
					t.Errorf("%s: X[%d,%d] = %v, scikit-learn %v", name, i, j, d.Row(i)[j], v)
				}
			}
		}
		if want.Classes == nil {
			if d.Y != nil || d.Classes != nil || len(d.Target) != want.N {
				t.Errorf("%s: not a regression set", name)
			}
			s := 0.0
			for _, v := range d.Target {
				s += v
			}
			// numpy sums pairwise, Go in order: equal to rounding.
			if !closeRel(s, want.TargetSum, 1e-13) || !slices.Equal(d.Target[:len(want.FirstTargets)], want.FirstTargets) {
				t.Errorf("%s: targets sum %v first %v, want %v %v", name, s, d.Target[:3], want.TargetSum, want.FirstTargets)
			}
			continue
		}
		if !slices.Equal(d.Classes, want.Classes) || !equalInts(d.ClassCounts(), want.ClassCounts) || !equalInts(d.Y[:len(want.FirstLabels)], want.FirstLabels) {
			t.Errorf("%s: classes %q counts %v first %v, want %q %v %v", name, d.Classes, d.ClassCounts(), d.Y[:3], want.Classes, want.ClassCounts, want.FirstLabels)
		}
	}
}

func TestTabularCopies(t *testing.T) {
	a, err := Tabular("iris")
	if err != nil {
		t.Fatal(err)
	}
	a.X[0], a.Y[0] = -1, 2
	b, err := Tabular("iris")
	if err != nil {
		t.Fatal(err)
	}
	if b.X[0] != 5.1 || b.Y[0] != 0 {
		t.Error("Tabular returned shared memory")
	}
	if _, err := Tabular("california-housing"); err == nil {
		t.Error("unknown name accepted")
	}
}

// sklearnBoston is the file the embedded boston set was copied from; the
// repro commands read it directly before it was embedded.
const sklearnBoston = "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv"

// TestTabularBoston checks the embedded Boston housing set: reachable by
// name through Open, a regression set with its provenance, and, where
// python3-sklearn is installed, identical to scikit-learn's file as read
// by ReadCSV (so results computed from that file are unchanged).
func TestTabularBoston(t *testing.T) {
	d, err := Open("boston", Train, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "boston" || d.Len() != 506 || !equalInts(d.Shape, []int{13}) || !d.IsRegression() || d.IsLabeled() {
		t.Fatalf("boston: name %q, %d samples of shape %v, regression %v", d.Name, d.Len(), d.Shape, d.IsRegression())
	}
	if d.Features[0] != "CRIM" || d.Features[12] != "LSTAT" {
		t.Errorf("features %q", d.Features)
	}
	for _, want := range []string{"Harrison and Rubinfeld", ScikitLearnVersion} {
		if !strings.Contains(d.Source, want) {
			t.Errorf("Source %q lacks %q", d.Source, want)
		}
	}
	f, err := os.Open(sklearnBoston)
	if err != nil {
		t.Skipf("python3-sklearn not installed: %v", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if _, err := br.ReadString('\n'); err != nil { // the count line
		t.Fatal(err)
	}
	want, err := ReadCSV(br, sklearnBoston, CSVOptions{Regression: true, Header: HeaderYes})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.X, want.X) || !slices.Equal(d.Target, want.Target) || !slices.Equal(d.Features, want.Features) {
		t.Error("embedded boston differs from scikit-learn's boston_house_prices.csv")
	}
}
