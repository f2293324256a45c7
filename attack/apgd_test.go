package attack

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"

	"github.com/trustml/trustml/model"
	"testing"
)

// apgdGolden is testdata/apgd_golden.json, written by apgd_golden.py
// (PyTorch, following the official attack_single_run).
type apgdGolden struct {
	D, H, K int
	W1      []float32 `json:"w1"`
	B1      []float32 `json:"b1"`
	W2      []float32 `json:"w2"`
	B2      []float32 `json:"b2"`
	X       []float32 `json:"x"`
	Y       []int     `json:"y"`
	Cases   []struct {
		Norm       string      `json:"norm"`
		Eps        float64     `json:"eps"`
		Objective  string      `json:"objective"`
		Iters      int         `json:"iters"`
		Init       []float32   `json:"init"`
		Trajectory [][]float64 `json:"trajectory"`
		FooledAt   []int       `json:"fooled_at"`
		Reliable   []int       `json:"reliable"`
		LossBest   []float64   `json:"loss_best"`
		XBest      []float64   `json:"x_best"`
		Step       []float64   `json:"step"`
	} `json:"cases"`
}

// TestAPGDGolden runs APGD-CE, APGD-DLR and single-target APGD-T (L∞ and
// L2) from the golden starting points and compares, per sample, the
// objective after every iteration, the iteration that first fools the
// model, and for the samples never fooled the best objective and best
// point, with the PyTorch reference.
func TestAPGDGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/apgd_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g apgdGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	m := &mlpModel{shape: []int{g.D}, d: g.D, h: g.H, k: g.K, w1: g.W1, b1: g.B1, w2: g.W2, b2: g.B2}
	n := len(g.Y)
	if len(g.Cases) != 6 || n == 0 {
		t.Fatalf("golden file has %d cases and %d samples", len(g.Cases), n)
	}
	robust, fooled, compared := 0, 0, 0
	for _, c := range g.Cases {
		t.Run(c.Norm+"-"+c.Objective, func(t *testing.T) {
			a := NewAPGDCE()
			if c.Objective != "ce" {
				a = NewAPGDDLR()
			}
			if c.Objective == "dlr-t" {
				a.TargetClasses = 1
			}
			var err error
			if a.Norm, err = ParseNorm(c.Norm); err != nil {
				t.Fatal(err)
			}
			a.Eps, a.Iters, a.init = c.Eps, c.Iters, c.Init
			traj := make([][]float64, n)
			a.trace = func(i, it int, gain float64) {
				if it != len(traj[i]) {
					t.Fatalf("sample %d: iteration %d traced after %d", i, it, len(traj[i]))
				}
				traj[i] = append(traj[i], gain)
			}
			o, err := NewOracle(m, OracleOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := a.Run(context.Background(), o, g.X, g.Y, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				// Compare the evaluations up to the first near tie of the
				// reference (see apgd_golden.py) and before the fooling
				// one, after which this run stops.
				rel, f := c.Reliable[i], c.FooledAt[i]
				want := c.Trajectory[i][:rel]
				if f >= 0 && f < rel {
					want = c.Trajectory[i][:f]
				}
				if len(traj[i]) < len(want) {
					t.Fatalf("sample %d: %d evaluations, torch %d comparable ones", i, len(traj[i]), len(want))
				}
				compared += len(want)
				for it, w := range want {
					if math.Abs(traj[i][it]-w) > 1e-5*max(1, math.Abs(w)) {
						t.Fatalf("sample %d iteration %d: objective %.7g, torch %.7g", i, it, traj[i][it], w)
					}
				}
				switch {
				case f >= 0 && f < rel:
					fooled++
					// Query 1 is the clean one, query 2 the start.
					if !res.Success[i] || res.FooledAt[i] != f+2 {
						t.Errorf("sample %d: success %v at query %d, torch fooled it at evaluation %d (query %d)", i, res.Success[i], res.FooledAt[i], f, f+2)
					}
				case f < 0 && rel == c.Iters+1:
					robust++
					if res.Success[i] {
						t.Errorf("sample %d fooled at query %d; torch never fooled it", i, res.FooledAt[i])
					}
					if res.Queries[i] != c.Iters+2 {
						t.Errorf("sample %d: %d queries, want %d", i, res.Queries[i], c.Iters+2)
					}
					if math.Abs(-res.Loss[i]-c.LossBest[i]) > 1e-5*max(1, math.Abs(c.LossBest[i])) {
						t.Errorf("sample %d: best loss %.7g, torch %.7g", i, -res.Loss[i], c.LossBest[i])
					}
					for j := range g.D {
						if v, w := res.Adv[i*g.D+j], c.XBest[i*g.D+j]; math.Abs(float64(v)-w) > 1e-5 {
							t.Fatalf("sample %d: best point [%d] = %g, torch %g", i, j, v, w)
						}
					}
				}
			}
		})
	}
	t.Logf("compared %d evaluations, %d robust and %d fooled samples", compared, robust, fooled)
	// The comparison must cover most of the reference's work.
	if robust < 10 || fooled < 10 || compared < 400 {
		t.Errorf("golden cases compared %d evaluations, %d robust and %d fooled samples; want at least 400, 10 and 10", compared, robust, fooled)
	}
}

