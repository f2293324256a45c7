package train

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

// fngdGolden is testdata/fngd_golden.json (testdata/fngd_golden.py).
type fngdGolden struct {
	Lambda                 float64
	N, In, Hidden, Classes int
	Weights, X             []float64
	Y                      []int
	PerSampleJ             []float64 `json:"per_sample"`
	DirectJ                []float64 `json:"direct"`
	Coef                   [][]float64
}

func loadFNGDGolden(t *testing.T) (fngdGolden, *nn.Network, []float32) {
	t.Helper()
	b, err := os.ReadFile("testdata/fngd_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g fngdGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(nn.MLP([]int{g.In}, []int{g.Hidden}, g.Classes), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Weights) != net.NumParams() {
		t.Fatalf("golden has %d weights, the network %d", len(g.Weights), net.NumParams())
	}
	for i, v := range g.Weights {
		net.Weights()[i] = float32(v)
	}
	x := make([]float32, len(g.X))
	for i, v := range g.X {
		x[i] = float32(v)
	}
	return g, net, x
}

func maxAbsDiff(a, b []float64) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// TestFNGDGoldenSMW checks the layer-wise n×n Sherman–Morrison–Woodbury
// solve against numpy's direct D_l×D_l solve of (F_l + λI)^{-1} ḡ_l, and
// the per-sample gradients of the network against numpy's.
func TestFNGDGoldenSMW(t *testing.T) {
	g, net, x := loadFNGDGolden(t)
	sgd, _ := NewSGD(1, 0, 0, false)
	o, err := NewFNGD(net, sgd, g.Lambda, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.blocks) != 2 || o.blocks[1].off != g.In*g.Hidden+g.Hidden {
		t.Fatalf("layer blocks %+v, want the two dense layers", o.blocks)
	}
	// the identity, in float64 on numpy's per-sample gradients
	dir, coef, err := o.Direction(g.PerSampleJ, g.N)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(dir, g.DirectJ); d > 1e-8 {
		t.Errorf("SMW direction differs from the direct D×D solve by %g", d)
	}
	for l := range coef {
		if d := maxAbsDiff(coef[l], g.Coef[l]); d > 1e-8 {
			t.Errorf("layer %d coefficients differ from numpy's by %g", l, d)
		}
	}
	// the network's per-sample gradients (float32 passes)
	ps := o.PerSampleGrads(x, g.Y, 0)
	if d := maxAbsDiff(ps, g.PerSampleJ); d > 1e-5 {
		t.Errorf("per-sample gradients differ from numpy's by %g", d)
	}
	// and the whole float32 pipeline against the direct solve
	dir, _, err = o.Direction(ps, g.N)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(dir, g.DirectJ); d > 1e-4 {
		t.Errorf("direction from the network's gradients differs from the direct solve by %g", d)
	}
}

// TestFNGDStepMatchesDirection checks that one step is w −= lr·direction
// (plain SGD base) and that the mean of the per-sample gradients is the
// batch gradient the closure computes.
func TestFNGDStepMatchesDirection(t *testing.T) {
	g, net, x := loadFNGDGolden(t)
	sgd, _ := NewSGD(0.5, 0, 0, false)
	o, err := NewFNGD(net, sgd, g.Lambda, 0)
	if err != nil {
		t.Fatal(err)
	}
	w0 := slices.Clone(net.Weights())
	be := newBatchEval(net, g.N, g.In, g.Classes)
	idx := make([]int, g.N)
	for i := range idx {
		idx[i] = i
	}
	be.load(x, g.Y, idx, nil, Augment{}, nil)
	c := be.closure(0, 1, 0)
	o.ObserveBatch(Batch{X: be.in, Y: be.by, Index: idx, Epoch: 1})
	if _, err := o.Step(net, c); err != nil {
		t.Fatal(err)
	}
	for i, w := range net.Weights() {
		want := float64(w0[i]) - 0.5*g.DirectJ[i]
		if math.Abs(float64(w)-want) > 1e-5 {
			t.Fatalf("weight %d = %g after the step, want %g", i, w, want)
		}
	}
	if o.Solves != 1 {
		t.Fatalf("solves %d", o.Solves)
	}
	// a step without an observed batch is an error, not a silent SGD step
	if _, err := o.Step(net, c); err == nil || !strings.Contains(err.Error(), "batch") {
		t.Fatalf("step without a batch: err = %v", err)
	}
}

