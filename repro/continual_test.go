package repro

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/continual"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/shard"
)

func tinyContinualConfig(t *testing.T) ContinualConfig {
	t.Helper()
	tr, err := data.Open(data.DefaultName, data.Train, "")
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.Open(data.DefaultName, data.Test, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultContinualConfig()
	cfg.Train, cfg.Test, cfg.Buffers, cfg.Seeds = tr.Head(800), te.Head(300), []int{50, 100}, 2
	return cfg
}

// TestReproContinualShardsMerge runs the comparison whole and as three
// shards: the merged shards give the whole run's numbers (runs are
// deterministic per seed), every (method, buffer) has a row, and las has
// its paired gain over er, which the table puts beside the paper's.
func TestReproContinualShardsMerge(t *testing.T) {
	ctx := context.Background()
	cfg := tinyContinualConfig(t)
	whole, err := ReproContinual(ctx, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Runs) != 2*5 || len(whole.Summary) != 5 {
		t.Fatalf("%d runs, %d rows; want 10 and 5", len(whole.Runs), len(whole.Summary))
	}
	for _, row := range whole.Summary {
		if row.Seeds != 2 || !row.Final.Measured() || (row.Method == "las") != (row.VsER != nil) {
			t.Fatalf("row %+v", row)
		}
	}
	// the paired gain is the mean of las − er per seed
	las, er := map[int]map[uint64]float64{}, map[int]map[uint64]float64{}
	for _, r := range whole.Runs {
		m := map[string]map[int]map[uint64]float64{"las": las, "er": er}[r.Method]
		if m == nil {
			continue
		}
		if m[r.Buffer] == nil {
			m[r.Buffer] = map[uint64]float64{}
		}
		m[r.Buffer][r.Seed] = r.FinalAccuracy
	}
	for _, row := range whole.Summary {
		if row.VsER == nil {
			continue
		}
		want := 100 * ((las[row.Buffer][1] - er[row.Buffer][1]) + (las[row.Buffer][2] - er[row.Buffer][2])) / 2
		if d := row.VsER.Mean - want; d > 1e-9 || d < -1e-9 {
			t.Errorf("buffer %d: gain %g, want %g", row.Buffer, row.VsER.Mean, want)
		}
	}
	var out bytes.Buffer
	if err := whole.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"las − er", "4.6", "final average accuracy %", "forgetting", NotPublicText} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	dir := t.TempDir()
	var files []string
	for i := 0; i < 3; i++ {
		c := tinyContinualConfig(t)
		c.Shard, c.Out = shard.Spec{Index: i, Count: 3}, filepath.Join(dir, "c"+string(rune('0'+i))+".json")
		if _, err := ReproContinual(ctx, &c, nil); err != nil {
			t.Fatal(err)
		}
		files = append(files, c.Out)
	}
	merged, err := ReproContinual(ctx, &ContinualConfig{From: files}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range merged.Summary {
		if row.Final.Mean != whole.Summary[i].Final.Mean || row.Forget.Mean != whole.Summary[i].Forget.Mean {
			t.Errorf("merged row %+v, whole %+v", row, whole.Summary[i])
		}
	}
	// shards of another setup do not merge with these
	c := tinyContinualConfig(t)
	c.Seeds, c.Out = 1, filepath.Join(dir, "other.json")
	if _, err := ReproContinual(ctx, &c, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ReproContinual(ctx, &ContinualConfig{From: append(files[:2:2], c.Out)}, nil); err == nil || !strings.Contains(err.Error(), "setup") {
		t.Errorf("merging different setups: err = %v", err)
	}
}

// TestReproContinualBadInput checks the errors for settings that cannot run.
func TestReproContinualBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *ContinualConfig)
		want string
	}{
		{"unknown method", func(c *ContinualConfig) { c.Methods = []string{"mir"} }, "mir"},
		{"zero buffer", func(c *ContinualConfig) { c.Buffers = []int{0} }, "buffer"},
		{"no buffers", func(c *ContinualConfig) { c.Buffers = nil }, "--buffers"},
		{"no seeds", func(c *ContinualConfig) { c.Seeds = 0 }, "--seeds"},
		{"bad shard", func(c *ContinualConfig) { c.Shard = shard.Spec{Index: 2, Count: 2} }, "--shard"},
	} {
		c := tinyContinualConfig(t)
		tc.edit(&c)
		if _, err := ReproContinual(context.Background(), &c, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one about %q", tc.name, err, tc.want)
		}
	}
	c := tinyContinualConfig(t)
	c.Methods = []string{"x"}
	if _, err := ReproContinual(context.Background(), &c, nil); !errors.Is(err, continual.ErrUnknown) {
		t.Errorf("unknown method: %v does not match continual.ErrUnknown", err)
	}
	// a failing run (window 0 is invalid) is a row of n/a and an error after printing
	c = tinyContinualConfig(t)
	c.Methods, c.Buffers, c.Seeds, c.Window = []string{"las"}, []int{50}, 1, 0
	res, err := ReproContinual(context.Background(), &c, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := res.WriteText(&out); err == nil || !strings.Contains(out.String(), "n/a") || !strings.Contains(out.String(), "FAILED") {
		t.Errorf("failed run: err = %v, report:\n%s", err, out.String())
	}
}
