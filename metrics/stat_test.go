package metrics

import (
	"encoding/json"
	"math"
	"testing"
)

func TestStat(t *testing.T) {
	tests := []struct {
		in        []float64
		mean, std float64
		text      string
	}{
		{nil, math.NaN(), math.NaN(), "n/a"},
		{[]float64{2}, 2, 0, "2"},
		{[]float64{1, 3}, 2, 1, "2 ± 1"},
	}
	for _, tc := range tests {
		s := NewStat(tc.in)
		same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
		if !same(s.Mean, tc.mean) || !same(s.Std, tc.std) || s.Format("%.4g") != tc.text {
			t.Errorf("NewStat(%v) = %v ± %v %q, want %v ± %v %q", tc.in, s.Mean, s.Std, s.Format("%.4g"), tc.mean, tc.std, tc.text)
		}
	}
}

func TestStatJSON(t *testing.T) {
	for _, in := range [][]float64{nil, {2}, {1, 3}} {
		s := NewStat(in)
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("%v: %v", in, err)
		}
		var got Stat
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if want := map[int]string{0: `{"mean":null,"std":null,"values":null}`, 2: `{"mean":2,"std":1,"values":[1,3]}`}[len(in)]; want != "" && string(b) != want {
			t.Errorf("%v: JSON %s, want %s", in, b, want)
		}
		if got.Format("%.4g") != s.Format("%.4g") || got.Measured() != s.Measured() || math.IsNaN(got.Mean) != math.IsNaN(s.Mean) {
			t.Errorf("%v → %s → %+v", in, b, got)
		}
	}
}
