package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKernelFitPredictRoundTrip fits and saves a model, then predicts with
// the saved file: the accuracy on the training set printed by predict must
// be consistent with fit's, and predictions must be class names.
func TestKernelFitPredictRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		data, method, kernel string
		regression           bool
	}{
		{"iris", "lssvm", "rbf:gamma=0.5", false},
		{"wine", "askls", "sne:sigma=4", false},
		{"diabetes", "krr", "rbf:gamma=0.1", true},
	} {
		t.Run(tc.data+"-"+tc.method, func(t *testing.T) {
			model := filepath.Join(dir, tc.data+".model")
			out, err := run(t, "kernel", "fit", "--data", tc.data, "--method", tc.method, "--kernel", tc.kernel, "--test-frac", "0", "--out", model, "--json")
			if err != nil {
				t.Fatal(err)
			}
			var fit map[string]any
			if err := json.Unmarshal([]byte(out), &fit); err != nil {
				t.Fatalf("fit --json: %v\n%s", err, out)
			}
			pred := filepath.Join(dir, tc.data+".pred")
			out, err = run(t, "kernel", "predict", "--model", model, "--data", tc.data, "--out", pred, "--json")
			if err != nil {
				t.Fatal(err)
			}
			var res map[string]any
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("predict --json: %v\n%s", err, out)
			}
			if got, want := res["score"].(float64), fit["train_score"].(float64); got != want {
				t.Errorf("predict score %v, fit's training score %v", got, want)
			}
			b, err := os.ReadFile(pred)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) != int(res["n"].(float64)) {
				t.Errorf("%d prediction lines for %v rows", len(lines), res["n"])
			}
		})
	}
}

// TestKernelErrors checks that bad input gives clear errors.
func TestKernelErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.model")
	if err := os.WriteFile(bad, []byte(`{"format":"something-else"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(dir, "junk.model")
	if err := os.WriteFile(notJSON, []byte("\x00\x01junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "iris.model")
	if _, err := run(t, "kernel", "fit", "--data", "iris", "--out", good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"kernel", "fit", "--data", "iris"}, "--out is required"},
		{[]string{"kernel", "fit", "--data", "nosuchset", "--out", filepath.Join(dir, "x")}, "unknown dataset"},
		{[]string{"kernel", "fit", "--data", "iris", "--method", "krr", "--out", filepath.Join(dir, "x")}, "krr is a regressor"},
		{[]string{"kernel", "fit", "--data", "diabetes", "--method", "askls", "--out", filepath.Join(dir, "x")}, "askls is a classifier"},
		{[]string{"kernel", "fit", "--data", "iris", "--kernel", "rbf:gama=1", "--out", filepath.Join(dir, "x")}, "no parameter \"gama\""},
		{[]string{"kernel", "fit", "--data", "iris", "--test-frac", "1.5", "--out", filepath.Join(dir, "x")}, "--test-frac"},
		{[]string{"kernel", "predict", "--data", "iris"}, "--model is required"},
		{[]string{"kernel", "predict", "--model", bad, "--data", "iris"}, "format \"something-else\""},
		{[]string{"kernel", "predict", "--model", notJSON, "--data", "iris"}, "not JSON"},
		{[]string{"kernel", "predict", "--model", good, "--data", "wine"}, "fitted on 4 features"},
		{[]string{"kernel", "cv", "--data", "iris", "--kernel-grid", "gamma"}, "want name=v1,v2"},
		{[]string{"kernel", "cv", "--data", "iris", "--kernel-grid", "gamma=1,x"}, "not a number"},
		{[]string{"repro", "gorf", "--reps", "0"}, "--reps"},
	} {
		_, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}

// TestKernelCV runs a small grid and checks the best point is marked.
func TestKernelCV(t *testing.T) {
	out, err := run(t, "kernel", "cv", "--data", "iris", "--kernel-grid", "gamma=0.1,1", "--reg-grid", "1,10", "--folds", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Points []struct {
			Params map[string]float64
			Mean   float64
		}
		Best int
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Points) != 4 {
		t.Fatalf("%d grid points, want 4", len(res.Points))
	}
	for _, p := range res.Points {
		if p.Mean > res.Points[res.Best].Mean {
			t.Errorf("best point %d (%v) is not the maximum: %v", res.Best, res.Points[res.Best].Mean, p.Mean)
		}
	}
}

func TestSetKernelParam(t *testing.T) {
	for _, tc := range []struct {
		in, name string
		v        float64
		want     string
	}{
		{"rbf:gamma=0.5", "gamma", 2, "rbf:gamma=2"},
		{"sne:sigma=1,power=1", "sigma", 3, "sne:power=1,sigma=3"},
		{"linear", "x", 1, "linear:x=1"},
	} {
		if got := setKernelParam(tc.in, tc.name, tc.v); got != tc.want {
			t.Errorf("setKernelParam(%q, %q, %v) = %q, want %q", tc.in, tc.name, tc.v, got, tc.want)
		}
	}
}

// FuzzLoadModelFile checks that arbitrary model files never panic.
func FuzzLoadModelFile(f *testing.F) {
	f.Add([]byte(`{"format":"trustml-kernel-cli-model","version":1,"features":2,"model":{}}`))
	f.Add([]byte(`{"format":"trustml-kernel-cli-model","version":1,"features":1,"mean":[0],"std":[1],"model":{"format":"trustml-kernel-model","version":1,"kind":"krr","model":{}}}`))
	f.Add([]byte("junk"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "m")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, _ = loadModelFile(p)
	})
}