func TestAPGDFindsMoreThanPGD(t *testing.T) {
	m := newMLP(7, []int{16}, 12, 6)
	x, y := dataset(m, 40, 3, 0.3)
	run := func(a Attack) *Result {
		a.ThreatModel().Eps = 0.08
		o, err := NewOracle(m, OracleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(1)})
		if err != nil {
			t.Fatal(err)
		}
		checkFeasible(t, a.ThreatModel(), x, res)
		return res
	}
	pgd := run(NewPGD())
	for _, a := range []Attack{NewAPGDCE(), NewAPGDDLR(), NewAPGDT()} {
		res := run(a)
		if res.RobustAccuracy(0) > pgd.RobustAccuracy(0) {
			t.Errorf("%s: robust accuracy %.3f above 10-step PGD's %.3f", a.Name(), res.RobustAccuracy(0), pgd.RobustAccuracy(0))
		}
		if res.RobustAccuracy(0) == 1 {
			t.Errorf("%s fooled nothing", a.Name())
		}
	}
}

// checkFeasible requires every adversarial example to lie in the threat
// set around its input.
func checkFeasible(t *testing.T, th *Threat, x []float32, res *Result) {
	t.Helper()
	d := len(x) / res.N()
	for i := range res.N() {
		v, x0 := res.Adv[i*d:(i+1)*d], x[i*d:(i+1)*d]
		for j := range v {
			if v[j] < 0 || v[j] > 1 || th.Norm == LInf && math.Abs(float64(v[j])-float64(x0[j])) > th.Eps {
				t.Fatalf("sample %d: value %d = %g outside the threat set around %g", i, j, v[j], x0[j])
			}
		}
		if th.Norm == L2 && dist2(v, x0) > th.Eps {
			t.Fatalf("sample %d: L2 distance %g > %g", i, dist2(v, x0), th.Eps)
		}
	}
}

func TestAPGDErrors(t *testing.T) {
	m := newMLP(1, []int{4}, 5, 3)
	x, y := dataset(m, 3, 1, 0.1)
	cases := []struct {
		name string
		edit func(a *APGD)
		opts RunOptions
		want string
	}{
		{"iters", func(a *APGD) { a.Iters = 0 }, RunOptions{Rand: seeded(1)}, "iters 0"},
		{"restarts", func(a *APGD) { a.Restarts = 0 }, RunOptions{Rand: seeded(1)}, "restarts 0"},
		{"rho", func(a *APGD) { a.Rho = 1.5 }, RunOptions{Rand: seeded(1)}, "rho 1.5"},
		{"objective", func(a *APGD) { a.Objective = "hinge" }, RunOptions{Rand: seeded(1)}, `objective "hinge"`},
		{"loss", func(a *APGD) { a.Loss = LossMargin }, RunOptions{Rand: seeded(1)}, "loss margin not supported"},
		{"eps", func(a *APGD) { a.Eps = -1 }, RunOptions{Rand: seeded(1)}, "eps -1"},
		{"rand", func(a *APGD) {}, RunOptions{}, "Rand is nil"},
		{"targets", func(a *APGD) { a.TargetClasses = 2 }, RunOptions{Rand: seeded(1), Targets: []int{1, 1, 1}}, "chooses its own target"},
		{"dlr-t classes", func(a *APGD) { a.Objective = "dlr"; a.TargetClasses = 2 }, RunOptions{Rand: seeded(1)}, "at least 4 classes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := NewAPGDCE()
			c.edit(a)
			o, err := NewOracle(m, OracleOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Run(context.Background(), o, x, y, c.opts)
			if err == nil || !contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
	o, err := NewOracle(scoresOnly{m}, OracleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewAPGDCE().Run(context.Background(), o, x, y, RunOptions{Rand: seeded(1)}); !errors.Is(err, ErrNotDifferentiable) {
		t.Fatalf("black-box model: error %v, want ErrNotDifferentiable", err)
	}
}

// TestAPGDBudget: a sample stops when its budget is spent, and the
// queries are the clean one plus one per gradient evaluation.
func TestAPGDBudget(t *testing.T) {
	m := &constModel{shape: []int{4}, z: []float32{3, 0, 0, 0}}
	x := []float32{0.5, 0.5, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2}
	y := []int{0, 0}
	for _, c := range []struct {
		a      *APGD
		budget int
		want   int
	}{
		{NewAPGDCE(), 0, 1 + 101},
		{NewAPGDCE(), 30, 30},
		{NewAPGDT(), 0, 1 + 3*101}, // K−1 = 3 targets
		{&APGD{Threat: Threat{Norm: L2, Eps: 0.5}, Objective: "dlr", Iters: 10, Restarts: 3, Rho: 0.75}, 0, 1 + 3*11},
	} {
		o, err := NewOracle(m, OracleOptions{Budget: c.budget})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(2)})
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range res.Queries {
			if q != c.want || res.Success[i] || res.Failed[i] != nil {
				t.Errorf("%s budget %d: sample %d used %d queries (success %v, failed %v), want %d", c.a.Name(), c.budget, i, q, res.Success[i], res.Failed[i], c.want)
			}
		}
	}
}

// scoresOnly hides a model's gradients: a black box.
type scoresOnly struct{ model.Classifier }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
