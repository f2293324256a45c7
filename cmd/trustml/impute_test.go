package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKernelImpute(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "iris-filled.csv")
	got, err := run(t, "kernel", "impute", "--data", "iris", "--remove", "0.2", "--method", "knn", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if !strings.Contains(got, "test accuracy") || !strings.Contains(got, "completed data written to") {
		t.Errorf("output:\n%s", got)
	}
	if b, err := os.ReadFile(out); err != nil || strings.Count(string(b), "\n") != 151 || strings.Contains(string(b), "NaN") {
		t.Errorf("completed file: %v, %d lines", err, strings.Count(string(b), "\n"))
	}
	if _, err := run(t, "kernel", "impute", "--data", "iris", "--out", out); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("existing --out: err = %v", err)
	}
}

func TestKernelFitTSVM(t *testing.T) {
	model := filepath.Join(t.TempDir(), "i.model")
	out, err := run(t, "kernel", "fit", "--data", "iris", "--method", "tsvm-mtl", "--tasks", "4", "--out", model)
	if err != nil || !strings.Contains(out, "tsvm-mtl") {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err = run(t, "kernel", "predict", "--model", model, "--data", "iris"); err != nil || !strings.Contains(out, "accuracy") {
		t.Fatalf("predict: %v\n%s", err, out)
	}
}
