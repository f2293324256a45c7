package defense_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/trustml/trustml/defense"
)

// TestARTGolden compares the probability post-processors with numpy
// versions of the Adversarial Robustness Toolbox's code
// (testdata/art_golden.py).
func TestARTGolden(t *testing.T) {
	buf, err := os.ReadFile("testdata/art_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Name   string    `json:"name"`
			Params string    `json:"params"`
			K      int       `json:"k"`
			Logits []float32 `json:"logits"`
			Want   []float64 `json:"want"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(buf, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range g.Cases {
		params, err := defense.ParseParams(c.Params)
		if err != nil {
			t.Fatal(err)
		}
		d, err := defense.New(c.Name, defense.Options{Params: params})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(c.Logits))
		if err := d.Apply(got, c.Logits, c.K); err != nil {
			t.Fatal(err)
		}
		for i, w := range c.Want {
			if math.Abs(float64(got[i])-w) > 1e-6*max(1, math.Abs(w)) {
				t.Errorf("%s %s: row %d class %d: got %v, want %v", c.Name, c.Params, i/c.K, i%c.K, got[i], w)
			}
		}
	}
}
