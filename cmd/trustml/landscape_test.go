package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

func TestLandscape(t *testing.T) {
	dir := t.TempDir()
	ckpt, _ := saveNetCkpt(t, dir, "m.ckpt", nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{Width: 2, Hidden: 8, BatchNorm: true}), 1)
	png := filepath.Join(dir, "curve.png")
	out, err := run(t, "landscape", "--model", ckpt, "--n", "64", "--points", "5", "--iters", "5", "--png", png, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Top   float64   `json:"top_eigenvalue"`
		Alpha []float64 `json:"alpha"`
		Loss  []float64 `json:"loss"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if len(res.Loss) != 5 || res.Alpha[0] != -1 || res.Alpha[4] != 1 || res.Alpha[2] != 0 {
		t.Fatalf("curve %v at %v", res.Loss, res.Alpha)
	}
	if res.Top == 0 {
		t.Error("top eigenvalue is 0")
	}
	if b, err := os.ReadFile(png); err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Errorf("PNG not written: %v", err)
	}
	if _, err := run(t, "landscape", "--model", ckpt, "--points", "1"); err == nil || !strings.Contains(err.Error(), "--points") {
		t.Errorf("--points 1: err = %v", err)
	}
}
