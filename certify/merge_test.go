package certify

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/trustml/trustml/shard"
)

// shardReports certifies a linear model's data in count shards and returns
// their JSON encodings, and the unsharded report.
func shardReports(t testing.TB, count int) ([][]byte, *Report) {
	t.Helper()
	m := linear{w: []float64{1, -2, 0.5, 1}, b: 0.2}
	cfg := Config{Model: m, ModelName: "lin", Data: linearData(m, 30), Sigmas: []float64{0.25, 1}, N0: 20, N: 200,
		Alpha: 0.01, Skip: 2, NImages: 11, Seed: 3, Workers: 1}
	whole, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := 0; i < count; i++ {
		c := cfg
		c.Shard = shard.Spec{Index: i, Count: count}
		rep, err := Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out, whole
}

func writeFiles(t *testing.T, bs ...[]byte) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, b := range bs {
		p := filepath.Join(dir, "shard"+string(rune('0'+i))+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func TestMergeFiles(t *testing.T) {
	shards, whole := shardReports(t, 3)
	paths := writeFiles(t, shards[2], shards[0], shards[1])
	merged, err := MergeFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stripTimes(merged), stripTimes(whole)) {
		t.Error("merging the shard files does not give the unsharded report")
	}
	// Property: whatever the σ, an abstention has no radius and is not correct.
	abstained := 0
	for _, s := range merged.Sigmas {
		for _, smp := range s.Samples {
			if smp.Class == Abstain {
				abstained++
				if smp.Radius != 0 || smp.Correct {
					t.Errorf("σ %g image %d abstained with radius %g, correct %v", s.Sigma, smp.Index, smp.Radius, smp.Correct)
				}
			}
		}
	}
	if abstained == 0 {
		t.Error("no abstention in the test case; the property above was not exercised")
	}

	tamper := func(b []byte, edit func(*Report)) []byte {
		var r Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		edit(&r)
		out, _ := json.Marshal(&r)
		return out
	}
	for _, c := range []struct {
		name  string
		files [][]byte
		want  string
	}{
		{"missing shard", [][]byte{shards[0], shards[2]}, "missing shards 1/3"},
		{"shard twice", [][]byte{shards[0], shards[1], shards[1], shards[2]}, "shard 1/3 given twice"},
		{"bad JSON", [][]byte{shards[0], []byte(`{"model": "lin",`), shards[2]}, "shard1.json: not a certification report"},
		{"not a report", [][]byte{[]byte(`{"rows": []}`)}, `unknown field "rows"`},
		{"abstained with radius", [][]byte{tamper(shards[0], func(r *Report) {
			r.Sigmas[0].Samples[0].Class, r.Sigmas[0].Samples[0].Correct, r.Sigmas[0].Samples[0].Radius = Abstain, false, 0.3
		}), shards[1], shards[2]}, "abstained but has radius 0.3"},
		{"foreign image", [][]byte{tamper(shards[0], func(r *Report) { r.Sigmas[1].Samples[0].Index = 2 }), shards[1], shards[2]}, "image 2 is not one of shard 0/3"},
		{"image dropped", [][]byte{tamper(shards[0], func(r *Report) { r.Sigmas[1].Samples = r.Sigmas[1].Samples[1:] }), shards[1], shards[2]}, "shard 0/3 of 11 holds 4"},
		{"other seed", [][]byte{shards[0], tamper(shards[1], func(r *Report) { r.Seed = 4 }), shards[2]}, "report 2 is from a different certification"},
		{"alpha", [][]byte{tamper(shards[0], func(r *Report) { r.Alpha = 2 })}, "alpha 2 outside (0, 1)"},
		{"n0 > n", [][]byte{tamper(shards[0], func(r *Report) { r.N0 = 1000 })}, "want 1 ≤ n0 ≤ n"},
		{"sigma", [][]byte{tamper(shards[0], func(r *Report) { r.Sigmas[0].Sigma = 0 })}, "want σ > 0"},
	} {
		_, err := MergeFiles(writeFiles(t, c.files...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if _, err := MergeFiles(filepath.Join(t.TempDir(), "absent.json")); err == nil || !strings.Contains(err.Error(), "absent.json") {
		t.Errorf("absent file: %v", err)
	}
	if _, err := MergeFiles(); err == nil {
		t.Error("merging nothing: no error")
	}
}

// FuzzReadReport feeds arbitrary bytes to the report reader: it returns a
// report or an error, never panics, and what it accepts merges alone when
// it is the whole certification.
func FuzzReadReport(f *testing.F) {
	shards, whole := shardReports(f, 2)
	b, _ := json.Marshal(whole)
	for _, s := range append(shards, b, []byte(`{}`), []byte(`{"n0":1,"n":1,"alpha":0.5,"skip":1,"images":1,"sigmas":[{"sigma":1,"radii":[0],"samples":[{"index":0,"class":-1,"radius":1}]}]}`)) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := ReadReport(bytes.NewReader(b), "fuzz.json")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		for _, s := range rep.Sigmas {
			for _, smp := range s.Samples {
				if smp.Class == Abstain && smp.Radius != 0 {
					t.Fatalf("accepted an abstention with radius %g", smp.Radius)
				}
			}
		}
		if rep.Shard.Whole() {
			if _, err := Merge(rep); err != nil {
				t.Errorf("a valid whole report does not merge: %v", err)
			}
		}
	})
}
