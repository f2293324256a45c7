package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/repro"
)

type flatOutput struct {
	Runs    []repro.FlatRun `json:"runs"`
	Summary []struct {
		Arm       string   `json:"arm"`
		Noise     float64  `json:"label_noise"`
		Seeds     int      `json:"seeds"`
		AccMean   float64  `json:"test_accuracy_mean"`
		DeltaSGD  *float64 `json:"test_accuracy_minus_sgd"`
		Updates   int      `json:"updates"`
		GradEvals int      `json:"grad_evals"`
	} `json:"summary"`
}

// tinyFlat are the flags of a seconds-long repro flat on the MLP.
var tinyFlat = []string{"repro", "flat", "--data", "fashion-mnist-small", "--archs", "mlp", "--train-n", "512",
	"--epochs", "2", "--lr", "0.2", "--seeds", "2", "--noise", "0,0.4", "--hess-n", "64", "--hess-iters", "2", "--json"}

func runFlat(t *testing.T, extra ...string) flatOutput {
	t.Helper()
	// a flag in extra replaces tinyFlat's (list flags append when repeated)
	var args []string
	for i := 0; i < len(tinyFlat); i++ {
		if strings.HasPrefix(tinyFlat[i], "--") && slices.Contains(extra, tinyFlat[i]) {
			i++ // drop the flag and its value
			continue
		}
		args = append(args, tinyFlat[i])
	}
	out, err := run(t, append(args, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	var fo flatOutput
	if err := json.Unmarshal([]byte(out), &fo); err != nil {
		t.Fatalf("repro flat --json: %v in %q", err, out)
	}
	return fo
}

// TestReproFlat runs every arm on a tiny budget and checks the accounting
// the table reports: equal updates, counted gradient evaluations (2× for
// SAM, F-SAM, RWP and m-ARWP), paired differences against SGD, and that
// shards merged with --from give exactly the unsharded runs.
func TestReproFlat(t *testing.T) {
	fo := runFlat(t)
	if len(fo.Runs) != 2*2*len(repro.FlatArms) {
		t.Fatalf("%d runs, want %d", len(fo.Runs), 2*2*len(repro.FlatArms))
	}
	const updates = 8 // 512/128 batches, two epochs
	evals := map[string]int{"sgd": 1, "sam": 2, "fsam": 2, "rwp": 2, "marwp": 2, "arwp": 1}
	for _, r := range fo.Runs {
		if r.Updates != updates || r.GradEvals != evals[r.Arm]*updates {
			t.Errorf("%s: %d updates / %d grad evals, want %d / %d", r.Arm, r.Updates, r.GradEvals, updates, evals[r.Arm]*updates)
		}
		if !(r.TestAcc > 0.12) || r.TestN != 2000 { // above chance (0.1) after 8 updates
			t.Errorf("%s noise %g seed %d: test accuracy %.3f on %d images", r.Arm, r.Noise, r.Seed, r.TestAcc, r.TestN)
		}
	}
	if len(fo.Summary) != 2*len(repro.FlatArms) {
		t.Fatalf("%d summary rows, want %d", len(fo.Summary), 2*len(repro.FlatArms))
	}
	for _, s := range fo.Summary {
		if s.Seeds != 2 || s.DeltaSGD == nil {
			t.Fatalf("row %+v: want 2 seeds and a paired difference", s)
		}
		if s.Arm == "sgd" && *s.DeltaSGD != 0 {
			t.Errorf("SGD's difference to itself is %g", *s.DeltaSGD)
		}
	}

}

// TestReproFlatShards: shards merged with --from give exactly the runs of
// the unsharded command.
func TestReproFlatShards(t *testing.T) {
	small := []string{"--arms", "sgd,rwp", "--seeds", "1"}
	fo := runFlat(t, small...)
	dir := t.TempDir()
	var files []string
	for _, sh := range []string{"0/2", "1/2"} {
		p := filepath.Join(dir, strings.Replace(sh, "/", "of", 1)+".json")
		runFlat(t, append(small, "--shard", sh, "--out", p)...)
		files = append(files, p)
	}
	merged := runFlat(t, "--from", strings.Join(files, ","))
	key := func(r repro.FlatRun) string {
		return r.Arm + "|" + r.Arch + "|" + string(rune('0'+r.Seed)) + "|" + string(rune('0'+int(10*r.Noise)))
	}
	want := map[string]repro.FlatRun{}
	for _, r := range fo.Runs {
		want[key(r)] = r
	}
	if len(merged.Runs) != len(fo.Runs) {
		t.Fatalf("merged shards hold %d runs, want %d", len(merged.Runs), len(fo.Runs))
	}
	for _, r := range merged.Runs {
		w := want[key(r)]
		if r.TestAcc != w.TestAcc || flatEig(r) != flatEig(w) || r.GradEvals != w.GradEvals {
			t.Errorf("%s: shard run differs from the unsharded one: %+v vs %+v", key(r), r, w)
		}
	}
}

func TestReproFlatEqualEvals(t *testing.T) {
	fo := runFlat(t, "--arms", "sgd,rwp", "--noise", "0", "--seeds", "1", "--hess-n", "0", "--equal-evals")
	for _, r := range fo.Runs {
		want := map[string]int{"sgd": 8, "rwp": 4}[r.Arm]
		if r.Updates != want || r.GradEvals != 8 {
			t.Errorf("%s with --equal-evals: %d updates, %d grad evals; want %d, 8", r.Arm, r.Updates, r.GradEvals, want)
		}
	}
	// merged with equal-updates runs, the equal-evals RWP is a row of its own
	var arms []string
	for _, s := range fo.Summary {
		arms = append(arms, s.Arm)
	}
	if strings.Join(arms, ",") != "sgd,rwp (equal evals)" {
		t.Errorf("summary rows %q", arms)
	}
}

func TestReproFlatErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--arms", "sgd,lion"}, "lion"},
		{[]string{"--archs", "vgg"}, "vgg"},
		{[]string{"--noise", "0,1.2"}, "--noise"},
		{[]string{"--seeds", "0"}, "--seeds"},
		{[]string{"--train-n", "100"}, "--train-n"},
		{[]string{"--shard", "3/2"}, "shard"},
		{[]string{"--from", bad}, "bad.json"},
	} {
		_, err := run(t, append(append([]string{}, tinyFlat...), tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}

// flatEig is a run's top eigenvalue, or -1 without one.
func flatEig(r repro.FlatRun) float64 {
	if r.TopEig == nil {
		return -1
	}
	return *r.TopEig
}
