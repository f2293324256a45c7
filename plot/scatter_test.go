package plot

import (
	"os"
	"path/filepath"
	"testing"
)

func TestScatterWritesPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scatter.png")
	err := Scatter(path, "kernel PCA", "pc1", "pc2", []Series{
		{Name: "a", X: []float64{0, 1}, Y: []float64{1, 0}},
		{Name: "b", X: []float64{2}, Y: []float64{2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Errorf("%s is not a PNG (%v)", path, err)
	}
	if err := Scatter(path, "", "", "", []Series{{Name: "bad", X: []float64{1}}}); err == nil {
		t.Error("mismatched series: no error")
	}
}
