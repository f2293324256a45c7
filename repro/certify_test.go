package repro

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/shard"
)

func tinyCertifyConfig() CertifyConfig {
	return CertifyConfig{TrainN: 300, TestN: 6, Epochs: 6, Batch: 32, Heads: 3, Sigmas: []float64{0.25}, N0: 10, N: 100, Alpha: 0.01, Seed: 1}
}

// TestCertify runs the reproduction at a tiny size, whole and in two
// shards merged with From, and checks the table against the runs.
func TestCertify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := tinyCertifyConfig()
	cfg.Out = filepath.Join(dir, "whole.json")
	whole, err := Certify(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Rows) != 3*5 {
		t.Fatalf("%d rows, want 3 methods × (4 radii + ACR)", len(whole.Rows))
	}
	methods := map[string]bool{}
	for _, r := range whole.Rows {
		methods[r.Method] = true
		if !r.Ours.Measured() {
			t.Errorf("row %s %s %s not measured", r.Setting, r.Method, r.Metric)
		}
		if strings.HasPrefix(r.Method, "SOME") && r.Metric == "ACR" && (r.Paper.Value == nil || *r.Paper.Value != 0.537) {
			t.Errorf("SOME σ=0.25 ACR paper value %+v, want 0.537", r.Paper)
		}
	}
	for _, m := range []string{"Gaussian", "SOME (3 heads)", "ensemble of 3"} {
		if !methods[m] {
			t.Errorf("no rows for %s", m)
		}
	}
	runs, err := ReadCertifyRuns(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs.Runs {
		// equal budget: the same noisy training images up to a dropped last batch
		if r.NoisyImages < 6*300*9/10 || r.NoisyImages > 6*300 {
			t.Errorf("%s: %d noisy training images, want about %d", r.Method, r.NoisyImages, 6*300)
		}
		for _, s := range r.Report.Sigmas[0].Samples {
			if s.Class == -1 && s.Radius != 0 {
				t.Errorf("%s: abstention with radius %g", r.Method, s.Radius)
			}
		}
	}
	var files []string
	for i := 0; i < 2; i++ {
		c := tinyCertifyConfig()
		c.Shard, c.Out = shard.Spec{Index: i, Count: 2}, filepath.Join(dir, "s"+string(rune('0'+i))+".json")
		part, err := Certify(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(part.Notes, "\n"), "shard 0/2") && i == 0 {
			t.Errorf("a shard's table does not say it is one")
		}
		files = append(files, c.Out)
	}
	merged, err := Certify(ctx, CertifyConfig{From: files})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range merged.Rows {
		if r.Ours.Mean != whole.Rows[i].Ours.Mean {
			t.Errorf("row %d (%s %s): merged shards %g, whole run %g", i, r.Method, r.Metric, r.Ours.Mean, whole.Rows[i].Ours.Mean)
		}
	}
	if _, err := Certify(ctx, CertifyConfig{From: files[:1]}); err == nil || !strings.Contains(err.Error(), "missing shards 1/2") {
		t.Errorf("merging one of two shards: %v", err)
	}
}

func TestCertifyBadSettings(t *testing.T) {
	for _, c := range []struct {
		edit func(*CertifyConfig)
		want string
	}{
		{func(c *CertifyConfig) { c.Epochs = 5 }, "--epochs 5 must be a multiple"},
		{func(c *CertifyConfig) { c.Heads = 1 }, "--heads 1"},
		{func(c *CertifyConfig) { c.Sigmas = []float64{0.25, -1} }, "--sigma -1"},
		{func(c *CertifyConfig) { c.Batch = 33 }, "--batch 33 must be even"},
		{func(c *CertifyConfig) { c.N0 = 200 }, "--n0 200"},
		{func(c *CertifyConfig) { c.Alpha = 2 }, "alpha 2 outside (0, 1)"},
		{func(c *CertifyConfig) { c.From = []string{"/nonexistent.json"} }, "nonexistent.json"},
	} {
		cfg := tinyCertifyConfig()
		cfg.TrainN, cfg.Epochs = 64, 6
		c.edit(&cfg)
		if _, err := Certify(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", cfg, err, c.want)
		}
	}
}
