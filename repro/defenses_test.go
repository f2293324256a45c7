package repro

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/robust"
	"github.com/trustml/trustml/shard"
)

func tinyDefensesConfig() DefensesConfig {
	c := DefaultDefensesConfig()
	c.N, c.Calibrate, c.Budgets, c.CostQueries = 4, 0, []int{10, 5}, 8
	// Deterministic defenses whose rows do not depend on the batch, so
	// that shards merge into exactly the one run.
	c.Attacks, c.Defenses = []string{"square", "simba"}, []string{"none", "reverse-sigmoid", "rounded"}
	return c
}

// TestDefensesShardsMerge: two shards merged with From give the
// leaderboard of one run (robust accuracies, clean accuracy, ECE), the
// shards write only JSON and the merge writes markdown and PNG.
func TestDefensesShardsMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	full, err := Defenses(ctx, tinyDefensesConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !full.Complete || len(full.Rows) != 3 || len(full.Rows[0].Cells) != 2 {
		t.Fatalf("full run: complete %v, %d rows", full.Complete, len(full.Rows))
	}
	var files []string
	for i := range 2 {
		c := tinyDefensesConfig()
		c.Shard = shard.Spec{Index: i, Count: 2}
		c.Out = filepath.Join(dir, "s"+string(rune('0'+i))+".json")
		lb, err := Defenses(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if lb.Complete || len(lb.Files) != 1 {
			t.Errorf("shard %d: complete %v, files %v", i, lb.Complete, lb.Files)
		}
		files = append(files, c.Out)
	}
	m := DefaultDefensesConfig()
	m.From, m.Out = files, filepath.Join(dir, "board")
	merged, err := Defenses(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"board.json", "board.md", "board.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if !merged.Complete || len(merged.Rows) != len(full.Rows) {
		t.Fatalf("merged: complete %v, %d rows", merged.Complete, len(merged.Rows))
	}
	byName := map[string]BoardRow{}
	for _, r := range full.Rows {
		byName[r.Defense] = r
	}
	for _, r := range merged.Rows {
		f := byName[r.Defense]
		// ECE within 1e-6: OpenBLAS rounds a shard's smaller batches differently
		if r.CleanAccuracy != f.CleanAccuracy || math.Abs(r.ECE-f.ECE) > 1e-6 || budgetsText(r.Worst, 2) != budgetsText(f.Worst, 2) {
			t.Errorf("%s: merged %+v, one run %+v", r.Defense, r, f)
		}
		for i, c := range r.Cells {
			if budgetsText(c.Robust, 2) != budgetsText(f.Cells[i].Robust, 2) {
				t.Errorf("%s/%s: merged %v, one run %v", r.Defense, c.Attack, c.Robust, f.Cells[i].Robust)
			}
		}
		if r.MsPerQuery <= 0 || r.RelCost <= 0 {
			t.Errorf("%s: cost %v ms, ×%v not measured", r.Defense, r.MsPerQuery, r.RelCost)
		}
	}
	if merged.Budgets[0] != 5 {
		t.Errorf("budgets %v not sorted", merged.Budgets)
	}
	var sb strings.Builder
	if err := merged.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| rank | defense |", "square", "simba", "rounded", "worst case"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, sb.String())
		}
	}
}

func TestDefensesErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"model":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*DefensesConfig){
		"white-box attack": func(c *DefensesConfig) { c.Attacks = []string{"pgd"} },
		"unknown defense":  func(c *DefensesConfig) { c.Defenses = []string{"nope"} },
		"no budget":        func(c *DefensesConfig) { c.Budgets = nil },
		"eps":              func(c *DefensesConfig) { c.Eps = 2 },
		"missing file":     func(c *DefensesConfig) { c.From = []string{filepath.Join(dir, "none.json")} },
		"no report":        func(c *DefensesConfig) { c.From = []string{bad} },
	} {
		c := tinyDefensesConfig()
		mod(&c)
		if _, err := Defenses(ctx, c); err == nil {
			t.Errorf("%s: no error", name)
		} else if name == "no report" && !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
}

