package repro

import (
	"context"
	"strings"
	"testing"
)

func TestDeKRRTiny(t *testing.T) {
	tab, err := DeKRR(context.Background(), DeKRRConfig{Reps: 1, Nodes: 3, Features: 8, Rounds: 3, Data: []string{"diabetes"}, Topologies: []string{"ring"}, Seed: 1})
	if err != nil || !tab.Complete() {
		t.Fatalf("%v, failed %v", err, tab.Failed)
	}
	if len(tab.Rows) != 8 { // 4 methods' RSE, messages, bytes, rounds, wall time
		t.Fatalf("%d rows, want 8", len(tab.Rows))
	}
	// 3 rounds cannot reach tol 1e-6: no rounds-to-converge value, and the note says so.
	for _, r := range tab.Rows {
		if strings.HasPrefix(r.Metric, "rounds to converge") && r.Ours.Measured() {
			t.Errorf("unconverged run reported rounds to converge %v", r.Ours)
		}
		if r.Metric == "test RSE" && !(r.Ours.Mean > 0) {
			t.Errorf("%s RSE %v", r.Method, r.Ours)
		}
	}
	if !strings.Contains(strings.Join(tab.Notes, "\n"), "0 of 1 runs converged") {
		t.Errorf("notes %q", tab.Notes)
	}
	bad, err := DeKRR(context.Background(), DeKRRConfig{Reps: 1, Nodes: 3, Data: []string{"iris"}, Topologies: []string{"ring"}})
	if err != nil || bad.Complete() || !strings.Contains(bad.Failed[0], "not a regression set") {
		t.Errorf("iris: %v, failed %v", err, bad.Failed)
	}
}
