package repro

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestImputeTable(t *testing.T) {
	tab, err := Impute(context.Background(), ImputeConfig{Data: []string{"iris"}, Rates: []float64{0.3}, Reps: 1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !tab.Complete() {
		t.Fatalf("failed: %v", tab.Failed)
	}
	if got, want := len(tab.Rows), 4*3; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	rmse := map[string]float64{}
	for _, r := range tab.Rows {
		if math.IsNaN(r.Ours.Mean) {
			t.Errorf("%s %s %s: n/a", r.Setting, r.Method, r.Metric)
		}
		if strings.HasPrefix(r.Setting, "iris") && strings.HasPrefix(r.Metric, "imputation RMSE") {
			rmse[r.Method] = r.Ours.Mean
		}
		if r.Metric == "test accuracy %" && !(r.Ours.Mean > 70 && r.Ours.Mean <= 100) {
			t.Errorf("%s %s: accuracy %.1f%%, want > 70%% on iris", r.Setting, r.Method, r.Ours.Mean)
		}
	}
	// Features of iris are strongly correlated: both neighbour-based
	// methods must recover missing entries better than column means.
	if !(rmse[ImputeKNN] < rmse[ImputeMean] && rmse[ImputeBandwidth] < rmse[ImputeMean]) {
		t.Errorf("iris RMSE %v: want kNN and bandwidth-only below mean imputation", rmse)
	}
	if _, err := Impute(context.Background(), ImputeConfig{Data: []string{"iris"}, Reps: -1}); err == nil {
		t.Error("negative reps: no error")
	}
	tab, _ = Impute(context.Background(), ImputeConfig{Data: []string{"no-such-set"}, Reps: 1})
	if tab.Complete() {
		t.Error("unknown set: want a failed setting")
	}
}
