package repro

import (
	"context"
	"testing"
)

func TestRobustOpt(t *testing.T) {
	c := DefaultRobustOptConfig()
	c.Reps, c.Newsvendor.Targets, c.Newsvendor.TargetN = 2, 5, 200
	tab, err := RobustOpt(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 13 {
		t.Fatalf("%d rows, want 13", len(tab.Rows))
	}
	for _, r := range tab.Rows[:4] {
		if !r.Ours.Measured() {
			t.Errorf("%s %s not measured", r.Method, r.Metric)
		}
	}
	// The robust bound is at most SAA's worst case (it minimizes it).
	if saa, rob := tab.Rows[2].Ours.Mean, tab.Rows[7].Ours.Mean; rob > saa+1e-6 {
		t.Errorf("robust bound %g > SAA worst case %g", rob, saa)
	}
	c.Reps = 0
	if _, err := RobustOpt(context.Background(), c); err == nil {
		t.Error("reps 0: no error")
	}
}
