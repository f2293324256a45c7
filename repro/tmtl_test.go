package repro

import (
	"context"
	"strings"
	"testing"
)

func TestTMTLSmall(t *testing.T) {
	tab, err := TMTL(context.Background(), TMTLConfig{Reps: 1, Seed: 1, PerTask: 8, MaxIter: 5, Sets: []string{"synthetic"}})
	if err != nil {
		t.Fatal(err)
	}
	kernCheckTable(t, tab, 8, tmtlSource, 0)
	// On the low-rank task grid the multitask models beat one shared model
	// by far (shared Q² is near 0: the tasks' weights differ).
	if mtl, svm, shared := tab.Rows[1].Ours.Mean, tab.Rows[3].Ours.Mean, tab.Rows[7].Ours.Mean; !(mtl > 0.8 && svm > 0.8 && shared < 0.5) {
		t.Errorf("Q²: tLSSVM-MTL %.3f, tSVM-MTL %.3f, shared %.3f", mtl, svm, shared)
	}
	if tab.Rows[2].Method != "tSVM-MTL" {
		t.Errorf("row 2 is %q, want tSVM-MTL", tab.Rows[2].Method)
	}
}

func TestTMTLConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  TMTLConfig
		want string
	}{
		{TMTLConfig{Reps: -1}, "must not be negative"},
		{TMTLConfig{PerTask: 2}, "--per-task 2"},
		{TMTLConfig{Sets: []string{"restaurant"}}, `unknown setting "restaurant"`},
	} {
		if _, err := TMTL(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestTMTLFashionSmall(t *testing.T) {
	tab, err := TMTL(context.Background(), TMTLConfig{Reps: 1, Seed: 1, PerClass: 6, MaxIter: 2, Sets: []string{"fashion-mnist"}})
	if err != nil {
		t.Fatal(err)
	}
	kernCheckTable(t, tab, 4, tmtlSource, 0)
	for _, r := range tab.Rows {
		if !(r.Ours.Mean > 0.2) { // 10 classes: chance is 0.1
			t.Errorf("%s: accuracy %v", r.Method, r.Ours.Mean)
		}
	}
}
