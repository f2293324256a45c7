package repro

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPWLTiny(t *testing.T) {
	c := DefaultPWLConfig()
	c.Data, c.Archs, c.Epochs, c.Lines, c.Res, c.Reps, c.OutDir = []string{"iris"}, []string{"8", "4-4"}, 5, 4, 24, 1, t.TempDir()
	tab, err := PWL(context.Background(), &c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 17 {
		t.Fatalf("%d rows, want 17", len(tab.Rows))
	}
	shallow := 0
	for _, r := range tab.Rows {
		if !r.Ours.Measured() || (r.Metric != "test accuracy %" && r.Ours.Mean < 1) || len(r.Ours.Values) != 1 {
			t.Fatalf("row %s %s: %v", r.Setting, r.Metric, r.Ours.Values)
		}
		// The primer's shallow classes fit iris well above chance (33%).
		if (strings.HasPrefix(r.Method, "hinging") || strings.HasPrefix(r.Method, "lattice")) && r.Metric == "test accuracy %" {
			shallow++
			if r.Ours.Mean < 75 {
				t.Errorf("%s: iris test accuracy %.1f%%, want ≥ 75%%", r.Method, r.Ours.Mean)
			}
		}
	}
	if shallow != 2 {
		t.Fatalf("%d hinging/lattice accuracy rows, want 2", shallow)
	}
	if _, err := os.Stat(filepath.Join(c.OutDir, "pwl-iris-4-4-seed1.png")); err != nil {
		t.Fatal(err)
	}
	c.Archs = []string{"8-x"}
	if _, err := PWL(context.Background(), &c, nil); err == nil {
		t.Fatal("no error for a bad architecture")
	}
}
