package metrics

import (
	"math"
	"testing"
)

func TestCountClasses(t *testing.T) {
	got, err := CountClasses([]int{0, 0, 1, 2, 2, 2}, []int{0, 1, 1, 2, 0, 2}, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ClassCount{{"a", 2, 2, 1}, {"b", 1, 2, 1}, {"c", 3, 2, 2}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("class %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := CountClasses([]int{0}, []int{3}, []string{"a"}); err == nil {
		t.Error("prediction out of range: no error")
	}
	if _, err := CountClasses([]int{0}, nil, []string{"a"}); err == nil {
		t.Error("length mismatch: no error")
	}
}

func TestEvaluateRegressionEdges(t *testing.T) {
	r, err := EvaluateRegression([]float64{2, 2}, []float64{1, 3})
	if err != nil || r.MSE != 1 || r.MAE != 1 || !math.IsNaN(r.R2) {
		t.Errorf("constant truth: %+v %v", r, err)
	}
	if _, err := EvaluateRegression(nil, nil); err == nil {
		t.Error("no samples: no error")
	}
	if _, err := EvaluateRegression([]float64{1}, []float64{1, 2}); err == nil {
		t.Error("length mismatch: no error")
	}
}
