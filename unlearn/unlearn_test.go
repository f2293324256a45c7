package unlearn

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/train"
)

var (
	fixOnce           sync.Once
	fixNet            *nn.Network
	fixTrain, fixTest *data.Dataset
	fixErr            error
)

// fixture is an MLP trained for 4 epochs on the first 600 embedded
// Fashion-MNIST training images, with the first 300 test images.
func fixture(t *testing.T) (*nn.Network, *data.Dataset, *data.Dataset) {
	t.Helper()
	fixOnce.Do(func() {
		var tr, te *data.Dataset
		if tr, fixErr = data.Open(data.DefaultName, data.Train, ""); fixErr != nil {
			return
		}
		if te, fixErr = data.Open(data.DefaultName, data.Test, ""); fixErr != nil {
			return
		}
		fixTrain, fixTest = tr.Head(600), te.Head(300)
		if fixNet, fixErr = nn.New(nn.MLP(tr.Shape, []int{32}, 10), 1); fixErr != nil {
			return
		}
		opt, _ := train.NewSGD(0.05, 0.9, 5e-4, true)
		fixErr = fit(context.Background(), fixNet, fixTrain.X, fixTrain.Y, opt, 4, 32, rand.New(rand.NewPCG(1, 1)), nil)
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fixNet.Copy(), fixTrain, fixTest
}

func TestParseForget(t *testing.T) {
	for _, c := range []struct {
		in   string
		want ForgetSpec
		err  string
	}{
		{"class:3", ForgetSpec{Kind: "class"}, ""},
		{"class:Shirt", ForgetSpec{Kind: "class"}, ""},
		{"random:0.1", ForgetSpec{Kind: "random", Fraction: 0.1}, ""},
		{"subclass:6", ForgetSpec{Kind: "subclass", Bright: true}, ""},
		{"subclass:6:dark", ForgetSpec{Kind: "subclass"}, ""},
		{"random:0", ForgetSpec{}, "selects nothing or everything"},
		{"random:1", ForgetSpec{}, "selects nothing or everything"},
		{"random:NaN", ForgetSpec{}, "not a number"},
		{"random:x", ForgetSpec{}, "not a number"},
		{"class:", ForgetSpec{}, "missing the argument"},
		{"class", ForgetSpec{}, "missing the argument"},
		{"subclass:3:grey", ForgetSpec{}, "neither bright nor dark"},
		{"task:1", ForgetSpec{}, "unknown kind"},
	} {
		got, err := ParseForget(c.in)
		if c.err != "" {
			if err == nil || !errors.Is(err, ErrForget) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseForget(%q) error %v, want ErrForget with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got.Kind != c.want.Kind || got.Fraction != c.want.Fraction || got.Bright != c.want.Bright || got.Text != c.in {
			t.Errorf("ParseForget(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func mustTask(t *testing.T, spec string, tr, te *data.Dataset, seed uint64) *Task {
	t.Helper()
	s, err := ParseForget(spec)
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewTask(s, tr, te, seed)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestNewTaskSplits(t *testing.T) {
	_, tr, te := fixture(t)
	for _, spec := range []string{"class:3", "class:Shirt", "random:0.1", "subclass:6", "subclass:6:dark"} {
		task := mustTask(t, spec, tr, te, 1)
		if len(task.Forget)+len(task.Retain) != tr.Len() || len(task.TestKeep)+len(task.TestForget) != te.Len() {
			t.Errorf("%s: %d+%d forget+retain of %d, %d+%d test of %d", spec, len(task.Forget), len(task.Retain), tr.Len(), len(task.TestKeep), len(task.TestForget), te.Len())
		}
		for _, i := range task.Forget {
			if slices.Contains(task.Retain, i) {
				t.Fatalf("%s: sample %d both forgotten and retained", spec, i)
			}
		}
		switch {
		case spec == "class:3":
			for _, i := range task.Forget {
				if tr.Y[i] != 3 {
					t.Errorf("class:3 forgets a sample of class %d", tr.Y[i])
				}
			}
			if len(task.TestForget) == 0 {
				t.Errorf("class:3: no test samples of class 3")
			}
		case spec == "random:0.1":
			if len(task.Forget) != 60 || len(task.TestForget) != 0 {
				t.Errorf("random:0.1 of 600: %d forget, %d forgotten-test; want 60, 0", len(task.Forget), len(task.TestForget))
			}
		case strings.HasPrefix(spec, "subclass"):
			n6 := 0
			for _, y := range tr.Y {
				if y == 6 {
					n6++
				}
			}
			if d := len(task.Forget) - n6/2; d < -1 || d > 1 {
				t.Errorf("%s: %d of %d class-6 samples, want half", spec, len(task.Forget), n6)
			}
		}
	}
	a, b := mustTask(t, "class:3", tr, te, 1), mustTask(t, "class:Shirt", tr, te, 1)
	if !slices.Equal(a.Forget, mustTask(t, "class:3", tr, te, 2).Forget) || slices.Equal(a.Forget, b.Forget) {
		t.Errorf("class specs: seed changed the class split, or Shirt (6) equals class 3")
	}
	r1, r2 := mustTask(t, "random:0.1", tr, te, 1), mustTask(t, "random:0.1", tr, te, 2)
	if slices.Equal(r1.Forget, r2.Forget) || !slices.Equal(r1.Forget, mustTask(t, "random:0.1", tr, te, 1).Forget) {
		t.Errorf("random forget sets do not follow the seed")
	}
	bright, dark := mustTask(t, "subclass:6", tr, te, 1), mustTask(t, "subclass:6:dark", tr, te, 1)
	for _, i := range bright.Forget {
		if slices.Contains(dark.Forget, i) {
			t.Fatalf("sample %d in both halves of class 6", i)
		}
	}
}

func TestNewTaskBadInput(t *testing.T) {
	_, tr, te := fixture(t)
	one := tr.Subset([]int{0, 1, 2}) // Ankle boot, T-shirt, T-shirt (the first embedded images)
	for i := range one.Y {
		one.Y[i] = 0
	}
	for _, c := range []struct {
		spec   string
		tr, te *data.Dataset
		want   string
	}{
		{"random:0.01", tr.Head(20), te, "selects no sample"},
		{"class:0", one, te, "selects all 3 samples"},
		{"class:5", one, te, "selects no sample"},
		{"class:12", tr, te, "outside [0, 10)"},
		{"class:Horse", tr, te, `no class "Horse"`},
		{"class:3", tr, tr, "overlaps the test split"},
		{"random:0.5", tr, tr.Subset([]int{5, 7, 9, 11}), "overlaps the test split"},
	} {
		s, err := ParseForget(c.spec)
		if err == nil {
			_, err = NewTask(s, c.tr, c.te, 1)
		}
		if err == nil || !errors.Is(err, ErrForget) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrForget with %q", c.spec, err, c.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	net, tr, te := fixture(t)
	task := mustTask(t, "class:3", tr, te, 1)
	m, err := Evaluate(context.Background(), net, task)
	if err != nil {
		t.Fatal(err)
	}
	if m.ForgetTest == nil || !(m.Forget > 0.5 && m.Retain > 0.5 && m.Test > 0.5) || !(m.MIA > 0.3 && m.MIA < 0.9) {
		t.Errorf("trained model: %+v, want accuracies > 50%% and an MIA AUC near 0.5", m)
	}
	// A member set equal to the non-member set gives exactly 0.5; a
	// separated one 1 and 0.
	l := []float64{0.1, 0.5, 0.5, 2}
	for _, c := range []struct {
		a, b []float64
		want float64
	}{{l, l, 0.5}, {[]float64{0.1, 0.2}, []float64{1, 3}, 1}, {[]float64{1, 3}, []float64{0.1}, 0}} {
		if got, err := MIA(c.a, c.b); err != nil || got != c.want {
			t.Errorf("MIA(%v, %v) = %v, %v; want %v", c.a, c.b, got, err, c.want)
		}
	}
	g := Metrics{Forget: 0.9, Retain: 0.8, Test: 0.7, MIA: 0.6, MIAEntropy: 0.3, Seconds: 2}.GapTo(Metrics{Forget: 0.5, Retain: 0.9, Test: 0.7, MIA: 0.5, MIAEntropy: 0.2, Seconds: 8})
	if math.Abs(g.Forget-0.4) > 1e-12 || math.Abs(g.Retain-0.1) > 1e-12 || g.Test != 0 || math.Abs(g.Avg-0.15) > 1e-12 || math.Abs(g.MIA-0.1) > 1e-12 || g.TimeRatio != 0.25 {
		t.Errorf("GapTo = %+v", g)
	}
}

// TestMethods runs every method on a small task and checks what each must
// do: change the weights, keep them finite, and (for class forgetting) the
// methods built to forget lower the forget accuracy.
func TestMethods(t *testing.T) {
	orig, tr, te := fixture(t)
	task := mustTask(t, "class:3", tr, te, 1)
	ctx := context.Background()
	before, _ := Evaluate(ctx, orig, task)
	h := DefaultHyper()
	h.Batch, h.RetrainEpochs, h.Epochs, h.Iters = 32, 3, 2, 20
	for _, name := range Methods() {
		m, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		net, _, err := apply(ctx, m, orig, task, h, 1, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if slices.Equal(net.Weights(), orig.Weights()) || !finiteW(net.Weights()) {
			t.Errorf("%s: weights unchanged or not finite", name)
		}
		after, err := Evaluate(ctx, net, task)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains([]string{"retrain", "rl", "salun", "sfr-on", "natmu"}, name) && !(after.Forget < before.Forget/2) {
			t.Errorf("%s: forget accuracy %.3f → %.3f, want it at least halved", name, before.Forget, after.Forget)
		}
		if after.Retain < 0.5 {
			t.Errorf("%s: retain accuracy fell to %.3f", name, after.Retain)
		}
	}
	if _, err := Lookup("sfron"); !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "sfr-on") {
		t.Errorf("Lookup(sfron): %v, want ErrUnknown listing sfr-on", err)
	}
}

func finiteW(w []float32) bool {
	for _, v := range w {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

func TestSaliencyMaskTop(t *testing.T) {
	net, tr, te := fixture(t)
	task := mustTask(t, "random:0.1", tr, te, 1)
	mask, err := SaliencyMask(context.Background(), net, task, 32, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, v := range mask {
		n += float64(v)
	}
	if want := math.Round(0.2 * float64(len(mask))); n != want {
		t.Errorf("mask keeps %v weights, want %v", n, want)
	}
}

func TestNaturalInstances(t *testing.T) {
	net, tr, te := fixture(t)
	task := mustTask(t, "random:0.05", tr, te, 1)
	nat, err := NaturalInstances(context.Background(), net, task, 4, -0.19, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if nat.Len() != 4*len(task.Forget) {
		t.Errorf("%d instances for %d forget samples, want 4 each", nat.Len(), len(task.Forget))
	}
	for i := range len(task.Forget) {
		y := tr.Y[task.Forget[i]]
		for p := range 4 {
			if nat.Y[4*i+p] == y {
				t.Fatalf("instance %d of forget sample %d keeps its class %d", p, i, y)
			}
		}
	}
	for _, v := range nat.X {
		if v < 0 || v > 1 {
			t.Fatalf("blended value %v outside [0, 1]", v)
		}
	}
	flat := *tr
	flat.Shape = []int{784}
	ft := mustTask(t, "random:0.05", &flat, &data.Dataset{Name: "t", Shape: []int{784}, X: te.X, Y: te.Y, Classes: te.Classes}, 1)
	if _, err := NaturalInstances(context.Background(), net, ft, 4, 0, rand.New(rand.NewPCG(1, 1))); err == nil || !strings.Contains(err.Error(), "blends images") {
		t.Errorf("natmu on vectors: %v", err)
	}
}

func TestRunCheckpoint(t *testing.T) {
	net, tr, te := fixture(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "model.ckpt")
	if err := nn.SaveFile(src, net, map[string]string{"command": "test"}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(src)
	cfg := DefaultConfig()
	cfg.Model, cfg.Train, cfg.Test, cfg.Method, cfg.Out = src, tr, te, "rl", filepath.Join(dir, "out.ckpt")
	cfg.Epochs, cfg.RetrainEpochs, cfg.Batch = 2, 2, 32
	rep, err := Run(context.Background(), &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(src)
	if !bytes.Equal(before, after) {
		t.Errorf("the source checkpoint changed")
	}
	out, meta, err := nn.LoadFile(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Weights(), rep.Net.Weights()) || meta["unlearn_method"] != "rl" || meta["unlearn_forget"] != "class:3" {
		t.Errorf("saved checkpoint: meta %v, weights equal %v", meta, slices.Equal(out.Weights(), rep.Net.Weights()))
	}
	if rep.Retrained == nil || rep.Gap == nil || rep.Gap.TimeRatio <= 0 {
		t.Fatalf("no gap to retraining: %+v", rep)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"original", "rl", "retrained", "|gap| to retrained", "MIA AUC", "average gap", "wrote " + cfg.Out} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
	// The output may not overwrite the source; a reference checkpoint works.
	cfg.Out = src
	if _, err := Run(context.Background(), &cfg, nil); err == nil || !strings.Contains(err.Error(), "never modified") {
		t.Errorf("--out = --model: %v", err)
	}
	cfg.Out, cfg.Reference = "", filepath.Join(dir, "out.ckpt")
	if rep, err = Run(context.Background(), &cfg, nil); err != nil || rep.Gap == nil || rep.Gap.TimeRatio != 0 {
		t.Errorf("--reference CKPT: %v (gap %+v)", err, rep)
	}
}

func TestRunBadInput(t *testing.T) {
	net, tr, te := fixture(t)
	small, _ := nn.New(nn.MLP([]int{4}, []int{3}, 3), 1)
	for _, c := range []struct {
		mut  func(c *Config)
		want string
	}{
		{func(c *Config) { c.Net = small }, "does not match the data"},
		{func(c *Config) { c.Method = "forget-all" }, "unknown unlearning method"},
		{func(c *Config) { c.Forget = "random:1.5" }, "selects nothing or everything"},
		{func(c *Config) { c.Test = tr }, "overlaps the test split"},
		{func(c *Config) { c.Batch = 0 }, "--batch"},
		{func(c *Config) { c.Reference = "/nonexistent.ckpt" }, "--reference"},
		{func(c *Config) { c.Net, c.Model, c.Train = nil, "/nonexistent.ckpt", nil }, "nonexistent.ckpt"},
	} {
		cfg := DefaultConfig()
		cfg.Net, cfg.Train, cfg.Test, cfg.Epochs, cfg.RetrainEpochs = net, tr, te, 1, 1
		c.mut(&cfg)
		if _, err := Run(context.Background(), &cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one with %q", err, c.want)
		}
	}
}

func TestReproShardMerge(t *testing.T) {
	_, tr, te := fixture(t)
	cfg := DefaultReproConfig()
	cfg.Train, cfg.Test, cfg.TrainN, cfg.Seeds, cfg.Forget = tr.Head(300), te.Head(200), 300, 2, []string{"random:0.2"}
	cfg.Methods, cfg.RetrainEpochs, cfg.Epochs, cfg.Batch, cfg.Arch, cfg.CLUSeeds = []string{"ft", "sfr-on"}, 2, 1, 32, "mlp", 0
	ctx := context.Background()
	whole, err := Repro(ctx, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Runs) != 2*4 || len(whole.Rows) != 4 {
		t.Fatalf("%d runs, %d rows; want 8 (original, retrain, ft, sfr-on × 2 seeds) and 4", len(whole.Runs), len(whole.Rows))
	}
	dir := t.TempDir()
	var files []string
	for i := range 2 {
		c := cfg
		c.Shard, c.Out = shard.Spec{Index: i, Count: 2}, filepath.Join(dir, "u"+string(rune('0'+i))+".json")
		if _, err := Repro(ctx, &c, nil); err != nil {
			t.Fatal(err)
		}
		files = append(files, c.Out)
	}
	merged, err := Repro(ctx, &ReproConfig{From: files}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range whole.Rows {
		m := merged.Rows[i]
		if !m.MIAEntropy.Measured() || !m.GapMIAEntropy.Measured() || !m.AvgGap.Measured() || !m.RetainAcc.Measured() || !m.GapR.Measured() {
			t.Errorf("row %d (%s): a metric was not summarised: %+v", i, m.Method, m)
		}
		if r.Method != m.Method || !slices.Equal(r.ForgetAcc.Values, m.ForgetAcc.Values) || !slices.Equal(r.MIA.Values, m.MIA.Values) || !slices.Equal(r.GapT.Values, m.GapT.Values) {
			t.Errorf("row %d: merged %+v, unsharded %+v", i, m, r)
		}
	}
	var buf bytes.Buffer
	if err := merged.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"forget random:0.2", "retrain", "sfr-on", "|gap| MIA", "not public in text form", "smallest avg gap"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	if _, err := Repro(ctx, &ReproConfig{From: files[:1]}, nil); err == nil {
		t.Errorf("merging one of two shards succeeded")
	}
	bad := cfg
	bad.Forget = []string{"class:3"}
	bad.Train = tr.Head(300).Subset([]int{0, 1}) // no class 3: the run fails, the table says so
	bad.TrainN = 0
	res, err := Repro(ctx, &bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 2 || res.WriteText(&bytes.Buffer{}) == nil {
		t.Errorf("failed runs: %v; WriteText must return an error", res.Failed)
	}
}

func TestCLU(t *testing.T) {
	_, tr, te := fixture(t)
	for _, m := range CLUMethods {
		cfg := DefaultCLUConfig()
		cfg.Method, cfg.Train, cfg.Test, cfg.Buffer = m, tr, te, 200
		cfg.Requests = []string{"learn:0,1,2", "learn:3,4", "unlearn:class:1", "unlearn:random:0.2", "learn:5,6"}
		cfg.SFR.Iters = 30
		res, err := CLU(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Steps) != 5 {
			t.Fatalf("%d steps", len(res.Steps))
		}
		u := res.Steps[2]
		if u.ForgetTest == nil || *u.ForgetTest > 0.2 || u.MIA == nil || u.Kept < 0.35 {
			t.Errorf("%s after unlearning class 1: %+v; want its test accuracy ≤ 20%%, kept ≥ 35%% (chance 25%%)", m, u)
		}
		var buf bytes.Buffer
		if err := res.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "unlearn:class:1") {
			t.Errorf("%v\n%s", err, buf.String())
		}
	}
	cfg := DefaultCLUConfig()
	cfg.Train, cfg.Test, cfg.Requests = tr, te, []string{"learn:0,1", "unlearn:task:2"}
	if _, err := CLU(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "only 1 tasks") {
		t.Errorf("unlearning an unlearned task: %v", err)
	}
	cfg.Requests = []string{"learn:0,11"}
	if _, err := CLU(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "outside [0, 10)") {
		t.Errorf("class 11: %v", err)
	}
}

func TestParseCLURequest(t *testing.T) {
	for _, c := range []struct {
		in  string
		ok  bool
		cls []int
	}{
		{"learn:0,1", true, []int{0, 1}}, {"unlearn:class:3", true, nil}, {"unlearn:task:2", true, nil},
		{"unlearn:random:0.1", true, nil}, {"learn:1,1", false, nil}, {"learn:", false, nil},
		{"unlearn:task:0", false, nil}, {"unlearn:random:1", false, nil}, {"forget:1", false, nil}, {"unlearn:sample:1", false, nil},
	} {
		r, err := ParseCLURequest(c.in)
		if (err == nil) != c.ok || (c.ok && !slices.Equal(r.Classes, c.cls)) {
			t.Errorf("ParseCLURequest(%q) = %+v, %v", c.in, r, err)
		}
	}
}

func FuzzParseForget(f *testing.F) {
	for _, s := range []string{"class:3", "random:0.1", "subclass:6:dark", "class:Shirt", "random:1e-9", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseForget(s)
		if err != nil {
			if !errors.Is(err, ErrForget) {
				t.Fatalf("error %v does not match ErrForget", err)
			}
			return
		}
		if spec.Kind == KindRandom && !(spec.Fraction > 0 && spec.Fraction < 1) {
			t.Fatalf("%q accepted with fraction %v", s, spec.Fraction)
		}
	})
}

func FuzzParseCLURequest(f *testing.F) {
	for _, s := range []string{"learn:0,1", "unlearn:class:3", "unlearn:task:2", "unlearn:random:0.5", "learn:-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseCLURequest(s)
		if err != nil {
			return
		}
		if r.Learn && len(r.Classes) == 0 {
			t.Fatalf("%q: a learn request without classes", s)
		}
		for _, c := range r.Classes {
			if c < 0 {
				t.Fatalf("%q: class %d", s, c)
			}
		}
	})
}

// FuzzReproFile feeds arbitrary bytes to the merge of run files
// (repro unlearn --from): an error or a table, never a panic.
func FuzzReproFile(f *testing.F) {
	f.Add([]byte(`{"setup":"s","shard":"0/1","runs":[{"forget":"class:3","seed":1,"method":"ft","metrics":{"forget_acc":0.5},"gap":{}}]}`))
	f.Add([]byte(`{"setup":"s","shard":"1/0","runs":[]}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "runs.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := mergeRepro([]string{p})
		if err == nil {
			_ = res.WriteText(&bytes.Buffer{})
		}
	})
}
