package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCertifyMergeCommand(t *testing.T) {
	dir := t.TempDir()
	args := []string{"certify", "--n0", "5", "--n", "40", "--n-images", "3", "--sigma", "0.25"}
	whole, err := run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, s := range []string{"0/2", "1/2"} {
		out, err := run(t, append(args, "--shard", s, "--json")...)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, strings.Replace(s, "/", "of", 1)+".json")
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	merged, err := run(t, append([]string{"certify", "merge"}, files...)...)
	if err != nil {
		t.Fatal(err)
	}
	// the table rows (not the timings) agree with the unsharded run
	row := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "0.25 ") {
				return strings.Join(strings.Fields(l)[:8], " ")
			}
		}
		return ""
	}
	if row(merged) == "" || row(merged) != row(whole) {
		t.Errorf("merged row %q, unsharded %q", row(merged), row(whole))
	}
	if _, err := run(t, "certify", "merge", files[0]); err == nil || !strings.Contains(err.Error(), "missing shards 1/2") {
		t.Errorf("merge of one of two shards: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{"), 0o644)
	if _, err := run(t, "certify", "merge", bad); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("merge of a broken file: %v", err)
	}
}

func TestReproCertifyCommand(t *testing.T) {
	out, err := run(t, "repro", "certify", "--train-n", "200", "--n-images", "3", "--epochs", "6", "--batch", "32", "--n0", "10", "--n", "50", "--sigma", "0.5")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SOME (3 heads)", "ensemble of 3", "Gaussian", "certified acc % at r=0.5", "SOME certification logs"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, "repro", "certify", "--epochs", "5"); err == nil || !strings.Contains(err.Error(), "--epochs 5") {
		t.Errorf("--epochs 5: %v", err)
	}
	if _, err := run(t, "train", "--arch", "mlp", "--steps", "1", "--some-heads", "3", "--out", filepath.Join(t.TempDir(), "m.ckpt")); err == nil || !strings.Contains(err.Error(), "--noise-sigma") {
		t.Errorf("train --some-heads without noise: %v", err)
	}
}
