package robust

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/shard"
)

func TestSummarize(t *testing.T) {
	r := &Report{Budget: 100, Checkpoints: []int{10, 100}, Pairs: []Pair{{Samples: []Sample{
		{Index: 0, CleanCorrect: true, FooledAt: 5},   // fooled early
		{Index: 1, CleanCorrect: true, FooledAt: 50},  // fooled late
		{Index: 2, CleanCorrect: true, FooledAt: -1},  // robust
		{Index: 3, CleanCorrect: false, FooledAt: 1},  // misclassified when clean
		{Index: 4, CleanCorrect: true, Failed: "NaN"}, // left out
	}}}}
	r.Summarize()
	s := r.Pairs[0].Summary
	want := PairSummary{N: 4, Failed: 1, CleanAccuracy: 0.75, RobustAccuracy: []float64{0.5, 0.25}, MeanQueries: 27.5, MedianQueries: 27.5, Successes: 2}
	if s.N != want.N || s.Failed != want.Failed || s.CleanAccuracy != want.CleanAccuracy || s.MeanQueries != want.MeanQueries ||
		s.MedianQueries != want.MedianQueries || s.Successes != want.Successes ||
		s.RobustAccuracy[0] != want.RobustAccuracy[0] || s.RobustAccuracy[1] != want.RobustAccuracy[1] {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	if c := r.Pairs[0].Curve([]int{1, 5, 49, 50, 100}); c[0] != 0.75 || c[1] != 0.5 || c[2] != 0.5 || c[3] != 0.25 || c[4] != 0.25 {
		t.Errorf("curve %v", c)
	}
}

// tiny returns an untrained CNN and a few images in [0, 1] with the labels
// it predicts, so that every sample starts correctly classified.
func tiny(t *testing.T, n int) (*nn.Network, []float32, []int) {
	t.Helper()
	net, err := nn.New(nn.CNN([]int{1, 8, 8}, 3, nn.CNNOptions{Width: 2, Hidden: 8}), 3)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n*64)
	for i := range x {
		x[i] = r.Float32()
	}
	logits := make([]float32, n*3)
	if err := net.Logits(context.Background(), logits, x); err != nil {
		t.Fatal(err)
	}
	y := make([]int, n)
	for i := range y {
		row := logits[i*3 : i*3+3]
		for j := range row {
			if row[j] > row[y[i]] {
				y[i] = j
			}
		}
	}
	return net, x, y
}

func TestRunShardsAndMerge(t *testing.T) {
	net, x, y := tiny(t, 12)
	cfg := named(t, []string{"square"}, []string{"none", "aaa-linear"}, nil)
	cfg.Norm, cfg.Eps, cfg.Budget, cfg.Checkpoints, cfg.Seed = attack.LInf, 0.3, 40, []int{10, 40}, 7
	ctx := context.Background()
	var shards []*Report
	for s := 0; s < 2; s++ {
		cfg.Shard = shard.Spec{Index: s, Count: 2}
		r, err := Run(ctx, net, x, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Pairs) != 2 || len(r.Pairs[0].Samples) != 6 {
			t.Fatalf("shard %d: %d pairs, %d samples", s, len(r.Pairs), len(r.Pairs[0].Samples))
		}
		for _, smp := range r.Pairs[0].Samples {
			if smp.Index%2 != s {
				t.Errorf("shard %d holds sample %d", s, smp.Index)
			}
			if smp.Queries > cfg.Budget {
				t.Errorf("sample %d used %d queries, budget %d", smp.Index, smp.Queries, cfg.Budget)
			}
		}
		shards = append(shards, r)
	}
	// The same shard twice gives the same report: seeds are per pair and shard.
	again, err := Run(ctx, net, x, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range again.Pairs[1].Samples {
		if !reflect.DeepEqual(s, shards[1].Pairs[1].Samples[i]) {
			t.Fatalf("rerun differs at sample %d: %+v vs %+v", i, s, shards[1].Pairs[1].Samples[i])
		}
	}
	m, err := Merge(shards...)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pairs[0].Samples) != 12 || len(m.Clean[0].Samples) != 12 || len(m.Shards) != 2 {
		t.Fatalf("merged %d samples, %d clean, shards %v", len(m.Pairs[0].Samples), len(m.Clean[0].Samples), m.Shards)
	}
	for i, s := range m.Pairs[0].Samples {
		if s.Index != i {
			t.Fatalf("merged samples out of order at %d", i)
		}
	}
	// The merged summary is the summary of the union.
	var fooled10 int
	for _, s := range m.Pairs[0].Samples {
		if s.CleanCorrect && s.FooledAt >= 0 && s.FooledAt <= 10 {
			fooled10++
		}
	}
	want := m.Pairs[0].Summary.CleanAccuracy - float64(fooled10)/12
	if got := m.Pairs[0].Summary.RobustAccuracy[0]; math.Abs(got-want) > 1e-12 {
		t.Errorf("merged robust@10 %v, want %v", got, want)
	}
	// AAA keeps every prediction, so clean accuracy is unchanged.
	if m.Clean[0].Summary.Accuracy != m.Clean[1].Summary.Accuracy {
		t.Errorf("clean accuracy none %v, aaa %v", m.Clean[0].Summary.Accuracy, m.Clean[1].Summary.Accuracy)
	}
	for name, reps := range map[string][]*Report{
		"a shard twice":   {shards[0], shards[0]},
		"a missing shard": {shards[1]},
	} {
		if _, err := Merge(reps...); !errors.Is(err, shard.ErrSpec) {
			t.Errorf("merging %s: err %v, want shard.ErrSpec", name, err)
		}
	}
	stray := *shards[1]
	stray.Pairs = append([]Pair(nil), stray.Pairs...)
	stray.Pairs[0].Samples = append([]Sample{{Index: 2}}, stray.Pairs[0].Samples[1:]...)
	if _, err := Merge(shards[0], &stray); err == nil || !strings.Contains(err.Error(), "not in its shards") {
		t.Errorf("merging a report with a sample of another shard: err %v", err)
	}
	other := *shards[1]
	other.Budget = 41
	if _, err := Merge(shards[0], &other); err == nil {
		t.Error("merging reports with different budgets succeeded")
	}
	dir := t.TempDir()
	files, err := m.WritePlots(dir)
	if err != nil || len(files) != 3 {
		t.Fatalf("plots %v, %v", files, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "robust-square.png")); err != nil {
		t.Error(err)
	}
}

