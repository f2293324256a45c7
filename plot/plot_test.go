package plot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/trustml/trustml/metrics"
)

func TestPlotsWritePNG(t *testing.T) {
	dir := t.TempDir()
	lines := filepath.Join(dir, "lines.png")
	err := Lines(lines, "robust accuracy", "queries", "accuracy", true, []Series{
		{Name: "none", X: []float64{1, 10, 100}, Y: []float64{0.9, 0.5, 0.1}},
		{Name: "aaa", X: []float64{1, 10, 100}, Y: []float64{0.9, 0.85, 0.8}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join(dir, "rel.png")
	if err := Reliability(rel, "reliability", metrics.Reliability([]float64{0.9, 0.6}, []bool{true, false})); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{lines, rel} {
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
			t.Errorf("%s is not a PNG (%v)", p, err)
		}
	}
	if err := Lines(filepath.Join(dir, "missing", "x.png"), "", "", "", false, nil); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
