package kernel

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestSVCGolden compares SVC's decision values with scikit-learn's SVC
// (libsvm) on the same precomputed kernel (testdata/gen_svc.py).
func TestSVCGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/svc_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		K, Kt    [][]float64
		Y        []int
		C        float64
		Decision []float64
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	m := &SVC{C: g.C, Tol: 1e-9}
	if err := m.FitGram(context.Background(), rowsDense(g.K), g.Y); err != nil {
		t.Fatal(err)
	}
	d, err := m.DecisionGram(rowsDense(g.Kt))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range g.Decision {
		if got := d.At(i, 1); math.Abs(got-want) > 1e-6 {
			t.Errorf("decision[%d] = %.9g, scikit-learn %.9g", i, got, want)
		}
	}
	if _, err := (&SVC{C: 1}).DecisionGram(mat.NewDense(1, 1, nil)); err != ErrNotFitted {
		t.Errorf("unfitted: err = %v", err)
	}
	if err := (&SVC{C: -1}).FitGram(context.Background(), rowsDense(g.K), g.Y); err == nil {
		t.Error("C = -1 accepted")
	}
}
