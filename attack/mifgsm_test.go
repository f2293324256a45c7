package attack

import (
	"context"
	"slices"
	"testing"
)

// TestMIFGSMRun: Run stays in the ball, counts 1 clean + 1 per step + 1
// final check at most, fools at least as many samples as FGSM at the same
// radius, and its Perturb raises the loss. The PyTorch-independent golden
// of the iterates is in package transfer (testdata/mifgsm_golden.py).
func TestMIFGSMRun(t *testing.T) {
	g := newMLP(4, []int{1, 8, 8}, 16, 10)
	x, y := dataset(g, 40, 8, 0)
	for _, norm := range []Norm{LInf, L2} {
		eps := 0.05
		if norm == L2 {
			eps = 0.3
		}
		a := NewMIFGSM()
		a.Norm, a.Eps = norm, eps
		o, err := NewOracle(g, OracleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Run(context.Background(), o, x, y, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f := NewFGSM()
		f.Norm, f.Eps = norm, eps
		o2, _ := NewOracle(g, OracleOptions{})
		fres, err := f.Run(context.Background(), o2, x, y, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mi, fg := countTrue(res.Success), countTrue(fres.Success)
		t.Logf("%v: MI-FGSM fooled %d, FGSM %d of %d", norm, mi, fg, len(y))
		if mi < fg || mi == 0 {
			t.Errorf("%v: MI-FGSM fooled %d, FGSM %d", norm, mi, fg)
		}
		for i := range y {
			if q := res.Queries[i]; q > a.Steps+2 {
				t.Errorf("sample %d: %d queries, want ≤ %d", i, q, a.Steps+2)
			}
			adv, x0 := res.Adv[i*64:(i+1)*64], x[i*64:(i+1)*64]
			if norm == L2 && dist2(adv, x0) > eps+1e-6 {
				t.Errorf("sample %d: ℓ2 distance %v > %v", i, dist2(adv, x0), eps)
			}
			if norm == LInf {
				for j := range adv {
					if d := float64(adv[j]) - float64(x0[j]); d > eps+1e-7 || d < -eps-1e-7 {
						t.Fatalf("sample %d: coordinate %d moved %v > ε", i, j, d)
					}
				}
			}
		}
		dst := make([]float32, len(x))
		if err := a.Perturb(context.Background(), g, dst, x, y); err != nil {
			t.Fatal(err)
		}
		if meanCE(t, g, dst, y) <= meanCE(t, g, x, y) {
			t.Errorf("%v: Perturb did not raise the cross-entropy", norm)
		}
	}
}

func TestMIFGSMRegistered(t *testing.T) {
	a, err := New("mi-fgsm")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != "mi-fgsm" || !WhiteBox("mi-fgsm") || !slices.Contains(Names(), "mi-fgsm") {
		t.Errorf("mi-fgsm: name %q, white-box %v", a.Name(), WhiteBox("mi-fgsm"))
	}
	bad := []*MIFGSM{{Threat: Threat{Eps: 0.1}, Steps: 0, Decay: 1}, {Threat: Threat{Eps: 0.1}, Steps: 1, Decay: -1}, {Threat: Threat{Eps: 0}, Steps: 1}}
	g := newMLP(4, []int{1, 8, 8}, 16, 10)
	x, y := dataset(g, 2, 8, 0)
	for _, b := range bad {
		if err := b.Perturb(context.Background(), g, make([]float32, len(x)), x, y); err == nil {
			t.Errorf("%+v: no error", b)
		}
	}
}

func countTrue(v []bool) int {
	c := 0
	for _, b := range v {
		if b {
			c++
		}
	}
	return c
}
