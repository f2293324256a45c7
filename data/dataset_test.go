package data

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func toy() *Dataset {
	return &Dataset{
		Name:     "toy",
		Shape:    []int{2},
		X:        []float32{0, 1, 2, 3, 4, 5, 6, 7},
		Y:        []int{0, 1, 1, 2},
		Classes:  []string{"a", "b", "c"},
		Features: []string{"f", "g"},
		Source:   "test",
	}
}

func TestDatasetBasics(t *testing.T) {
	d := toy()
	if d.Len() != 4 || d.SampleSize() != 2 {
		t.Fatalf("len %d size %d", d.Len(), d.SampleSize())
	}
	if r := d.Row(2); !slices.Equal(r, []float32{4, 5}) || cap(r) != 2 {
		t.Errorf("Row(2) = %v cap %d", r, cap(r))
	}
	if c := d.ClassCounts(); !equalInts(c, []int{1, 2, 1}) {
		t.Errorf("ClassCounts = %v", c)
	}
	s := d.Subset([]int{3, 0, 3})
	if !slices.Equal(s.X, []float32{6, 7, 0, 1, 6, 7}) || !equalInts(s.Y, []int{2, 0, 2}) || s.Name != "toy" || !slices.Equal(s.Features, d.Features) {
		t.Errorf("Subset = %+v", s)
	}
	s.X[0], s.Classes[0], s.Shape[0] = 99, "z", 7
	if d.X[6] != 6 || d.Classes[0] != "a" || d.Shape[0] != 2 {
		t.Error("Subset shares memory with the original")
	}
	c := d.Clone()
	c.X[0], c.Y[0] = 42, 2
	if d.X[0] != 0 || d.Y[0] != 0 {
		t.Error("Clone shares memory with the original")
	}
	m := d.Float64()
	if r, cc := m.Dims(); r != 4 || cc != 2 || m.At(3, 1) != 7 {
		t.Errorf("Float64 dims %d×%d, At(3,1) = %v", r, cc, m.At(3, 1))
	}
	if lo, hi, ok := d.ValueRange(); !ok || lo != 0 || hi != 7 {
		t.Errorf("ValueRange = %v %v %v", lo, hi, ok)
	}
	empty := &Dataset{Shape: []int{3}}
	if empty.Len() != 0 || empty.Float64() != nil || empty.ClassCounts() != nil {
		t.Error("empty dataset")
	}
	if _, _, ok := empty.ValueRange(); ok {
		t.Error("ValueRange of empty dataset ok")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Row(4) did not panic")
			}
		}()
		d.Row(4)
	}()
}

func TestValidate(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name   string
		modify func(d *Dataset)
		want   string // "" for valid
	}{
		{"valid", func(d *Dataset) {}, ""},
		{"regression", func(d *Dataset) { d.Y, d.Classes, d.Target = nil, nil, []float64{1, 2, 3, 4} }, ""},
		{"unlabeled", func(d *Dataset) { d.Y, d.Classes = nil, nil }, ""},
		{"empty shape", func(d *Dataset) { d.Shape = nil }, "empty shape"},
		{"zero dim", func(d *Dataset) { d.Shape = []int{0, 2} }, "non-positive dimension"},
		{"ragged X", func(d *Dataset) { d.X = d.X[:7] }, "7 values are not a whole number of samples of shape [2]"},
		{"labels count", func(d *Dataset) { d.Y = d.Y[:3] }, "3 labels for 4 samples"},
		{"label range", func(d *Dataset) { d.Y[2] = 3 }, "sample 2: label 3 out of range [0, 3)"},
		{"negative label", func(d *Dataset) { d.Y[1] = -1 }, "sample 1: label -1 out of range"},
		{"no classes", func(d *Dataset) { d.Classes = nil }, "labels but no class names"},
		{"both", func(d *Dataset) { d.Target = []float64{1, 2, 3, 4} }, "both class labels and regression targets"},
		{"targets count", func(d *Dataset) { d.Y, d.Target = nil, []float64{1} }, "1 targets for 4 samples"},
		{"nan target", func(d *Dataset) { d.Y, d.Target = nil, []float64{1, math.Inf(1), 3, 4} }, "sample 1: non-finite target +Inf"},
		{"nan value", func(d *Dataset) { d.X[5] = nan }, "sample 2, value 1: non-finite NaN"},
		{"features", func(d *Dataset) { d.Features = []string{"f"} }, "1 feature names for sample size 2"},
	}
	for _, tc := range tests {
		d := toy()
		tc.modify(d)
		err := d.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "data: toy: ")):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestSplitString(t *testing.T) {
	for _, s := range []Split{Train, Test} {
		p, err := ParseSplit(s.String())
		if err != nil || p != s {
			t.Errorf("ParseSplit(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParseSplit("valid"); err == nil {
		t.Error("ParseSplit(valid) accepted")
	}
	if Split(5).String() != "Split(5)" {
		t.Error(Split(5).String())
	}
}

func TestParseErrorFormat(t *testing.T) {
	inner := errors.New("bad")
	tests := []struct {
		e    *ParseError
		want string
	}{
		{&ParseError{File: "a.csv", Line: 3, Offset: -1, Field: "column 2", Err: inner}, "a.csv:3: column 2: bad"},
		{&ParseError{File: "a.idx", Offset: 16, Field: "data", Err: inner}, "a.idx: byte 16: data: bad"},
		{&ParseError{File: "a.gz", Offset: 0, Decompressed: true, Err: inner}, "a.gz: byte 0 (decompressed): bad"},
		{&ParseError{File: "a", Offset: -1, Err: inner}, "a: bad"},
		{&ParseError{Offset: -1}, "<input>: invalid input"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	if !errors.Is(tests[0].e, inner) {
		t.Error("Unwrap does not reach the problem")
	}
}

func TestHead(t *testing.T) {
	d := &Dataset{Name: "d", Shape: []int{1}, X: []float32{0, 1, 2, 3}, Y: []int{0, 1, 0, 1}, Classes: []string{"a", "b"}}
	for _, tc := range []struct{ n, want int }{{0, 4}, {-1, 4}, {2, 2}, {4, 4}, {9, 4}} {
		h := d.Head(tc.n)
		if h.Len() != tc.want || h.X[h.Len()-1] != float32(tc.want-1) || h.Y[h.Len()-1] != (tc.want-1)%2 {
			t.Errorf("Head(%d) has %d samples %v, want the first %d", tc.n, h.Len(), h.X, tc.want)
		}
	}
}
