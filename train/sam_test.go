package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
)

// quad is the loss L(w) = ½ Σ a_i w_i² + Σ b_i w_i, whose linear term b can
// change between steps to play the role of a mini-batch.
type quad struct {
	a, b, w, g []float32
	calls      [][]float32 // weights at each closure evaluation
}

func (q *quad) Weights() []float32 { return q.w }
func (q *quad) Grads() []float32   { return q.g }

func (q *quad) closure() Closure {
	return func() (float64, error) {
		q.calls = append(q.calls, slices.Clone(q.w))
		var l float64
		for i, w := range q.w {
			l += 0.5*float64(q.a[i])*float64(w)*float64(w) + float64(q.b[i])*float64(w)
			q.g[i] = q.a[i]*w + q.b[i]
		}
		return l, nil
	}
}

func newQuad(a, w []float32) *quad {
	return &quad{a: a, b: make([]float32, len(a)), w: slices.Clone(w), g: make([]float32, len(a))}
}

// batch sets the linear term of step t, different on every step.
func (q *quad) batch(t int) {
	for i := range q.b {
		q.b[i] = float32(0.3*math.Sin(float64(7*t+3*i+1)) - 0.1*float64(i))
	}
}

func near(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > tol {
			t.Fatalf("%s[%d] = %.7f, want %.7f", what, i, got[i], want[i])
		}
	}
}

// TestSAMHandComputation: L = ½(w₁² + 4w₂²) at w = (3, 1) has g = (3, 4),
// ‖g‖ = 5; with ρ = 0.5 the ascent is e = (0.3, 0.4), the gradient at w+e is
// (3.3, 5.6) and SGD with lr 0.1 lands at (2.67, 0.44).
func TestSAMHandComputation(t *testing.T) {
	q := newQuad([]float32{1, 4}, []float32{3, 1})
	o, err := NewSAM(&SGD{Rate: 0.1}, 0.5, false)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := o.Step(q, q.closure())
	if err != nil {
		t.Fatal(err)
	}
	if loss != 6.5 {
		t.Errorf("loss %v, want the first-pass loss 6.5", loss)
	}
	if len(q.calls) != 2 {
		t.Fatalf("%d closure calls, want 2", len(q.calls))
	}
	near(t, "perturbed w", q.calls[1], []float64{3.3, 1.4}, 1e-6)
	near(t, "updated w", q.w, []float64{2.67, 0.44}, 1e-6)

	// Adaptive (ASAM): e = ρ·w²⊙g/‖|w|⊙g‖; |w|⊙g = (9, 4), norm √97.
	q = newQuad([]float32{1, 4}, []float32{3, 1})
	o, _ = NewSAM(&SGD{Rate: 0.1}, 0.5, true)
	if _, err := o.Step(q, q.closure()); err != nil {
		t.Fatal(err)
	}
	s := 0.5 / math.Sqrt(97)
	e := []float64{9 * 3 * s, 1 * 4 * s}
	near(t, "ASAM perturbed w", q.calls[1], []float64{3 + e[0], 1 + e[1]}, 1e-6)
	near(t, "ASAM updated w", q.w, []float64{3 - 0.1*(3+e[0]), 1 - 0.1*4*(1+e[1])}, 1e-6)
}

