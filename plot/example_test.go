package plot_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/plot"
)

// Draw robust accuracy against queries on a log axis, and a reliability
// diagram from per-sample confidences; both are PNG files written
// atomically.
func ExampleLines() {
	dir, err := os.MkdirTemp("", "plot")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	err = plot.Lines(filepath.Join(dir, "robust.png"), "Square attack", "queries", "robust accuracy", true, []plot.Series{
		{Name: "none", X: []float64{1, 10, 100, 500}, Y: []float64{0.93, 0.6, 0.25, 0.05}},
		{Name: "aaa-linear", X: []float64{1, 10, 100, 500}, Y: []float64{0.93, 0.6, 0.55, 0.55}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	bins := metrics.Reliability([]float64{0.95, 0.9, 0.6, 0.55}, []bool{true, true, false, true})
	if err := plot.Reliability(filepath.Join(dir, "reliability.png"), "reliability", bins); err != nil {
		fmt.Println(err)
		return
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fmt.Println(e.Name())
	}
	// Output:
	// reliability.png
	// robust.png
}
