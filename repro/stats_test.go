package repro

import (
	"context"
	"math"
	"strings"
	"testing"
)

// kernCheckTable checks what every kernel reproduction's table must hold:
// rows measured, each with the paper's source and protocol (never a
// blank), and the failures expected.
func kernCheckTable(t *testing.T, tab *Table, rows int, source string, failed int) {
	t.Helper()
	if len(tab.Rows) != rows {
		t.Fatalf("%d rows, want %d", len(tab.Rows), rows)
	}
	for _, r := range tab.Rows {
		if r.Paper.Source != source || r.Paper.Setting == "" || r.Paper.Value != nil {
			t.Errorf("row %s/%s: paper %+v, want not public from %q with the protocol", r.Setting, r.Method, r.Paper, source)
		}
		if !r.Ours.Measured() || math.IsNaN(r.Ours.Mean) || r.Differs == "" {
			t.Errorf("row %s/%s %s: ours %+v differs %q", r.Setting, r.Method, r.Metric, r.Ours, r.Differs)
		}
	}
	if len(tab.Failed) != failed || tab.Complete() != (failed == 0) {
		t.Errorf("failed %q, want %d", tab.Failed, failed)
	}
	if tab.Protocol == "" || tab.Claim == "" || tab.Seconds <= 0 {
		t.Errorf("protocol %q claim %q seconds %v", tab.Protocol, tab.Claim, tab.Seconds)
	}
}

// TestKernelConfigErrors checks that bad settings are errors naming the
// problem, not runs.
func TestKernelConfigErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func() (*Table, error)
		want string
	}{
		{"asksl reps", func() (*Table, error) { return AsKLS(ctx, AsKLSConfig{Reps: -1}) }, "repetitions"},
		{"asksl folds", func() (*Table, error) { return AsKLS(ctx, AsKLSConfig{Folds: 1}) }, "folds"},
		{"labrbf reps", func() (*Table, error) { return LABRBF(ctx, LABRBFConfig{Reps: -2}) }, "repetitions"},
		{"askrff n", func() (*Table, error) { return AsKRFF(ctx, AsKRFFConfig{N: 1}) }, "points"},
		{"askrff D", func() (*Table, error) { return AsKRFF(ctx, AsKRFFConfig{DownstreamD: []int{0}}) }, "frequencies"},
		{"gorf rmax", func() (*Table, error) { return GORF(ctx, GORFConfig{RMax: -1}) }, "radius"},
		{"gorf reps", func() (*Table, error) { return GORF(ctx, GORFConfig{Reps: -1}) }, "repetitions"},
	}
	for _, tc := range tests {
		tab, err := tc.run()
		if err == nil || tab != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: table %v, error %v; want an error about %s", tc.name, tab, err, tc.want)
		}
	}
}

// TestKernelCancel checks that a cancelled context stops a reproduction
// with its error instead of recording every data set as failed.
func TestKernelCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tab, err := AsKLS(ctx, AsKLSConfig{Reps: 1, Data: []string{"iris"}})
	if err == nil || len(tab.Failed) != 0 {
		t.Errorf("cancelled: err %v, failed %q", err, tab.Failed)
	}
}
