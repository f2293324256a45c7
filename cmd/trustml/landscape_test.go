package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

type landscapeJSON struct {
	Top   float64   `json:"top_eigenvalue"`
	Alpha []float64 `json:"alpha"`
	Loss  []float64 `json:"loss"`
	Width *struct {
		Lo, Hi, Width float64
	} `json:"width"`
	Surface *struct {
		Alpha, Beta []float64
		Loss        [][]float64
		Min         float64
	} `json:"surface"`
	Line *struct {
		BN      string    `json:"bn"`
		T       []float64 `json:"t"`
		Loss    []float64 `json:"loss"`
		Barrier float64   `json:"barrier"`
	} `json:"line"`
}

func runLandscapeJSON(t *testing.T, args ...string) landscapeJSON {
	t.Helper()
	out, err := run(t, append([]string{"landscape", "--json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var res landscapeJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	return res
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("PNG not written: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("%s does not decode as PNG: %v", path, err)
	}
}

func TestLandscape(t *testing.T) {
	dir := t.TempDir()
	ckpt, _ := saveNetCkpt(t, dir, "m.ckpt", nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{Width: 2, Hidden: 8, BatchNorm: true}), 1)
	curve := filepath.Join(dir, "curve.png")
	res := runLandscapeJSON(t, "--model", ckpt, "--n", "64", "--points", "5", "--iters", "5", "--png", curve)
	if len(res.Loss) != 5 || res.Alpha[0] != -1 || res.Alpha[4] != 1 || res.Alpha[2] != 0 {
		t.Fatalf("curve %v at %v", res.Loss, res.Alpha)
	}
	if res.Top == 0 {
		t.Error("top eigenvalue is 0")
	}
	if res.Width == nil || !(res.Width.Lo <= 0 && res.Width.Hi >= 0) || res.Width.Width != res.Width.Hi-res.Width.Lo {
		t.Errorf("width %+v", res.Width)
	}
	checkPNG(t, curve)
	if _, err := run(t, "landscape", "--model", ckpt, "--points", "1"); err == nil || !strings.Contains(err.Error(), "--points") {
		t.Errorf("--points 1: err = %v", err)
	}
}

// TestLandscapeSurface: the surface's centre is the model's loss and, with
// --grid equal to --points, its β = 0 column is the 1-D curve exactly (d1
// is the curve's direction); the directions do not depend on --iters; the
// PNG decodes; bad grids are refused.
func TestLandscapeSurface(t *testing.T) {
	dir := t.TempDir()
	ckpt, _ := saveNetCkpt(t, dir, "m.ckpt", nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{Width: 2, Hidden: 8, BatchNorm: true}), 2)
	surface := filepath.Join(dir, "surface.png")
	res := runLandscapeJSON(t, "--model", ckpt, "--n", "48", "--points", "5", "--grid", "5", "--span", "0.5", "--iters", "2", "--surface-png", surface)
	s := res.Surface
	if s == nil || len(s.Loss) != 5 || len(s.Loss[0]) != 5 || len(s.Beta) != 5 {
		t.Fatalf("surface %+v", s)
	}
	if s.Alpha[2] != 0 || s.Beta[2] != 0 || s.Alpha[0] != -0.5 {
		t.Fatalf("grid %v × %v", s.Alpha, s.Beta)
	}
	for i := range res.Alpha {
		if s.Loss[i][2] != res.Loss[i] {
			t.Errorf("α = %g: surface %v, curve %v", res.Alpha[i], s.Loss[i][2], res.Loss[i])
		}
	}
	if s.Loss[2][2] != res.Loss[2] {
		t.Errorf("centre %v, model loss %v", s.Loss[2][2], res.Loss[2])
	}
	if s.Loss[0][0] == s.Loss[0][4] {
		t.Error("the second direction changes nothing")
	}
	checkPNG(t, surface)
	// Same seed, no power iteration: the same directions.
	again := runLandscapeJSON(t, "--model", ckpt, "--n", "48", "--points", "5", "--grid", "5", "--span", "0.5", "--iters", "0", "--surface")
	if again.Surface == nil || again.Surface.Loss[4][0] != s.Loss[4][0] || again.Top != 0 {
		t.Errorf("rerun without --iters: surface %v, first run %v", again.Surface, s.Loss)
	}
	for _, grid := range []string{"4", "1", "0", "1001"} {
		if _, err := run(t, "landscape", "--model", ckpt, "--n", "8", "--iters", "0", "--surface", "--grid", grid); err == nil || !strings.Contains(err.Error(), "--grid") {
			t.Errorf("--grid %s: err = %v", grid, err)
		}
	}
}

// TestLandscapeLine: the line's ends are each model's own loss (batch-norm
// statistics interpolated with the weights), the PNG decodes, recompute
// changes the interior, and mismatched architectures are refused.
func TestLandscapeLine(t *testing.T) {
	dir := t.TempDir()
	spec := nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{Width: 2, Hidden: 8, BatchNorm: true})
	a, _ := saveNetCkpt(t, dir, "a.ckpt", spec, 3)
	b, netB := saveNetCkpt(t, dir, "b.ckpt", spec, 4)
	// Give B statistics of its own, as training would.
	for i := range netB.BufferData() {
		netB.BufferData()[i] += 0.1 * float32(i%5)
	}
	if err := nn.SaveFile(b, netB, nil); err != nil {
		t.Fatal(err)
	}
	line := filepath.Join(dir, "line.png")
	res := runLandscapeJSON(t, "--model", a, "--to", b, "--n", "40", "--points", "3", "--iters", "0", "--line-points", "5", "--line-png", line)
	l := res.Line
	if l == nil || len(l.T) != 7 || l.T[0] != -0.25 || l.T[1] != 0 || l.T[5] != 1 || l.BN != "interpolate" {
		t.Fatalf("line %+v", l)
	}
	lossA := runLandscapeJSON(t, "--model", a, "--n", "40", "--points", "3", "--iters", "0").Loss[1]
	lossB := runLandscapeJSON(t, "--model", b, "--n", "40", "--points", "3", "--iters", "0").Loss[1]
	if l.Loss[1] != lossA || l.Loss[5] != lossB {
		t.Errorf("line ends %v, %v; models' losses %v, %v", l.Loss[1], l.Loss[5], lossA, lossB)
	}
	if l.Barrier < 0 {
		t.Errorf("barrier %v", l.Barrier)
	}
	checkPNG(t, line)
	re := runLandscapeJSON(t, "--model", a, "--to", b, "--n", "40", "--points", "3", "--iters", "0", "--line-points", "3", "--extend", "0", "--line-bn", "recompute")
	if re.Line == nil || len(re.Line.T) != 3 || re.Line.BN != "recompute" {
		t.Fatalf("recomputed line %+v", re.Line)
	}
	if re.Line.Loss[1] == l.Loss[3] {
		t.Errorf("t = 0.5: recomputed statistics give the interpolated ones' loss %v", l.Loss[3])
	}
	out, err := run(t, "landscape", "--model", a, "--to", b, "--n", "16", "--points", "3", "--iters", "0", "--line-points", "3", "--surface", "--grid", "3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"width within", "loss surface", "minimum on the grid", "barrier on [0, 1]"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}

	other, _ := saveNetCkpt(t, dir, "mlp.ckpt", nn.MLP([]int{1, 28, 28}, []int{8}, 10), 5)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", a, "--to", other}, "architectures differ"},
		{[]string{"--model", a, "--line-png", line}, "--to"},
		{[]string{"--model", a, "--to", b, "--line-points", "1"}, "--line-points"},
		{[]string{"--model", a, "--to", b, "--extend", "-1"}, "--extend"},
		{[]string{"--model", a, "--to", b, "--line-bn", "mean"}, "--line-bn"},
		{[]string{"--model", a, "--to", filepath.Join(dir, "missing.ckpt")}, "missing.ckpt"},
	} {
		_, err := run(t, append([]string{"landscape", "--n", "8", "--iters", "0"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
}
