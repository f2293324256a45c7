package train

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLandscapeWritePlots(t *testing.T) {
	dir := t.TempDir()
	result := func() *LandscapeResult {
		return &LandscapeResult{Model: "a.ckpt", Alpha: []float64{-1, 0, 1}, Loss: []float64{2, 1, 3},
			Surface: &SurfaceResult{Alpha: []float64{-1, 0, 1}, Beta: []float64{-1, 0, 1}, Loss: [][]float64{{3, 2, 3}, {2, 1, 2}, {3, 2, 3}}},
			Line:    &LineResult{To: "b.ckpt", BN: "interpolate", T: []float64{-0.5, 0, 0.5, 1, 1.5}, Loss: []float64{4, 1, 2, 1, 4}}}
	}
	r := result()
	p := LandscapePlots{Curve: filepath.Join(dir, "c.png"), Surface: filepath.Join(dir, "s.png"), SurfaceLog: true, Line: filepath.Join(dir, "l.png")}
	if err := r.WritePlots(p); err != nil {
		t.Fatal(err)
	}
	if r.PNG != p.Curve || r.Surface.PNG != p.Surface || r.Line.PNG != p.Line {
		t.Errorf("PNG fields %q, %q, %q; want the files written", r.PNG, r.Surface.PNG, r.Line.PNG)
	}
	for _, f := range []string{p.Curve, p.Surface, p.Line} {
		b, err := os.ReadFile(f)
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s: not a PNG (%v)", f, err)
		}
	}

	// nothing named, nothing drawn
	r = result()
	if err := r.WritePlots(LandscapePlots{}); err != nil || r.PNG != "" || r.Surface.PNG != "" || r.Line.PNG != "" {
		t.Errorf("empty LandscapePlots: err %v, PNG fields %q %q %q", err, r.PNG, r.Surface.PNG, r.Line.PNG)
	}

	for _, tc := range []struct {
		edit func(*LandscapeResult)
		p    LandscapePlots
		want string
	}{
		{func(r *LandscapeResult) { r.Surface = nil }, LandscapePlots{Surface: filepath.Join(dir, "x.png")}, "no surface"},
		{func(r *LandscapeResult) { r.Line = nil }, LandscapePlots{Line: filepath.Join(dir, "y.png")}, "no line"},
		{func(r *LandscapeResult) { r.Line.T = []float64{0, 0.5} }, LandscapePlots{Line: filepath.Join(dir, "z.png")}, "no line"},
		{func(*LandscapeResult) {}, LandscapePlots{Curve: filepath.Join(dir, "missing", "c.png")}, "missing"},
	} {
		r := result()
		tc.edit(r)
		if err := r.WritePlots(tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.p, err, tc.want)
		}
	}
}