// TestFSAMCorrection checks the second step's ascent direction
// d = g₂ − σ·g₁ and that the EMA then becomes λ·g₁ + (1−λ)·g₂.
func TestFSAMCorrection(t *testing.T) {
	const rho, sigma, lambda = 0.1, 0.8, 0.6
	q := newQuad([]float32{1, 2, 0.5}, []float32{1, -1, 2})
	o, err := NewFSAM(&SGD{Rate: 0.05}, rho, sigma, lambda)
	if err != nil {
		t.Fatal(err)
	}
	grad := func(w []float32) []float64 {
		g := make([]float64, len(w))
		for i := range w {
			g[i] = float64(q.a[i])*float64(w[i]) + float64(q.b[i])
		}
		return g
	}
	var g1 []float64
	for step := range 3 {
		q.batch(step)
		w := slices.Clone(q.w)
		g := grad(w)
		d := slices.Clone(g)
		if step == 1 {
			for i := range d {
				d[i] -= sigma * g1[i]
			}
		}
		var n float64
		for _, v := range d {
			n += v * v
		}
		n = math.Sqrt(n)
		want := make([]float64, len(w))
		for i := range w {
			want[i] = float64(w[i]) + rho*d[i]/(n+1e-12)
		}
		if _, err := o.Step(q, q.closure()); err != nil {
			t.Fatal(err)
		}
		if step < 2 {
			near(t, "perturbed w", q.calls[len(q.calls)-1], want, 1e-6)
		}
		if step == 0 {
			g1 = g
		}
		if step == 1 {
			ema := make([]float64, len(g))
			for i := range g {
				ema[i] = lambda*g1[i] + (1-lambda)*g[i]
			}
			near(t, "EMA", o.m, ema, 1e-6)
		}
	}
}

// TestFSAMWithoutCorrectionIsSAM: σ = 0 removes nothing, so F-SAM takes
// SAM's steps bit for bit, here with momentum and weight decay.
func TestFSAMWithoutCorrectionIsSAM(t *testing.T) {
	a := []float32{1, 3, 0.2, 2}
	w0 := []float32{0.5, -1, 2, 0.1}
	qs, qf := newQuad(a, w0), newQuad(a, w0)
	sgd1, _ := NewSGD(0.05, 0.9, 1e-3, false)
	sgd2, _ := NewSGD(0.05, 0.9, 1e-3, false)
	sam, _ := NewSAM(sgd1, 0.2, false)
	fsam, _ := NewFSAM(sgd2, 0.2, 0, 0.6)
	for step := range 10 {
		qs.batch(step)
		qf.batch(step)
		ls, err1 := sam.Step(qs, qs.closure())
		lf, err2 := fsam.Step(qf, qf.closure())
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if ls != lf || !slices.Equal(qs.w, qf.w) {
			t.Fatalf("step %d: SAM w %v loss %v, F-SAM(σ=0) w %v loss %v", step, qs.w, ls, qf.w, lf)
		}
	}
}

// TestZeroNoiseIsSGD: without noise RWP and m-ARWP descend the mixed
// gradient (1−α)·g(B₀) + α·g(B₁) of two consecutive batches, and ARWP is
// plain SGD, bit for bit.
func TestZeroNoiseIsSGD(t *testing.T) {
	a := []float32{1, 3, 0.2, 2}
	w0 := []float32{0.5, -1, 2, 0.1}
	mk := func() *SGD { s, _ := NewSGD(0.05, 0.9, 1e-3, true); return s }
	r := rand.New(rand.NewPCG(1, 2))
	rwp, _ := NewRWP(mk(), 0, 0.3, r)
	marwp, _ := NewMARWP(mk(), 0, 0.3, 0.1, 0.99, r)
	arwp, _ := NewARWP(mk(), 0, 10, 0.1, 0.99, 100, r)

	ref := newQuad(a, w0)
	sgd := mk()
	g0 := make([]float32, len(a))
	for _, tc := range []struct {
		name string
		opt  Optimizer
	}{{"rwp", rwp}, {"marwp", marwp}} {
		q := newQuad(a, w0)
		copy(ref.w, w0)
		sgd = mk()
		for step := range 12 {
			q.batch(step)
			if _, err := tc.opt.Step(q, q.closure()); err != nil {
				t.Fatal(err)
			}
			ref.batch(step)
			ref.closure()()
			if step%2 == 0 {
				copy(g0, ref.g)
				continue
			}
			for i := range g0 {
				ref.g[i] = 0.7*g0[i] + 0.3*ref.g[i]
			}
			sgd.Update(ref.w, ref.g)
			near(t, tc.name+" w", q.w, f64(ref.w), 0)
		}
	}
	q := newQuad(a, w0)
	copy(ref.w, w0)
	sgd = mk()
	for step := range 6 {
		q.batch(step)
		ref.batch(step)
		if _, err := arwp.Step(q, q.closure()); err != nil {
			t.Fatal(err)
		}
		if _, err := sgd.Step(ref, ref.closure()); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(q.w, ref.w) {
			t.Fatalf("ARWP step %d: %v, SGD %v", step, q.w, ref.w)
		}
	}
}

