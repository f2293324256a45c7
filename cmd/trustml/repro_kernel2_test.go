package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestReproTMTL(t *testing.T) {
	checkKernelRepro(t, "tLSSVM-MTL paper/TSVM-MTL demos: tables not retrieved", "tmtl", "--reps", "1", "--sets", "synthetic", "--per-task", "4", "--max-iter", "2")
}

func TestKernelFitTasks(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "b.model")
	out, err := run(t, "kernel", "fit", "--data", "diabetes", "--method", "tlssvm-mtl", "--tasks", "sex", "--out", model)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "tlssvm-mtl") {
		t.Errorf("fit output:\n%s", out)
	}
	out, err = run(t, "kernel", "predict", "--model", model, "--data", "diabetes")
	if err != nil || !strings.Contains(out, "r2") {
		t.Fatalf("predict: %v\n%s", err, out)
	}
	if _, err := run(t, "kernel", "fit", "--data", "diabetes", "--method", "krr", "--tasks", "sex", "--out", model); err == nil || !strings.Contains(err.Error(), "takes no task column") {
		t.Errorf("krr with --tasks: err = %v", err)
	}
}

func TestReproWNTK(t *testing.T) {
	checkKernelRepro(t, "WNTK paper: tables not retrieved", "wntk", "--reps", "1", "--data", "diabetes", "--hidden", "8", "--max-rows", "40")
}
