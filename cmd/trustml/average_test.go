package main

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

func saveNetCkpt(t *testing.T, dir, name string, spec nn.Spec, seed uint64) (string, *nn.Network) {
	t.Helper()
	net, err := nn.New(spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := nn.SaveFile(p, net, nil); err != nil {
		t.Fatal(err)
	}
	return p, net
}

func TestAverageSWA(t *testing.T) {
	dir := t.TempDir()
	spec := nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{Width: 2, Hidden: 4, BatchNorm: true})
	a, na := saveNetCkpt(t, dir, "a.ckpt", spec, 1)
	b, nb := saveNetCkpt(t, dir, "b.ckpt", spec, 2)
	out := filepath.Join(dir, "avg.ckpt")

	// SWA of identical checkpoints is that checkpoint, with batch-norm
	// statistics recomputed from the data.
	if _, err := run(t, "average", "swa", a, a, a, "--out", out, "--json"); err != nil {
		t.Fatal(err)
	}
	got, _, err := nn.LoadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Weights(), na.Weights()) {
		t.Error("average of identical checkpoints differs from the checkpoint")
	}
	if slices.Equal(got.BufferData(), na.BufferData()) {
		t.Error("batch-norm statistics were not recomputed")
	}

	if _, err := run(t, "average", "swa", a, b, "--out", out); err != nil {
		t.Fatal(err)
	}
	got, _, err = nn.LoadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got.Weights() {
		want := float32((float64(na.Weights()[i]) + float64(nb.Weights()[i])) / 2)
		if math.Abs(float64(v-want)) > 1e-7 {
			t.Fatalf("weight %d = %g, want the mean %g", i, v, want)
		}
	}

	m, _ := saveNetCkpt(t, dir, "mlp.ckpt", nn.MLP([]int{1, 28, 28}, []int{4}, 10), 1)
	_, err = run(t, "average", "swa", a, m, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "one architecture") || !strings.Contains(err.Error(), "mlp.ckpt") {
		t.Fatalf("averaging a CNN and an MLP: err = %v", err)
	}
	if _, err := run(t, "average", "swa", filepath.Join(dir, "missing.ckpt")); err == nil {
		t.Fatal("a missing checkpoint was accepted")
	}
}

// TestAverageTWA: TWA over three checkpoints runs, stays in their span and
// rejects a bad --start.
func TestAverageTWA(t *testing.T) {
	dir := t.TempDir()
	spec := nn.MLP([]int{1, 28, 28}, []int{8}, 10)
	var paths []string
	for seed := range uint64(3) {
		p, _ := saveNetCkpt(t, dir, fmt.Sprintf("%d.ckpt", seed), spec, seed)
		paths = append(paths, p)
	}
	out := filepath.Join(dir, "twa.ckpt")
	res, err := run(t, append([]string{"average", "twa", "--epochs", "1", "--batch", "256", "--lr", "0.5", "--out", out, "--json"}, paths...)...)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Dim      int     `json:"dim"`
		Residual float64 `json:"span_residual"`
		Test     struct{ Accuracy float64 }
	}
	if err := json.Unmarshal([]byte(res), &r); err != nil {
		t.Fatalf("%v in %q", err, res)
	}
	if r.Dim != 3 || r.Residual > 1e-5 {
		t.Errorf("dimension %d, residual %g", r.Dim, r.Residual)
	}
	t.Logf("TWA of 3 random initializations: test accuracy %.3f", r.Test.Accuracy)
	if _, err := run(t, append([]string{"average", "twa", "--start", "best", "--out", out}, paths...)...); err == nil {
		t.Error("--start best accepted")
	}
}
