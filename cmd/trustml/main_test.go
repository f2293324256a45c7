package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the CLI with args and returns stdout and the error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestVersion(t *testing.T) {
	out, err := run(t, "version", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(out), &v); err != nil || v["linalg"] == "" {
		t.Fatalf("version --json: %q (%v)", out, err)
	}
}

// TestTrainEvalRoundTrip trains a tiny model for a few steps, then evaluates
// the checkpoint; the metrics stored in the checkpoint must be what eval
// prints.
func TestTrainEvalRoundTrip(t *testing.T) {
	ckpt := filepath.Join(t.TempDir(), "m.ckpt")
	out, err := run(t, "train", "--arch", "mlp", "--steps", "60", "--batch", "64", "--lr", "0.2", "--crop-pad", "0", "--flip=false", "--out", ckpt, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Test struct{ Accuracy float64 } `json:"test"`
	}
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatalf("train --json: %v in %q", err, out)
	}
	if tr.Test.Accuracy < 0.6 {
		t.Errorf("60 steps of MLP training reached only %.3f", tr.Test.Accuracy)
	}
	out, err = run(t, "eval", "--model", ckpt, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Metrics struct{ Accuracy float64 } `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Metrics.Accuracy != tr.Test.Accuracy {
		t.Errorf("eval accuracy %v, train reported %v", ev.Metrics.Accuracy, tr.Test.Accuracy)
	}
	out, err = run(t, "eval", "--model", ckpt)
	if err != nil || !strings.Contains(out, "accuracy") || !strings.Contains(out, "fashion-mnist-small") {
		t.Errorf("eval table: %q, %v", out, err)
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.ckpt")
	os.WriteFile(garbage, []byte("not a checkpoint"), 0o644)
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"eval", "--model", filepath.Join(dir, "missing.ckpt")}, "no such file"},
		{[]string{"eval", "--model", garbage}, "bad checkpoint"},
		{[]string{"eval", "--split", "validation"}, "split"},
		{[]string{"eval", "--data", "iris"}, "shape"},
		{[]string{"train", "--arch", "vgg", "--steps", "1", "--out", filepath.Join(dir, "x.ckpt")}, "unknown architecture"},
		{[]string{"train", "--optimizer", "lbfgs", "--steps", "1", "--out", filepath.Join(dir, "x.ckpt")}, "unknown optimizer"},
		{[]string{"train", "--lr", "-1", "--steps", "1", "--out", filepath.Join(dir, "x.ckpt")}, "lr"},
		{[]string{"train", "--data", "diabetes", "--steps", "1", "--out", filepath.Join(dir, "x.ckpt")}, "regression"},
		{[]string{"train", "--epochs", "0"}, "positive"},
		{[]string{"eval", "--data", "no-such-set"}, "no-such-set"},
	}
	for _, c := range cases {
		_, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: err = %v, want it to mention %q", c.args, err, c.msg)
		}
	}
}

func TestDemo(t *testing.T) {
	out, err := run(t, "demo", "--json", "--n", "20", "--budget", "50", "--out-dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Metrics struct {
			N        int
			Accuracy float64
		} `json:"metrics"`
		Predictions []struct{ True, Predicted string } `json:"predictions"`
		Robustness  struct {
			Pairs []struct {
				Defense string
				Summary struct {
					CleanAccuracy  float64   `json:"clean_accuracy"`
					RobustAccuracy []float64 `json:"robust_accuracy"`
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Metrics.N != 2000 || len(d.Predictions) != 8 {
		t.Errorf("demo: n=%d, %d predictions", d.Metrics.N, len(d.Predictions))
	}
	if len(d.Robustness.Pairs) != 4 {
		t.Fatalf("demo evaluated %d defenses, want 4", len(d.Robustness.Pairs))
	}
	for _, p := range d.Robustness.Pairs {
		s := p.Summary
		if len(s.RobustAccuracy) != 1 || s.RobustAccuracy[0] > s.CleanAccuracy {
			t.Errorf("%s: robust accuracy %v above clean %v", p.Defense, s.RobustAccuracy, s.CleanAccuracy)
		}
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
