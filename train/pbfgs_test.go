package train

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/trustml/trustml/nn"
)

// TestPBFGSConverges: on L = ½ Σ a_i w_i² + b·w in the subspace spanned by
// e₁, e₂+e₃ and e₄ of R⁵, P-BFGS reaches the constrained minimum, which for
// coordinates c₁ e₁ + c₂ (e₂+e₃)/√2 + c₃ e₄ is c = −(P b)/(P diag(a) Pᵀ).
func TestPBFGSConverges(t *testing.T) {
	s, err := SpanBasis([][]float32{{1, 0, 0, 0, 0}, {0, 1, 1, 0, 0}, {0, 0, 0, 1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	q := newQuad([]float32{1, 4, 2, 9, 3}, []float32{0, 0, 0, 0, 0})
	copy(q.b, []float32{1, -2, 1, 3, 5})
	o, err := NewPBFGS(s)
	if err != nil {
		t.Fatal(err)
	}
	var loss float64
	for range 30 {
		if loss, err = o.Step(q, q.closure()); err != nil {
			t.Fatal(err)
		}
	}
	// e₁: −1/1; (e₂+e₃)/√2: a = (4+2)/2 = 3, b = (−2+1)/√2 → c = 1/(3√2),
	// i.e. w₂ = w₃ = 1/6; e₄: −3/9.
	near(t, "w", q.w, []float64{-1, 1.0 / 6, 1.0 / 6, -1.0 / 3, 0}, 1e-5)
	// The constrained minimum is −½ Σ b_P²/a_P = −(½·1 + ½·(½)/3 + ½·9/9).
	if want := -13.0 / 12; math.Abs(loss-want) > 1e-5 {
		t.Errorf("final loss %g, constrained minimum %g", loss, want)
	}
	if _, err := NewPBFGS(nil); err == nil {
		t.Error("nil subspace accepted")
	}
}

// TestDLDRPipeline samples an SGD trajectory (initial weights and every
// epoch), extracts 3 principal directions, restarts from the initial
// weights and trains in the subspace with P-SGD and P-BFGS: both must
// lower the training loss well below its initial value.
func TestDLDRPipeline(t *testing.T) {
	x, y := toyProblem(128)
	net, err := nn.New(nn.MLP([]int{1, 4, 4}, []int{8}, 2), 4)
	if err != nil {
		t.Fatal(err)
	}
	w0 := slices.Clone(net.Weights())
	traj := [][]float32{slices.Clone(w0)}
	sgd, _ := NewSGD(0.1, 0.9, 0, false)
	if _, err := Fit(context.Background(), net, x, y, Config{Epochs: 8, BatchSize: 32, Optimizer: sgd,
		OnEpoch: func(EpochStats) error { traj = append(traj, slices.Clone(net.Weights())); return nil }}); err != nil {
		t.Fatal(err)
	}
	basis, _, err := PCABasis(traj, 3)
	if err != nil {
		t.Fatal(err)
	}
	full, err := FullBatch(net, x, y, 128)
	if err != nil {
		t.Fatal(err)
	}
	copy(net.Weights(), w0)
	start, _ := full()
	for _, tc := range []struct {
		name string
		mk   func() Optimizer
	}{
		{"p-sgd", func() Optimizer { o, _ := NewProjected(&SGD{Rate: 1, Momentum: 0.9}, basis); return o }},
		{"p-bfgs", func() Optimizer { o, _ := NewPBFGS(basis); return o }},
	} {
		copy(net.Weights(), w0)
		if _, err := Fit(context.Background(), net, x, y, Config{Steps: 40, BatchSize: 64, Optimizer: tc.mk()}); err != nil {
			t.Fatal(err)
		}
		end, _ := full()
		t.Logf("%s: full-batch loss %.4f → %.4f in %d dimensions", tc.name, start, end, basis.Dim)
		if end > 0.8*start {
			t.Errorf("%s: loss %.4f → %.4f", tc.name, start, end)
		}
	}
}