// syntheticBoard is a leaderboard of a report with one failed sample.
func syntheticBoard(failed bool) *Leaderboard {
	rep := &robust.Report{N: 2, Budget: 2500, Checkpoints: []int{100, 2500}, Shards: []int{0}, NumShards: 1}
	for _, d := range []string{"none", "unig"} {
		rep.Clean = append(rep.Clean, robust.DefenseClean{Defense: d, Samples: []robust.Clean{{Index: 0, Confidence: 0.9, Correct: true}, {Index: 1, Confidence: 0.8, Correct: true}}})
		s2 := robust.Sample{Index: 1, CleanCorrect: true, FooledAt: 50, Queries: 50}
		if d == "unig" {
			s2.FooledAt = -1
			if failed {
				s2.Failed = "model error"
			}
		}
		rep.Pairs = append(rep.Pairs, robust.Pair{Attack: "square", Defense: d, Samples: []robust.Sample{{Index: 0, CleanCorrect: true, FooledAt: 1000, Queries: 1000}, s2}})
	}
	rep.Summarize()
	lb := &Leaderboard{Model: "m", Data: "d", N: 2, Eps: 0.1, EpsL2: 1, Budgets: []int{100, 2500}, Report: rep,
		Costs: []Cost{{Seconds: 1, Queries: 1000}, {Defense: "none", Seconds: 1, Queries: 1000}, {Defense: "unig", Seconds: 2, Queries: 1000}}}
	lb.build()
	return lb
}

func TestLeaderboardBuild(t *testing.T) {
	lb := syntheticBoard(false)
	if lb.Rows[0].Defense != "unig" || budgetsText(lb.Rows[0].Worst, 2) != "100/50" || budgetsText(lb.Rows[1].Worst, 2) != "50/0" {
		t.Errorf("rows %+v", lb.Rows)
	}
	if lb.Rows[0].RelCost != 2 || lb.Rows[0].MsPerQuery != 2 {
		t.Errorf("unig cost %v ms ×%v, want 2 ms ×2", lb.Rows[0].MsPerQuery, lb.Rows[0].RelCost)
	}
	// The paper rows: UniG @100 (81.90) and @2500 (77.80), none @100 and @2500.
	got := map[string]string{}
	for _, p := range lb.Paper {
		got[p.Method+" "+p.Metric] = p.Paper.Format("%.2f") + " " + p.Ours.Format("%.0f")
	}
	for k, want := range map[string]string{"unig square, 2500": "77.80 50", "unig square, 100": "81.90 100", "none square, 2500": "0.09 0"} {
		if got[k] != want {
			t.Errorf("paper row %s = %q, want %q", k, got[k], want)
		}
	}
	var sb strings.Builder
	if err := lb.WriteMarkdown(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "| 77.80% | UniG abstract") {
		t.Errorf("markdown lacks the UniG row:\n%s", sb.String())
	}
}

// TestLeaderboardFailed: a pair with a failed image prints n/a, not a
// number, and WriteText returns ErrIncomplete after printing.
func TestLeaderboardFailed(t *testing.T) {
	lb := syntheticBoard(true)
	var sb strings.Builder
	err := lb.WriteText(&sb)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("error %v, want ErrIncomplete", err)
	}
	if !strings.Contains(sb.String(), "| **n/a/n/a** | n/a/n/a |") || !strings.Contains(sb.String(), "square vs unig: 1 images failed") {
		t.Errorf("failed pair not shown as n/a:\n%s", sb.String())
	}
}

// FuzzMergeBoards: merging arbitrary files returns an error or a
// leaderboard, never panics.
func FuzzMergeBoards(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "defenses_shard.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"report":{"n":1,"num_shards":1,"shards":[0]}}`))
	f.Add([]byte(`{"report":{"n":-1,"num_shards":0,"shards":[3],"pairs":[{"samples":[{"i":9}]}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "s.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if lb, err := mergeBoards([]string{p}); err == nil {
			lb.build()
			_ = lb.WriteMarkdown(&strings.Builder{})
		}
	})
}
