package repro

import (
	"context"
	"testing"
)

// TestGORF runs the quick GORF protocol on iris (classification) and
// boston (regression).
func TestGORF(t *testing.T) {
	tab, err := GORF(context.Background(), GORFConfig{Reps: 1, N: 60, Seed: 1, Data: []string{"iris", "boston"}})
	if err != nil {
		t.Fatal(err)
	}
	// per set: 3 samplers (delta-gaussian; sphere-poly, also with the
	// official sampler) × 2 D × GORF/GRFF × 2 metrics
	kernCheckTable(t, tab, 2*3*2*2*2, gorfSource, 0)
	var acc, rmse int
	for _, r := range tab.Rows {
		switch r.Metric {
		case "test accuracy (linear SVM)":
			acc++
		case "test RMSE (ridge)":
			rmse++
		}
	}
	if acc != 12 || rmse != 12 {
		t.Errorf("%d accuracy rows and %d RMSE rows, want 12 each", acc, rmse)
	}
}
