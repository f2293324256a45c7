package robust

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDemoConfigErrors(t *testing.T) {
	for _, cfg := range []DemoConfig{{N: -1}, {N: 1 << 20}, {N: 5, Budget: 1}} {
		if _, err := Demo(context.Background(), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Demo(%+v): err %v, want ErrConfig", cfg, err)
		}
	}
}

func TestDemoWriteText(t *testing.T) {
	rep := &Report{Model: "m", Data: "d (test, first 1)", Budget: 2, Checkpoints: []int{2}, Shards: []int{0}, NumShards: 1, N: 1,
		Clean: []DefenseClean{{Defense: "none", Samples: []Clean{{Confidence: 1, Correct: true}}}},
		Pairs: []Pair{{Attack: "square", Defense: "none", Samples: []Sample{{CleanCorrect: true, FooledAt: -1}}}}}
	rep.Summarize()
	r := &DemoResult{Model: "m", ModelMeta: map[string]string{"command": "trustml train"}, Data: "d", arch: "cnn", params: 7,
		Predictions: []Prediction{{0, "Bag", "Bag", 0.5}, {1, "Coat", "Shirt", 0.25}}, Robustness: rep}
	r.Metrics.N, r.Metrics.Accuracy = 2, 0.5
	var b bytes.Buffer
	if err := r.WriteText(&b, []string{"a.png"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Default model \"m\" (cnn, 7 parameters), trained with:\n  trustml train\n",
		"d (test)  2  50.00%",
		"1  Coat  Shirt      25.00%      WRONG",
		"test images not attacked):\nplots: a.png\n\nmodel m on d (test, first 1)",
		"square  none     100.00%",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestDemoResultJSONAndPlots(t *testing.T) {
	rep := &Report{Model: "m", Data: "d", Budget: 2, Checkpoints: []int{2}, Shards: []int{0}, NumShards: 1, N: 1,
		Clean: []DefenseClean{{Defense: "none", Samples: []Clean{{Confidence: 1, Correct: true}}}},
		Pairs: []Pair{{Attack: "square", Defense: "none", Samples: []Sample{{CleanCorrect: true, FooledAt: -1}}}}}
	rep.Summarize()
	r := &DemoResult{Model: "m", Data: "d", Predictions: []Prediction{{0, "Bag", "Bag", 0.5}}, Robustness: rep}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Model       string
		Predictions []Prediction
		Robustness  struct {
			Pairs []struct {
				Attack  string
				Samples []Sample
				Summary PairSummary
			}
		}
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	p := back.Robustness.Pairs
	if back.Model != "m" || len(back.Predictions) != 1 || len(p) != 1 || p[0].Attack != "square" || p[0].Samples != nil || p[0].Summary.CleanAccuracy != 1 {
		t.Errorf("JSON %s: want the result without the per-image samples", b)
	}
	if len(rep.Pairs[0].Samples) != 1 {
		t.Error("MarshalJSON dropped the samples of the result itself")
	}
	if b, err := json.Marshal(&DemoResult{Model: "m"}); err != nil || !strings.Contains(string(b), `"robustness":null`) {
		t.Errorf("without robustness: %s, %v", b, err)
	}

	if files, err := r.WritePlots(""); files != nil || err != nil {
		t.Errorf(`WritePlots(""): %v, %v`, files, err)
	}
	dir := filepath.Join(t.TempDir(), "plots")
	files, err := r.WritePlots(dir)
	if err != nil || len(files) == 0 {
		t.Fatalf("WritePlots: %v, %v", files, err)
	}
	for _, f := range files {
		if !strings.HasPrefix(f, dir) {
			t.Errorf("plot %s outside %s", f, dir)
		} else if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}
