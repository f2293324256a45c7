package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trustml/trustml/dekrr"
)

func TestKernelDeKRR(t *testing.T) {
	out, err := run(t, "kernel", "dekrr", "--nodes", "4", "--data", "diabetes", "--features", "10", "--rounds", "40")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"DeKRR-DDRF on diabetes: 4 nodes (goroutines)", "centralized KRR", "local-only", "per round: 8.0 messages"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, "kernel", "dekrr", "--nodes", "4", "--data", "diabetes", "--features", "10", "--rounds", "5", "--json")
	var r dekrr.Report
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || r.Result == nil || r.Result.Converged {
		t.Errorf("--json with 5 rounds: %v, converged %v\n%s", err, r.Result != nil && r.Result.Converged, out)
	}
	if out, err := run(t, "kernel", "dekrr", "--nodes", "20", "--topology", "random:0.01"); err == nil || !strings.Contains(out+err.Error(), "disconnected") {
		t.Errorf("disconnected topology: %v\n%s", err, out)
	}
}

func TestReproDeKRR(t *testing.T) {
	checkKernelRepro(t, "DeKRR-DDRF paper", "dekrr", "--reps", "1", "--nodes", "3", "--features", "8", "--rounds", "20", "--data", "diabetes", "--topologies", "ring")
}
