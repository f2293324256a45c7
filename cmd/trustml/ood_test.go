package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOODEvalJSON(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "ood", "eval", "--detectors", "energy,knn,kpca-cos-rff", "--n-train", "800", "--n-test", "200",
		"--n-ood", "150", "--kpca-m", "128", "--out-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep oodEvalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if len(rep.Results) != 3*4 || len(rep.Sets) != 4 {
		t.Fatalf("%d results over %d sets, want 12 over 4", len(rep.Results), len(rep.Sets))
	}
	for _, r := range rep.Results {
		if r.AUROC < 0 || r.AUROC > 1 || r.FPR95 < 0 || r.FPR95 > 1 {
			t.Errorf("%s/%s: metrics out of range: %+v", r.Detector, r.OoD, r.Metrics)
		}
		if r.OoD == "uniform" && r.Detector == "knn" && r.AUROC < 0.9 {
			t.Errorf("knn vs uniform noise: AUROC %.3f < 0.9", r.AUROC)
		}
	}
	for _, s := range rep.Sets {
		b, err := os.ReadFile(filepath.Join(dir, "roc-"+s.Name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "\x89PNG") {
			t.Errorf("roc-%s.png is not a PNG", s.Name)
		}
	}
}

func TestOODEvalTableAndErrors(t *testing.T) {
	out, err := run(t, "ood", "eval", "--detectors", "msp", "--n-train", "100", "--n-test", "100", "--n-ood", "50")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DETECTOR", "FPR95", "AUPR-OUT", "msp", "digits", "inverted"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{
		{"ood", "eval", "--detectors", "nope"},
		{"ood", "eval", "--detectors", "msp", "--n-test", "100", "--n-ood", "500"},
		{"ood", "eval", "--detectors", "mahalanobis", "--n-train", "50", "--n-test", "100", "--n-ood", "50"},
	} {
		if _, err := run(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		} else {
			t.Logf("%v: %v", args, err)
		}
	}
}

func TestReproKPCAOoDSmall(t *testing.T) {
	out, err := run(t, "repro", "kpca-ood", "--n-fit", "400", "--n-val", "200", "--n-test", "200", "--n-ood", "100",
		"--rff-m", "64", "--nystrom-m", "64", "--seeds", "1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep reproReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if len(rep.Rows) != 12 {
		t.Fatalf("%d rows, want 12 (6 methods × AUROC, FPR95)", len(rep.Rows))
	}
	for _, r := range rep.Rows {
		if len(r.Values) != 1 || r.Mean < 0 || r.Mean > 1 {
			t.Errorf("%s %s: values %v", r.Method, r.Metric, r.Values)
		}
	}
	if !strings.Contains(strings.Join(rep.Notes, " "), "settings differ") {
		t.Error("the report does not say the settings differ from the papers'")
	}
}

func TestOODScore(t *testing.T) {
	out, err := run(t, "ood", "score", "--detector", "energy", "--n", "5", "--n-train", "100")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 5 {
		t.Fatalf("%d lines, want 5:\n%s", len(lines), out)
	}
	out, err = run(t, "ood", "score", "--detector", "kpca-cos", "--n", "3", "--n-train", "300", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Scores []float64 }
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Scores) != 3 {
		t.Fatalf("--json: %v, %d scores\n%s", err, len(res.Scores), out)
	}
	if _, err := run(t, "ood", "score", "--detector", "nope"); err == nil {
		t.Error("unknown detector accepted")
	}
	if _, err := run(t, "ood", "score", "--data", "iris"); err == nil {
		t.Error("tabular data of the wrong shape accepted")
	}
}

func TestOODEvalModeEnsemble(t *testing.T) {
	out, err := run(t, "ood", "eval", "--model", "fashion-cnn,fashion-resnet8", "--detectors", "energy",
		"--n-train", "10", "--n-test", "60", "--n-ood", "60", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep oodEvalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Results) != 4 {
		t.Fatalf("--json: %v, %d results\n%s", err, len(rep.Results), out)
	}
}

func TestOODEvalNear(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "ood", "eval", "--near", "--near-epochs", "1", "--detectors", "energy,mahalanobis", "--n-train", "1500",
		"--n-test", "300", "--n-ood", "300", "--out-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep oodEvalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if rep.Near == nil || len(rep.Near.IDClasses) != 6 || len(rep.Near.OoDClasses) != 4 || rep.Near.OoDClasses[0] != "Shirt" {
		t.Fatalf("near split not stated: %+v", rep.Near)
	}
	if rep.NTrain != 1500 || rep.NTest != 300 || rep.NOoD != 300 || len(rep.Results) != 2 {
		t.Fatalf("n %d/%d/%d, %d results", rep.NTrain, rep.NTest, rep.NOoD, len(rep.Results))
	}
	if rep.Near.TestAccuracy < 0.6 {
		t.Errorf("ID test accuracy %.3f after one epoch < 0.6", rep.Near.TestAccuracy)
	}
	for _, r := range rep.Results {
		if r.OoD != "near: held-out classes 6-9" {
			t.Errorf("OoD set %q", r.OoD)
		}
		if r.Detector == "mahalanobis" && r.AUROC <= 0.6 {
			t.Errorf("mahalanobis on held-out classes: AUROC %.3f ≤ 0.6", r.AUROC)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "roc-near-held-out-classes-6-9.png")); err != nil {
		t.Error(err)
	}
	if _, err := run(t, "ood", "eval", "--near", "--model", "default", "--detectors", "msp"); err == nil {
		t.Error("--near with --model: no error")
	}
}

func TestOODFitAndScoreFromFile(t *testing.T) {
	dir := t.TempDir()
	for _, det := range []string{"knn", "kpca-cos-nystrom"} {
		p := filepath.Join(dir, det+".json")
		out, err := run(t, "ood", "fit", "--detector", det, "--n-train", "300", "--seed", "2", "--out", p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "saved detector "+det) {
			t.Errorf("fit output: %s", out)
		}
		fresh, err := run(t, "ood", "score", "--detector", det, "--n-train", "300", "--seed", "2", "--split", "test", "--n", "20")
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := run(t, "ood", "score", "--detector-file", p, "--split", "test", "--n", "20")
		if err != nil {
			t.Fatal(err)
		}
		if fresh != loaded || strings.Count(loaded, "\n") != 20 {
			t.Errorf("%s: scores from the file differ from a fresh fit:\n%s\nvs\n%s", det, loaded, fresh)
		}
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"format":"trustml-ood-detector","version":7}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ood", "score", "--detector-file", bad, "--n", "5"},
		{"ood", "score", "--detector-file", filepath.Join(dir, "knn.json"), "--detector", "msp", "--n", "5"},
		{"ood", "fit", "--detector", "knn"},
		{"ood", "fit", "--detector", "gradknn", "--n-train", "20", "--out", filepath.Join(dir, "g.json")},
	} {
		if _, err := run(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if _, err := run(t, "ood", "score", "--detector-file", bad, "--n", "5"); err == nil || !strings.Contains(err.Error(), "version 7") {
		t.Errorf("corrupt file: %v, want an error naming version 7", err)
	}
}
