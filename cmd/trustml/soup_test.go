package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

type soupJSON struct {
	Checkpoint string `json:"checkpoint"`
	Method     string `json:"method"`
	Test       struct{ Accuracy float64 }
	HeldOut    int `json:"held_out"`
	Models     []train.AverageEval
	Soups      []train.AverageEval
	Greedy     *struct{ Ingredients []int }
	MEHLPlus   *struct {
		Blocks  []string
		Batches []struct{ Models []int }
	} `json:"mehl+"`
}

// TestAverageSoup: a base MLP, three short fine-tunes of it (--init), and
// their soups end to end; --compare makes all four; mismatched
// architectures and bad flags are rejected.
func TestAverageSoup(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.ckpt")
	common := []string{"--arch", "mlp", "--batch", "64", "--crop-pad", "0", "--flip=false"}
	if _, err := run(t, append([]string{"train", "--steps", "60", "--lr", "0.2", "--out", base}, common...)...); err != nil {
		t.Fatal(err)
	}

	// --init starts from the checkpoint: with learning rate 0 the weights stay.
	same := filepath.Join(dir, "same.ckpt")
	if _, err := run(t, append([]string{"train", "--steps", "2", "--lr", "0", "--init", base, "--out", same}, common...)...); err != nil {
		t.Fatal(err)
	}
	b, _, err := nn.LoadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	s, meta, err := nn.LoadFile(same)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.Weights(), s.Weights()) || meta["init"] != base {
		t.Fatalf("--init did not start from %s (meta %v)", base, meta)
	}

	var fts []string
	for i, lr := range []string{"0.02", "0.05", "0.1"} {
		p := filepath.Join(dir, fmt.Sprintf("ft%d.ckpt", i+1))
		args := []string{"train", "--steps", "20", "--lr", lr, "--seed", fmt.Sprint(i + 2), "--init", base, "--out", p}
		if i == 2 {
			args = append(args, "--label-smoothing", "0.1")
		}
		if _, err := run(t, append(args, common...)...); err != nil {
			t.Fatal(err)
		}
		fts = append(fts, p)
	}
	out := filepath.Join(dir, "soup.ckpt")

	t.Run("mehl+", func(t *testing.T) {
		res, err := run(t, append([]string{"average", "soup", "--epochs", "1", "--out", out, "--json"}, fts...)...)
		if err != nil {
			t.Fatal(err)
		}
		var r soupJSON
		if err := json.Unmarshal([]byte(res), &r); err != nil {
			t.Fatalf("%v in %q", err, res)
		}
		if r.Method != "soup-mehl+" || len(r.Models) != 3 || len(r.Soups) != 1 || r.Soups[0].Name != "mehl+" || r.HeldOut != 1000 {
			t.Fatalf("result %+v", r)
		}
		if r.MEHLPlus == nil || len(r.MEHLPlus.Blocks) != 6 || len(r.MEHLPlus.Batches) != 1 || len(r.MEHLPlus.Batches[0].Models) != 3 {
			t.Fatalf("MEHL-Soup+ details %+v: want 6 tensors, one batch of 3 models", r.MEHLPlus)
		}
		if r.Test.Accuracy < 0.6 || r.Test.Accuracy != r.Soups[0].Test.Accuracy {
			t.Errorf("soup test accuracy %v (table %v)", r.Test.Accuracy, r.Soups[0].Test.Accuracy)
		}
		got, meta, err := nn.LoadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if meta["method"] != "soup-mehl+" || slices.Equal(got.Weights(), b.Weights()) {
			t.Errorf("saved soup: meta %v, weights equal to the base: %v", meta, slices.Equal(got.Weights(), b.Weights()))
		}
		ev, err := run(t, "eval", "--model", out, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Metrics struct{ Accuracy float64 } `json:"metrics"`
		}
		if err := json.Unmarshal([]byte(ev), &e); err != nil || e.Metrics.Accuracy != r.Test.Accuracy {
			t.Errorf("eval of the saved soup: %v (%v), soup reported %v", e.Metrics.Accuracy, err, r.Test.Accuracy)
		}
	})

	t.Run("compare", func(t *testing.T) {
		args := append([]string{"average", "soup", "--compare", "--method", "greedy", "--epochs", "1", "--out", out}, fts...)
		res, err := run(t, append(args, "--json")...)
		if err != nil {
			t.Fatal(err)
		}
		var r soupJSON
		if err := json.Unmarshal([]byte(res), &r); err != nil {
			t.Fatalf("%v in %q", err, res)
		}
		var names []string
		for _, s := range r.Soups {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, []string{"uniform", "greedy", "mehl", "mehl+"}) || r.Method != "soup-greedy" || r.Greedy == nil {
			t.Fatalf("soups %v, method %s", names, r.Method)
		}
		bestSingle := 0.0
		for _, m := range r.Models {
			bestSingle = max(bestSingle, m.HeldOut.Accuracy)
		}
		if g := r.Soups[1]; g.HeldOut.Accuracy < bestSingle || g.Test.Accuracy != r.Test.Accuracy {
			t.Errorf("greedy soup held-out %v below the best model's %v, or test %v not the saved %v", g.HeldOut.Accuracy, bestSingle, g.Test.Accuracy, r.Test.Accuracy)
		}
		txt, err := run(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"ft1.ckpt", "ft3.ckpt", "uniform", "greedy", "mehl+", "held-out acc", "saved to " + out} {
			if !strings.Contains(txt, want) {
				t.Errorf("table lacks %q:\n%s", want, txt)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		cnn, _ := saveNetCkpt(t, dir, "cnn.ckpt", nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{Width: 2, Hidden: 4}), 1)
		cases := []struct {
			args []string
			want string
		}{
			{[]string{"average", "soup", fts[0], cnn}, "one architecture"},
			{[]string{"average", "soup", fts[0]}, "at least 2 checkpoints"},
			{[]string{"average", "soup", "--method", "best", fts[0], fts[1]}, "--method"},
			{[]string{"average", "soup", "--val-ratio", "0", fts[0], fts[1]}, "--val-ratio"},
			{[]string{"average", "soup", "--val-ratio", "1", fts[0], fts[1]}, "--val-ratio"},
			{[]string{"average", "soup", "--batch-models", "0", fts[0], fts[1]}, "--batch-models"},
			{[]string{"average", "soup", "--epochs", "0", fts[0], fts[1]}, "--epochs"},
			{[]string{"average", "soup", "--lr", "-1", fts[0], fts[1]}, "--lr"},
			{[]string{"average", "soup", "--lr", "NaN", fts[0], fts[1]}, "--lr"},
			{[]string{"average", "soup", fts[0], filepath.Join(dir, "missing.ckpt")}, "missing.ckpt"},
			{[]string{"train", "--arch", "cnn-small", "--steps", "1", "--init", base, "--out", filepath.Join(dir, "x.ckpt")}, "--init"},
		}
		for _, tc := range cases {
			if _, err := run(t, append(tc.args, "--out", out)...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
			}
		}
	})
}
