package attack

import (
	"context"
	"errors"
	"testing"
)

// TestAutoAttackWorstCase: the ensemble's first component is APGD-CE run
// with the same randomness, so every sample APGD-CE alone fools is fooled
// (by it) in the ensemble, and the later components only add to it; By
// and ByCounts account for every fooled, correctly classified sample.
func TestAutoAttackWorstCase(t *testing.T) {
	m := newMLP(5, []int{1, 6, 6}, 10, 5)
	x, y := dataset(m, 40, 9, 0.5)
	const eps = 0.1
	run := func(a Attack) (*Result, *Oracle) {
		a.ThreatModel().Eps = eps
		o, err := NewOracle(m, OracleOptions{Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(4)})
		if err != nil {
			t.Fatal(err)
		}
		checkFeasible(t, a.ThreatModel(), x, res)
		return res, o
	}
	apgd := NewAPGDCE()
	apgd.Iters = 2
	ce, _ := run(apgd)
	aa := NewAutoAttack()
	aa.Iters, aa.SquareQueries = 2, 200
	ens, o := run(aa)
	if ce.By != nil {
		t.Errorf("single attack has By %v", ce.By)
	}
	fooled := 0
	for i := range y {
		if ce.Success[i] && ce.CleanCorrect[i] && (ens.By[i] != "apgd-ce" || ens.FooledAt[i] != ce.FooledAt[i]) {
			t.Errorf("sample %d: fooled by APGD-CE alone at query %d; in the ensemble by %q at %d", i, ce.FooledAt[i], ens.By[i], ens.FooledAt[i])
		}
		if ens.Success[i] && ens.CleanCorrect[i] {
			fooled++
			if ens.By[i] == "" {
				t.Errorf("sample %d fooled by no component", i)
			}
		} else if ens.By[i] != "" {
			t.Errorf("sample %d not fooled but By = %q", i, ens.By[i])
		}
		if ens.Queries[i] != o.Count(i) {
			t.Errorf("sample %d: %d queries in the result, %d counted by the oracle", i, ens.Queries[i], o.Count(i))
		}
		if ens.Success[i] && (ens.FooledAt[i] < 1 || ens.FooledAt[i] > ens.Queries[i]) {
			t.Errorf("sample %d fooled at query %d of %d", i, ens.FooledAt[i], ens.Queries[i])
		}
	}
	counts, names := ens.ByCounts()
	t.Logf("fooled by %v; robust accuracy: ensemble %.3f, APGD-CE %.3f", counts, ens.RobustAccuracy(0), ce.RobustAccuracy(0))
	total := 0
	for _, c := range counts {
		total += c
	}
	// Two-iteration APGD leaves work for the later components.
	if len(counts) < 2 || ens.RobustAccuracy(0) >= ce.RobustAccuracy(0) {
		t.Errorf("later components fooled nothing: %v", counts)
	}
	if total != fooled || len(names) != len(counts) {
		t.Errorf("ByCounts %v (%v) sum to %d, %d samples fooled", counts, names, total, fooled)
	}
	if ens.RobustAccuracy(0) > ce.RobustAccuracy(0) || fooled == 0 || ens.RobustAccuracy(0) == 0 {
		t.Errorf("robust accuracy: ensemble %.3f, APGD-CE %.3f, %d fooled", ens.RobustAccuracy(0), ce.RobustAccuracy(0), fooled)
	}
	// The trace numbers every sample's queries 1, 2, … across components.
	next := make([]int, len(y))
	for _, e := range o.Trace() {
		next[e.Sample]++
		if e.Query != next[e.Sample] {
			t.Fatalf("trace: sample %d query %d, want %d", e.Sample, e.Query, next[e.Sample])
		}
	}
}

// TestAutoAttackQueries: on a model that is never fooled every component
// spends its whole allowance, and the oracle's budget is shared in order.
func TestAutoAttackQueries(t *testing.T) {
	m := &constModel{shape: []int{1, 4, 4}, z: []float32{3, 0, 0, 0}}
	x := make([]float32, 2*16)
	for j := range x {
		x[j] = float32(j%7) / 7
	}
	y := []int{0, 0}
	for _, c := range []struct{ budget, want int }{
		{0, (1 + 11) + (1 + 3*11) + (1 + 50)}, // K−1 = 3 targets
		{30, 30},                              // APGD-T stops at the budget; Square is skipped
		{46, 46},
		{47, 46}, // room for Square's clean query only: skipped
		{60, 60},
		{70, 70}, // Square gets what is left
		{2000, 97},
	} {
		a := NewAutoAttack()
		a.Iters, a.SquareQueries = 10, 50
		o, err := NewOracle(m, OracleOptions{Budget: c.budget})
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(1)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range y {
			if res.Queries[i] != c.want || o.Count(i) != c.want || res.Success[i] || res.Failed[i] != nil {
				t.Errorf("budget %d: sample %d used %d queries (oracle %d, success %v, failed %v), want %d",
					c.budget, i, res.Queries[i], o.Count(i), res.Success[i], res.Failed[i], c.want)
			}
		}
	}
}

