package repro

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/uap"
)

func TestUAPSmall(t *testing.T) {
	cfg := DefaultUAPConfig()
	cfg.Models, cfg.Methods = []string{"fashion-cnn"}, []string{"fg-uap", "uap"}
	cfg.Data, cfg.TrainN, cfg.TestN, cfg.Epochs, cfg.UAPPasses = "fashion-mnist-small", 48, 60, 1, 1
	res, err := UAP(context.Background(), &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 2 || len(res.Table.Rows) != 4 || !res.Table.Complete() {
		t.Fatalf("%d runs, %d rows, failed %v", len(res.Runs), len(res.Table.Rows), res.Table.Failed)
	}
	for _, r := range res.Runs {
		if r.MaxAbs > cfg.Eps || r.Evals[0].CleanAccuracy < 0.8 {
			t.Errorf("run %+v", r)
		}
	}
	var sb strings.Builder
	if err := res.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fashion-cnn (white-box)", "not public in text form", "paper's direction (FG-UAP fools more than UAP): ours on"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, sb.String())
		}
	}
}

// A failed run shows n/a, is listed, and makes WriteText fail.
func TestUAPFailedRun(t *testing.T) {
	runs := []UAPRun{
		{Index: 0, Source: "a", Method: "fg-uap", Evals: []UAPEval{{Model: "a", Unclipped: uap.Outcome{FoolingRate: 0.6}, Clipped: uap.Outcome{FoolingRate: 0.4}}}},
		{Index: 1, Source: "a", Method: "uap", Error: "boom"},
	}
	res := &UAPResult{Runs: runs, Table: uapTable(runs, "s")}
	var sb strings.Builder
	err := res.WriteText(&sb)
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(sb.String(), "n/a") || !strings.Contains(sb.String(), "FAILED: uap on a: boom") {
		t.Fatalf("error %v, output:\n%s", err, sb.String())
	}
}

func TestUAPDirection(t *testing.T) {
	ev := func(m string, u, c float64) UAPEval {
		return UAPEval{Model: m, Unclipped: uap.Outcome{FoolingRate: u}, Clipped: uap.Outcome{FoolingRate: c}}
	}
	runs := []UAPRun{
		{Source: "a", Method: "fg-uap", Evals: []UAPEval{ev("a", 0.7, 0.3), ev("b", 0.5, 0.2)}},
		{Source: "a", Method: "uap", Evals: []UAPEval{ev("a", 0.4, 0.35), ev("b", 0.6, 0.1)}},
		{Source: "a", Method: "random", Evals: []UAPEval{ev("a", 0.9, 0.9), ev("b", 0.9, 0.9)}},
	}
	got := uapDirection(runs)
	if len(got) != 1 || !strings.Contains(got[0], "ours on 1 of 2 source→target pairs with x+v, 1 of 2 clipped") {
		t.Fatalf("%v", got)
	}
}

func FuzzDecodeUAPRuns(f *testing.F) {
	good, _ := json.Marshal(UAPRunFile{Setup: "s", Spec: shard.Spec{Index: 1, Count: 2},
		Runs: []UAPRun{{Index: 1, Source: "m", Method: "fg-uap", Evals: []UAPEval{{Model: "m"}}}}})
	f.Add(good)
	f.Add([]byte(`{"setup":"s","shard":0,"shards":1,"runs":[{"index":0}]}`))
	f.Add([]byte(`{"setup":"s","shard":3,"shards":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeUAPRuns(b)
		if err != nil {
			return
		}
		if r.Setup == "" || r.Spec.Validate() != nil {
			t.Fatalf("accepted %+v", r)
		}
		for _, run := range r.Runs {
			if !r.Spec.Contains(run.Index) || (run.Error == "" && len(run.Evals) == 0) {
				t.Fatalf("accepted run %+v", run)
			}
		}
		_ = uapTable(r.Runs, r.Setup)
	})
}
