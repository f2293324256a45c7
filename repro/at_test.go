package repro

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/shard"
)

// tinyAT is a configuration that trains and attacks in seconds.
func tinyAT(methods ...string) ATConfig {
	return ATConfig{TrainN: 200, HeldOut: 40, TestN: 30, Epochs: 1, Batch: 64, Steps: 2,
		AAIters: 3, AATargets: 2, AASquare: 20, Methods: methods}
}

// TestATShardsMerge runs two shards of three methods, saves them and
// merges them into the whole table.
func TestATShardsMerge(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var files []string
	for i := range 2 {
		cfg := tinyAT("standard", "fgsm-rs", "afa")
		cfg.Shard = shard.Spec{Index: i, Count: 2}
		cfg.Out = filepath.Join(dir, "at-"+string(rune('0'+i))+".json")
		res, err := AT(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Table.Complete() {
			t.Fatalf("shard %d failed: %v", i, res.Table.Failed)
		}
		files = append(files, cfg.Out)
	}
	res, err := AT(ctx, ATConfig{From: files})
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, r := range res.Runs {
		methods = append(methods, r.Method)
		if !(r.Clean >= 0 && r.Clean <= 1) || !(r.Robust >= 0 && r.Robust <= r.Clean) || r.N != 30 {
			t.Errorf("run %+v", r)
		}
	}
	if got := strings.Join(methods, ","); got != "standard,fgsm-rs,fgsm-rs-es,afa" {
		t.Errorf("merged runs %s", got)
	}
	if len(res.Table.Rows) != 8 {
		t.Errorf("%d rows, want 8", len(res.Table.Rows))
	}
	var b strings.Builder
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AutoAttack-lite accuracy %", "AFA (dual BN)", "FGSM-RS + CO remedy", "direction, standard:", "test-n=30"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	// A shard missing, or given twice, is refused.
	if _, err := ReadATRuns(files[0]); !errors.Is(err, shard.ErrSpec) {
		t.Errorf("one shard of two: %v", err)
	}
	if _, err := ReadATRuns(files[0], files[0]); !errors.Is(err, shard.ErrSpec) {
		t.Errorf("a shard twice: %v", err)
	}
	// Files of another setup do not merge.
	other := tinyAT("standard")
	other.Shard, other.Out = shard.Spec{Index: 1, Count: 2}, filepath.Join(dir, "other.json")
	other.Epochs = 2
	if _, err := AT(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadATRuns(files[0], other.Out); err == nil || !strings.Contains(err.Error(), "setup") {
		t.Errorf("mixed setups: %v", err)
	}
}

// TestATFailedRunPrintsNA: a failed run shows n/a and WriteText fails.
func TestATFailedRunPrintsNA(t *testing.T) {
	runs := []ATRun{{Method: "afa", Label: atLabels["afa"], N: 10, Clean: math.NaN(), Robust: math.NaN(), Err: "boom"}}
	res := &ATResult{Setup: "x eps=0.1", Runs: runs, Table: atTable(runs, "x eps=0.1", shard.Spec{})}
	var b strings.Builder
	if err := res.WriteText(&b); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("WriteText error %v", err)
	}
	if !strings.Contains(b.String(), "n/a") {
		t.Errorf("no n/a in\n%s", b.String())
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f.json")
	if err := res.WriteRuns(p); err != nil {
		t.Fatal(err)
	}
	back, err := ReadATRuns(p)
	if err != nil {
		t.Fatal(err)
	}
	if r := back.Runs[0]; !math.IsNaN(r.Clean) || r.Err != "boom" {
		t.Errorf("round trip %+v", r)
	}
}

func TestATConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*ATConfig)
		want string
	}{
		{"unknown method", func(c *ATConfig) { c.Methods = []string{"madry"} }, "unknown run"},
		{"eps", func(c *ATConfig) { c.Eps = 1.5 }, "--eps"},
		{"held-out", func(c *ATConfig) { c.HeldOut = c.TrainN }, "--held-out"},
		{"aa", func(c *ATConfig) { c.AAIters = -1 }, "--aa-iters"},
		{"out and from", func(c *ATConfig) { c.Out, c.From = "a", []string{"b"} }, "--out and --from"},
		{"shard", func(c *ATConfig) { c.Shard = shard.Spec{Index: 3, Count: 2} }, "shard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tinyAT()
			tc.mod(&c)
			if _, err := AT(context.Background(), c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := AT(context.Background(), ATConfig{From: []string{filepath.Join(t.TempDir(), "missing.json")}}); err == nil {
		t.Error("a missing --from file was accepted")
	}
}

func FuzzDecodeATRuns(f *testing.F) {
	f.Add([]byte(`{"shard":0,"shards":1,"setup":"s eps=0.1","runs":[{"method":"afa","label":"x","n":3,"clean":0.5,"robust":null}]}`))
	f.Add([]byte(`{"shard":2,"shards":1,"setup":"s","runs":[]}`))
	f.Add([]byte(`{"setup":"s","runs":[{"method":"pgd-at","clean":7}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeATRuns(b)
		if err != nil {
			return
		}
		if r.Spec.Validate() != nil || r.Setup == "" {
			t.Fatalf("accepted %+v", r)
		}
		for _, run := range r.Runs {
			for _, v := range []float64{run.Clean, run.Robust} {
				if !math.IsNaN(v) && (v < 0 || v > 1) {
					t.Fatalf("accuracy %v accepted", v)
				}
			}
		}
		atTable(r.Runs, r.Setup, r.Spec) // must not panic
	})
}

// TestATFileErrors: a corrupt file names itself.
func TestATFileErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(p, []byte(`{"shard":0,"shards":1,"setup":"s","runs":[{"method":"afa","clean":2}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadATRuns(p); err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "outside [0, 1]") {
		t.Errorf("error %v", err)
	}
}

// TestATCertify: an unsharded run with Certify appends repro certify's
// table (smoothing, SOME, ensemble) below the adversarial-training one; a
// sharded run does not certify.
func TestATCertify(t *testing.T) {
	cfg := tinyAT("standard")
	cfg.Certify = true
	cfg.certifyCfg = &CertifyConfig{Arch: "mlp", TrainN: 200, TestN: 4, Epochs: 2, Batch: 64, LR: 0.1, Heads: 2,
		Sigmas: []float64{0.25}, N0: 10, N: 50, Alpha: 0.001, Seed: 1}
	res, err := AT(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if res.Certified == nil || !strings.Contains(b.String(), "SOME") || len(res.Certified.Rows) == 0 {
		t.Fatalf("no certified table in\n%s", b.String())
	}
	cfg.Shard = shard.Spec{Index: 0, Count: 2}
	if res, err = AT(context.Background(), cfg); err != nil || res.Certified != nil {
		t.Errorf("sharded run: err %v, certified %v", err, res.Certified != nil)
	}
}
