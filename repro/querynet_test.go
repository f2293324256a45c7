package repro

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func tinyQueryNet() QueryNetConfig {
	c := DefaultQueryNetConfig()
	c.N, c.Budgets, c.Defenses, c.Calibrate, c.Seed = 4, []int{10, 20}, []string{"none", "rnd"}, 0, 1
	return c
}

// TestQueryNetRepro runs the comparison at a tiny size: every attack ×
// defense pair is reported at every budget, the official logs' numbers
// stand beside the undefended rows, and shards saved with Out merge with
// From into an evaluation of every image.
func TestQueryNetRepro(t *testing.T) {
	cfg := tinyQueryNet()
	res, err := QueryNetRepro(context.Background(), &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Pairs) != 4 || !slices.Equal(res.Report.Checkpoints, []int{10, 20}) {
		t.Fatalf("%d pairs at %v, want 4 at [10 20]", len(res.Report.Pairs), res.Report.Checkpoints)
	}
	var paper, savings int
	for _, r := range res.Table.Rows {
		if r.Paper.Value != nil {
			paper++
		}
		if strings.HasPrefix(r.Metric, "query savings") {
			savings++
		}
	}
	// Undefended: mean queries of both attacks and the savings at the
	// largest budget (the budgets 100 and 2500 are not run here).
	if paper != 3 || savings != 2 {
		t.Errorf("%d rows with a paper value, %d savings rows; want 3 and 2", paper, savings)
	}
	var b bytes.Buffer
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"success@10", "median q@20", "querynet", "rnd", "QueryNet official logs"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}

	dir := t.TempDir()
	var files []string
	for _, s := range []string{"0/2", "1/2"} {
		c := tinyQueryNet()
		if err := c.Shard.Set(s); err != nil {
			t.Fatal(err)
		}
		c.Out = filepath.Join(dir, strings.Replace(s, "/", "-", 1)+".json")
		if _, err := QueryNetRepro(context.Background(), &c, nil); err != nil {
			t.Fatal(err)
		}
		files = append(files, c.Out)
	}
	m := QueryNetConfig{From: files}
	merged, err := QueryNetRepro(context.Background(), &m, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range merged.Report.Pairs {
		var idx []int
		for _, s := range p.Samples {
			idx = append(idx, s.Index)
		}
		slices.Sort(idx)
		if !slices.Equal(idx, []int{0, 1, 2, 3}) {
			t.Errorf("%s vs %s: merged samples %v", p.Attack, p.Defense, idx)
		}
	}
}

func TestQueryNetReproErrors(t *testing.T) {
	for _, c := range []struct {
		edit func(*QueryNetConfig)
		want string
	}{
		{func(c *QueryNetConfig) { c.N = 0 }, "n 0"},
		{func(c *QueryNetConfig) { c.N = 1 << 20 }, "exceeds"},
		{func(c *QueryNetConfig) { c.Defenses = []string{"nope"} }, "nope"},
		{func(c *QueryNetConfig) { c.Budgets = []int{0, 10} }, "budget 0"},
		{func(c *QueryNetConfig) { c.Model = "missing.ckpt" }, "missing.ckpt"},
		{func(c *QueryNetConfig) { c.From = []string{"missing.json"} }, "missing.json"},
	} {
		cfg := tinyQueryNet()
		c.edit(&cfg)
		if _, err := QueryNetRepro(context.Background(), &cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}
