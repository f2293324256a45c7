package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/zoo"
)

// runBoth runs the CLI and returns its stdout and stderr.
func runBoth(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// TestKernelFloat64CLIGolden fits KRR from a CSV whose values float32
// cannot hold and predicts another CSV: the predictions written by
// "kernel predict --out" equal scikit-learn's to 1e-10
// (kernel/testdata/gen_pipeline.py).
func TestKernelFloat64CLIGolden(t *testing.T) {
	b, err := os.ReadFile("../../kernel/testdata/pipeline/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Shifted struct {
			Kernel  string
			Alpha   float64
			Predict []float64
		} `json:"shifted_krr"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	dir, td := t.TempDir(), "../../kernel/testdata/pipeline/"
	model, pred := filepath.Join(dir, "m"), filepath.Join(dir, "pred.txt")
	if _, err := run(t, "kernel", "fit", "--data", td+"shifted_train.csv", "--regression", "--method", "krr", "--reg", fmt.Sprint(g.Shifted.Alpha), "--test-frac", "0", "--out", model); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "kernel", "predict", "--model", model, "--data", td+"shifted_test.csv", "--out", pred)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"mse", "mae", "r2"} {
		if !strings.Contains(out, col) {
			t.Errorf("predict output lacks %s:\n%s", col, out)
		}
	}
	b, err = os.ReadFile(pred)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != len(g.Shifted.Predict) {
		t.Fatalf("%d predictions, want %d", len(lines), len(g.Shifted.Predict))
	}
	worst := 0.0
	for i, l := range lines {
		v, err := strconv.ParseFloat(l, 64)
		if err != nil {
			t.Fatal(err)
		}
		worst = max(worst, math.Abs(v-g.Shifted.Predict[i]))
	}
	t.Logf("largest deviation from scikit-learn: %.3g", worst)
	if worst > 1e-10 {
		t.Errorf("largest deviation from scikit-learn %.3g > 1e-10", worst)
	}
}

// TestKernelCVRefitAndPCA: cv --refit saves a model that predicts with
// accuracy and per-class counts; pca fits, saves, transforms to CSV and
// .npy, and draws its plots.
func TestKernelCVRefitAndPCA(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "iris.model")
	out, err := run(t, "kernel", "cv", "--data", "iris", "--kernel-grid", "gamma=0.1,1", "--reg-grid", "10", "--folds", "3", "--refit", "--out", model)
	if err != nil || !strings.Contains(out, "refitted lssvm rbf:gamma=") {
		t.Fatalf("cv --refit: %v\n%s", err, out)
	}
	out, err = run(t, "kernel", "predict", "--model", model, "--data", "iris")
	if err != nil || !strings.Contains(out, "accuracy") || !strings.Contains(out, "support") || !strings.Contains(out, "versicolor") {
		t.Fatalf("predict: %v\n%s", err, out)
	}
	if _, err := run(t, "kernel", "cv", "--data", "iris", "--refit"); err == nil || !strings.Contains(err.Error(), "--refit and --out go together") {
		t.Errorf("cv --refit without --out: %v", err)
	}

	kpca := filepath.Join(dir, "wine.kpca")
	out, err = run(t, "kernel", "pca", "--data", "wine", "--kernel", "rbf:gamma=0.1", "--components", "2", "--out", kpca, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Eigenvalues []float64 `json:"eigenvalues"`
		PlotFile    string    `json:"plot_file"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Eigenvalues) != 2 || res.PlotFile != filepath.Join(dir, "wine.png") {
		t.Fatalf("pca --json: %v %+v\n%s", err, res, out)
	}
	for _, z := range []string{"z.csv", "z.npy"} {
		out, err = run(t, "kernel", "pca", "--transform", "--model", kpca, "--data", "wine", "--out", filepath.Join(dir, z))
		if err != nil || !strings.Contains(out, filepath.Join(dir, strings.TrimSuffix(z, filepath.Ext(z))+".png")) {
			t.Fatalf("pca --transform --out %s: %v\n%s", z, err, out)
		}
	}
	zd, err := data.OpenFile(filepath.Join(dir, "z.csv"), data.FileOptions{})
	if err != nil || zd.Len() != 178 || zd.SampleSize() != 2 || len(zd.Classes) != 3 {
		t.Fatalf("z.csv: %v", err)
	}
	if _, err := run(t, "kernel", "pca", "--transform", "--data", "wine", "--out", filepath.Join(dir, "q.csv")); err == nil || !strings.Contains(err.Error(), "needs the model file") {
		t.Errorf("pca --transform without --model: %v", err)
	}
}

