package data

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name    string
		d       *Dataset
		task    string
		classes []ClassCount
		target  *TargetSummary
	}{
		{"classification", &Dataset{Name: "c", Shape: []int{1}, X: []float32{0, 1, 2}, Y: []int{0, 1, 1}, Classes: []string{"a", "b"}},
			"classification", []ClassCount{{0, "a", 1}, {1, "b", 2}}, nil},
		{"regression", &Dataset{Name: "r", Shape: []int{1}, X: []float32{-1, 3}, Target: []float64{2, 4}},
			"regression", nil, &TargetSummary{Min: 2, Max: 4, Mean: 3}},
		{"unlabeled", &Dataset{Name: "u", Shape: []int{2}, X: []float32{0, 5}}, "unlabeled", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Summarize(tc.d, "train")
			if s.Task != tc.task || s.Samples != tc.d.Len() || s.Split != "train" || !slices.Equal(s.Classes, tc.classes) {
				t.Errorf("Summarize = %+v", s)
			}
			if (s.Target == nil) != (tc.target == nil) || s.Target != nil && *s.Target != *tc.target {
				t.Errorf("target %+v, want %+v", s.Target, tc.target)
			}
			lo, hi, _ := tc.d.ValueRange()
			if s.Min != lo || s.Max != hi {
				t.Errorf("range [%v, %v], want [%v, %v]", s.Min, s.Max, lo, hi)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	got, err := Describe("iris", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Samples != 150 || len(got[0].Classes) != 3 || got[0].Split != "" {
		t.Errorf("iris: %+v", got)
	}
	got, err = Describe(DefaultName, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Split != "train" || got[1].Split != "test" {
		t.Errorf("%s: %d summaries %+v", DefaultName, len(got), got)
	}
	if _, err := Describe(filepath.Join(t.TempDir(), "missing.csv"), "", false); err == nil {
		t.Error("a missing file was described")
	}
}

func TestCheckFits(t *testing.T) {
	d := &Dataset{Name: "d", Shape: []int{1, 2, 2}, X: make([]float32, 8), Y: []int{0, 2}, Classes: []string{"a", "b", "c"}}
	tests := []struct {
		shape   []int
		classes int
		ok      bool
	}{
		{[]int{1, 2, 2}, 3, true},
		{[]int{1, 2, 2}, 10, true},
		{[]int{4}, 3, false},
		{[]int{1, 2, 2}, 2, false},
	}
	for _, tc := range tests {
		if err := d.CheckFits(tc.shape, tc.classes); (err == nil) != tc.ok {
			t.Errorf("CheckFits(%v, %d) = %v, want ok %v", tc.shape, tc.classes, err, tc.ok)
		}
	}
	unlabeled := &Dataset{Name: "u", Shape: []int{1, 2, 2}, X: make([]float32, 4)}
	if err := unlabeled.CheckFits([]int{1, 2, 2}, 3); err == nil {
		t.Error("an unlabeled set fits a classifier")
	}
}
