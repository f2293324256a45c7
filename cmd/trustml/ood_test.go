package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/ood"
	"github.com/trustml/trustml/repro"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/zoo"
)

func TestOODEvalJSON(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "ood", "eval", "--detectors", "energy,knn,kpca-cos-rff", "--n-train", "800", "--n-test", "200",
		"--n-ood", "150", "--detector-param", "kpca-cos-rff:m=128", "--out-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep ood.Report
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
		{"ood", "eval", "--detectors", "gradknn", "--detector-param", "gradknn:subspace=nope"},
		{"ood", "eval", "--detectors", "msp", "--detector-param", "knn:k=3"},
		{"ood", "eval", "--detectors", "msp", "--n-train", "10001"},
		{"ood", "eval", "--detectors", "kpca-cos-rff", "--detector-param", "kpca-cos-rff:gamma=-1"},
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
	var rep repro.Table
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if len(rep.Rows) != 24 {
		t.Fatalf("%d rows, want 24 (6 methods × AUROC, FPR95 × ImageNet, CIFAR-10)", len(rep.Rows))
	}
	for _, r := range rep.Rows {
		if len(r.Ours.Values) != 1 || r.Ours.Mean < 0 || r.Ours.Mean > 1 || r.Paper.Source == "" {
			t.Errorf("%s %s: ours %v, paper %+v", r.Method, r.Metric, r.Ours.Values, r.Paper)
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
	var rep ood.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Results) != 4 || rep.Ensemble != "score" {
		t.Fatalf("--json: %v, %d results, ensemble %q\n%s", err, len(rep.Results), rep.Ensemble, out)
	}
	// Score averaging over two copies of one model is that model; over two
	// models it differs from logit averaging.
	evalJSON := func(args ...string) ood.Report {
		t.Helper()
		out, err := run(t, append([]string{"ood", "eval", "--n-train", "200", "--n-test", "60", "--n-ood", "60", "--json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var r ood.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	one, twice := evalJSON("--model", "fashion-cnn", "--detectors", "energy,knn", "--detector-param", "knn:k=5"), evalJSON("--model", "fashion-cnn,fashion-cnn", "--detectors", "energy,knn", "--detector-param", "knn:k=5")
	for i := range one.Results {
		if one.Results[i].Metrics != twice.Results[i].Metrics {
			t.Errorf("%s/%s: ensemble of two copies %+v, single model %+v", one.Results[i].Detector, one.Results[i].OoD, twice.Results[i].Metrics, one.Results[i].Metrics)
		}
	}
	score, logits := evalJSON("--model", "fashion-cnn,fashion-resnet8", "--detectors", "energy"), evalJSON("--model", "fashion-cnn,fashion-resnet8", "--detectors", "energy", "--ensemble", "logits")
	same := true
	for i := range score.Results {
		same = same && score.Results[i].Metrics == logits.Results[i].Metrics
	}
	if same || logits.Ensemble != "logits" {
		t.Errorf("score and logit averaging give the same metrics (ensemble %q)", logits.Ensemble)
	}
	if _, err := run(t, "ood", "eval", "--model", "fashion-cnn,fashion-cnn", "--ensemble", "mean"); err == nil {
		t.Error("--ensemble mean: no error")
	}
}

func TestOODEvalNear(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "ood", "eval", "--near", "--near-epochs", "1", "--detectors", "energy,mahalanobis", "--n-train", "1500",
		"--n-test", "300", "--n-ood", "300", "--out-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep ood.Report
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

// TestOODEvalShardMerge checks that merging the per-sample scores of all
// shards gives exactly the metrics of an unsharded run, and that bad shard
// sets are refused.
func TestOODEvalShardMerge(t *testing.T) {
	dir := t.TempDir()
	base := []string{"ood", "eval", "--detectors", "energy,knn,kpca-cos-rff", "--n-train", "300", "--n-test", "101",
		"--n-ood", "61", "--detector-param", "kpca-cos-rff:m=64", "--seed", "3", "--json"}
	out, err := run(t, base...)
	if err != nil {
		t.Fatal(err)
	}
	var want ood.Report
	if err := json.Unmarshal([]byte(out), &want); err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := range 3 {
		out, err := run(t, append(base, "--shard", fmt.Sprintf("%d/3", i))...)
		if err != nil {
			t.Fatal(err)
		}
		var sh ood.ShardReport
		if err := json.Unmarshal([]byte(out), &sh); err != nil {
			t.Fatal(err)
		}
		if n := len(sh.Scores[0].ID); n != len(shard.Spec{Index: i, Count: 3}.Indices(101)) || n != len(sh.IDIndex) {
			t.Fatalf("shard %d/3: %d ID scores for %d indices", i, n, len(sh.IDIndex))
		}
		p := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	// Shards in any order.
	out, err = run(t, "ood", "merge", files[2], files[0], files[1], "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got ood.Report
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.NTest != want.NTest || got.NOoD != want.NOoD || len(got.Results) != len(want.Results) || len(want.Results) != 12 {
		t.Fatalf("merged %d ID, %d OoD, %d results; unsharded %d, %d, %d", got.NTest, got.NOoD, len(got.Results), want.NTest, want.NOoD, len(want.Results))
	}
	for i, w := range want.Results {
		if g := got.Results[i]; g.Detector != w.Detector || g.OoD != w.OoD || g.Metrics != w.Metrics {
			t.Errorf("result %d: merged %s/%s %+v, unsharded %s/%s %+v", i, g.Detector, g.OoD, g.Metrics, w.Detector, w.OoD, w.Metrics)
		}
	}
	if out, err := run(t, "ood", "merge", files[0], files[1]); err != nil || !strings.Contains(out, "AUROC") {
		t.Errorf("partial merge: %v\n%s", err, out)
	}
	other := filepath.Join(dir, "other.json")
	o, err := run(t, "ood", "eval", "--detectors", "energy", "--n-train", "300", "--n-test", "101", "--n-ood", "61", "--seed", "3", "--shard", "1/3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte(o), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ood", "merge", files[0], files[0]},
		{"ood", "merge", files[0], other},
		{"ood", "merge", filepath.Join(dir, "missing.json")},
		{"ood", "eval", "--shard", "3/3"},
		{"ood", "eval", "--shard", "0/2", "--out-dir", dir},
	} {
		if _, err := run(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		} else {
			t.Logf("%v: %v", args, err)
		}
	}
}

// TestOODEvalShardMergeGradKNN checks that the randomized PCA subspace of
// gradknn is fitted identically in every shard, so merged metrics equal the
// unsharded ones.
func TestOODEvalShardMergeGradKNN(t *testing.T) {
	dir := t.TempDir()
	base := []string{"ood", "eval", "--detectors", "gradknn", "--detector-param", "gradknn:dim=4,k=3,fuse=0.5",
		"--n-train", "30", "--n-test", "10", "--n-ood", "10", "--seed", "2", "--json"}
	out, err := run(t, base...)
	if err != nil {
		t.Fatal(err)
	}
	var want ood.Report
	if err := json.Unmarshal([]byte(out), &want); err != nil {
		t.Fatal(err)
	}
	args := []string{"ood", "merge", "--json"}
	for i := range 2 {
		out, err := run(t, append(base, "--shard", fmt.Sprintf("%d/2", i))...)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err = run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var got ood.Report
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 4 || len(want.Results) != 4 {
		t.Fatalf("%d merged, %d unsharded results, want 4", len(got.Results), len(want.Results))
	}
	for i, w := range want.Results {
		if got.Results[i].Metrics != w.Metrics {
			t.Errorf("%s: merged %+v, unsharded %+v", w.OoD, got.Results[i].Metrics, w.Metrics)
		}
	}
}

// TestOODArraysCLI runs ood eval, fit and score on precomputed arrays made
// from the same images as a model run and checks the metrics and scores are
// exactly those of the model run.
func TestOODArraysCLI(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	net, _, err := zoo.Default()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	tr, te = tr.Head(200), te.Head(60)
	sets, err := ood.FarOoDSets(te, 40, rand.New(rand.NewPCG(0, 0x6f6f64)))
	if err != nil {
		t.Fatal(err)
	}
	save := func(name string, x []float32, y []int) string {
		a, err := ood.ExtractArrays(ctx, net, x, y)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".npz")
		if err := a.Save(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	trP, teP := save("train", tr.X, tr.Y), save("test", te.X, nil)
	args := []string{"ood", "eval", "--train-features", trP, "--train-logits", trP, "--train-labels", trP, "--features", teP, "--logits", teP}
	for _, s := range sets {
		p := save(s.Name, s.X, nil)
		args = append(args, "--ood-features", s.Name+"="+p, "--ood-logits", s.Name+"="+p)
	}
	common := []string{"--detectors", "energy,msp,mahalanobis,kpca-cos-rff", "--detector-param", "kpca-cos-rff:m=64,gamma=2", "--json"}
	evalJSON := func(args ...string) ood.Report {
		t.Helper()
		out, err := run(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		var r ood.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	got := evalJSON(append(args, common...)...)
	want := evalJSON(append([]string{"ood", "eval", "--n-train", "200", "--n-test", "60", "--n-ood", "40"}, common...)...)
	if len(got.Results) != 16 || len(want.Results) != 16 || got.NTrain != 200 || got.NTest != 60 || got.NOoD != 40 {
		t.Fatalf("arrays: %d results, %d/%d/%d samples; model: %d results", len(got.Results), got.NTrain, got.NTest, got.NOoD, len(want.Results))
	}
	for i, w := range want.Results {
		if g := got.Results[i]; g.Detector != w.Detector || g.OoD != w.OoD || g.Metrics != w.Metrics {
			t.Errorf("%s/%s: arrays %+v, model %+v", w.Detector, w.OoD, g.Metrics, w.Metrics)
		}
	}
	// fit + score on arrays = score fitted afresh; ood metrics reads the scores back.
	det := filepath.Join(dir, "maha.json")
	if out, err := run(t, "ood", "fit", "--detector", "mahalanobis", "--features", trP, "--labels", trP, "--out", det); err != nil || !strings.Contains(out, "saved detector mahalanobis") {
		t.Fatalf("fit: %v\n%s", err, out)
	}
	a, err := run(t, "ood", "score", "--detector-file", det, "--features", teP)
	if err != nil {
		t.Fatal(err)
	}
	b, err := run(t, "ood", "score", "--detector", "mahalanobis", "--train-features", trP, "--train-labels", trP, "--features", teP)
	if err != nil || a != b || len(strings.Fields(a)) != 60 {
		t.Fatalf("scores from the detector file and fitted afresh differ (%v):\n%s\n%s", err, a, b)
	}
	idP, oodP := filepath.Join(dir, "id.txt"), filepath.Join(dir, "ood.txt")
	oo, err := run(t, "ood", "score", "--detector-file", det, "--features", filepath.Join(dir, "digits.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if os.WriteFile(idP, []byte(a), 0o644) != nil || os.WriteFile(oodP, []byte(oo), 0o644) != nil {
		t.Fatal("write score files")
	}
	out, err := run(t, "ood", "metrics", "--id", idP, "--ood", oodP, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var fm ood.FileMetrics
	if err := json.Unmarshal([]byte(out), &fm); err != nil || len(fm.Results) != 1 {
		t.Fatalf("metrics --json: %v\n%s", err, out)
	}
	for _, r := range got.Results {
		if r.Detector == "mahalanobis" && r.OoD == "digits" && r.Metrics != fm.Results[0].Metrics {
			t.Errorf("ood metrics on score files %+v, eval %+v", fm.Results[0].Metrics, r.Metrics)
		}
	}
	for _, bad := range [][]string{
		{"ood", "eval", "--train-features", trP, "--features", teP},                                                     // no OoD set
		{"ood", "eval", "--train-features", trP, "--features", teP, "--ood-features", "x=" + trP, "--model", "default"}, // model and arrays
		{"ood", "eval", "--train-features", trP, "--features", teP, "--ood-features", "x"},                              // not NAME=FILE
		{"ood", "eval", "--train-features", trP, "--features", teP, "--ood-features", "x=" + trP, "--detectors", "odin"},
		{"ood", "fit", "--detector", "knn", "--logits", trP, "--out", det},
		{"ood", "score", "--detector", "energy", "--features", teP, "--logits", teP}, // nothing to fit on
		{"ood", "metrics", "--id", idP, "--ood", filepath.Join(dir, "none.txt")},
		{"ood", "fit", "--detector", "knn", "--model", "http://127.0.0.1:1/v2/models/m", "--features-output", "feat", "--out", det},
		{"ood", "fit", "--detector", "knn", "--features-output", "feat", "--out", det},
	} {
		if _, err := run(t, bad...); err == nil {
			t.Errorf("%v: no error", bad)
		} else {
			t.Logf("%v: %v", bad[1:3], err)
		}
	}
}

// TestOODMetricsGolden checks "ood metrics" against scikit-learn on the
// score files of package ood's testdata.
func TestOODMetricsGolden(t *testing.T) {
	b, err := os.ReadFile("../../ood/testdata/score_files.json")
	if err != nil {
		t.Fatal(err)
	}
	var want ood.Metrics
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--id", "../../ood/testdata/id.npy", "--ood", "../../ood/testdata/ood.txt"},
		{"--id", "../../ood/testdata/err_id.npy", "--ood", "../../ood/testdata/err_ood.txt", "--higher-is-id=false"},
	} {
		out, err := run(t, append([]string{"ood", "metrics", "--json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var fm ood.FileMetrics
		if err := json.Unmarshal([]byte(out), &fm); err != nil || len(fm.Results) != 1 {
			t.Fatalf("%v\n%s", err, out)
		}
		g := fm.Results[0].Metrics
		if math.Abs(g.AUROC-want.AUROC) > 1e-12 || math.Abs(g.AUPRIn-want.AUPRIn) > 1e-12 || math.Abs(g.AUPROut-want.AUPROut) > 1e-12 || g.FPR95 != want.FPR95 {
			t.Errorf("%v: %+v, scikit-learn %+v", args, g, want)
		}
	}
	out, err := run(t, "ood", "metrics", "--id", "../../ood/testdata/id.txt", "--ood", "../../ood/testdata/ood.npy")
	if err != nil || !strings.Contains(out, "73.07%") || !strings.Contains(out, "higher score = more in-distribution") {
		t.Errorf("text: %v\n%s", err, out)
	}
}
