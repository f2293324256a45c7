package shard

import (
	"errors"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
		ok   bool
	}{
		{"", Spec{0, 1}, true},
		{"0/1", Spec{0, 1}, true},
		{"2/4", Spec{2, 4}, true},
		{"4/4", Spec{}, false},
		{"-1/4", Spec{}, false},
		{"1/0", Spec{}, false},
		{"1/4x", Spec{}, false},
		{"01/4", Spec{}, false},
		{"a/b", Spec{}, false},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrSpec) {
			t.Errorf("Parse(%q) error %v does not match ErrSpec", tc.in, err)
		}
	}
}

func TestIndicesPartition(t *testing.T) {
	const n = 23
	for count := 1; count <= 5; count++ {
		var all []int
		for i := range count {
			s := Spec{i, count}
			for _, j := range s.Indices(n) {
				if !s.Contains(j) {
					t.Fatalf("%v: index %d listed but not contained", s, j)
				}
				all = append(all, j)
			}
		}
		slices.Sort(all)
		if len(all) != n || all[0] != 0 || all[n-1] != n-1 || len(slices.Compact(all)) != n {
			t.Errorf("%d shards of %d: indices %v do not partition", count, n, all)
		}
	}
	if got := (Spec{}).Indices(3); !slices.Equal(got, []int{0, 1, 2}) || !(Spec{}).Whole() {
		t.Errorf("zero Spec selects %v", got)
	}
}

func TestCheckCover(t *testing.T) {
	tests := []struct {
		specs []Spec
		ok    bool
	}{
		{[]Spec{{0, 2}, {1, 2}}, true},
		{[]Spec{{1, 2}, {0, 2}}, true},
		{[]Spec{{0, 1}}, true},
		{[]Spec{{0, 2}}, false},
		{[]Spec{{0, 2}, {0, 2}}, false},
		{[]Spec{{0, 2}, {1, 3}}, false},
		{nil, false},
		{[]Spec{{0, MaxCount + 1}}, false},
		{[]Spec{{-1, 2}, {1, 2}}, false},
	}
	for _, tc := range tests {
		if err := CheckCover(tc.specs); (err == nil) != tc.ok {
			t.Errorf("CheckCover(%v) = %v, want ok %v", tc.specs, err, tc.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "0/1", "3/4", "4/4", "x", "1/-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			return
		}
		if sp.Validate() != nil || (s != "" && sp.String() != s) {
			t.Fatalf("Parse(%q) = %v accepted an invalid or non-canonical shard", s, sp)
		}
	})
}
