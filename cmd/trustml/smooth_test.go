package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

func TestSmoothCLI(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.png")
	g := image.NewGray(image.Rect(0, 0, 16, 12))
	for i := range g.Pix {
		g.Pix[i] = uint8(40 + 7*(i%5))
		if i%16 >= 8 {
			g.Pix[i] += 120
		}
	}
	g.Set(0, 0, color.Gray{Y: 0})
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, g); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, m := range []string{"gsmooth", "bilateral", "guided", "wls"} {
		s, err := run(t, "smooth", "--method", m, "--in", in, "--out", out)
		if err != nil || !strings.Contains(s, "edge kept") {
			t.Fatalf("%s: %v\n%s", m, err, s)
		}
	}
	if _, err := run(t, "smooth", "--method", "median", "--in", in); err == nil {
		t.Fatal("unknown method accepted")
	}
	if _, err := run(t, "smooth", "--in", filepath.Join(dir, "missing.png")); err == nil {
		t.Fatal("missing input accepted")
	}
}

func TestPWLCLI(t *testing.T) {
	dir := t.TempDir()
	ck, png := filepath.Join(dir, "mlp.ckpt"), filepath.Join(dir, "s.png")
	net, err := nn.New(nn.MLP([]int{1, 28, 28}, []int{12, 6}, 10), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.SaveFile(ck, net, nil); err != nil {
		t.Fatal(err)
	}
	s, err := run(t, "pwl", "--model", ck, "--lines", "3", "--res", "16", "--out", png)
	if err != nil || !strings.Contains(s, "18 ReLU units") || !strings.Contains(s, "wrote") {
		t.Fatalf("%v\n%s", err, s)
	}
	if _, err := os.Stat(png); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "pwl", "--model", "fashion-cnn"); err == nil || !strings.Contains(err.Error(), "not a ReLU MLP") {
		t.Fatalf("a CNN was accepted: %v", err)
	}
}
