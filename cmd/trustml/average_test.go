package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

func saveNetCkpt(t *testing.T, dir, name string, spec nn.Spec, seed uint64) (string, *nn.Network) {
	t.Helper()
	net, err := nn.New(spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := nn.SaveFile(p, net, nil); err != nil {
		t.Fatal(err)
	}
	return p, net
}

func TestAverageSWA(t *testing.T) {
	dir := t.TempDir()
	spec := nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{Width: 2, Hidden: 4, BatchNorm: true})
	a, na := saveNetCkpt(t, dir, "a.ckpt", spec, 1)
	b, nb := saveNetCkpt(t, dir, "b.ckpt", spec, 2)
	out := filepath.Join(dir, "avg.ckpt")

	// SWA of identical checkpoints is that checkpoint, with batch-norm
	// statistics recomputed from the data.
	if _, err := run(t, "average", "swa", a, a, a, "--out", out, "--json"); err != nil {
		t.Fatal(err)
	}
	got, _, err := nn.LoadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Weights(), na.Weights()) {
		t.Error("average of identical checkpoints differs from the checkpoint")
	}
	if slices.Equal(got.BufferData(), na.BufferData()) {
		t.Error("batch-norm statistics were not recomputed")
	}

	if _, err := run(t, "average", "swa", a, b, "--out", out); err != nil {
		t.Fatal(err)
	}
	got, _, err = nn.LoadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got.Weights() {
		want := float32((float64(na.Weights()[i]) + float64(nb.Weights()[i])) / 2)
		if math.Abs(float64(v-want)) > 1e-7 {
			t.Fatalf("weight %d = %g, want the mean %g", i, v, want)
		}
	}

	m, _ := saveNetCkpt(t, dir, "mlp.ckpt", nn.MLP([]int{1, 28, 28}, []int{4}, 10), 1)
	_, err = run(t, "average", "swa", a, m, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "one architecture") || !strings.Contains(err.Error(), "mlp.ckpt") {
		t.Fatalf("averaging a CNN and an MLP: err = %v", err)
	}
	if _, err := run(t, "average", "swa", filepath.Join(dir, "missing.ckpt")); err == nil {
		t.Fatal("a missing checkpoint was accepted")
	}
}

// TestAverageTWA: TWA over three checkpoints runs, stays in their span and
// rejects a bad --start.
func TestAverageTWA(t *testing.T) {
	dir := t.TempDir()
	spec := nn.MLP([]int{1, 28, 28}, []int{8}, 10)
	var paths []string
	for seed := range uint64(3) {
		p, _ := saveNetCkpt(t, dir, fmt.Sprintf("%d.ckpt", seed), spec, seed)
		paths = append(paths, p)
	}
	out := filepath.Join(dir, "twa.ckpt")
	res, err := run(t, append([]string{"average", "twa", "--epochs", "1", "--batch", "256", "--lr", "0.5", "--out", out, "--json"}, paths...)...)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Dim      int     `json:"dim"`
		Residual float64 `json:"span_residual"`
		Test     struct{ Accuracy float64 }
	}
	if err := json.Unmarshal([]byte(res), &r); err != nil {
		t.Fatalf("%v in %q", err, res)
	}
	if r.Dim != 3 || r.Residual > 1e-5 {
		t.Errorf("dimension %d, residual %g", r.Dim, r.Residual)
	}
	t.Logf("TWA of 3 random initializations: test accuracy %.3f", r.Test.Accuracy)
	if _, err := run(t, append([]string{"average", "twa", "--start", "best", "--out", out}, paths...)...); err == nil {
		t.Error("--start best accepted")
	}
}

// twaJSON is the --json result of average twa --variant t|v.
type twaJSON struct {
	Checkpoint  string                 `json:"checkpoint"`
	Method      string                 `json:"method"`
	Variant     string                 `json:"variant"`
	Averaged    int                    `json:"averaged"`
	Epochs      int                    `json:"epochs"`
	LR          float64                `json:"lr"`
	HeldOut     int                    `json:"held_out"`
	ValRatio    float64                `json:"val_ratio"`
	Test        metrics.Classification `json:"test"`
	SWA         train.AverageEval      `json:"swa"`
	TWA         train.AverageEval      `json:"twa"`
	Gain        float64                `json:"gain_over_swa"`
	Blocks      []string               `json:"blocks"`
	Coef        [][]float64            `json:"coef"`
	Loss        []float64              `json:"loss"`
	Order       []int                  `json:"order"`
	BNUpdated   bool                   `json:"bn_updated"`
	SpanResidue *float64               `json:"span_residual"`
}

