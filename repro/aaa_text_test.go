package repro

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/robust"
)

// aaaReport is a one-image report of model on Square against no defense.
func aaaReport(model string) *robust.Report {
	rep := &robust.Report{Model: model, Data: "d", Budget: 2, Checkpoints: []int{2}, Shards: []int{0}, NumShards: 1, N: 1,
		Clean: []robust.DefenseClean{{Defense: "none", Samples: []robust.Clean{{Confidence: 1, Correct: true}}}},
		Pairs: []robust.Pair{{Attack: "square", Defense: "none", Samples: []robust.Sample{{CleanCorrect: true, FooledAt: -1}}}}}
	rep.Summarize()
	return rep
}

func TestAAAResultWriteText(t *testing.T) {
	res := &AAAResult{
		Reports:  []*robust.Report{aaaReport("zoo/m.ckpt")},
		Adaptive: []*robust.Report{aaaReport("zoo/m.ckpt (adaptive)")},
		Tables:   []*Table{{Paper: "the poster", Protocol: "p", Rows: []Row{{Setting: "s", Method: "AAA", Metric: "acc"}}}},
		Checks:   []string{"check: holds"},
		Failed:   []string{"other.ckpt: no such file"},
	}
	dir := t.TempDir()
	var b bytes.Buffer
	if err := res.WriteText(&b, dir); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	modelDir := filepath.Join(dir, "zoo_m_ckpt") // one folder per model, named safely
	plots, _ := filepath.Glob(filepath.Join(modelDir, "*.png"))
	if len(plots) == 0 || !strings.HasPrefix(out, "plots: "+filepath.Join(modelDir, "robust-square.png")) {
		t.Errorf("plots %v; output starts %q", plots, out[:min(len(out), 120)])
	}
	if n := strings.Count(out, "plots: "); n != 1 {
		t.Errorf("%d plot lines, want 1 (the adaptive runs have none)", n)
	}
	last := -1
	for _, want := range []string{"model zoo/m.ckpt on d", "model zoo/m.ckpt (adaptive) on d", "the poster\nprotocol: p", "check: holds\n", "FAILED: other.ckpt: no such file\n"} {
		i := strings.Index(out, want)
		if i <= last {
			t.Errorf("output lacks %q after position %d:\n%s", want, last, out)
		}
		last = i
	}

	// without a plot folder, no plots
	b.Reset()
	if err := res.WriteText(&b, ""); err != nil || strings.Contains(b.String(), "plots:") {
		t.Errorf("no plot folder: err %v, output %q", err, b.String())
	}
	// a plot folder that cannot be made
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteText(&b, file); err == nil {
		t.Error("plot folder under a file: no error")
	}
}

func TestAAAResultIncomplete(t *testing.T) {
	if err := (&AAAResult{Tables: []*Table{{}}}).Incomplete(); err != nil {
		t.Errorf("complete result: %v", err)
	}
	err := (&AAAResult{Failed: []string{"a: x", "b: y"}}).Incomplete()
	if err == nil || err.Error() != "reproduction incomplete: a: x; b: y" {
		t.Errorf("failed models: %v", err)
	}
	if err := (&AAAResult{Tables: []*Table{{Failed: []string{"s"}}}}).Incomplete(); err == nil {
		t.Error("failed table setting: no error")
	}
}

func TestAAADefensesAll(t *testing.T) {
	var all, def AAAConfig
	all.Defenses = []string{"all"}
	all.defaults()
	def.defaults()
	if !slices.Equal(all.Defenses, def.Defenses) || len(def.Defenses) < 2 || def.Defenses[0] != "none" {
		t.Errorf(`"all" gives %v, the default %v`, all.Defenses, def.Defenses)
	}
}
