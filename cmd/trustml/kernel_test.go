package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
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

// TestKernelPredictPlainModel: a model saved with kernel.SaveFile (no
// pipeline around it) predicts with "trustml kernel predict": its labels
// are the data set's class indices and the printed score is its accuracy.
func TestKernelPredictPlainModel(t *testing.T) {
	d, err := data.Tabular("iris")
	if err != nil {
		t.Fatal(err)
	}
	m := &kernel.LSSVMClassifier{Kernel: kernel.RBF{Gamma: 0.5}, Gamma: 10}
	if err := m.Fit(context.Background(), d.Float64(), d.Y); err != nil {
		t.Fatal(err)
	}
	pred, err := m.Predict(d.Float64())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "plain.model")
	if err := kernel.SaveFile(path, m); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "kernel", "predict", "--model", path, "--data", "iris", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Method      string
		Score       float64
		Predictions []string
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("predict --json: %v\n%s", err, out)
	}
	if res.Method != "lssvm-classifier" || res.Score != kernel.Accuracy(d.Y, pred) || len(res.Predictions) != d.Len() {
		t.Errorf("method %q, score %v (want %v), %d predictions for %d rows", res.Method, res.Score, kernel.Accuracy(d.Y, pred), len(res.Predictions), d.Len())
	}
	for i, name := range res.Predictions {
		if name != d.Classes[pred[i]] {
			t.Fatalf("prediction %d is %q, want %q", i, name, d.Classes[pred[i]])
		}
	}
}

// TestKernelHelpListsRegistries: the help lists every registered method
// and kernel.
func TestKernelHelpListsRegistries(t *testing.T) {
	out, err := run(t, "kernel", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(kernel.MethodNames(), kernel.KernelNames()...) {
		if !strings.Contains(out, "\n  "+name) {
			t.Errorf("kernel --help does not list %q", name)
		}
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
	nystrom := filepath.Join(dir, "nystrom.model")
	X, err := kernel.FromRows([][]float64{{0, 1}, {1, 0}, {1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	ny := &kernel.Nystrom{Kernel: kernel.RBF{Gamma: 1}, Components: 2}
	if err := ny.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	if err := kernel.SaveFile(nystrom, ny); err != nil {
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
		{[]string{"kernel", "fit", "--data", "iris"}, `required flag(s) "out" not set`},
		{[]string{"kernel", "fit", "--data", "nosuchset", "--out", filepath.Join(dir, "x")}, "unknown dataset"},
		{[]string{"kernel", "fit", "--data", "iris", "--method", "krr", "--out", filepath.Join(dir, "x")}, "krr is a regressor"},
		{[]string{"kernel", "fit", "--data", "diabetes", "--method", "askls", "--out", filepath.Join(dir, "x")}, "askls is a classifier"},
		{[]string{"kernel", "fit", "--data", "iris", "--kernel", "rbf:gama=1", "--out", filepath.Join(dir, "x")}, "no parameter \"gama\""},
		{[]string{"kernel", "fit", "--data", "iris", "--test-frac", "1.5", "--out", filepath.Join(dir, "x")}, "test fraction must be in [0, 1)"},
		{[]string{"kernel", "predict", "--data", "iris"}, `required flag(s) "model" not set`},
		{[]string{"kernel", "predict", "--model", bad, "--data", "iris"}, "format \"something-else\""},
		{[]string{"kernel", "predict", "--model", notJSON, "--data", "iris"}, "not JSON"},
		{[]string{"kernel", "predict", "--model", good, "--data", "wine"}, "fitted on 4 features"},
		{[]string{"kernel", "cv", "--data", "iris", "--kernel-grid", "gamma"}, "want name=v1,v2"},
		{[]string{"kernel", "cv", "--data", "iris", "--kernel-grid", "gamma=1,x"}, "not a number"},
		{[]string{"kernel", "fit", "--data", "iris", "--method", "svm", "--out", filepath.Join(dir, "x")}, "known: askls, krr, labrbf, lssvm"},
		{[]string{"kernel", "cv", "--data", "iris", "--kernel", "gauss:sigma=1"}, "unknown kernel \"gauss\""},
		{[]string{"kernel", "predict", "--model", nystrom, "--data", "iris"}, "does not predict"},
		{[]string{"repro", "gorf", "--reps", "-1"}, "--reps"},
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