func runTWAJSON(t *testing.T, args ...string) twaJSON {
	t.Helper()
	res, err := run(t, append([]string{"average", "twa", "--json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var r twaJSON
	if err := json.Unmarshal([]byte(res), &r); err != nil {
		t.Fatalf("%v in %q", err, res)
	}
	return r
}

// evalAccuracy is the test accuracy "trustml eval" reports for a checkpoint.
func evalAccuracy(t *testing.T, ckpt string, args ...string) float64 {
	t.Helper()
	ev, err := run(t, append([]string{"eval", "--model", ckpt, "--json"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Metrics struct{ Accuracy float64 } `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(ev), &e); err != nil {
		t.Fatalf("%v in %q", err, ev)
	}
	return e.Metrics.Accuracy
}

// TestAverageTWAJournal: TWA-t and TWA-v on the checkpoints of one
// "train --save-every 1 --holdout 0.1" run of an MLP on digits, end to end:
// the journal defaults (lr 1e-3, 10 epochs) apply unless set, the SWA point
// is reported (equal to "average swa"), the result is saved and "eval"
// reproduces its accuracy; v learns on the 10% held-out split, t on the
// whole training split.
func TestAverageTWAJournal(t *testing.T) {
	dir := t.TempDir()
	runPath := filepath.Join(dir, "run.ckpt")
	if _, err := run(t, "train", "--data", "digits", "--arch", "mlp", "--epochs", "4", "--lr", "0.01",
		"--save-every", "1", "--holdout", "0.1", "--out", runPath); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for ep := 1; ep <= 4; ep++ {
		paths = append(paths, train.EpochPath(runPath, ep))
	}
	swaOut := filepath.Join(dir, "swa.ckpt")
	if _, err := run(t, append([]string{"average", "swa", "--data", "digits", "--out", swaOut}, paths...)...); err != nil {
		t.Fatal(err)
	}
	swaAcc := evalAccuracy(t, swaOut, "--data", "digits")
	swaNet, _, err := nn.LoadFile(swaOut)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		variant string
		args    []string
		epochs  int
		lr      float64
		held    bool
	}{
		{"v", nil, 10, 1e-3, true},
		{"t", []string{"--epochs", "2", "--lr", "0.002"}, 2, 0.002, false},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			out := filepath.Join(dir, "twa-"+tc.variant+".ckpt")
			args := append([]string{"--variant", tc.variant, "--data", "digits", "--batch", "32", "--out", out}, tc.args...)
			r := runTWAJSON(t, slices.Concat(args, paths)...)
			name := "twa-" + tc.variant
			if r.Method != name || r.Variant != tc.variant || r.Averaged != 4 || r.Checkpoint != out || r.BNUpdated {
				t.Fatalf("result %+v", r)
			}
			if r.Epochs != tc.epochs || r.LR != tc.lr || len(r.Loss) != tc.epochs {
				t.Errorf("%d epochs (%d losses) at lr %g, want %d at %g", r.Epochs, len(r.Loss), r.LR, tc.epochs, tc.lr)
			}
			if !slices.Equal(r.Blocks, []string{"1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"}) || len(r.Coef) != 4 || len(r.Coef[0]) != 6 {
				t.Errorf("blocks %v, %d×%d coefficients: want one per checkpoint and tensor", r.Blocks, len(r.Coef), len(r.Coef[0]))
			}
			if r.SWA.Name != "swa" || r.TWA.Name != name || r.TWA.Test != r.Test || r.Gain != r.TWA.Test.Accuracy-r.SWA.Test.Accuracy {
				t.Errorf("swa %+v, twa %+v, test %+v, gain %v", r.SWA, r.TWA, r.Test, r.Gain)
			}
			if r.SWA.Test.Accuracy != swaAcc {
				t.Errorf("SWA point accuracy %v, average swa %v", r.SWA.Test.Accuracy, swaAcc)
			}
			if tc.held {
				// digits has 1797 samples; the stratified 10% holds out 180.
				if r.HeldOut != 180 || r.ValRatio != 0.1 || r.SWA.HeldOut == nil || r.TWA.HeldOut == nil {
					t.Errorf("held-out %d (ratio %v), swa %+v, twa %+v", r.HeldOut, r.ValRatio, r.SWA.HeldOut, r.TWA.HeldOut)
				}
			} else if r.HeldOut != 0 || r.SWA.HeldOut != nil || r.TWA.HeldOut != nil {
				t.Errorf("TWA-t reports a held-out split: %d, %+v", r.HeldOut, r.TWA.HeldOut)
			}
			t.Logf("TWA-%s: SWA point %.4f, TWA %.4f (loss %.4f → %.4f)", tc.variant, r.SWA.Test.Accuracy, r.Test.Accuracy, r.Loss[0], r.Loss[len(r.Loss)-1])

			got, meta, err := nn.LoadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if meta["method"] != name || slices.Equal(got.Weights(), swaNet.Weights()) {
				t.Errorf("saved result: meta %v, weights equal to the SWA point: %v", meta, slices.Equal(got.Weights(), swaNet.Weights()))
			}
			if acc := evalAccuracy(t, out, "--data", "digits"); acc != r.Test.Accuracy {
				t.Errorf("eval of the saved result: %v, reported %v", acc, r.Test.Accuracy)
			}
			txt, err := run(t, slices.Concat([]string{"average", "twa"}, args, paths)...)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"swa", name, "test acc", "mean of the checkpoints", "saved to " + out} {
				if !strings.Contains(txt, want) {
					t.Errorf("table lacks %q:\n%s", want, txt)
				}
			}
		})
	}
}

// TestAverageTWAJournalAffine: the journal form c + Σ X[i,l]·Q_{i,l} is
// affine and layer-wise, so for checkpoints on a line a + s(b − a) every
// parameter tensor of the TWA-t/TWA-v result lies on that tensor's line
// (residual ~0 relative to the weight norm), while it moves off the mean;
// the ICLR version, whose span is linear, leaves the line.
func TestAverageTWAJournalAffine(t *testing.T) {
	dir := t.TempDir()
	spec := nn.MLP([]int{1, 28, 28}, []int{8}, 10)
	_, na := saveNetCkpt(t, dir, "a.ckpt", spec, 1)
	_, nb := saveNetCkpt(t, dir, "b.ckpt", spec, 2)
	a, b := na.Weights(), nb.Weights()
	line := na.Copy()
	var paths []string
	mean := make([]float64, len(a))
	ss := []float64{-0.5, 0, 0.5, 1, 2}
	for k, s := range ss {
		w := line.Weights()
		for j := range w {
			w[j] = float32(float64(a[j]) + s*(float64(b[j])-float64(a[j])))
			mean[j] += float64(w[j]) / float64(len(ss))
		}
		p := filepath.Join(dir, fmt.Sprintf("line%d.ckpt", k))
		if err := nn.SaveFile(p, line, nil); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	for _, variant := range []string{"t", "v", "iclr"} {
		out := filepath.Join(dir, "twa-"+variant+".ckpt")
		args := []string{"--variant", variant, "--epochs", "1", "--lr", "0.01", "--out", out}
		if variant == "iclr" {
			args = []string{"--epochs", "1", "--out", out}
		}
		r := runTWAJSON(t, slices.Concat(args, paths)...)
		got, _, err := nn.LoadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		w := got.Weights()
		lo := 0
		var moved, maxRel float64
		for _, p := range got.Params() {
			hi := lo + p.Size()
			var du, uu, ww, rr float64
			for j := lo; j < hi; j++ {
				d, u := float64(w[j])-float64(a[j]), float64(b[j])-float64(a[j])
				du, uu, ww = du+d*u, uu+u*u, ww+float64(w[j])*float64(w[j])
				moved += (float64(w[j]) - mean[j]) * (float64(w[j]) - mean[j])
			}
			for j := lo; j < hi; j++ {
				d, u := float64(w[j])-float64(a[j]), float64(b[j])-float64(a[j])
				rr += (d - du/uu*u) * (d - du/uu*u)
			}
			rel := math.Sqrt(rr / ww)
			maxRel = max(maxRel, rel)
			if rel > 1e-5 && variant != "iclr" {
				t.Errorf("TWA-%s, tensor %s: residual to the checkpoints' line %.3g of its norm", variant, p.Name, rel)
			}
			lo = hi
		}
		if lo != len(w) {
			t.Fatalf("tensors cover %d of %d weights", lo, len(w))
		}
		t.Logf("TWA-%s: moved %.4f from the mean, largest residual to the line %.3g; test accuracy %.4f", variant, math.Sqrt(moved), maxRel, r.Test.Accuracy)
		if variant == "iclr" {
			// The ICLR span is linear (it holds the origin): the result
			// leaves the line, which shows that the check above can fail.
			if maxRel < 1e-3 {
				t.Errorf("ICLR TWA stayed on the line (residual %.3g): the affine check cannot tell the forms apart", maxRel)
			}
			continue
		}
		if moved < 1e-6 {
			t.Errorf("TWA-%s stayed at the mean (distance %g)", variant, math.Sqrt(moved))
		}
	}
}

// TestAverageTWAFlags: --variant iclr is the default with its old
// defaults (lr 2, 2 epochs); bad variants, ratios, flags that do not apply
// to a variant, and mixed architectures are rejected.
func TestAverageTWAFlags(t *testing.T) {
	dir := t.TempDir()
	spec := nn.MLP([]int{1, 28, 28}, []int{8}, 10)
	var paths []string
	for seed := range uint64(3) {
		p, _ := saveNetCkpt(t, dir, fmt.Sprintf("%d.ckpt", seed), spec, seed)
		paths = append(paths, p)
	}
	def, explicit := filepath.Join(dir, "def.ckpt"), filepath.Join(dir, "explicit.ckpt")
	r := runTWAJSON(t, append([]string{"--batch", "512", "--out", def}, paths...)...)
	if r.Method != "twa" || r.SpanResidue == nil || r.Variant != "" {
		t.Errorf("default variant: %+v", r)
	}
	runTWAJSON(t, append([]string{"--variant", "iclr", "--lr", "2", "--epochs", "2", "--batch", "512", "--out", explicit}, paths...)...)
	a, _, err := nn.LoadFile(def)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := nn.LoadFile(explicit)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Weights(), b.Weights()) {
		t.Error("the default TWA differs from --variant iclr --lr 2 --epochs 2")
	}

	cnn, _ := saveNetCkpt(t, dir, "cnn.ckpt", nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{Width: 2, Hidden: 4}), 1)
	out := filepath.Join(dir, "x.ckpt")
	two := paths[:2]
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--variant", "w"}, `--variant "w"`},
		{[]string{"--variant", "V"}, "--variant"},
		{[]string{"--variant", "v", "--val-ratio", "0"}, "--val-ratio 0 outside"},
		{[]string{"--variant", "v", "--val-ratio", "1"}, "--val-ratio 1 outside"},
		{[]string{"--variant", "v", "--val-ratio", "-0.1"}, "--val-ratio"},
		{[]string{"--variant", "v", "--val-ratio", "NaN"}, "--val-ratio"},
		{[]string{"--variant", "v", "--val-ratio", "0.00001"}, "--val-ratio"},
		{[]string{"--variant", "t", "--val-ratio", "0.2"}, "--val-ratio applies to --variant v"},
		{[]string{"--val-ratio", "0.2"}, "--val-ratio applies to --variant v"},
		{[]string{"--variant", "v", "--wd", "0.1"}, "--wd applies to --variant iclr"},
		{[]string{"--variant", "t", "--momentum", "0"}, "--momentum applies"},
		{[]string{"--variant", "t", "--start", "last"}, "--start applies"},
		{[]string{"--variant", "v", "--epochs", "0"}, "--epochs"},
		{[]string{"--variant", "v", "--lr", "-1"}, "--lr"},
		{[]string{"--variant", "t", "--lr", "Inf"}, "--lr"},
		{[]string{"--variant", "t", "--batch", "0"}, "--batch"},
	}
	for _, tc := range cases {
		if _, err := run(t, append(append([]string{"average", "twa", "--out", out}, tc.args...), two...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	for _, variant := range []string{"iclr", "t", "v"} {
		_, err := run(t, "average", "twa", "--variant", variant, "--out", out, paths[0], cnn)
		if err == nil || !strings.Contains(err.Error(), "one architecture") || !strings.Contains(err.Error(), "cnn.ckpt") {
			t.Errorf("--variant %s of an MLP and a CNN: err = %v", variant, err)
		}
	}
	for _, variant := range []string{"t", "v"} {
		if _, err := run(t, "average", "twa", "--variant", variant, "--out", out, paths[0]); err == nil || !strings.Contains(err.Error(), "at least 2 checkpoints") {
			t.Errorf("--variant %s of one checkpoint: err = %v", variant, err)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a rejected run wrote %s (%v)", out, err)
	}
}

// TestAverageTWAJournalBN: with batch norm, TWA-v recomputes the running
// statistics of the result (and of the SWA point it reports), and the saved
// checkpoint evaluates to the reported accuracy.
func TestAverageTWAJournalBN(t *testing.T) {
	dir := t.TempDir()
	spec := nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{Width: 2, Hidden: 4, BatchNorm: true})
	var paths []string
	var first *nn.Network
	for seed := range uint64(3) {
		p, net := saveNetCkpt(t, dir, fmt.Sprintf("%d.ckpt", seed), spec, seed+1)
		paths = append(paths, p)
		if first == nil {
			first = net
		}
	}
	out := filepath.Join(dir, "twa-v.ckpt")
	r := runTWAJSON(t, slices.Concat([]string{"--variant", "v", "--epochs", "1", "--lr", "0.01", "--out", out}, paths)...)
	if !r.BNUpdated || r.SWA.HeldOut == nil {
		t.Fatalf("bn_updated %v, SWA point %+v", r.BNUpdated, r.SWA)
	}
	got, _, err := nn.LoadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(got.BufferData(), first.BufferData()) {
		t.Error("batch-norm statistics were not recomputed")
	}
	if acc := evalAccuracy(t, out); acc != r.Test.Accuracy {
		t.Errorf("eval of the saved result: %v, reported %v", acc, r.Test.Accuracy)
	}
}
