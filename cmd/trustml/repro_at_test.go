package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/repro"
)

// TestReproAT merges saved runs through the command (no training), prints
// n/a and exits non-zero for a failed run, and names a bad flag.
func TestReproAT(t *testing.T) {
	dir := t.TempDir()
	ok := &repro.ATResult{Setup: "s eps=0.1", Runs: []repro.ATRun{{Method: "pgd-at", Label: "PGD-AT", N: 10, Clean: 0.8, Robust: 0.5}}}
	bad := &repro.ATResult{Setup: "s eps=0.1", Runs: []repro.ATRun{{Method: "afa", Label: "AFA (dual BN)", N: 10, Clean: math.NaN(), Robust: math.NaN(), Err: "boom"}}}
	files := []string{filepath.Join(dir, "ok.json"), filepath.Join(dir, "bad.json")}
	for i, r := range []*repro.ATResult{ok, bad} {
		if err := r.WriteRuns(files[i]); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run(t, "repro", "at", "--from", files[0])
	if err != nil || !strings.Contains(out, "PGD-AT") || !strings.Contains(out, "AutoAttack-lite accuracy %") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
	out, err = run(t, "repro", "at", "--from", files[1])
	if err == nil || !strings.Contains(out, "n/a") {
		t.Errorf("a failed run: err %v, output:\n%s", err, out)
	}
	if _, err := run(t, "repro", "at", "--eps", "2"); err == nil || !strings.Contains(err.Error(), "--eps") {
		t.Errorf("--eps 2: %v", err)
	}
}
