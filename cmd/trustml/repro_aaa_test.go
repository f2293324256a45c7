package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trustml/trustml/repro"
)

// TestReproAAA runs "trustml repro aaa" at a tiny size: the robust report,
// then the poster's tables beside ours with their sources.
func TestReproAAA(t *testing.T) {
	args := []string{"repro", "aaa", "--models", "default", "--n", "2", "--budget", "10", "--checkpoints", "10",
		"--attacks", "square", "--defenses", "none,aaa-linear", "--out-dir", ""}
	out, err := run(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"robust@10", "paper", "source", "AAA poster, Table 2", "AAA abstract", "80.59",
		"AAA poster, Table 4", "AAA poster, Table 5", "AAA poster, Table 6", "CIFAR-10", "ImageNet", "Fashion-MNIST", "clean accuracy unchanged by AAA"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	out, err = run(t, append(args, "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var res repro.AAAResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Reports) != 1 || len(res.Tables) != 6 { // Tables 2 (×2), 4, 5, 6, calibration
		t.Errorf("--json: %v, %d reports, %d tables", err, len(res.Reports), len(res.Tables))
	}
	if _, err := run(t, "repro", "aaa", "--n", "5000"); err == nil {
		t.Error("--n 5000 accepted")
	}
	if _, err := run(t, "repro", "aaa", "--shard", "2/2"); err == nil || !strings.Contains(err.Error(), "--shard") {
		t.Errorf("--shard 2/2: %v", err)
	}
}
