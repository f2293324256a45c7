package impute_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/impute"
)

// TestSupervisedGolden compares [impute.Supervised] with
// testdata/supervised_golden.py, an independent numpy implementation of
// both stages, on a tiny binary problem with C, γ, η and r given.
func TestSupervisedGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/supervised_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		X                         [][]*float64 `json:"x"`
		Y                         []int        `json:"y"`
		C, Gamma, Eta, Radius, LR float64
		Steps, Sweeps             int
		Objective                 []float64   `json:"objective"`
		K, Imputed                [][]float64 `json:"-"`
		KRaw                      [][]float64 `json:"k"`
		ImputedRaw                [][]float64 `json:"imputed"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	n, d := len(g.X), len(g.X[0])
	X := mat.NewDense(n, d, nil)
	for i, row := range g.X {
		for j, v := range row {
			if v == nil {
				X.Set(i, j, math.NaN())
			} else {
				X.Set(i, j, *v)
			}
		}
	}
	res, err := impute.Supervised(context.Background(), X, impute.Labels{Class: g.Y},
		impute.SupervisedConfig{C: g.C, Gamma: g.Gamma, Eta: g.Eta, Radius: g.Radius, Steps: g.Steps, Sweeps: g.Sweeps, LR: g.LR})
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-8*(1+math.Abs(want)) {
			t.Errorf("%s = %.12g, numpy %.12g", name, got, want)
		}
	}
	if len(res.Objective) != len(g.Objective) {
		t.Fatalf("%d objective values, numpy %d", len(res.Objective), len(g.Objective))
	}
	for i, v := range g.Objective {
		near("objective", res.Objective[i], v)
	}
	for i := range n {
		for j := range n {
			near("K", res.K.At(i, j), g.KRaw[i][j])
		}
		for j := range d {
			near("imputed", res.X.At(i, j), g.ImputedRaw[i][j])
		}
	}
}
