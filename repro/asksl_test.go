package repro

import (
	"context"
	"strings"
	"testing"
)

// TestAsKLS runs the AsK-LS reproduction on iris with a data set that does
// not exist: iris's rows are kept, the other is listed as failed.
func TestAsKLS(t *testing.T) {
	tab, err := AsKLS(context.Background(), AsKLSConfig{Reps: 1, Folds: 2, Seed: 1, Data: []string{"no-such-set", "iris"}})
	if err != nil {
		t.Fatal(err)
	}
	kernCheckTable(t, tab, len(asklsMethods), asklsSource, 1)
	if !strings.HasPrefix(tab.Failed[0], "no-such-set: ") {
		t.Errorf("failure %q does not name the data set", tab.Failed[0])
	}
	for _, r := range tab.Rows {
		if r.Ours.Mean < 0.8 || r.Ours.Mean > 1 {
			t.Errorf("%s on iris: accuracy %v", r.Method, r.Ours.Mean)
		}
	}
}