func f64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// shaped is a model with one [filters, size] tensor and one 1-D tensor.
type shaped struct {
	quad
	ps []*nn.Param
}

func (s *shaped) Params() []*nn.Param { return s.ps }

func newShaped(filters, size, bias int) *shaped {
	n := filters*size + bias
	s := &shaped{quad: quad{a: make([]float32, n), b: make([]float32, n), w: make([]float32, n), g: make([]float32, n)}}
	s.ps = []*nn.Param{
		{Name: "weight", Shape: []int{filters, size}, W: s.w[:filters*size], G: s.g[:filters*size]},
		{Name: "bias", Shape: []int{bias}, W: s.w[filters*size:], G: s.g[filters*size:]},
	}
	return s
}

// sampleStd is the standard deviation of x − ref.
func sampleStd(x []float32, ref []float32) float64 {
	var s float64
	for i := range x {
		d := float64(x[i]) - float64(ref[i])
		s += d * d
	}
	return math.Sqrt(s / float64(len(x)))
}

// TestNoiseIsFilterWise draws RWP's and ARWP's noise on a tensor whose
// three filters have norms 1, 10 and 0 and on a 1-D tensor, and checks the
// empirical standard deviations against γ·‖W_i‖ (and, for ARWP's second
// step, against γ·‖W_i‖/sqrt(1+η·ΣF) with F the squared first gradient).
func TestNoiseIsFilterWise(t *testing.T) {
	const filters, size, bias, gamma = 3, 4000, 4000, 0.01
	s := newShaped(filters, size, bias)
	for j := 0; j < size; j++ {
		s.w[j] = 1 / float32(math.Sqrt(size))
		s.w[size+j] = 10 / float32(math.Sqrt(size))
	}
	for j := range bias {
		s.w[filters*size+j] = 3 / float32(math.Sqrt(bias))
	}
	w0 := slices.Clone(s.w)
	check := func(name string, pert []float32, want [4]float64) {
		t.Helper()
		for i := 0; i < 4; i++ {
			lo, hi := i*size, (i+1)*size
			got := sampleStd(pert[lo:hi], w0[lo:hi])
			if math.Abs(got-want[i]) > 0.05*want[i]+1e-12 {
				t.Errorf("%s: tensor part %d noise std %.5g, want %.5g", name, i, got, want[i])
			}
		}
	}
	rwp, err := NewRWP(&SGD{Rate: 0}, gamma, 0.5, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := rwp.Step(s, s.closure()); err != nil {
			t.Fatal(err)
		}
	}
	check("RWP", s.calls[1], [4]float64{gamma, 10 * gamma, 0, 3 * gamma})
	if !slices.Equal(s.w, w0) {
		t.Fatal("RWP with lr 0 did not restore the weights exactly")
	}

	// ARWP: the gradient is constant c everywhere (a = 0, b = c), so after
	// the first step F = c² and a filter of the matrix sums size·c².
	const eta, c = 0.1, 0.05
	for i := range s.b {
		s.b[i] = c
	}
	s.calls = nil
	arwp, err := NewARWP(&SGD{Rate: 0}, gamma, 0, eta, 0.99, 0, rand.New(rand.NewPCG(7, 8)))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := arwp.Step(s, s.closure()); err != nil {
			t.Fatal(err)
		}
	}
	check("ARWP step 1", s.calls[0], [4]float64{gamma, 10 * gamma, 0, 3 * gamma})
	df, de := math.Sqrt(1+eta*size*c*c), math.Sqrt(1+eta*c*c)
	check("ARWP step 2", s.calls[1], [4]float64{gamma / df, 10 * gamma / df, 0, 3 * gamma / de})
}

func TestARWPNoiseSchedule(t *testing.T) {
	o, err := NewARWP(&SGD{Rate: 0.1}, 0.001, 10, 0.1, 0.99, 100, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t    int
		want float64
	}{{0, 0.001}, {50, 0.006}, {100, 0.011}, {200, 0.011}} {
		o.t = tc.t
		if got := o.NoiseStd(); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("std at step %d = %g, want %g", tc.t, got, tc.want)
		}
	}
}