func TestAutoAttackErrors(t *testing.T) {
	m := newMLP(1, []int{1, 4, 4}, 5, 4)
	x, y := dataset(m, 2, 1, 0.1)
	for _, c := range []struct {
		name string
		edit func(a *AutoAttack)
		opts RunOptions
		want string
	}{
		{"targets", func(a *AutoAttack) {}, RunOptions{Rand: seeded(1), Targets: []int{1, 1}}, "untargeted only"},
		{"rand", func(a *AutoAttack) {}, RunOptions{}, "Rand is nil"},
		{"none", func(a *AutoAttack) { a.Components = nil }, RunOptions{Rand: seeded(1)}, "no components"},
		{"unknown", func(a *AutoAttack) { a.Components = []string{"fab"} }, RunOptions{Rand: seeded(1)}, `unknown attack "fab"`},
		{"nested", func(a *AutoAttack) { a.Components = []string{"autoattack"} }, RunOptions{Rand: seeded(1)}, "nest"},
		{"iters", func(a *AutoAttack) { a.Iters = 0 }, RunOptions{Rand: seeded(1)}, "iters 0"},
		{"loss", func(a *AutoAttack) { a.Loss = LossCE }, RunOptions{Rand: seeded(1)}, "loss ce"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := NewAutoAttack()
			c.edit(a)
			o, err := NewOracle(m, OracleOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Run(context.Background(), o, x, y, c.opts); err == nil || !contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
	o, err := NewOracle(scoresOnly{m}, OracleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sq := NewAutoAttack()
	sq.Components = []string{"square", "apgd-ce"}
	if _, err := sq.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(1)}); !errors.Is(err, ErrNotDifferentiable) || o.Total() != 0 {
		t.Fatalf("black-box model: error %v after %d queries, want ErrNotDifferentiable before any", err, o.Total())
	}
}

func TestWhiteBoxNames(t *testing.T) {
	for _, name := range Names() {
		a, err := New(name)
		if err != nil {
			t.Fatal(err)
		}
		m := &constModel{shape: []int{1, 4, 4}, z: []float32{3, 0, 0, 0}}
		o, err := NewOracle(scoresOnly{m}, OracleOptions{Budget: 20})
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 16)
		_, err = a.Run(context.Background(), o, x, []int{0}, RunOptions{Rand: seeded(1)})
		if got := errors.Is(err, ErrNotDifferentiable); got != WhiteBox(name) {
			t.Errorf("%s: WhiteBox %v, but Run on a black box returned %v", name, WhiteBox(name), err)
		}
	}
}

// TestAutoAttackProgress: progress counts over the whole ensemble, so the
// last report agrees with the result.
func TestAutoAttackProgress(t *testing.T) {
	m := newMLP(5, []int{1, 6, 6}, 10, 5)
	x, y := dataset(m, 20, 9, 0.5)
	a := NewAutoAttack()
	a.Eps, a.Iters, a.SquareQueries = 0.1, 2, 30
	o, err := NewOracle(m, OracleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var last Progress
	res, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(4), Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	fooled := 0
	for _, s := range res.Success {
		if s {
			fooled++
		}
	}
	if last.Attack != "autoattack/square" || last.N != len(y) || last.Fooled != fooled || last.Queries != o.Total() {
		t.Errorf("last progress %+v; result: %d fooled, %d queries", last, fooled, o.Total())
	}
}

// TestAutoAttackFewClasses: APGD-T becomes APGD-DLR with 3 classes, and
// the DLR components are left out with 2.
func TestAutoAttackFewClasses(t *testing.T) {
	for _, k := range []int{2, 3} {
		m := newMLP(2, []int{1, 6, 6}, 10, k)
		x, y := dataset(m, 30, 3, 0.2)
		a := NewAutoAttack()
		a.Eps, a.Iters, a.SquareQueries = 0.2, 3, 20
		a.Components = []string{"apgd-t", "apgd-dlr", "apgd-ce"}
		o, err := NewOracle(m, OracleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(3)})
		if err != nil {
			t.Fatalf("%d classes: %v", k, err)
		}
		counts, _ := res.ByCounts()
		if counts["apgd-t"] != 0 || k == 2 && counts["apgd-dlr"] != 0 || k == 3 && counts["apgd-dlr"] == 0 {
			t.Errorf("%d classes: fooled by %v", k, counts)
		}
	}
}
