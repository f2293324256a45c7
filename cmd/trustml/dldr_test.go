package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// The CLI tests use the digits set (1797 samples of 64 features, values
// 0..16, one set for train and test) and the mlp architecture: a few
// seconds in all. Raw 0..16 inputs need small learning rates.

type dldrJSON struct {
	Checkpoint    string           `json:"checkpoint"`
	Method        string           `json:"method"`
	Dim           int              `json:"dim"`
	Samples       int              `json:"samples"`
	Weights       int              `json:"weights"`
	LabelNoise    float64          `json:"label_noise"`
	Variance      []float64        `json:"explained_variance"`
	VarianceRatio []float64        `json:"explained_variance_ratio"`
	Explained     float64          `json:"explained_total"`
	Start         train.DLDRModel  `json:"start"`
	LastSample    train.DLDRModel  `json:"last_sample"`
	SGDFinal      *train.DLDRModel `json:"sgd_final"`
	Subspace      train.DLDRModel  `json:"subspace"`
	Residual      float64          `json:"subspace_residual"`
	BNUpdated     bool             `json:"bn_updated"`
	PBFGS         *train.PBFGSStats
	History       []train.EpochStats `json:"history"`
}

func runDLDRJSON(t *testing.T, args ...string) *dldrJSON {
	t.Helper()
	out, err := run(t, append([]string{"dldr", "--json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var r dldrJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("dldr --json: %v in %q", err, out)
	}
	return &r
}

// checkDLDRResult checks what holds for every run: the variances are sorted
// and explain at most everything, and the trained weights moved from w₀
// inside the principal subspace of the samples, recomputed here.
func checkDLDRResult(t *testing.T, r *dldrJSON, samples [][]float32, w0 []float32) {
	t.Helper()
	if len(r.Variance) != r.Dim || len(r.VarianceRatio) != r.Dim {
		t.Fatalf("%d variances and %d ratios for dimension %d", len(r.Variance), len(r.VarianceRatio), r.Dim)
	}
	var sum float64
	for j, v := range r.VarianceRatio {
		sum += v
		if v <= 0 || (j > 0 && v > r.VarianceRatio[j-1]) {
			t.Errorf("explained variance ratios %v not positive and decreasing", r.VarianceRatio)
		}
	}
	if sum > 1+1e-9 || math.Abs(sum-r.Explained) > 1e-9 {
		t.Errorf("ratios %v sum to %g, reported %g", r.VarianceRatio, sum, r.Explained)
	}
	if r.Residual > 1e-4 {
		t.Errorf("trained weights %g outside w₀ + span(P)", r.Residual)
	}
	net, meta, err := nn.LoadFile(r.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if meta["method"] != "dldr-"+r.Method || meta["test_accuracy"] != fmt.Sprintf("%.4f", r.Subspace.Test.Accuracy) {
		t.Errorf("checkpoint metadata %v does not match the result", meta)
	}
	basis, _, err := train.PCABasis(samples, r.Dim)
	if err != nil {
		t.Fatal(err)
	}
	delta := make([]float32, len(w0))
	moved := false
	for i, v := range net.Weights() {
		delta[i] = v - w0[i]
		moved = moved || delta[i] != 0
	}
	if !moved {
		t.Fatal("the saved weights are w₀")
	}
	if res := basis.Residual(delta); res > 1e-4 {
		t.Errorf("saved weights: w − w₀ lies %g outside the principal subspace", res)
	}
}

func loadWeights(t *testing.T, paths []string) [][]float32 {
	t.Helper()
	var ws [][]float32
	for _, p := range paths {
		net, _, err := nn.LoadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, net.Weights())
	}
	return ws
}

// TestDLDRFromCheckpoints: checkpoints of "train --save-every 1" (w₀ and 4
// epochs), then P-BFGS and P-SGD in their 3-dimensional principal subspace.
func TestDLDRFromCheckpoints(t *testing.T) {
	dir := t.TempDir()
	runPath := filepath.Join(dir, "run.ckpt")
	if _, err := run(t, "train", "--data", "digits", "--arch", "mlp", "--epochs", "4", "--lr", "0.01",
		"--schedule", "constant", "--save-every", "1", "--out", runPath); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for ep := range 5 {
		paths = append(paths, train.EpochPath(runPath, ep))
	}
	samples := loadWeights(t, paths)
	out, err := run(t, "eval", "--data", "digits", "--model", paths[4], "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct{ Metrics struct{ Accuracy float64 } }
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		method string
		args   []string
	}{
		{"pbfgs", []string{"--batch", "256", "--epochs", "3"}},
		{"psgd", []string{"--psgd-lr", "0.01", "--epochs", "3"}},
	} {
		t.Run(c.method, func(t *testing.T) {
			dst := filepath.Join(dir, c.method+".ckpt")
			args := append([]string{"--data", "digits", "--dim", "3", "--method", c.method, "--out", dst}, c.args...)
			r := runDLDRJSON(t, append(args, paths...)...)
			if r.Method != c.method || r.Dim != 3 || r.Samples != 5 || r.Weights != len(samples[0]) || r.BNUpdated || r.SGDFinal != nil {
				t.Errorf("result header %+v", r)
			}
			checkDLDRResult(t, r, samples, samples[0])
			if r.LastSample.Test.Accuracy != ev.Metrics.Accuracy {
				t.Errorf("last checkpoint accuracy %v, eval says %v", r.LastSample.Test.Accuracy, ev.Metrics.Accuracy)
			}
			// The subspace model must learn: far above w₀ and chance.
			t.Logf("%s: w₀ %.3f, last checkpoint %.3f, subspace %.3f (%d gradient evaluations)",
				c.method, r.Start.Test.Accuracy, r.LastSample.Test.Accuracy, r.Subspace.Test.Accuracy, r.Subspace.GradientEvals)
			if r.Subspace.Test.Accuracy < 0.8 || r.Start.Test.Accuracy > 0.3 {
				t.Errorf("accuracy: w₀ %.3f, subspace %.3f", r.Start.Test.Accuracy, r.Subspace.Test.Accuracy)
			}
			steps := 3 * (1797 / map[string]int{"pbfgs": 256, "psgd": 128}[c.method])
			switch c.method {
			case "pbfgs":
				st := r.PBFGS
				if st == nil || st.Steps != steps || r.Subspace.GradientEvals != steps+st.Trials {
					t.Errorf("P-BFGS: %+v, %d gradient evaluations, want %d steps", st, r.Subspace.GradientEvals, steps)
				}
			case "psgd":
				if r.PBFGS != nil || r.Subspace.GradientEvals != steps {
					t.Errorf("P-SGD: %d gradient evaluations, want %d", r.Subspace.GradientEvals, steps)
				}
			}
		})
	}

	// --start picks the start point; the human table names the rows.
	dst := filepath.Join(dir, "start.ckpt")
	out, err = run(t, append([]string{"dldr", "--data", "digits", "--dim", "2", "--method", "psgd", "--psgd-lr", "0.01",
		"--epochs", "1", "--start", paths[2], "--out", dst}, paths...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 principal directions explain", "start = " + paths[2], "last checkpoint", "DLDR P-SGD (d=2)", "cumulative", "saved " + dst} {
		if !strings.Contains(out, want) {
			t.Errorf("table does not mention %q:\n%s", want, out)
		}
	}
	net, _, err := nn.LoadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	basis, _, _ := train.PCABasis(samples, 2)
	delta := make([]float32, len(samples[2]))
	for i, v := range net.Weights() {
		delta[i] = v - samples[2][i]
	}
	if res := basis.Residual(delta); res > 1e-4 {
		t.Errorf("--start: w − w_start lies %g outside the subspace", res)
	}
}

// TestDLDRSampling: with no checkpoints dldr samples SGD itself (w₀ and
// twice in each of 3 epochs, 4 epochs in all for the final-SGD reference),
// with label noise.
func TestDLDRSampling(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "d.ckpt")
	r := runDLDRJSON(t, "--data", "digits", "--arch", "mlp", "--sample-epochs", "3", "--sgd-epochs", "4",
		"--samples-per-epoch", "2", "--lr", "0.01", "--dim", "5", "--method", "psgd", "--psgd-lr", "0.01", "--epochs", "2",
		"--label-noise", "0.2", "--out", dst)
	const perEpoch = 1797 / 128
	if r.SGDFinal == nil {
		t.Fatal("no final-SGD result with --sgd-epochs 4")
	}
	if r.Samples != 7 || r.Dim != 5 || r.LabelNoise != 0.2 {
		t.Errorf("samples %d, dim %d, label noise %g", r.Samples, r.Dim, r.LabelNoise)
	}
	if r.LastSample.GradientEvals != 3*perEpoch || r.SGDFinal == nil || r.SGDFinal.GradientEvals != 4*perEpoch ||
		r.Subspace.GradientEvals != 2*perEpoch || len(r.History) != 2 {
		t.Errorf("gradient evaluations: last sample %d, SGD final %v, subspace %d, want %d, %d, %d",
			r.LastSample.GradientEvals, r.SGDFinal, r.Subspace.GradientEvals, 3*perEpoch, 4*perEpoch, 2*perEpoch)
	}
	if !strings.Contains(r.SGDFinal.Name, "epoch 4") || !strings.Contains(r.LastSample.Name, "epoch 3") {
		t.Errorf("names %q, %q", r.LastSample.Name, r.SGDFinal.Name)
	}
	_, meta, err := nn.LoadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if meta["label_noise"] != "0.2" || meta["dldr_samples"] != "7" || meta["method"] != "dldr-psgd" {
		t.Errorf("metadata %v", meta)
	}
	// The sampling run is "trustml train" with the same settings: the same
	// weights, so the same test metrics, at the last sample and at the end.
	runPath := filepath.Join(t.TempDir(), "run.ckpt")
	if _, err := run(t, "train", "--data", "digits", "--arch", "mlp", "--epochs", "4", "--lr", "0.01", "--momentum", "0.9",
		"--nesterov=false", "--wd", "1e-4", "--schedule", "step", "--label-noise", "0.2", "--save-every", "1", "--out", runPath); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ep   int
		want metrics.Classification
	}{{3, r.LastSample.Test}, {4, r.SGDFinal.Test}} {
		out, err := run(t, "eval", "--data", "digits", "--model", train.EpochPath(runPath, c.ep), "--json")
		if err != nil {
			t.Fatal(err)
		}
		var ev struct{ Metrics metrics.Classification }
		if err := json.Unmarshal([]byte(out), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Metrics != c.want {
			t.Errorf("epoch %d: train's checkpoint has test metrics %+v, dldr's sampling run %+v", c.ep, ev.Metrics, c.want)
		}
	}
	t.Logf("w₀ %.3f, last sample %.3f, SGD final %.3f, subspace %.3f", r.Start.Test.Accuracy,
		r.LastSample.Test.Accuracy, r.SGDFinal.Test.Accuracy, r.Subspace.Test.Accuracy)
	if r.Subspace.Test.Accuracy < 0.6 {
		t.Errorf("subspace model reached only %.3f", r.Subspace.Test.Accuracy)
	}
}

// TestDLDRBatchNorm: P-BFGS on a small batch-norm MLP (checkpoints of a
// short SGD run) recomputes the running statistics at the end.
func TestDLDRBatchNorm(t *testing.T) {
	dir := t.TempDir()
	spec := nn.Spec{Name: "mlp-bn", InputShape: []int{64}, NumClasses: 10, Layers: []nn.LayerSpec{
		{Kind: nn.KindFlatten}, {Kind: nn.KindDense, Out: 16}, {Kind: nn.KindBatchNorm}, {Kind: nn.KindReLU},
		{Kind: nn.KindDense, Out: 10},
	}}
	net, err := nn.New(spec, 3)
	if err != nil {
		t.Fatal(err)
	}
	digits, err := data.Tabular("digits")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	save := func(k int) error {
		p := filepath.Join(dir, fmt.Sprintf("s%d.ckpt", k))
		paths = append(paths, p)
		return nn.SaveFile(p, net, nil)
	}
	if err := save(0); err != nil {
		t.Fatal(err)
	}
	sgd, _ := train.NewSGD(0.05, 0.9, 0, false)
	if _, err := train.Fit(context.Background(), net, digits.X, digits.Y, train.Config{Epochs: 4, Optimizer: sgd,
		OnEpoch: func(st train.EpochStats) error { return save(st.Epoch) }}); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "d.ckpt")
	res := runDLDRJSON(t, append([]string{"--data", "digits", "--dim", "3", "--epochs", "2", "--batch", "256", "--out", dst}, paths...)...)
	t.Logf("w₀ %.3f, last checkpoint %.3f, subspace %.3f; P-BFGS %+v", res.Start.Test.Accuracy,
		res.LastSample.Test.Accuracy, res.Subspace.Test.Accuracy, *res.PBFGS)
	if !res.BNUpdated || res.PBFGS == nil || res.PBFGS.Steps != 2*(1797/256) {
		t.Errorf("bn_updated %v, P-BFGS %+v", res.BNUpdated, res.PBFGS)
	}
	if res.Subspace.Test.Accuracy < 0.8 {
		t.Errorf("subspace model reached only %.3f", res.Subspace.Test.Accuracy)
	}
	got, _, err := nn.LoadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	start, _, _ := nn.LoadFile(paths[0])
	if slices.Equal(got.BufferData(), start.BufferData()) {
		t.Error("batch-norm statistics were not recomputed")
	}
	checkDLDRResult(t, res, loadWeights(t, paths), start.Weights())
}

func TestDLDRErrors(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for seed := range uint64(3) {
		p, _ := saveNetCkpt(t, dir, fmt.Sprintf("m%d.ckpt", seed), nn.MLP([]int{64}, []int{4}, 10), seed)
		paths = append(paths, p)
	}
	other, _ := saveNetCkpt(t, dir, "other.ckpt", nn.MLP([]int{64}, []int{5}, 10), 1)
	cases := []struct {
		args []string
		msg  []string
	}{
		{append([]string{"--dim", "3"}, paths...), []string{"--dim 3 needs at least 4 checkpoints", "got 3"}},
		{[]string{"--dim", "11", "--sample-epochs", "10"}, []string{"--dim 11 needs at least 12 samples", "--sample-epochs 10 × --samples-per-epoch 1 gives 11"}},
		{[]string{"--samples-per-epoch", "0"}, []string{"--samples-per-epoch must be at least 1"}},
		{[]string{"--arch", "mlp", "--samples-per-epoch", "15"}, []string{"--samples-per-epoch 15 is more than the 14 steps"}},
		{append([]string{"--dim", "1", "--samples-per-epoch", "2"}, paths...), []string{"--samples-per-epoch only applies"}},
		{append([]string{"--dim", "1"}, append(slices.Clone(paths), other)...), []string{"other.ckpt", "architecture", "one run"}},
		{append([]string{"--dim", "1", "--start", other}, paths...), []string{"other.ckpt", "architecture"}},
		{append([]string{"--method", "lbfgs"}, paths...), []string{"unknown --method", "lbfgs"}},
		{append([]string{"--dim", "0"}, paths...), []string{"--dim", "at least 1"}},
		{append([]string{"--dim", "x"}, paths...), []string{"invalid argument", "dim"}},
		{append([]string{"--dim", "1", "--epochs", "-1"}, paths...), []string{"--epochs"}},
		{append([]string{"--dim", "1", "--batch", "-5"}, paths...), []string{"--batch"}},
		{append([]string{"--dim", "1", "--psgd-lr", "-1"}, paths...), []string{"--psgd-lr", "positive"}},
		{append([]string{"--dim", "1", "--psgd-lr", "NaN"}, paths...), []string{"--psgd-lr"}},
		{append([]string{"--dim", "1", "--psgd-momentum", "1"}, paths...), []string{"--psgd-momentum"}},
		{append([]string{"--dim", "1", "--label-noise", "1.5"}, paths...), []string{"--label-noise", "[0, 1)"}},
		{append([]string{"--dim", "1", "--bn-batch", "0"}, paths...), []string{"--bn-batch"}},
		{append([]string{"--dim", "1", "--arch", "cnn"}, paths...), []string{"--arch only applies to the sampling run"}},
		{[]string{"--sample-epochs", "0"}, []string{"--sample-epochs", "at least 1"}},
		{[]string{"--sgd-epochs", "3"}, []string{"--sgd-epochs 3 is below --sample-epochs 10"}},
		{[]string{"--lr", "0"}, []string{"--lr", "positive"}},
		{[]string{"--wd", "-1"}, []string{"--wd"}},
		{[]string{"--schedule", "linear"}, []string{"unknown schedule"}},
		{[]string{"--start", paths[0]}, []string{"--start needs checkpoint arguments"}},
		{[]string{"--dim", "1", filepath.Join(dir, "missing.ckpt"), paths[0]}, []string{"missing.ckpt"}},
		{append([]string{"--dim", "1", "--data", "fashion-mnist-small"}, paths...), []string{"shape"}},
	}
	for _, c := range cases {
		_, err := run(t, append([]string{"dldr", "--data", "digits", "--out", filepath.Join(dir, "x.ckpt")}, c.args...)...)
		if err == nil {
			t.Errorf("%v: accepted", c.args)
			continue
		}
		for _, m := range c.msg {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%v: error %q does not mention %q", c.args, err, m)
			}
		}
	}
}

// TestDLDRHelp: the help names the paper and shows runnable examples.
func TestDLDRHelp(t *testing.T) {
	out, err := run(t, "dldr", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Low Dimensional Trajectory Hypothesis is True", "TPAMI 2022", "trustml dldr --label-noise", "--save-every 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("help does not mention %q", want)
		}
	}
}
