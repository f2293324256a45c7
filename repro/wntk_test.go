package repro

import (
	"context"
	"strings"
	"testing"
)

func TestWNTKSmall(t *testing.T) {
	tab, err := WNTKRepro(context.Background(), WNTKConfig{Reps: 1, Seed: 1, Hidden: []int{8}, MaxRows: 60, Data: []string{"diabetes"}})
	if err != nil {
		t.Fatal(err)
	}
	kernCheckTable(t, tab, 4, wntkSource, 0)
	for _, r := range tab.Rows {
		if !(r.Ours.Mean > 0 && r.Ours.Mean < 1) {
			t.Errorf("%s: test R² %v", r.Method, r.Ours.Mean)
		}
	}
}

func TestWNTKConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  WNTKConfig
		want string
	}{
		{WNTKConfig{MaxRows: 5}, "--max-rows 5"},
		{WNTKConfig{Hidden: []int{0}}, "hidden width 0"},
	} {
		if _, err := WNTKRepro(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	// A classification set is a failed setting, not a panic.
	tab, err := WNTKRepro(context.Background(), WNTKConfig{Reps: 1, Hidden: []int{4}, MaxRows: 30, Data: []string{"iris"}})
	if err != nil || len(tab.Failed) != 1 || !strings.Contains(tab.Failed[0], "no regression target") {
		t.Errorf("iris: err %v, failed %q", err, tab.Failed)
	}
}