func TestFlatOptimizersRejectBadHyperparameters(t *testing.T) {
	sgd := &SGD{Rate: 0.1}
	r := rand.New(rand.NewPCG(1, 1))
	nan := math.NaN()
	for _, tc := range []struct {
		name, want string
		mk         func() error
	}{
		{"sam rho negative", "ρ", func() error { _, err := NewSAM(sgd, -0.1, false); return err }},
		{"sam rho zero", "ρ", func() error { _, err := NewSAM(sgd, 0, false); return err }},
		{"sam rho nan", "ρ", func() error { _, err := NewSAM(sgd, nan, false); return err }},
		{"sam no base", "base optimizer", func() error { _, err := NewSAM(nil, 0.1, false); return err }},
		{"fsam rho", "ρ", func() error { _, err := NewFSAM(sgd, -1, 1, 0.6); return err }},
		{"fsam sigma", "σ", func() error { _, err := NewFSAM(sgd, 0.1, -1, 0.6); return err }},
		{"fsam lambda", "λ", func() error { _, err := NewFSAM(sgd, 0.1, 1, 1); return err }},
		{"rwp gamma", "γ", func() error { _, err := NewRWP(sgd, -0.01, 0.5, r); return err }},
		{"rwp alpha", "α", func() error { _, err := NewRWP(sgd, 0.01, 1.5, r); return err }},
		{"rwp rng", "random source", func() error { _, err := NewRWP(sgd, 0.01, 0.5, nil); return err }},
		{"arwp std", "noise scale", func() error { _, err := NewARWP(sgd, -1, 10, 0.1, 0.99, 0, r); return err }},
		{"arwp eta", "η", func() error { _, err := NewARWP(sgd, 0.001, 10, -0.1, 0.99, 0, r); return err }},
		{"arwp beta", "β", func() error { _, err := NewARWP(sgd, 0.001, 10, 0.1, 1, 0, r); return err }},
		{"arwp inc", "growth", func() error { _, err := NewARWP(sgd, 0.001, -10, 0.1, 0.9, 0, r); return err }},
		{"marwp sigma", "noise scale", func() error { _, err := NewMARWP(sgd, nan, 0.5, 0.1, 0.99, r); return err }},
		{"marwp lambda", "λ", func() error { _, err := NewMARWP(sgd, 0.015, -0.5, 0.1, 0.99, r); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.mk()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// TestPerturbedPassFailureRestoresWeights: an error in SAM's second pass
// comes back wrapped, with the weights restored and no update made.
func TestPerturbedPassFailureRestoresWeights(t *testing.T) {
	q := newQuad([]float32{1, 4}, []float32{3, 1})
	o, _ := NewSAM(&SGD{Rate: 0.1}, 0.5, false)
	boom := errors.New("boom")
	c := q.closure()
	calls := 0
	_, err := o.Step(q, func() (float64, error) {
		calls++
		if calls == 2 {
			return 0, boom
		}
		return c()
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "SAM") {
		t.Fatalf("err = %v, want the wrapped closure error", err)
	}
	near(t, "w", q.w, []float64{3, 1}, 0)
}

func smallBNCNN(t testing.TB, seed uint64) *nn.Network {
	t.Helper()
	net, err := nn.New(nn.CNN([]int{1, 4, 4}, 2, nn.CNNOptions{Width: 2, Hidden: 4, BatchNorm: true}), seed)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// netClosure is Fit's closure on one fixed batch.
func netClosure(net *nn.Network, x []float32, y []int) Closure {
	dl := make([]float32, len(y)*net.NumClasses())
	return func() (float64, error) {
		net.ZeroGrad()
		out := net.Forward(x, len(y), true)
		l, _ := nn.SoftmaxCrossEntropy(out, dl, y, net.NumClasses(), 0)
		net.Backward(dl, false)
		return l, nil
	}
}

// TestPerturbedPassLeavesBNStatistics: after one SAM, F-SAM, RWP or m-ARWP
// update the batch-norm running statistics are exactly those left by the
// clean pass(es) alone, the weights moved, and the momentum is restored.
func TestPerturbedPassLeavesBNStatistics(t *testing.T) {
	x, y := toyProblem(16)
	for _, tc := range []struct {
		name        string
		cleanPasses int
		mk          func() Optimizer
	}{
		{"sam", 1, func() Optimizer { o, _ := NewSAM(&SGD{Rate: 0.1}, 0.5, false); return o }},
		{"fsam", 1, func() Optimizer { o, _ := NewFSAM(&SGD{Rate: 0.1}, 0.5, 1, 0.6); return o }},
		{"rwp", 1, func() Optimizer { o, _ := NewRWP(&SGD{Rate: 0.1}, 0.1, 0.5, rand.New(rand.NewPCG(1, 1))); return o }},
		{"marwp", 1, func() Optimizer {
			o, _ := NewMARWP(&SGD{Rate: 0.1}, 0.1, 0.5, 0.1, 0.99, rand.New(rand.NewPCG(1, 1)))
			return o
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := smallBNCNN(t, 3)
			net := ref.Copy()
			w0 := slices.Clone(net.Weights())
			for range tc.cleanPasses {
				netClosure(ref, x, y)()
			}
			o := tc.mk()
			steps := 1
			if _, ok := o.(*RWP); ok {
				steps = 2
			}
			if _, ok := o.(*MARWP); ok {
				steps = 2
			}
			for range steps {
				if _, err := o.Step(net, netClosure(net, x, y)); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(net.BufferData(), ref.BufferData()) {
				t.Errorf("running statistics %v, want %v (clean pass only)", net.BufferData(), ref.BufferData())
			}
			if slices.Equal(net.Weights(), w0) {
				t.Error("the weights did not move")
			}
			if net.BNMomentum() != 0.1 {
				t.Errorf("BN momentum %v after the step, want 0.1 restored", net.BNMomentum())
			}
		})
	}
}

// TestFlatOptimizersTrain runs each optimizer in Fit on the embedded
// Fashion-MNIST subset with a small MLP and requires the loss to drop.
func TestFlatOptimizersTrain(t *testing.T) {
	tr, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mk   func(b Updater) (Optimizer, error)
	}{
		{"sam", func(b Updater) (Optimizer, error) { return NewSAM(b, 0.05, false) }},
		{"fsam", func(b Updater) (Optimizer, error) { return NewFSAM(b, 0.05, 1, 0.6) }},
		{"rwp", func(b Updater) (Optimizer, error) { return NewRWP(b, 0.01, 0.5, rand.New(rand.NewPCG(1, 2))) }},
		{"arwp", func(b Updater) (Optimizer, error) {
			return NewARWP(b, 0.001, 10, 0.1, 0.99, 60, rand.New(rand.NewPCG(1, 2)))
		}},
		{"marwp", func(b Updater) (Optimizer, error) {
			return NewMARWP(b, 0.015, 0.5, 0.1, 0.99, rand.New(rand.NewPCG(1, 2)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net, err := nn.New(nn.MLP(tr.Shape, []int{32}, 10), 1)
			if err != nil {
				t.Fatal(err)
			}
			base, _ := NewSGD(0.05, 0.9, 1e-3, false)
			opt, err := tc.mk(base)
			if err != nil {
				t.Fatal(err)
			}
			before, _, err := metrics.EvaluateClassifier(context.Background(), net, tr.X, tr.Y)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Fit(context.Background(), net, tr.X, tr.Y, Config{Steps: 60, BatchSize: 64, Seed: 1, Optimizer: opt}); err != nil {
				t.Fatal(err)
			}
			after, _, err := metrics.EvaluateClassifier(context.Background(), net, tr.X, tr.Y)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: training NLL %.4f → %.4f, accuracy %.3f → %.3f", tc.name, before.NLL, after.NLL, before.Accuracy, after.Accuracy)
			if after.NLL > 0.7*before.NLL {
				t.Errorf("training NLL went from %.4f to only %.4f", before.NLL, after.NLL)
			}
		})
	}
}
