package robust

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/defense"
)

func yes() *bool { v := true; return &v }
func no() *bool  { v := false; return &v }

// TestSummarizeHonest checks the quantities a report gives when samples
// fail: accuracies over the completed samples, bounds over all of them
// that use what the failed samples showed before failing, n/a (N = 0) when
// none completed, queries within every checkpoint and the undefended
// model's accuracy on the final adversarial images.
func TestSummarizeHonest(t *testing.T) {
	cases := []struct {
		name    string
		samples []Sample
		want    PairSummary
	}{{
		name: "failures",
		samples: []Sample{
			{Index: 0, CleanCorrect: true, FooledAt: 5, Queries: 5, AdvCorrect: no()},
			{Index: 1, CleanCorrect: true, FooledAt: 50, Queries: 50, AdvCorrect: no()},
			{Index: 2, CleanCorrect: true, FooledAt: -1, Queries: 100, AdvCorrect: yes()},
			{Index: 3, CleanCorrect: false, FooledAt: 1, Queries: 1, AdvCorrect: no()},
			{Index: 4, CleanCorrect: true, FooledAt: -1, Queries: 30, Failed: "500"}, // robust at 10, unknown at 100
			{Index: 5, CleanCorrect: false, FooledAt: -1, Queries: 1, Failed: "500"}, // clean query failed: unknown
		},
		want: PairSummary{N: 4, Failed: 2, CleanAccuracy: 0.75, RobustAccuracy: []float64{0.5, 0.25},
			RobustBounds: [][2]float64{{3.0 / 6, 4.0 / 6}, {1.0 / 6, 3.0 / 6}},
			MeanQueries:  27.5, MedianQueries: 27.5, Successes: 2,
			SuccessesAt: []int{1, 2}, MeanQueriesAt: []float64{5, 27.5}, MedianQueriesAt: []float64{5, 27.5},
			UndefendedAdvAccuracy: 0.25, UndefendedAdvN: 4},
	}, {
		name: "all failed",
		samples: []Sample{
			{Index: 0, CleanCorrect: true, FooledAt: -1, Queries: 3, Failed: "closed"},
			{Index: 1, CleanCorrect: false, FooledAt: -1, Queries: 1, Failed: "closed"},
		},
		want: PairSummary{N: 0, Failed: 2, RobustBounds: [][2]float64{{0, 1}, {0, 1}},
			SuccessesAt: []int{0, 0}, MeanQueriesAt: []float64{0, 0}, MedianQueriesAt: []float64{0, 0}},
	}, {
		name:    "none failed",
		samples: []Sample{{CleanCorrect: true, FooledAt: -1, Queries: 100}, {Index: 1, CleanCorrect: true, FooledAt: 20, Queries: 20}},
		want: PairSummary{N: 2, CleanAccuracy: 1, RobustAccuracy: []float64{1, 0.5}, RobustBounds: [][2]float64{{1, 1}, {0.5, 0.5}},
			MeanQueries: 20, MedianQueries: 20, Successes: 1,
			SuccessesAt: []int{0, 1}, MeanQueriesAt: []float64{0, 20}, MedianQueriesAt: []float64{0, 20}},
	}}
	for _, c := range cases {
		got := summarizePair(c.samples, []int{10, 100})
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

// TestWriteTextFailuresAndGuard: a pair where every sample failed prints
// n/a, never 0.00%, with the failed count and a FAILED note; a guard that
// reverts more than 1% of the clean rows is flagged, one at exactly 1% is
// not.
func TestWriteTextFailuresAndGuard(t *testing.T) {
	r := &Report{Model: "m", Data: "d", N: 2, Budget: 10, Checkpoints: []int{10}, Shards: []int{0}, NumShards: 1,
		Clean: []DefenseClean{
			{Defense: "aaa-sine", Samples: []Clean{{Index: 0, Failed: "500"}, {Index: 1, Failed: "500"}}, Guard: &defense.AAAStats{Rows: 500, Reverted: 6}},
			{Defense: "aaa-linear", Samples: []Clean{{Index: 0, Confidence: 0.9, Correct: true}, {Index: 1, Confidence: 0.9, Correct: true}}, Guard: &defense.AAAStats{Rows: 500, Reverted: 5}},
		},
		Pairs: []Pair{
			{Attack: "square", Defense: "aaa-sine", Samples: []Sample{{Index: 0, CleanCorrect: true, FooledAt: -1, Queries: 4, Failed: "500"}, {Index: 1, Failed: "500", FooledAt: -1, Queries: 1}}},
			{Attack: "square", Defense: "aaa-linear", Guard: &defense.AAAStats{Rows: 40, Reverted: 2}, Samples: []Sample{{Index: 0, CleanCorrect: true, FooledAt: -1, Queries: 10, AdvCorrect: yes()}, {Index: 1, CleanCorrect: true, FooledAt: 3, Queries: 3, AdvCorrect: no()}}},
		}}
	r.Calibration = map[string]defense.TemperatureResult{
		"aaa-linear": {Temperature: 0.9, ECE: 0.011, Undefended: 0.012, AtOrBelow: true},
		"aaa-sine":   {Temperature: 10, ECE: 0.05, Undefended: 0.012},
	}
	r.Summarize()
	if !r.Clean[0].Summary.Flagged || r.Clean[1].Summary.Flagged {
		t.Errorf("flags: 6/500 %v, 5/500 %v; want true, false", r.Clean[0].Summary.Flagged, r.Clean[1].Summary.Flagged)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"square  aaa-sine    n/a        n/a        -       -         n/a            n/a     n/a       6 !       2\n",
		"square  aaa-linear  100.00%    50.00%     3       3         50.00%         ",
		"0.000     5         0\n",
		"! aaa-sine: its argmax guard returned 6 of 500 clean rows (1.20%, more than 1%) undefended",
		"FAILED: square vs aaa-sine: 2 of 2 samples failed",
		"robust@10 lies in [0.00%, 100.00%]",
		"square  aaa-linear  3 / 3 (1)  2 of 40 rows\n", // one checkpoint, but a guard
		"aaa-linear: temperature 0.9 tuned on held-out images: defended ECE 1.10%, undefended 1.20%\n",
		"aaa-sine: temperature 10 tuned on held-out images: defended ECE 5.00%, undefended 1.20% (! no temperature",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "aaa-linear: its argmax guard") {
		t.Errorf("1%% of rows flagged:\n%s", out)
	}
	err := r.Failures()
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "2 of 2 samples failed") {
		t.Errorf("Failures() = %v", err)
	}
}

// TestRunReportsGuardAndUndefended: AAA's guard counts reach the report
// (clean rows and attack rows), other defenses have none, and against the
// undefended model the undefended accuracy on the final adversarial
// images equals robust accuracy at the full budget.
func TestRunReportsGuardAndUndefended(t *testing.T) {
	net, x, y := tiny(t, 10)
	cfg := named(t, []string{"square"}, []string{"none", "aaa-linear"}, nil)
	cfg.Norm, cfg.Eps, cfg.Budget, cfg.Checkpoints, cfg.Quantize = attack.LInf, 0.3, 30, []int{10, 30}, true
	r, err := Run(context.Background(), net, x, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Clean[0].Guard != nil || r.Pairs[0].Guard != nil {
		t.Errorf("none has guard counts %+v %+v", r.Clean[0].Guard, r.Pairs[0].Guard)
	}
	if g := r.Clean[1].Guard; g == nil || g.Rows != 10 {
		t.Errorf("aaa-linear clean guard %+v, want 10 rows", g)
	}
	if g := r.Pairs[1].Guard; g == nil || g.Rows < 10 {
		t.Errorf("aaa-linear attack guard %+v", g)
	}
	if r.Failures() != nil {
		t.Errorf("Failures() = %v", r.Failures())
	}
	s := r.Pairs[0].Summary
	if s.UndefendedAdvN != 10 || math.Abs(s.UndefendedAdvAccuracy-s.RobustAccuracy[1]) > 1e-12 {
		t.Errorf("undefended on adv %v over %d, robust@30 %v", s.UndefendedAdvAccuracy, s.UndefendedAdvN, s.RobustAccuracy[1])
	}
	m, err := Merge(r)
	if err != nil || !reflect.DeepEqual(m.Clean[1].Guard, r.Clean[1].Guard) {
		t.Errorf("merge lost the guard counts: %v", err)
	}
}

// TestAdaptiveLossThroughConfig: Config.Loss up turns square into
// up-square, named so in the report; LossDefault keeps each attack's own.
func TestAdaptiveLossThroughConfig(t *testing.T) {
	net, x, y := tiny(t, 4)
	for _, c := range []struct {
		attacks []string
		loss    attack.Loss
		want    []string
	}{
		{[]string{"square"}, attack.LossUp, []string{"up-square"}},
		{[]string{"square", "bi-square"}, attack.LossDefault, []string{"square", "bi-square"}},
	} {
		cfg := named(t, c.attacks, []string{"none"}, nil)
		cfg.Norm, cfg.Eps, cfg.Budget, cfg.Loss = attack.LInf, 0.2, 10, c.loss
		r, err := Run(context.Background(), net, x, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range r.Pairs {
			got = append(got, p.Attack)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("attacks %v loss %v: pairs %v, want %v", c.attacks, c.loss, got, c.want)
		}
	}
}

func TestAttackParams(t *testing.T) {
	ps, err := ParseNamedParams([]string{"square:p_init=0.3,n_iters=1e4", "aaa-linear:eps=1e-8"})
	if err != nil || ps["square"]["n_iters"] != 10000 || ps["aaa-linear"]["eps"] != 1e-8 {
		t.Fatalf("ParseNamedParams: %v %v", ps, err)
	}
	for _, bad := range [][]string{{"square"}, {":p=1"}, {"square:p_init=x"}, {"a:x=1", "a:y=2"}} {
		if _, err := ParseNamedParams(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseNamedParams(%q): err %v", bad, err)
		}
	}
	cfg := named(t, []string{"square", "nes"}, []string{"none"}, nil)
	orig := cfg.Attacks[0]
	if err := cfg.SetAttackParams(map[string]map[string]float64{"square": ps["square"]}); err != nil {
		t.Fatal(err)
	}
	if sq := cfg.Attacks[0].(*attack.Square); sq.PInit != 0.3 || sq.NIters != 10000 || orig.(*attack.Square).PInit != 0.05 {
		t.Errorf("square after params: %+v (original %+v)", sq, orig)
	}
	for _, bad := range []map[string]map[string]float64{
		{"square": {"p_inti": 0.3}},  // unknown key
		{"square": {"n_iters": 2.5}}, // not an integer
		{"simba": {"p_init": 0.3}},   // not evaluated
	} {
		if err := cfg.SetAttackParams(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("SetAttackParams(%v): err %v", bad, err)
		}
	}
}

// TestDefenseParamsReachAAA: --defense-param style parameters reach the
// AAA instances through NamedConfig (tau here; Adam's eps the same way
// once the defense declares it).
func TestDefenseParamsReachAAA(t *testing.T) {
	params := map[string]float64{"tau": 3}
	info, err := defense.Lookup("aaa-linear")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range info.Params {
		if p.Name == "eps" {
			params["eps"] = 1e-6
		}
	}
	cfg := named(t, []string{"square"}, []string{"aaa-linear"}, map[string]map[string]float64{"aaa-linear": params})
	d, err := cfg.Defenses[0].New(1)
	if err != nil {
		t.Fatal(err)
	}
	ac := d.(*defense.AAA).Config()
	if ac.Tau != 3 {
		t.Errorf("tau %v, want 3", ac.Tau)
	}
	if _, ok := params["eps"]; ok {
		b, _ := json.Marshal(ac)
		var m map[string]any
		found := false
		if json.Unmarshal(b, &m) == nil {
			for _, v := range m {
				found = found || v == 1e-6
			}
		}
		if !found {
			t.Errorf("eps=1e-6 did not reach the AAA config %s", b)
		}
	}
	if _, err := NamedConfig(nil, []string{"aaa-linear"}, map[string]map[string]float64{"aaa-linear": {"no_such": 1}}); err == nil {
		t.Error("an unknown AAA parameter was accepted")
	}
}
