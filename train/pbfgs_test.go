package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
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

// TestPBFGSMatchesOfficial replays the official P_plus_BFGS (literal
// t1ᵀ B t1 + ρ s sᵀ update, Armijo backtracking 0.4^m, σ = 0.4) in
// scikit-learn's PCA basis from w₀: the same weights after every step and
// the same number of loss evaluations (so the same line-search decisions).
func TestPBFGSMatchesOfficial(t *testing.T) {
	g := loadDLDRGolden(t)
	s, _, err := PCABasis(g.Checkpoints, len(g.Components))
	if err != nil {
		t.Fatal(err)
	}
	o, _ := NewPBFGS(s)
	q := newQuad(g.A, g.Checkpoints[0])
	for step, want := range g.PBFGS.Traj {
		q.batch(step)
		before := len(q.calls)
		if _, err := o.Step(q, q.closure()); err != nil {
			t.Fatal(err)
		}
		if evals := len(q.calls) - before; evals != g.PBFGS.Evals[step] {
			t.Errorf("step %d: %d loss evaluations, official %d", step, evals, g.PBFGS.Evals[step])
		}
		near(t, fmt.Sprintf("step %d: w", step), q.w, want, 1e-5)
	}
	st := o.Stats()
	trials := 0
	for _, e := range g.PBFGS.Evals {
		trials += e - 1
	}
	if st.Steps != len(g.PBFGS.Traj) || st.Trials != trials {
		t.Errorf("stats %+v, want %d steps and %d trials", st, len(g.PBFGS.Traj), trials)
	}
}

// TestPBFGSCurvatureSkip: on a linear loss (gradient = b, whatever w) a
// curvature pair with yᵀs ≤ 0 must leave H = I, and one with yᵀs > 0 must
// change it.
func TestPBFGSCurvatureSkip(t *testing.T) {
	s, _ := SpanBasis([][]float32{{1, 0}, {0, 1}})
	for _, c := range []struct {
		name    string
		b1      float32
		skipped bool
	}{
		{"yᵀs < 0", 2, true},    // s = (−1, 0), y = (1, 0)
		{"yᵀs > 0", 0.5, false}, // y = (−0.5, 0)
	} {
		t.Run(c.name, func(t *testing.T) {
			o, _ := NewPBFGS(s)
			q := newQuad([]float32{0, 0}, []float32{0, 0})
			q.b[0] = 1
			if _, err := o.Step(q, q.closure()); err != nil {
				t.Fatal(err)
			}
			near(t, "w after the first step", q.w, []float64{-1, 0}, 0)
			q.b[0] = c.b1
			if _, err := o.Step(q, q.closure()); err != nil {
				t.Fatal(err)
			}
			identity := slices.Equal(o.h, []float64{1, 0, 0, 1})
			if identity != c.skipped || (o.Stats().SkippedPairs == 1) != c.skipped {
				t.Errorf("H = %v, stats %+v; want the update skipped: %v", o.h, o.Stats(), c.skipped)
			}
		})
	}
}

// TestPBFGSNonFiniteTrialRejected: a trial step whose loss is not finite
// is a rejected trial (the line search backtracks), not a failed run.
func TestPBFGSNonFiniteTrialRejected(t *testing.T) {
	s, _ := SpanBasis([][]float32{{1, 0}, {0, 1}})
	q := newQuad([]float32{100, 1}, []float32{1, 1})
	inner := q.closure()
	closure := func() (float64, error) {
		l, err := inner()
		if math.Abs(float64(q.w[0])) > 10 { // the loss "overflows" far away
			return math.Inf(1), fmt.Errorf("%w (loss +Inf)", ErrNonFiniteLoss)
		}
		return l, err
	}
	o, _ := NewPBFGS(s)
	start, err := o.Step(q, closure)
	if err != nil {
		t.Fatalf("a non-finite trial stopped P-BFGS: %v", err)
	}
	end, _ := inner()
	st := o.Stats()
	if st.NonFinite != 3 || end >= start {
		t.Errorf("loss %g → %g, stats %+v; want three non-finite trials (w₁ = 1 − 100·0.4^m beyond ±10 for m < 3) and a decrease", start, end, st)
	}
}

// TestPBFGSLeavesBNStatistics: the line-search trials run in training mode
// at other weights, but batch-norm running statistics must end as after
// the single gradient evaluation at the starting weights (pitfall (i) of
// the spec: the official code restores its state after each trial).
func TestPBFGSLeavesBNStatistics(t *testing.T) {
	x, y := toyProblem(32)
	net, err := nn.New(nn.CNN([]int{1, 4, 4}, 2, nn.CNNOptions{Width: 2, Hidden: 4, BatchNorm: true}), 5)
	if err != nil {
		t.Fatal(err)
	}
	ref := net.Copy()
	ref.Forward(x, 32, true)
	dl := make([]float32, 32*2)
	closure := func() (float64, error) {
		net.ZeroGrad()
		out := net.Forward(x, 32, true)
		l, _ := nn.SoftmaxCrossEntropy(out, dl, y, 2, 0)
		net.Backward(dl, false)
		return l, nil
	}
	basis, err := SpanBasis(randVecs(rand.New(rand.NewPCG(8, 8)), 3, net.NumParams()))
	if err != nil {
		t.Fatal(err)
	}
	o, _ := NewPBFGS(basis)
	w0 := slices.Clone(net.Weights())
	if _, err := o.Step(net, closure); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(w0, net.Weights()) || o.Stats().Trials == 0 {
		t.Fatalf("no step taken: %+v", o.Stats())
	}
	if !slices.Equal(net.BufferData(), ref.BufferData()) {
		t.Errorf("batch-norm statistics changed by the line search:\n got %v\nwant %v", net.BufferData(), ref.BufferData())
	}
	if net.BNMomentum() != ref.BNMomentum() {
		t.Errorf("batch-norm momentum %g after the step, %g before", net.BNMomentum(), ref.BNMomentum())
	}
}
