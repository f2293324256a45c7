package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestReproFNGDCommand runs "repro fngd" on a tiny split with K-FAC and
// FNGD, saving a shard and merging it, and checks the JSON report.
func TestReproFNGDCommand(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "f.json")
	args := []string{"repro", "fngd", "--data", "fashion-mnist-small", "--train-n", "64", "--test-n", "100", "--batch", "16",
		"--epochs", "2", "--seeds", "1", "--arms", "kfac,fngd", "--out", runs, "--plot", filepath.Join(dir, "c.png")}
	out, err := run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kfac ÷ fngd", "ms/update", "c.png"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, "repro", "fngd", "--from", runs, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Runs []struct {
			Arm   string `json:"arm"`
			Steps int    `json:"steps"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Runs) != 2 || res.Runs[0].Arm != "kfac" || res.Runs[0].Steps != 8 {
		t.Fatalf("merged JSON %v: %+v", err, res)
	}
	if _, err := run(t, "repro", "fngd", "--lrs", "sgd=x"); err == nil || !strings.Contains(err.Error(), "arm=lr") {
		t.Errorf("bad --lrs: err = %v", err)
	}
}

// TestReproContinualCommand runs "repro continual" with fine-tuning only
// (the fastest method) on the embedded subset.
func TestReproContinualCommand(t *testing.T) {
	out, err := run(t, "repro", "continual", "--data", "fashion-mnist-small", "--methods", "ft", "--seeds", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"final average accuracy %", "ft", "LAS paper"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, "repro", "continual", "--methods", "mir"); err == nil || !strings.Contains(err.Error(), "mir") {
		t.Errorf("unknown method: err = %v", err)
	}
}
