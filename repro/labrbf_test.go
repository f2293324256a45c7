package repro

import (
	"context"
	"strings"
	"testing"
)

// TestLABRBF runs LAB RBF against KRR on the embedded Boston housing set.
func TestLABRBF(t *testing.T) {
	tab, err := LABRBF(context.Background(), LABRBFConfig{Reps: 1, Iters: []int{20, 20}, MaxSV: 30, Seed: 1, Data: []string{"boston"}})
	if err != nil {
		t.Fatal(err)
	}
	kernCheckTable(t, tab, 2, labrbfSource, 0)
	for _, r := range tab.Rows {
		if !strings.Contains(r.Differs, "California housing") {
			t.Errorf("boston row does not say what it stands in for: %q", r.Differs)
		}
		// 20 Adam steps leave LAB RBF far from converged: only KRR's R² is
		// checked against a level.
		if r.Ours.Mean > 1 || r.Method == "KRR, RBF (CV)" && r.Ours.Mean < 0.6 {
			t.Errorf("%s on boston: R² %v", r.Method, r.Ours.Mean)
		}
	}
	// A classification set is no regression set: a failure, not a panic.
	tab, err = LABRBF(context.Background(), LABRBFConfig{Reps: 1, Iters: []int{5, 5}, Data: []string{"iris"}})
	if err != nil || len(tab.Failed) != 1 || len(tab.Rows) != 0 {
		t.Errorf("iris: err %v, failed %q, %d rows", err, tab.Failed, len(tab.Rows))
	}
}
