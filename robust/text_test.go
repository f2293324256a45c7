package robust

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestWriteTextAndParse(t *testing.T) {
	r := &Report{Model: "m", Data: "d", N: 2, Budget: 10, Checkpoints: []int{5, 10}, Shards: []int{0}, NumShards: 1,
		Clean: []DefenseClean{{Defense: "none", Samples: []Clean{{Index: 0, Confidence: 0.9, Correct: true}, {Index: 1, Confidence: 0.6, Correct: true}}}},
		Pairs: []Pair{{Attack: "square", Defense: "none", Samples: []Sample{{Index: 0, CleanCorrect: true, FooledAt: 3}, {Index: 1, CleanCorrect: true, FooledAt: -1}}}}}
	r.Pairs[0].Threat.Eps = 0.1
	r.Summarize()
	var out bytes.Buffer
	if err := r.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	want := "model m on d; linf ε=0.1, budget 10 queries per image\n" +
		"attack  defense  clean acc  robust@5  robust@10  mean q  median q  undef. on adv  ECE     mean |Δ|  reverted  failed\n" +
		"square  none     100.00%    50.00%    50.00%     3       3         n/a            25.00%  0.000     -         0\n" +
		"\nqueries of the successful attacks within each budget (mean / median, successes):\n" +
		"attack  defense  ≤5         ≤10        reverted during attack\n" +
		"square  none     3 / 3 (1)  3 / 3 (1)  -\n"
	if out.String() != want {
		t.Errorf("WriteText:\n%s\nwant\n%s", out.String(), want)
	}
	b, _ := json.Marshal(r)
	back, err := ParseReport(b, "r.json")
	if err != nil || back.Pairs[0].Summary.RobustAccuracy[0] != 0.5 {
		t.Fatalf("ParseReport: %v", err)
	}
	for name, mod := range map[string]func(s string) string{
		"not JSON":     func(s string) string { return s[:10] },
		"no pairs":     func(s string) string { return strings.Replace(s, `"pairs":[`, `"pairs":[],"x":[`, 1) },
		"budget":       func(s string) string { return strings.Replace(s, `"budget":10`, `"budget":0`, 1) },
		"checkpoint":   func(s string) string { return strings.Replace(s, `"checkpoints":[5,10]`, `"checkpoints":[5,11]`, 1) },
		"shard":        func(s string) string { return strings.Replace(s, `"shards":[0]`, `"shards":[1]`, 1) },
		"sample index": func(s string) string { return strings.Replace(s, `"i":1,"clean_correct"`, `"i":7,"clean_correct"`, 1) },
	} {
		if _, err := ParseReport([]byte(mod(string(b))), "r.json"); err == nil || !strings.Contains(err.Error(), "r.json") {
			t.Errorf("%s: err %v, want an error naming the file", name, err)
		}
	}
}

// FuzzParseReport feeds arbitrary bytes to the merge input parser: it gives
// an error or a report that merges and prints, never a panic.
func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`{"n":2,"budget":10,"checkpoints":[5],"shards":[0],"num_shards":1,"clean":[{"defense":"none","samples":[{"i":0,"conf":0.5,"ok":true}]}],"pairs":[{"attack":"square","defense":"none","samples":[{"i":1,"clean_correct":true,"fooled_at":3,"queries":3}]}]}`))
	f.Add([]byte(`{"n":4,"budget":1,"shards":[1],"num_shards":2,"pairs":[{"samples":[{"i":3,"fooled_at":-1}]}]}`))
	f.Add([]byte(`{"pairs":[{}],"budget":1,"num_shards":1,"shards":[0,0]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReport(b, "fuzz")
		if err != nil {
			return
		}
		if m, err := Merge(r); err == nil {
			if err := m.WriteText(&bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
