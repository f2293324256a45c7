package repro

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/shard"
)

// tinyFlat is a seconds-long reproduction on the MLP.
func tinyFlat(t *testing.T) FlatConfig {
	t.Helper()
	tr, err := data.Open(data.DefaultName, data.Train, "")
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.Open(data.DefaultName, data.Test, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultFlatConfig()
	cfg.Train, cfg.Test = tr, te
	cfg.Archs, cfg.Arms, cfg.Noise, cfg.Seeds = []string{"mlp"}, []string{"sgd", "sam", "rwp"}, []float64{0}, 2
	cfg.TrainN, cfg.Epochs, cfg.LR, cfg.HessN, cfg.HessIters = 512, 2, 0.2, 32, 2
	return cfg
}

// TestFlat runs the reproduction at a tiny size: the accounting of
// updates and gradient evaluations, the paired differences, the paper rows
// with their sources, and shards merged into exactly the unsharded runs.
func TestFlat(t *testing.T) {
	cfg := tinyFlat(t)
	res, err := Flat(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 6 || len(res.Summary) != 3 {
		t.Fatalf("%d runs, %d rows; want 6, 3", len(res.Runs), len(res.Summary))
	}
	evals := map[string]int{"sgd": 8, "sam": 16, "rwp": 16}
	for _, r := range res.Runs {
		if r.Updates != 8 || r.GradEvals != evals[r.Arm] || r.TopEig == nil || !(r.TestAcc > 0.12) {
			t.Errorf("%s seed %d: %d updates, %d grad evals, eig %v, acc %.3f", r.Arm, r.Seed, r.Updates, r.GradEvals, r.TopEig, r.TestAcc)
		}
	}
	for _, s := range res.Summary {
		if s.DeltaSGD == nil || (s.Arm == "sgd" && *s.DeltaSGD != 0) {
			t.Errorf("row %s: Δ vs SGD %v", s.Arm, s.DeltaSGD)
		}
	}
	var text strings.Builder
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"F-SAM repo log", "80.78", "RWP abstract", "DLDR repo log", "69.92", NotPublicText, "rwp − sam", "Δ vs SGD"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}

	dir := t.TempDir()
	var files []string
	for i := range 2 {
		c := cfg
		c.Shard = shard.Spec{Index: i, Count: 2}
		r, err := Flat(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		if err := r.WriteRuns(p); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	merged, err := Flat(context.Background(), FlatConfig{From: files})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]FlatRun{}
	for _, r := range res.Runs {
		want[r.Arm+fmt.Sprint(r.Seed)] = r
	}
	if len(merged.Runs) != len(res.Runs) {
		t.Fatalf("merged %d runs, want %d", len(merged.Runs), len(res.Runs))
	}
	for _, r := range merged.Runs {
		w := want[r.Arm+fmt.Sprint(r.Seed)]
		if r.TestAcc != w.TestAcc || *r.TopEig != *w.TopEig || r.GradEvals != w.GradEvals {
			t.Errorf("%s seed %d: the shard's run differs from the unsharded one", r.Arm, r.Seed)
		}
	}

	// merging is checked with shard.CheckCover, per setup
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{files[:1], "missing shards 1/2"},
		{[]string{files[0], files[0], files[1]}, "given twice"},
	} {
		_, err := ReadFlatRuns(tc.files...)
		if !errors.Is(err, shard.ErrSpec) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("merge of %d files: %v, want %q", len(tc.files), err, tc.want)
		}
	}
}

func TestFlatErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		edit func(*FlatConfig)
		want string
	}{
		{func(c *FlatConfig) { c.Arms = []string{"sgd", "lion"} }, "lion"},
		{func(c *FlatConfig) { c.Archs = []string{"vgg"} }, "vgg"},
		{func(c *FlatConfig) { c.Noise = []float64{1.2} }, "--noise"},
		{func(c *FlatConfig) { c.Seeds = 0 }, "--seeds"},
		{func(c *FlatConfig) { c.TrainN = 100 }, "--train-n"},
		{func(c *FlatConfig) { c.Shard = shard.Spec{Index: 3, Count: 2} }, "shard"},
		{func(c *FlatConfig) { c.From = []string{bad} }, "bad.json"},
	} {
		cfg := tinyFlat(t)
		tc.edit(&cfg)
		if _, err := Flat(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one mentioning %q", err, tc.want)
		}
	}
}

// FuzzDecodeFlatRuns: whatever a run file holds, decoding and tabulating
// it returns an error or a table, never a panic.
func FuzzDecodeFlatRuns(f *testing.F) {
	f.Add([]byte(`[{"arch":"mlp","label_noise":0.4,"arm":"sgd","seed":1,"test_accuracy":0.8,"top_eigenvalue":null}]`))
	f.Add([]byte(`{"shard":1,"shards":2,"setup":"x","runs":[{"arm":"rwp","equal_evals":true,"top_eigenvalue":3},{"arm":"sgd","seed":0}]}`))
	f.Add([]byte(`{"shard":3,"shards":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := DecodeFlatRuns(b)
		if err != nil {
			return
		}
		if err := file.Spec.Validate(); err != nil {
			t.Fatalf("decoded an invalid shard: %v", err)
		}
		if err := NewFlatResult(file.Runs).WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFlatOut saves the trained runs to cfg.Out, which a merge reads back.
func TestFlatOut(t *testing.T) {
	cfg := tinyFlat(t)
	cfg.Arms, cfg.Seeds, cfg.Epochs, cfg.HessN = []string{"sgd"}, 1, 1, 0
	cfg.Out = filepath.Join(t.TempDir(), "runs.json")
	res, err := Flat(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Flat(context.Background(), FlatConfig{From: []string{cfg.Out}, Out: filepath.Join(t.TempDir(), "unused.json")})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != 1 || back.Runs[0].TestAcc != res.Runs[0].TestAcc {
		t.Errorf("read back %+v, want the runs of %+v", back.Runs, res.Runs)
	}
	bad := cfg
	bad.Out = filepath.Join(t.TempDir(), "no", "such", "dir", "runs.json")
	if _, err := Flat(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "repro flat") {
		t.Errorf("unwritable --out: %v", err)
	}
}
