package repro

import (
	"context"
	"testing"
)

// TestAsKRFF runs the quick AsK-RFF protocol on iris: the approximation
// error falls with D and the downstream rows are there.
func TestAsKRFF(t *testing.T) {
	tab, err := AsKRFF(context.Background(), AsKRFFConfig{Reps: 1, N: 60, D: []int{8, 128}, DownstreamD: []int{16}, Seed: 1, Data: []string{"iris"}})
	if err != nil {
		t.Fatal(err)
	}
	pl := askrffPlan{approxD: []int{8, 128}, downD: []int{16}, gammas: []float64{1, 10}}
	approx := 2 * len(pl.approxD)
	down := len(pl.gammas)*(1+len(pl.downD)) + 1 + len(pl.downD)
	kernCheckTable(t, tab, approx+down, askrffSource, 0)
	first, last := tab.Rows[0], tab.Rows[len(pl.approxD)-1] // exact masses, smallest and largest D
	if !(last.Ours.Mean < first.Ours.Mean/2) {
		t.Errorf("approximation error %v at %s, %v at %s: does not fall with D", first.Ours.Mean, first.Setting, last.Ours.Mean, last.Setting)
	}
}
