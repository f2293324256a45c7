package repro

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/train"
)

func tinyFNGDConfig(t *testing.T) FNGDConfig {
	t.Helper()
	cfg := DefaultFNGDConfig()
	cfg.Data, cfg.TrainN, cfg.TestN, cfg.Batch, cfg.Epochs, cfg.Seeds, cfg.EvalsPerEpoch = data.DefaultName, 96, 150, 16, 2, 1, 2
	return cfg
}

// TestReproFNGDShardsMerge runs every arm on a tiny split whole and as two
// shards, and checks that the merged shards give the whole run's
// accuracies (runs are deterministic per seed), the curve and the step
// counts, and that the table has every arm and the K-FAC/FNGD ratio.
func TestReproFNGDShardsMerge(t *testing.T) {
	ctx := context.Background()
	cfg := tinyFNGDConfig(t)
	dir := t.TempDir()
	cfg.Plot = filepath.Join(dir, "curve.png")
	whole, err := ReproFNGD(ctx, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Runs) != len(FNGDArms) || len(whole.Summary) != len(FNGDArms) {
		t.Fatalf("%d runs, %d rows", len(whole.Runs), len(whole.Summary))
	}
	for _, r := range whole.Runs {
		if r.Error != "" {
			t.Fatalf("%s failed: %s", r.Arm, r.Error)
		}
		// 6 steps per epoch, evaluations every 3 steps and before training
		if r.Steps != 12 || len(r.Curve) != 5 || r.Curve[4].Step != 12 || r.TestN != 150 || !(r.TrainSeconds > 0) {
			t.Fatalf("%s: %d steps, curve %+v, test n %d", r.Arm, r.Steps, r.Curve, r.TestN)
		}
		if r.Curve[4].Accuracy != r.TestAcc {
			t.Fatalf("%s: last curve point %g, test accuracy %g", r.Arm, r.Curve[4].Accuracy, r.TestAcc)
		}
	}
	if st, err := os.Stat(cfg.Plot); err != nil || st.Size() == 0 {
		t.Fatalf("plot: %v", err)
	}
	var out bytes.Buffer
	if err := whole.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kfac ÷ fngd", "2.05", "fngd", "ms per update", NotPublicText} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	var files []string
	for i := 0; i < 2; i++ {
		c := tinyFNGDConfig(t)
		c.Shard = shard.Spec{Index: i, Count: 2}
		c.Out = filepath.Join(dir, "s"+string(rune('0'+i))+".json")
		if _, err := ReproFNGD(ctx, &c, nil); err != nil {
			t.Fatal(err)
		}
		files = append(files, c.Out)
	}
	merged, err := ReproFNGD(ctx, &FNGDConfig{From: files}, nil)
	if err != nil {
		t.Fatal(err)
	}
	acc := map[string]float64{}
	for _, r := range merged.Runs {
		acc[r.Arm] = r.TestAcc
	}
	for _, r := range whole.Runs {
		if acc[r.Arm] != r.TestAcc {
			t.Errorf("%s: merged shards give %g, the whole run %g", r.Arm, acc[r.Arm], r.TestAcc)
		}
	}
	// one shard alone does not cover the split
	if _, err := ReproFNGD(ctx, &FNGDConfig{From: files[:1]}, nil); !errors.Is(err, shard.ErrSpec) {
		t.Errorf("merging one of two shards: err = %v", err)
	}
}

// TestReproFNGDBadInput checks the errors for settings that cannot run.
func TestReproFNGDBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *FNGDConfig)
		want string
	}{
		{"unknown arm", func(c *FNGDConfig) { c.Arms = []string{"sgd", "lbfgs"} }, "lbfgs"},
		{"missing lr", func(c *FNGDConfig) { c.LRs = []string{"sgd=0.1"}; c.Arms = []string{"adam"} }, "adam=LR"},
		{"bad lr", func(c *FNGDConfig) { c.LRs = []string{"sgd=-1"} }, "positive lr"},
		{"no seeds", func(c *FNGDConfig) { c.Seeds = 0 }, "--seeds"},
		{"tiny train", func(c *FNGDConfig) { c.TrainN = 20 }, "--train-n"},
		{"bad shard", func(c *FNGDConfig) { c.Shard = shard.Spec{Index: 3, Count: 2} }, "--shard"},
		{"batch-norm arch", func(c *FNGDConfig) { c.Arch = "cnn-bn"; c.Arms = []string{"fngd"} }, "batch norm"},
	} {
		c := tinyFNGDConfig(t)
		tc.edit(&c)
		res, err := ReproFNGD(context.Background(), &c, nil)
		if err == nil && res != nil && !res.Table.Complete() {
			err = errors.New(strings.Join(append(res.Table.Failed, res.Runs[0].Error), "; "))
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one about %q", tc.name, err, tc.want)
		}
	}
	c := tinyFNGDConfig(t)
	c.Arms = []string{"x"}
	if _, err := ReproFNGD(context.Background(), &c, nil); !errors.Is(err, train.ErrUnknown) {
		t.Errorf("unknown arm: %v does not match train.ErrUnknown", err)
	}
}

// FuzzDecodeRunFile feeds arbitrary bytes to the run-file decoder: it
// returns an error or a file with a valid shard and a setup, never panics.
func FuzzDecodeRunFile(f *testing.F) {
	f.Add([]byte(`{"shard":0,"shards":2,"setup":"x","runs":[{"arm":"sgd","seed":1}]}`))
	f.Add([]byte(`{"shard":3,"shards":2,"setup":"x","runs":[]}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rf, err := DecodeRunFile[FNGDRun](b)
		if err != nil {
			return
		}
		if rf.Spec.Validate() != nil || rf.Setup == "" {
			t.Fatalf("accepted %q", b)
		}
	})
}