// TestCSVOptionsCLI checks the CSV options and notes through the commands:
// a label in the first column, a header note, TSV, --label-col by name.
func TestCSVOptionsCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// 60 rows: the target (integers 100..159) first, then two features,
	// the last a pixel-like integer.
	var first, tsv strings.Builder
	tsv.WriteString("a\tb\tc\n")
	for i := range 60 {
		fmt.Fprintf(&first, "%d,%d,%d\n", 100+i, i%7, i*37%101)
		fmt.Fprintf(&tsv, "%d\t%d\t%g\n", i%7, i%5, float64(i)+0.5)
	}
	firstCol := write("first.csv", first.String())
	_, _, err := runBoth(t, "kernel", "fit", "--data", firstCol, "--out", filepath.Join(dir, "m"))
	if err == nil || !strings.Contains(err.Error(), "column 3 has 60 distinct integer values in 60 rows") {
		t.Errorf("label read from a feature column: err %v", err)
	}
	out, _, err := runBoth(t, "kernel", "fit", "--data", firstCol, "--label-col", "1", "--out", filepath.Join(dir, "m"))
	if err == nil || !strings.Contains(err.Error(), "60 distinct integer values in 60 rows") {
		t.Errorf("label column 1 without a task: %v\n%s", err, out)
	}
	out, _, err = runBoth(t, "kernel", "fit", "--data", firstCol, "--label-col", "1", "--regression", "--test-frac", "0", "--out", filepath.Join(dir, "m"), "--json")
	if err != nil || !strings.Contains(out, `"metric": "r2"`) {
		t.Errorf("label column 1 as regression: %v\n%s", err, out)
	}
	tsvPath := write("x.tsv", tsv.String())
	out, errOut, err := runBoth(t, "data", "info", tsvPath, "--json")
	if err != nil || !strings.Contains(out, `"task": "regression"`) || !strings.Contains(errOut, "note: "+tsvPath+": line 1 read as a header") ||
		!strings.Contains(errOut, `column 3 ("c") holds numbers that are not integers (such as 0.5): read as a regression target`) {
		t.Errorf("data info x.tsv: %v\n%s\n%s", err, out, errOut)
	}
	out, _, err = runBoth(t, "data", "info", tsvPath, "--label-col", "a", "--header", "yes", "--json")
	if err != nil || !strings.Contains(out, `"name": "6"`) {
		t.Errorf("--label-col a: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"data", "info", tsvPath, "--label-col", "0"}, "columns count from 1"},
		{[]string{"data", "info", tsvPath, "--delimiter", "ab"}, "want one character"},
		{[]string{"data", "info", "iris", "--header", "no"}, "applies to files only"},
		{[]string{"kernel", "fit", "--data", "iris", "--regression", "--out", filepath.Join(dir, "m")}, "iris is a classification data set, not a regression one"},
	} {
		if _, _, err := runBoth(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestEvalImageCSV: eval reads Fashion-MNIST images from a CSV with
// --shape and gets the metrics of the same images from the embedded set;
// without the label column the rows are read as unlabeled images.
func TestEvalImageCSV(t *testing.T) {
	d, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	d = d.Head(40)
	var b, nolab strings.Builder
	for i := range d.Len() {
		for _, v := range d.Row(i) {
			fmt.Fprintf(&b, "%g,", v)
			fmt.Fprintf(&nolab, "%g,", v)
		}
		fmt.Fprintf(&b, "%d\n", d.Y[i])
		s := nolab.String()
		nolab.Reset()
		nolab.WriteString(strings.TrimSuffix(s, ",") + "\n")
	}
	dir := t.TempDir()
	path, unl := filepath.Join(dir, "images.csv"), filepath.Join(dir, "unlabeled.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unl, []byte(nolab.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "eval", "--data", path, "--shape", "1,28,28", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Metrics metrics.Classification }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	net, err := zoo.Open(context.Background(), "default", oip.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := metrics.EvaluateClassifier(context.Background(), net, d.X, d.Y)
	if err != nil {
		t.Fatal(err)
	}
	if res.Metrics.N != 40 || math.Abs(res.Metrics.Accuracy-want.Accuracy) > 1e-12 || math.Abs(res.Metrics.NLL-want.NLL) > 1e-5 {
		t.Errorf("eval on CSV %+v, on the embedded images %+v", res.Metrics, want)
	}
	out, errOut, err := runBoth(t, "data", "info", unl, "--shape", "1,28,28", "--json")
	if err != nil || !strings.Contains(out, `"task": "unlabeled"`) || !strings.Contains(errOut, "fill shape [1 28 28]: read without labels") {
		t.Errorf("unlabeled images: %v\n%s\n%s", err, out, errOut)
	}
	if _, err := run(t, "data", "info", unl, "--shape", "1,28,27"); err == nil || !strings.Contains(err.Error(), "do not fit shape [1 28 27]") {
		t.Errorf("wrong shape: %v", err)
	}
}

// TestOODScoreImageCSV: "ood score" scores unlabeled images from a CSV
// read with --shape (the help's --data images.csv, with the shape).
func TestOODScoreImageCSV(t *testing.T) {
	d, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range 3 {
		row := make([]string, 0, 784)
		for _, v := range d.Row(i) {
			row = append(row, strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	path := filepath.Join(t.TempDir(), "images.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runBoth(t, "ood", "score", "--detector", "msp", "--data", path, "--shape", "1,28,28", "--n-train", "100", "--json")
	if err != nil || !strings.Contains(errOut, "read without labels") {
		t.Fatalf("ood score: %v\n%s\n%s", err, out, errOut)
	}
	var res struct{ Scores []float64 }
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Scores) != 3 {
		t.Errorf("scores %v (%v)\n%s", res.Scores, err, out)
	}
}

// TestKernelPredictUnlabeledCSV: predict reads CSV rows with exactly the
// model's feature count as unlabeled (with a note), and a row width that
// fits neither is an error naming both counts.
func TestKernelPredictUnlabeledCSV(t *testing.T) {
	dir, td := t.TempDir(), "../../kernel/testdata/pipeline/"
	model := filepath.Join(dir, "m")
	if _, err := run(t, "kernel", "fit", "--data", td+"raw_train.csv", "--regression", "--method", "krr", "--test-frac", "0", "--out", model); err != nil {
		t.Fatal(err)
	}
	nolab := filepath.Join(dir, "new.csv")
	if err := os.WriteFile(nolab, []byte("0.1,0.2,0.3\n0.4,0.5,0.6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runBoth(t, "kernel", "predict", "--model", model, "--data", nolab, "--json")
	if err != nil || !strings.Contains(errOut, "rows of 3 values fill shape [3]: read without labels") || strings.Contains(out, `"r2"`) {
		t.Fatalf("predict unlabeled: %v\n%s\n%s", err, out, errOut)
	}
	var res struct{ Predictions []float64 }
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Predictions) != 2 {
		t.Errorf("predictions %v (%v)", res.Predictions, err)
	}
	wide := filepath.Join(dir, "wide.csv")
	if err := os.WriteFile(wide, []byte("1,2,3,4,5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runBoth(t, "kernel", "predict", "--model", model, "--data", wide); err == nil || !strings.Contains(err.Error(), "needs 3 values per row (4 with a label column)") {
		t.Errorf("too wide: %v", err)
	}
}