// TestFNGDReuse checks the reuse path: with stored coefficients, the
// weighted backward passes give Σ_i c_{l,i} g_{l,i} of the per-sample
// gradients, per layer; a sample without a stored coefficient takes the
// layer's mean.
func TestFNGDReuse(t *testing.T) {
	g, net, x := loadFNGDGolden(t)
	sgd, _ := NewSGD(0.5, 0, 0, false)
	o, err := NewFNGD(net, sgd, g.Lambda, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{10, 11, 12, 13, 14, 15}
	if _, err := o.solve(&Batch{X: x, Y: g.Y, Index: idx, Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	if len(o.coef) != g.N {
		t.Fatalf("%d stored coefficients, want %d", len(o.coef), g.N)
	}
	// reverse the batch order, drop sample 15's coefficient
	rx := make([]float32, len(x))
	ry, ridx := make([]int, g.N), make([]int, g.N)
	for i := 0; i < g.N; i++ {
		j := g.N - 1 - i
		copy(rx[i*g.In:(i+1)*g.In], x[j*g.In:(j+1)*g.In])
		ry[i], ridx[i] = g.Y[j], idx[j]
	}
	delete(o.coef, 15)
	got := o.reuse(&Batch{X: rx, Y: ry, Index: ridx, Epoch: 2})
	want := make([]float64, net.NumParams())
	d := net.NumParams()
	for l, bl := range o.blocks {
		var mean float64
		for s := 10; s < 15; s++ {
			mean += g.Coef[l][s-10] / 5
		}
		for i := 0; i < g.N; i++ {
			c := mean
			if i < 5 {
				c = g.Coef[l][i]
			}
			for j := bl.off; j < bl.off+bl.size; j++ {
				want[j] += c * g.PerSampleJ[i*d+j]
			}
		}
	}
	for j := range want {
		if math.Abs(float64(got[j])-want[j]) > 1e-5 {
			t.Fatalf("reused direction [%d] = %g, want %g", j, got[j], want[j])
		}
	}
}

// TestFNGDFirstEpochIsNGD trains with fngd and with ngd from the same
// weights: in the first epoch both solve at every step, so the weights
// agree exactly; in the second fngd reuses and they part.
func TestFNGDFirstEpochIsNGD(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n, size, k := 48, 12, 3
	x := make([]float32, n*size)
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(k)
		for j := 0; j < size; j++ {
			x[i*size+j] = float32(r.NormFloat64()) + 0.8*float32(y[i]*(j%3))
		}
	}
	run := func(name string, epochs int) (*nn.Network, []EpochStats, *FNGD) {
		net, err := nn.New(nn.MLP([]int{size}, []int{8}, k), 5)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultOptimizerConfig()
		cfg.LR, cfg.Momentum, cfg.Nesterov, cfg.WeightDecay = 0.1, 0.9, false, 0
		opt, err := NewOptimizer(name, net, cfg)
		if err != nil {
			t.Fatal(err)
		}
		hist, err := Fit(context.Background(), net, x, y, Config{Epochs: epochs, BatchSize: 16, Seed: 9, Optimizer: opt})
		if err != nil {
			t.Fatal(err)
		}
		return net, hist, opt.(*FNGD)
	}
	f1, _, fo := run("fngd", 1)
	n1, _, _ := run("ngd", 1)
	if !slices.Equal(f1.Weights(), n1.Weights()) {
		t.Fatal("fngd and ngd differ after the first epoch")
	}
	if fo.Solves != 3 || fo.Reuses != 0 || len(fo.coef) != n {
		t.Fatalf("first epoch: %d solves, %d reuses, %d coefficients", fo.Solves, fo.Reuses, len(fo.coef))
	}
	f3, fh, fo := run("fngd", 3)
	n3, nh, _ := run("ngd", 3)
	if slices.Equal(f3.Weights(), n3.Weights()) {
		t.Fatal("fngd did not reuse its coefficients after the first epoch")
	}
	if fo.Solves != 3 || fo.Reuses != 6 {
		t.Fatalf("3 epochs: %d solves, %d reuses", fo.Solves, fo.Reuses)
	}
	for _, h := range [][]EpochStats{fh, nh} {
		if !(h[2].Loss < h[0].Loss) || h[2].Accuracy == 0 {
			t.Fatalf("training did not progress: %+v", h)
		}
	}
}

func TestFNGDBadInput(t *testing.T) {
	mlp, _ := nn.New(nn.MLP([]int{4}, []int{3}, 2), 1)
	bn, _ := nn.New(nn.CNN([]int{1, 4, 4}, 2, nn.CNNOptions{Width: 2, Hidden: 3, BatchNorm: true}), 1)
	sgd, _ := NewSGD(0.1, 0, 0, false)
	for _, tc := range []struct {
		name    string
		net     *nn.Network
		damping float64
		reuse   int
		want    string
	}{
		{"zero damping", mlp, 0, 1, "damping"},
		{"NaN damping", mlp, math.NaN(), 1, "damping"},
		{"negative reuse", mlp, 0.1, -1, "reuse"},
		{"batch norm", bn, 0.1, 1, "batchnorm"},
		{"no network", nil, 0.1, 1, "network"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewFNGD(tc.net, sgd, tc.damping, tc.reuse)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	// with an objective Fit does not give the batch: a clear error
	opt, _ := NewOptimizer("fngd", mlp, DefaultOptimizerConfig())
	_, err := Fit(context.Background(), mlp, make([]float32, 8), []int{0, 1}, Config{Epochs: 1, BatchSize: 2, Optimizer: opt, Objective: ceObjective{}})
	if err == nil || !strings.Contains(err.Error(), "objective") {
		t.Fatalf("fngd with an objective: err = %v", err)
	}
}

// ceObjective is plain cross-entropy as an [Objective].
type ceObjective struct{}

func (ceObjective) BatchLoss(_ context.Context, net Network, x []float32, y []int, _ bool) (float64, int, error) {
	out := net.Forward(x, len(y), true)
	dl := make([]float32, len(out))
	l, c := nn.SoftmaxCrossEntropy(out, dl, y, net.NumClasses(), 0)
	net.Backward(dl, false)
	return l, c, nil
}
