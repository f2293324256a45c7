package attack

import (
	"context"
	"testing"
)

// TestSquareAdaptiveRule checks the acceptance rules of robustness.md §1.3
// on a sample whose current margin is 5: up accepts increases and drops by
// more than 3; bi accepts decreases until a jump of more than 3 switches it
// to the up rule.
func TestSquareAdaptiveRule(t *testing.T) {
	type step struct {
		l      float64
		accept bool
	}
	cases := []struct {
		rule  Loss
		steps []step
	}{
		{LossMargin, []step{{4.9, true}, {5, false}, {9, false}, {1, true}}},
		{LossUp, []step{{5.1, true}, {5.1, false}, {2.2, false}, {2.0, true}, {1.5, false}, {9, true}}},
		{LossBi, []step{{4, true}, {4.5, false}, {7, false}, {3.9, true}, {7.0, true}, {7.5, true}, {7.2, false}, {4.6, false}, {4.4, true}}},
	}
	for _, c := range cases {
		s := &squareRun{rule: c.rule, best: []float64{5}, up: make([]bool, 1)}
		for k, st := range c.steps {
			got := s.improves(0, st.l)
			if got != st.accept {
				t.Errorf("%s step %d: margin %v after best %v: accepted %v, want %v", c.rule, k, st.l, s.best[0], got, st.accept)
			}
			if got {
				s.best[0] = st.l
			}
		}
	}
}

// TestAdaptiveSquareNames: the adaptive attacks are registered, named by
// their rule, round-trip through ParseLoss, and the other attacks refuse
// the adaptive losses instead of silently running the margin loss.
func TestAdaptiveSquareNames(t *testing.T) {
	for _, name := range []string{"up-square", "bi-square"} {
		a, err := New(name)
		if err != nil {
			t.Fatal(err)
		}
		if a.Name() != name || !a.ThreatModel().Loss.Adaptive() {
			t.Errorf("%s: name %s, loss %s", name, a.Name(), a.ThreatModel().Loss)
		}
	}
	for _, l := range []Loss{LossUp, LossBi} {
		if p, err := ParseLoss(l.String()); err != nil || p != l {
			t.Errorf("ParseLoss(%q) = %v, %v", l, p, err)
		}
	}
	m := newLinear(1, []int{1, 6, 6}, 3, 1)
	x, y := dataset(m, 4, 2, 0.1)
	for _, name := range []string{"nes", "signhunter", "bandits", "simba"} {
		a, err := New(name)
		if err != nil {
			t.Fatal(err)
		}
		a.ThreatModel().Loss = LossUp
		o, _ := NewOracle(m, OracleOptions{Budget: 50})
		if _, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(1)}); err == nil {
			t.Errorf("%s ran with loss up", name)
		}
	}
}

// TestUpSquareRuns: up-Square on a plain model moves away from the
// decision boundary, so it fools fewer samples than Square with the same
// seed and budget, and every sample keeps its budget.
func TestUpSquareRuns(t *testing.T) {
	m := newSmoothLinear(1, 1, 8, 8, 4, 10, 1)
	x, y := dataset(m, 12, 5, 0.5)
	fooled := map[string]int{}
	for _, name := range []string{"square", "up-square", "bi-square"} {
		a, _ := New(name)
		a.ThreatModel().Eps = 0.1
		o, _ := NewOracle(m, OracleOptions{Budget: 200})
		res, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(7)})
		if err != nil {
			t.Fatal(err)
		}
		for i, ok := range res.Success {
			if ok {
				fooled[name]++
			}
			if res.Queries[i] > 200 {
				t.Errorf("%s: sample %d used %d queries", name, i, res.Queries[i])
			}
		}
	}
	t.Logf("fooled of 12: %v", fooled)
	if fooled["square"] == 0 || fooled["up-square"] >= fooled["square"] {
		t.Errorf("fooled: %v; want square > up-square on an undefended model", fooled)
	}
}
