package repro

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/shard"
)

func tinyProtectConfig() ProtectConfig {
	c := DefaultProtectConfig()
	c.Test, c.TrainN, c.TestN, c.Arch, c.Epochs, c.Batch = "fashion-mnist-small", 40, 50, "mlp", 1, 20
	c.SEPCheckpoints, c.SEPSteps, c.EMSteps, c.EMRounds, c.AdvSteps = 1, 2, 2, 1, 1
	return c
}

// TestProtectShardMerge runs the reproduction whole and in two shards,
// merges the shards and checks that both tables agree and are complete.
func TestProtectShardMerge(t *testing.T) {
	ctx := context.Background()
	c := tinyProtectConfig()
	whole, err := Protect(ctx, &c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(protectJobs()); len(whole.Rows) != n || n != 16 {
		t.Fatalf("%d rows, want %d", len(whole.Rows), n)
	}
	dir := t.TempDir()
	var files []string
	for i := range 2 {
		s := tinyProtectConfig()
		s.Shard, s.Out = shard.Spec{Index: i, Count: 2}, filepath.Join(dir, "p"+string(rune('0'+i))+".json")
		if _, err := Protect(ctx, &s, nil); err != nil {
			t.Fatal(err)
		}
		files = append(files, s.Out)
	}
	m := tinyProtectConfig()
	m.From = files
	merged, err := Protect(ctx, &m, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range whole.Rows {
		if g := merged.Rows[i]; g.Setting != r.Setting || g.Ours.Mean != r.Ours.Mean {
			t.Errorf("row %d: merged %s %v, whole %s %v", i, g.Setting, g.Ours.Mean, r.Setting, r.Ours.Mean)
		}
		if !r.Ours.Measured() || r.Ours.Mean < 0 || r.Ours.Mean > 100 {
			t.Errorf("row %d: %v", i, r.Ours)
		}
	}
	var sb strings.Builder
	if err := merged.WriteText(&sb); err != nil || !strings.Contains(sb.String(), "14.68") || !strings.Contains(sb.String(), "sep: largest pixel change") {
		t.Errorf("table:\n%s\n%v", sb.String(), err)
	}
	// A shard missing, or another setup, is refused.
	m.From = files[:1]
	if _, err := Protect(ctx, &m, nil); err == nil {
		t.Error("merge of one of two shards accepted")
	}
	m.From, m.Epochs = files, 2
	if _, err := Protect(ctx, &m, nil); err == nil || !strings.Contains(err.Error(), "setup") {
		t.Errorf("merge with other flags: %v", err)
	}
}

func TestProtectConfigErrors(t *testing.T) {
	for _, edit := range []func(*ProtectConfig){
		func(c *ProtectConfig) { c.Eps = 0.5 },
		func(c *ProtectConfig) { c.CleanFraction = 1 },
		func(c *ProtectConfig) { c.SEPCheckpoints = 9 },
		func(c *ProtectConfig) { c.TrainN = 3 },
	} {
		c := tinyProtectConfig()
		edit(&c)
		if _, err := Protect(context.Background(), &c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// FuzzParseProtectRuns feeds arbitrary bytes to the --from reader: it must
// return an error or runs that belong to the file's shard, never panic.
func FuzzParseProtectRuns(f *testing.F) {
	f.Add([]byte(`{"setup":"x","shard":{"shard":0,"shards":2},"runs":[{"index":2,"set":"clean","counter":"at"}]}`))
	f.Add([]byte(`{"shard":{"shard":3,"shards":2}}`))
	f.Add([]byte(`{"runs":[{"index":-1}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseProtectRuns(b, "fuzz.json")
		if err != nil {
			return
		}
		for _, x := range r.Runs {
			if x.Index < 0 || x.Index >= len(protectJobs()) || !r.Shard.Contains(x.Index) {
				t.Fatalf("accepted run %d of shard %v", x.Index, r.Shard)
			}
		}
	})
}
