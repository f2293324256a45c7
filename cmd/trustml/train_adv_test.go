package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainAdversarial runs trustml train --adversarial for a few steps:
// the JSON has the per-epoch robust history and the plot is written.
func TestTrainAdversarial(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "curves.png")
	out, err := run(t, "train", "--arch", "mlp", "--steps", "20", "--batch", "64", "--crop-pad", "0", "--flip=false",
		"--adversarial", "fgsm-rs", "--eps", "0.1", "--holdout", "0.01", "--plot", png, "--out", filepath.Join(dir, "m.ckpt"), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Robust []struct {
			Epoch int     `json:"epoch"`
			PGD   float64 `json:"pgd_accuracy"`
		} `json:"robust"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("train --json: %v in %q", err, out)
	}
	if len(res.Robust) != 2 || res.Robust[1].Epoch != 1 {
		t.Errorf("robust history %+v", res.Robust)
	}
	if _, err := os.Stat(png); err != nil {
		t.Error(err)
	}
}

func TestTrainAdversarialErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--adversarial", "pgd", "--eps", "1.5"}, "--eps 1.5 outside (0, 1]"},
		{[]string{"--adversarial", "deepfool"}, "unknown --adversarial"},
		{[]string{"--adversarial", "fgsm", "--alpha", "-1"}, "--alpha"},
		{[]string{"--adversarial-subspace", "4"}, "needs --adversarial"},
	} {
		args := append([]string{"train", "--arch", "mlp", "--steps", "2", "--out", filepath.Join(t.TempDir(), "m.ckpt")}, tc.args...)
		if _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestReproATErrors(t *testing.T) {
	for _, sub := range []string{"co", "subat"} {
		if _, err := run(t, "repro", sub, "--eps", "2"); err == nil || !strings.Contains(err.Error(), "--eps 2 outside (0, 1]") {
			t.Errorf("repro %s --eps 2: %v", sub, err)
		}
	}
}
