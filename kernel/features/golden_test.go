package features

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"
)

type rffRidgeGolden struct {
	Gamma, Alpha float64
	X, Xtest, W  [][]float64
	Y            []float64   `json:"y"`
	B            []float64   `json:"b"`
	ZFirstRows   [][]float64 `json:"Z_first_rows"`
	Coef         []float64
	Intercept    float64
	Pred         []float64
	Labels       []int
	ClfDecision  [][]float64 `json:"clf_decision"`
	ClfPred      []int       `json:"clf_pred"`
	SvcC         float64     `json:"svc_C"`
	SvcLabels    []int       `json:"svc_labels"`
	SvcCoef      []float64   `json:"svc_coef"`
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func denseOf(rows [][]float64) *mat.Dense {
	M := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		M.SetRow(i, r)
	}
	return M
}

func maxAbsDiff(a, b []float64) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// TestGoldenRFFRidge checks RFF features (scikit-learn's RBFSampler random
// matrix, read from testdata), primal ridge regression, ridge classification
// and the L2-loss linear SVM against scikit-learn (testdata/gen_golden.py).
func TestGoldenRFFRidge(t *testing.T) {
	var g rffRidgeGolden
	readJSON(t, "rff_ridge.json", &g)
	f, err := NewFourier(denseOf(g.W), g.B, Phase)
	if err != nil {
		t.Fatal(err)
	}
	X, Xt := denseOf(g.X), denseOf(g.Xtest)
	Z, err := f.Transform(X)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range g.ZFirstRows {
		if d := maxAbsDiff(Z.RawRowView(i), want); d > 1e-12 {
			t.Errorf("feature row %d differs from RBFSampler by %g", i, d)
		}
	}
	Zt, _ := f.Transform(Xt)

	r := &Ridge{Lambda: g.Alpha}
	if err := r.Fit(context.Background(), Z, g.Y); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(mat.Col(nil, 0, r.Coef()), g.Coef); d > 1e-8 {
		t.Errorf("ridge coefficients differ from scikit-learn by %g", d)
	}
	if d := math.Abs(r.Intercept()[0] - g.Intercept); d > 1e-8 {
		t.Errorf("ridge intercept %v, scikit-learn %v", r.Intercept()[0], g.Intercept)
	}
	pred, err := r.Predict(Zt)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(pred, g.Pred); d > 1e-8 {
		t.Errorf("ridge predictions differ from scikit-learn by %g", d)
	}
	// Streaming fit straight from the map gives the same model.
	var rs Ridge
	rs.Lambda = g.Alpha
	if err := rs.FitMap(t.Context(), f, X, g.Y); err != nil {
		t.Fatal(err)
	}
	ps, _ := rs.PredictMap(f, Xt)
	if d := maxAbsDiff(ps, g.Pred); d > 1e-8 {
		t.Errorf("FitMap predictions differ from scikit-learn by %g", d)
	}

	c := &RidgeClassifier{Lambda: g.Alpha}
	if err := c.Fit(context.Background(), Z, g.Labels); err != nil {
		t.Fatal(err)
	}
	dec, _ := c.Decision(Zt)
	for i, want := range g.ClfDecision {
		if d := maxAbsDiff(dec.RawRowView(i), want); d > 1e-8 {
			t.Fatalf("classifier decision row %d differs from scikit-learn by %g", i, d)
		}
	}
	lab, _ := c.Predict(Zt)
	for i := range lab {
		if lab[i] != g.ClfPred[i] {
			t.Fatalf("classifier label %d = %d, scikit-learn %d", i, lab[i], g.ClfPred[i])
		}
	}

	svc := &LinearSVC{C: g.SvcC, Tol: 1e-6, MaxIter: 200000}
	if err := svc.Fit(t.Context(), Z, g.SvcLabels, newRand(1)); err != nil {
		t.Fatal(err)
	}
	w := svc.w.RawRowView(0)
	scale := 0.0
	for _, v := range g.SvcCoef {
		scale = math.Max(scale, math.Abs(v))
	}
	if d := maxAbsDiff(w, g.SvcCoef); d > 1e-4*scale {
		t.Errorf("LinearSVC weights differ from liblinear by %g (scale %g)", d, scale)
	}
}
