package kernel_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
)

// TestPredictMetrics checks the scores Predict reports: MSE, MAE and R² for
// regression, accuracy and per-class counts for classification.
func TestPredictMetrics(t *testing.T) {
	ctx := context.Background()
	dia, err := data.Tabular("diabetes")
	if err != nil {
		t.Fatal(err)
	}
	p := kernel.Pipeline{Method: "krr", Reg: 1}
	if err := p.Fit(ctx, dia.Head(200)); err != nil {
		t.Fatal(err)
	}
	pr, err := p.Predict(dia.Head(50))
	if err != nil {
		t.Fatal(err)
	}
	var mse, mae float64
	for i, v := range pr.Values {
		mse += (v - dia.Target[i]) * (v - dia.Target[i]) / 50
		mae += math.Abs(v-dia.Target[i]) / 50
	}
	names, vals := pr.Metrics()
	if strings.Join(names, ",") != "mse,mae,r2" || math.Abs(vals[0]-mse) > 1e-9*mse || math.Abs(vals[1]-mae) > 1e-9*mae || vals[2] != pr.Score {
		t.Errorf("metrics %v %v, want mse %v mae %v r2 %v", names, vals, mse, mae, pr.Score)
	}

	iris, err := data.Tabular("iris")
	if err != nil {
		t.Fatal(err)
	}
	c := kernel.Pipeline{}
	if err := c.Fit(ctx, iris); err != nil {
		t.Fatal(err)
	}
	pc, err := c.Predict(iris)
	if err != nil {
		t.Fatal(err)
	}
	support, predicted, correct := 0, 0, 0
	for _, cc := range pc.PerClass {
		support, predicted, correct = support+cc.Support, predicted+cc.Predicted, correct+cc.Correct
		if cc.Support != 50 {
			t.Errorf("class %s: support %d, want 50", cc.Class, cc.Support)
		}
	}
	if len(pc.PerClass) != 3 || support != 150 || predicted != 150 || float64(correct)/150 != pc.Score {
		t.Errorf("per-class counts %+v, accuracy %v", pc.PerClass, pc.Score)
	}
	if names, _ := pc.Metrics(); strings.Join(names, ",") != "accuracy" {
		t.Errorf("classification metrics %v", names)
	}
}

// TestRefit checks that Refit fits the best point of a grid search.
func TestRefit(t *testing.T) {
	ctx := context.Background()
	p := kernel.Pipeline{Method: "krr", Kernel: "rbf:gamma=0.1", Seed: 3}
	dia, err := data.Tabular("diabetes")
	if err != nil {
		t.Fatal(err)
	}
	dia = dia.Head(120)
	s, err := p.GridSearch(ctx, dia, kernel.SearchGrid{Kernel: kernel.Grid{"gamma": {0.01, 0.1}}, Reg: []float64{0.1, 10}, Folds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Refit(ctx, dia, s); err != nil {
		t.Fatal(err)
	}
	best := s.BestParams()
	if p.Reg != best["reg"] || !strings.Contains(p.Kernel, "gamma="+strings.TrimPrefix(kernel.FormatParams(map[string]float64{"k:gamma": best["k:gamma"]}), "gamma=")) || p.Model == nil {
		t.Errorf("refit to reg %v kernel %q, best %v", p.Reg, p.Kernel, best)
	}
	if err := p.Refit(ctx, dia, nil); err == nil {
		t.Error("refit without a search: no error")
	}
}
