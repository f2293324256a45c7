package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// TestTrainFlatOptimizers trains the MLP for a few steps with every
// optimizer on the embedded data and checks each run learned something.
func TestTrainFlatOptimizers(t *testing.T) {
	for _, tc := range []struct {
		opt  string
		args []string
	}{
		{"sgd", nil},
		{"adamw", []string{"--lr", "0.003"}},
		{"sam", []string{"--rho", "0.05"}},
		{"sam", []string{"--asam", "--rho", "0.5"}},
		{"fsam", []string{"--fsam-lambda", "0.9"}},
		{"rwp", []string{"--steps", "80"}}, // two batches per update
		{"arwp", nil},
		{"marwp", []string{"--base", "adamw", "--lr", "0.003"}},
	} {
		t.Run(tc.opt+strings.Join(tc.args, ""), func(t *testing.T) {
			ckpt := filepath.Join(t.TempDir(), "m.ckpt")
			args := append([]string{"train", "--arch", "mlp", "--optimizer", tc.opt, "--steps", "40", "--batch", "64",
				"--crop-pad", "0", "--flip=false", "--out", ckpt, "--json"}, tc.args...)
			out, err := run(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			var tr struct {
				Test struct{ Accuracy float64 } `json:"test"`
			}
			if err := json.Unmarshal([]byte(out), &tr); err != nil {
				t.Fatalf("train --json: %v in %q", err, out)
			}
			t.Logf("%s %v: test accuracy %.3f", tc.opt, tc.args, tr.Test.Accuracy)
			if tr.Test.Accuracy < 0.4 {
				t.Errorf("40 steps of %s reached only %.3f test accuracy", tc.opt, tr.Test.Accuracy)
			}
		})
	}
}

func TestTrainFlatOptimizerErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--optimizer", "sam", "--rho", "-0.1"}, "ρ"},
		{[]string{"--optimizer", "fsam", "--fsam-lambda", "1"}, "λ"},
		{[]string{"--optimizer", "rwp", "--rwp-gamma", "-1"}, "γ"},
		{[]string{"--optimizer", "rwp", "--rwp-alpha", "2"}, "α"},
		{[]string{"--optimizer", "arwp", "--noise-beta", "1.5"}, "β"},
		{[]string{"--optimizer", "marwp", "--marwp-sigma", "-1"}, "noise scale"},
		{[]string{"--optimizer", "sam", "--base", "lion"}, "--base"},
		{[]string{"--optimizer", "lbfgs"}, "unknown optimizer"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"train", "--arch", "mlp", "--steps", "1", "--out", filepath.Join(t.TempDir(), "m.ckpt")}, tc.args...)
			_, err := run(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestTrainSaveEveryLabelNoise checks that --save-every keeps the initial
// and per-epoch checkpoints (loadable, and different from each other) and
// that --label-noise is recorded and rejects bad rates.
func TestTrainSaveEveryLabelNoise(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "m.ckpt")
	if _, err := run(t, "train", "--arch", "mlp", "--steps", "6", "--batch", "4000", "--crop-pad", "0", "--flip=false",
		"--save-every", "1", "--label-noise", "0.4", "--out", ckpt); err != nil {
		t.Fatal(err)
	}
	var prev []float32
	for ep := 0; ep <= 3; ep++ {
		net, meta, err := nn.LoadFile(train.EpochPath(ckpt, ep))
		if err != nil {
			t.Fatalf("epoch %d: %v", ep, err)
		}
		if meta["label_noise"] != "0.4" {
			t.Errorf("epoch %d: label_noise %q", ep, meta["label_noise"])
		}
		if prev != nil && slices.Equal(prev, net.Weights()) {
			t.Errorf("epoch %d checkpoint equals the previous one", ep)
		}
		prev = net.Weights()
	}
	if _, _, err := nn.LoadFile(train.EpochPath(ckpt, 4)); err == nil {
		t.Error("a 3-epoch run kept an epoch-4 checkpoint")
	}
	for _, bad := range [][]string{{"--label-noise", "1.5"}, {"--save-every", "-1"}} {
		_, err := run(t, append([]string{"train", "--arch", "mlp", "--steps", "1", "--out", filepath.Join(dir, "x.ckpt")}, bad...)...)
		if err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: error %v, want one naming %s", bad, err, bad[0])
		}
	}
}

// TestTrainHoldout: --holdout trains on the rest of the training split (an
// epoch of the 10,000 embedded images at batch 2500 is 4 steps, of the
// 5,000 left by --holdout 0.5 is 2) and rejects fractions outside [0, 1).
func TestTrainHoldout(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		holdout string
		steps   int
	}{{"0", 4}, {"0.5", 2}} {
		out, err := run(t, "train", "--arch", "mlp", "--epochs", "1", "--batch", "2500", "--holdout", tc.holdout,
			"--crop-pad", "0", "--flip=false", "--json", "--out", filepath.Join(dir, "h.ckpt"))
		if err != nil {
			t.Fatal(err)
		}
		var tr struct {
			History []train.EpochStats `json:"history"`
		}
		if err := json.Unmarshal([]byte(out), &tr); err != nil {
			t.Fatal(err)
		}
		if got := tr.History[0].Step; got != tc.steps {
			t.Errorf("--holdout %s: %d steps in an epoch, want %d", tc.holdout, got, tc.steps)
		}
	}
	if _, err := run(t, "train", "--holdout", "1", "--out", filepath.Join(dir, "x.ckpt")); err == nil || !strings.Contains(err.Error(), "--holdout") {
		t.Errorf("--holdout 1: error %v", err)
	}
}

// TestTrainNonFiniteLoss: a diverging run stops with a clear message and
// loses nothing — a checkpoint already at --out is left byte for byte.
func TestTrainNonFiniteLoss(t *testing.T) {
	ckpt := filepath.Join(t.TempDir(), "m.ckpt")
	common := []string{"train", "--arch", "mlp", "--batch", "500", "--crop-pad", "0", "--flip=false", "--out", ckpt}
	if _, err := run(t, append(common, "--steps", "2")...); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	_, err = run(t, append(common, "--steps", "10", "--lr", "1e30", "--schedule", "constant")...)
	if err == nil || !strings.Contains(err.Error(), "not finite") || !strings.Contains(err.Error(), "not touched") {
		t.Fatalf("diverging run: error %v, want a non-finite loss that left the file alone", err)
	}
	after, err := os.ReadFile(ckpt)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the checkpoint at --out changed (%v)", err)
	}
}