// named builds a Config from names or fails the test.
func named(t *testing.T, attacks, defenses []string, params map[string]map[string]float64) Config {
	t.Helper()
	cfg, err := NamedConfig(attacks, defenses, params)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestConfigErrors(t *testing.T) {
	net, x, y := tiny(t, 2)
	base := named(t, []string{"square"}, []string{"none"}, nil)
	base.Eps, base.Budget = 0.1, 10
	cases := map[string]func(*Config){
		"no attacks":  func(c *Config) { c.Attacks = nil },
		"nil attack":  func(c *Config) { c.Attacks = []attack.Attack{nil} },
		"nil factory": func(c *Config) { c.Defenses = []Defense{{Name: "x"}} },
		"failing defense": func(c *Config) {
			c.Defenses = []Defense{{Name: "x", New: func(uint64) (defense.Defense, error) { return nil, errors.New("no") }}}
		},
		"zero budget": func(c *Config) { c.Budget = 0 },
		"eps":         func(c *Config) { c.Eps = 2 },
		"checkpoint":  func(c *Config) { c.Checkpoints = []int{11} },
		"shard":       func(c *Config) { c.Shard = shard.Spec{Index: 3, Count: 2} },
	}
	for name, mod := range cases {
		cfg := base
		mod(&cfg)
		if _, err := Run(context.Background(), net, x, y, cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
	if _, err := Run(context.Background(), net, x[:10], y, base); err == nil {
		t.Error("ragged input accepted")
	}
}

func TestNamedConfig(t *testing.T) {
	for _, c := range []struct {
		name              string
		attacks, defenses []string
		params            map[string]map[string]float64
		unknown           error
		msg               string
	}{
		{"unknown attack", []string{"magic"}, []string{"none"}, nil, attack.ErrUnknown, "known: apgd-ce"},
		{"unknown defense", []string{"square"}, []string{"shield"}, nil, defense.ErrUnknown, "known: aaa-linear"},
		{"bad knob", []string{"square"}, []string{"none"}, map[string]map[string]float64{"none": {"x": 1}}, nil, "unknown parameter"},
		{"params of another", []string{"square"}, []string{"none"}, map[string]map[string]float64{"rnd": {"sigma": 1}}, ErrConfig, "not evaluated"},
	} {
		_, err := NamedConfig(c.attacks, c.defenses, c.params)
		if err == nil || !strings.Contains(err.Error(), c.msg) || (c.unknown != nil && !errors.Is(err, c.unknown)) {
			t.Errorf("%s: err %v, want one matching %v with %q", c.name, err, c.unknown, c.msg)
		}
	}
	cfg := named(t, []string{"square", "simba"}, []string{"none", "aaa-linear"}, map[string]map[string]float64{"aaa-linear": {"temperature": 2}})
	if len(cfg.Attacks) != 2 || cfg.Attacks[1].Name() != "simba" || len(cfg.Defenses) != 2 ||
		cfg.Defenses[0].TuneTemperature || cfg.Defenses[1].TuneTemperature { // none has no temperature; aaa-linear's is fixed
		t.Errorf("NamedConfig: %+v", cfg)
	}
}

// TestValues runs configured attack and defense values: the attack's own
// settings are used (and not modified), and a defense factory is called
// with the pair's seed.
func TestValues(t *testing.T) {
	net, x, y := tiny(t, 4)
	sq := attack.NewSquare()
	sq.Eps, sq.PInit = 0.25, 0.2
	var seeds []uint64
	cfg := Config{
		Attacks: []attack.Attack{sq},
		Defenses: []Defense{{Name: "noise", New: func(seed uint64) (defense.Defense, error) {
			seeds = append(seeds, seed)
			return defense.New("outrnd", defense.Options{Seed: seed})
		}}},
		Budget: 20, Seed: 5,
	}
	r, err := Run(context.Background(), net, x, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Pairs[0]; p.Attack != "square" || p.Defense != "noise" || p.Threat.Eps != 0.25 || len(p.Samples) != 4 {
		t.Errorf("pair %s/%s eps %v, %d samples", p.Attack, p.Defense, p.Threat.Eps, len(p.Samples))
	}
	if sq.Eps != 0.25 || sq.PInit != 0.2 {
		t.Errorf("Run modified the attack: %+v", sq)
	}
	// Check, clean pass, pair: three instances, the last two seeded apart.
	if len(seeds) != 3 || seeds[1] == seeds[2] {
		t.Errorf("factory seeds %v", seeds)
	}
	// Config's threat model replaces the attack's when Eps is set.
	cfg.Eps, cfg.Norm = 0.05, attack.LInf
	r2, err := Run(context.Background(), net, x, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Pairs[0].Threat.Eps != 0.05 || sq.Eps != 0.25 {
		t.Errorf("threat eps %v, attack eps %v", r2.Pairs[0].Threat.Eps, sq.Eps)
	}
}

// flaky fails every call whose batch holds an input starting with the
// sentinel value, as a remote model failing on some requests would.
type flaky struct{ *nn.Network }

const sentinel = 0.123

func (f flaky) Logits(ctx context.Context, dst, x []float32) error {
	size := 64
	for i := 0; i < len(x); i += size {
		if x[i] == sentinel {
			return errors.New("upstream returned 500")
		}
	}
	return f.Network.Logits(ctx, dst, x)
}

func TestFailingModelRecordsFailedSamples(t *testing.T) {
	net, x, y := tiny(t, 8)
	x[3*64] = sentinel
	cfg := named(t, []string{"square"}, []string{"none"}, nil)
	cfg.Norm, cfg.Eps, cfg.Budget = attack.LInf, 0.2, 20
	r, err := Run(context.Background(), flaky{net}, x, y, cfg)
	if err != nil {
		t.Fatalf("a failing model stopped the evaluation: %v", err)
	}
	if r.Clean[0].Summary.Failed == 0 || r.Pairs[0].Summary.Failed == 0 {
		t.Fatalf("no failed samples recorded: clean %d, attack %d", r.Clean[0].Summary.Failed, r.Pairs[0].Summary.Failed)
	}
	if s := r.Pairs[0].Samples[3]; s.Failed == "" {
		t.Errorf("sample 3 (the failing one) not marked failed: %+v", s)
	}
	if r.Pairs[0].Summary.N+r.Pairs[0].Summary.Failed != 8 {
		t.Errorf("summary counts %d + %d failed, want 8", r.Pairs[0].Summary.N, r.Pairs[0].Summary.Failed)
	}
}

// TestRunDataset checks the evaluated and calibration samples RunDataset
// takes from a data set, and its errors.
func TestRunDataset(t *testing.T) {
	net, x, y := tiny(t, 110)
	d := &data.Dataset{Name: "tiny", Shape: []int{1, 8, 8}, X: x, Y: y, Classes: []string{"a", "b", "c"}}
	cfg := named(t, []string{"square"}, []string{"none", "aaa-linear"}, nil)
	cfg.Norm, cfg.Eps, cfg.Budget = attack.LInf, 0.1, 4
	ctx := context.Background()
	rep, err := RunDataset(ctx, net, d, 5, 200, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.N != 5 || rep.Calibration["aaa-linear"].ECEs == nil {
		t.Errorf("evaluated %d samples, calibration %+v: want 5 and a temperature search on the other 105", rep.N, rep.Calibration)
	}
	if rep, err = RunDataset(ctx, net, d, 0, 0, cfg); err != nil || rep.N != 110 || rep.Calibration != nil {
		t.Errorf("n 0, no calibration: %v, %d samples, calibration %v", err, rep.N, rep.Calibration)
	}
	for _, c := range []struct {
		name         string
		d            *data.Dataset
		n, calibrate int
		msg          string
	}{
		{"too few left to calibrate", d, 20, 200, "only 90 samples of tiny are left"},
		{"negative n", d, -1, 0, "must be ≥ 0"},
		{"shape", &data.Dataset{Name: "flat", Shape: []int{64}, X: x, Y: y, Classes: d.Classes}, 5, 0, "does not fit the model"},
		{"no labels", &data.Dataset{Name: "unlabelled", Shape: d.Shape, X: x}, 5, 0, "does not fit the model"},
	} {
		if _, err := RunDataset(ctx, net, c.d, c.n, c.calibrate, cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want ErrConfig with %q", c.name, err, c.msg)
		}
	}
	// "all" expands to the score-based attacks and every defense, none first.
	all := named(t, []string{"all"}, []string{"all"}, nil)
	score := slices.DeleteFunc(attack.Names(), attack.WhiteBox)
	if len(all.Attacks) != len(score) || len(score) == len(attack.Names()) || all.Defenses[0].Name != "none" || len(all.Defenses) != len(defense.Names()) {
		t.Errorf("all: %d attacks, %d defenses", len(all.Attacks), len(all.Defenses))
	}
}
