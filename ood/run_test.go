package ood

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/shard"
)

func TestRunErrors(t *testing.T) {
	f := loadFixture(t)
	one := []model.Classifier{f.net}
	ok := RunConfig{Models: one, Detectors: []string{"msp"}, NTrain: 50, NTest: 50, NOoD: 20}
	with := func(edit func(c *RunConfig)) RunConfig {
		c := ok
		edit(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		cfg  RunConfig
		want string
	}{
		{"model name with near", with(func(c *RunConfig) { c.Models, c.Near, c.ModelName = nil, true, "default" }), "Near trains its own"},
		{"unknown model name", with(func(c *RunConfig) { c.Models, c.ModelName = nil, "no-such.ckpt" }), "no-such.ckpt"},
		{"arrays and a model", with(func(c *RunConfig) { c.TrainArrays = ArrayFiles{Features: "x.npy"} }), "replace the model"},
		{"nil model", with(func(c *RunConfig) { c.Models = []model.Classifier{nil} }), "model 0 is nil"},
		{"near with a model", with(func(c *RunConfig) { c.Near = true }), "give no Models"},
		{"ensemble rule", with(func(c *RunConfig) { c.Models, c.Ensemble = []model.Classifier{f.net, f.net}, "mean" }), "ensemble rule"},
		{"grad subspace", with(func(c *RunConfig) { c.Detector.GradSubspace = "nope" }), "gradknn subspace"},
		{"plots of a shard", with(func(c *RunConfig) { c.Shard, c.OutDir = shard.Spec{Index: 0, Count: 2}, t.TempDir() }), "plot the merged"},
		{"bad shard", with(func(c *RunConfig) { c.Shard = shard.Spec{Index: 2, Count: 2} }), "2/2"},
		{"too many OoD", with(func(c *RunConfig) { c.NOoD = 51 }), "51 OoD images"},
		{"negative OoD", with(func(c *RunConfig) { c.NOoD = -1 }), "-1 OoD images"},
		{"more than the data", with(func(c *RunConfig) { c.NTrain = 10001 }), "10001 train samples requested"},
		{"negative sizes", with(func(c *RunConfig) { c.NTrain = -1 }), "want ≥ 0"},
		{"unknown detector", with(func(c *RunConfig) { c.Detectors = []string{"nope"} }), "unknown OoD detector \"nope\""},
	} {
		_, err := Run(t.Context(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestRunReportAndPlots(t *testing.T) {
	f := loadFixture(t)
	dir := filepath.Join(t.TempDir(), "roc")
	rep, err := Run(t.Context(), RunConfig{Models: []model.Classifier{f.net}, ModelName: "default",
		Detectors: []string{"energy", "maxlogit"}, NTrain: 50, NTest: 60, NOoD: 40, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if rep.NTrain != 50 || rep.NTest != 60 || rep.NOoD != 40 || len(rep.Sets) != 4 || len(rep.Results) != 8 || rep.Shard != nil {
		t.Fatalf("report n %d/%d/%d, %d sets, %d results", rep.NTrain, rep.NTest, rep.NOoD, len(rep.Sets), len(rep.Results))
	}
	if len(rep.Plots) != 4 {
		t.Fatalf("plots %v", rep.Plots)
	}
	for _, p := range rep.Plots {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s: not a PNG (%v)", p, err)
		}
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"model default: fit on 50 ID training images, 60 ID test images, 40 images per OoD set", "AUPR-OUT", "maxlogit  inverted", "wrote " + rep.Plots[0]} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
	// Plots need ROC curves, which JSON does not carry.
	rep.Results[0].ROC = nil
	if err := rep.WritePlots(dir); err == nil {
		t.Error("plots without ROC curves: no error")
	}
}

func TestFileSafe(t *testing.T) {
	for in, want := range map[string]string{
		"near: held-out classes 6-9": "near-held-out-classes-6-9",
		"digits":                     "digits",
		"  a//b  ":                   "a-b",
	} {
		if got := fileSafe(in); got != want {
			t.Errorf("fileSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
