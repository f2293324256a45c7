package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

// soupProblem is a 3-class softmax problem in 4 dimensions whose labels are
// drawn from a random linear teacher's softmax, so the cross-entropy has a
// finite minimizer.
func soupProblem(n int, seed uint64) ([]float32, []int) {
	r := rand.New(rand.NewPCG(seed, 11))
	const d, k = 4, 3
	teacher := make([]float64, k*d)
	for i := range teacher {
		teacher[i] = 1.5 * r.NormFloat64()
	}
	x := make([]float32, n*d)
	y := make([]int, n)
	p := make([]float64, k)
	for i := range y {
		for j := range d {
			x[i*d+j] = float32(r.NormFloat64())
		}
		var s float64
		for c := range k {
			var z float64
			for j := range d {
				z += teacher[c*d+j] * float64(x[i*d+j])
			}
			p[c] = math.Exp(z)
			s += p[c]
		}
		u := r.Float64() * s
		for c := range k {
			if u -= p[c]; u <= 0 || c == k-1 {
				y[i] = c
				break
			}
		}
	}
	return x, y
}

func newSoupNet(t testing.TB, spec nn.Spec, seed uint64) *nn.Network {
	t.Helper()
	net, err := nn.New(spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

var linearSpec = nn.MLP([]int{4}, nil, 3)

// fullLoss is the mean held-out cross-entropy at weights w (inference mode).
func fullLoss(t testing.TB, net Network, w []float32, x []float32, y []int) float64 {
	t.Helper()
	copy(net.Weights(), w)
	_, l, err := heldOutEval(context.Background(), net, x, y, len(y), 0)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// optimumAndPerturbations returns the held-out loss minimizer w* of the
// linear model (full-batch Adam to a vanishing gradient) and n models:
// w* itself and n−1 random perturbations of it, in a shuffled position.
func optimumAndPerturbations(t *testing.T, x []float32, y []int, n int, sigma float64, seed uint64) (*nn.Network, []float32, [][]float32) {
	t.Helper()
	net := newSoupNet(t, linearSpec, 1)
	opt := NewAdam(0.05, 0)
	if _, err := Fit(context.Background(), net, x, y, Config{Steps: 3000, BatchSize: len(y), Optimizer: opt,
		Schedule: Cosine{Base: 0.05}}); err != nil {
		t.Fatal(err)
	}
	net.ZeroGrad()
	dl := make([]float32, len(y)*3)
	nn.SoftmaxCrossEntropy(net.Forward(x, len(y), false), dl, y, 3, 0)
	net.Backward(dl, false)
	var gn float64
	for _, g := range net.Grads() {
		gn += float64(g) * float64(g)
	}
	if gn = math.Sqrt(gn); gn > 1e-4 {
		t.Fatalf("reference optimum not reached: gradient norm %g", gn)
	}
	opt0 := slices.Clone(net.Weights())
	r := rand.New(rand.NewPCG(seed, 5))
	models := make([][]float32, n)
	at := r.IntN(n)
	for i := range models {
		models[i] = slices.Clone(opt0)
		if i == at {
			continue
		}
		for j := range models[i] {
			models[i][j] += float32(sigma * r.NormFloat64())
		}
	}
	return net, opt0, models
}

func TestUniformSoup(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, 37)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	dst := make([]float32, len(w))
	for _, n := range []int{2, 3, 7} {
		models := make([][]float32, n)
		for i := range models {
			models[i] = w
		}
		if err := UniformSoup(dst, models); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dst, w) {
			t.Fatalf("uniform soup of %d identical models differs from the model", n)
		}
	}
	a := []float32{1, -2, 3}
	b := []float32{3, 2, 0}
	dst = dst[:3]
	if err := UniformSoup(dst, [][]float32{a, b}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dst, []float32{2, 0, 1.5}) {
		t.Fatalf("uniform soup %v, want [2 0 1.5]", dst)
	}
}

// TestMEHLSoupFindsOptimum: one model is the held-out optimum and the
// others are perturbations of it, so the optimum lies in the models'
// affine hull: with all models in one batch the learned soup (plain and
// layer-wise) must end near the optimum's loss, well below the uniform
// soup's.
func TestMEHLSoupFindsOptimum(t *testing.T) {
	x, y := soupProblem(300, 1)
	net, opt, models := optimumAndPerturbations(t, x, y, 6, 2, 3)
	best := fullLoss(t, net, opt, x, y)
	uni := make([]float32, len(opt))
	if err := UniformSoup(uni, models); err != nil {
		t.Fatal(err)
	}
	uniLoss := fullLoss(t, net, uni, x, y)
	if uniLoss < best+0.05 {
		t.Fatalf("test setup: uniform soup loss %.4f too close to the optimum %.4f", uniLoss, best)
	}
	for _, layerWise := range []bool{false, true} {
		cfg := MEHLConfig{BatchModels: 18, Epochs: 400, LR: 0.05, WarmupFrac: 0.2, BatchSize: len(y), LayerWise: layerWise,
			Rand: rand.New(rand.NewPCG(1, 1))}
		res, err := MEHLSoup(context.Background(), net, models, x, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := fullLoss(t, net, net.Weights(), x, y)
		t.Logf("layer-wise %v: optimum %.5f, uniform %.5f, MEHL %.5f", layerWise, best, uniLoss, got)
		if got > best+0.01*(uniLoss-best) {
			t.Errorf("layer-wise %v: MEHL loss %.5f not within 1%% of the gap to the optimum %.5f (uniform %.5f)", layerWise, got, best, uniLoss)
		}
		if len(res.Batches) != 1 || len(res.Batches[0].Models) != 6 {
			t.Errorf("layer-wise %v: batches %+v, want one of 6 models", layerWise, res.Batches)
		}
		// The affine coefficients are not restricted to the simplex: the
		// optimum needs the perturbed models to be subtracted.
		var neg bool
		for _, c := range res.Batches[0].Coef {
			for _, v := range c {
				neg = neg || v < 0
			}
		}
		if !neg {
			t.Errorf("layer-wise %v: no negative coefficient in %v", layerWise, res.Batches[0].Coef)
		}
	}
}

// TestMEHLSoupModelBatches: with model batches smaller than the number of
// models every batch reduces its training loss, batches partition the
// shuffled models, the last one holding the remainder.
func TestMEHLSoupModelBatches(t *testing.T) {
	x, y := soupProblem(200, 2)
	net, _, models := optimumAndPerturbations(t, x, y, 7, 0.5, 4)
	cfg := DefaultMEHLConfig(rand.New(rand.NewPCG(2, 2)))
	cfg.BatchModels, cfg.Epochs, cfg.BatchSize, cfg.LR = 3, 30, 50, 0.05
	res, err := MEHLSoup(context.Background(), net, models, x, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	for i, b := range res.Batches {
		want := 3
		if i == 2 {
			want = 1
		}
		if len(b.Models) != want || len(b.Coef) != want || len(b.Loss) != 30 {
			t.Fatalf("batch %d: %d models, %d coefficient rows, %d epochs; want %d, %d, 30", i, len(b.Models), len(b.Coef), len(b.Loss), want, want)
		}
		if b.Loss[len(b.Loss)-1] >= b.Loss[0] {
			t.Errorf("batch %d: loss %v did not decrease", i, b.Loss)
		}
		seen = append(seen, b.Models...)
	}
	if len(res.Batches) != 3 || !slices.Equal(seen, res.Order) {
		t.Fatalf("%d batches over %v, order %v", len(res.Batches), seen, res.Order)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []int{0, 1, 2, 3, 4, 5, 6}) {
		t.Fatalf("models %v are not a permutation", seen)
	}
}

// TestMEHLGradient checks ∂L/∂X[i,l] = ⟨Q_{i,l}, ∇_w L⟩ against central
// finite differences of the loss at w(X), layer-wise, on an MLP.
func TestMEHLGradient(t *testing.T) {
	x, y := soupProblem(40, 5)
	net := newSoupNet(t, nn.MLP([]int{4}, []int{6}, 3), 1)
	d := len(net.Weights())
	bounds, names, err := soupBlocks(net, d, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 4 {
		t.Fatalf("blocks %v, want 4 tensors", names)
	}
	r := rand.New(rand.NewPCG(6, 6))
	models := randVecs(r, 3, d)
	st := &mehlState{d: d, bounds: bounds, c: make([]float64, d), acc: make([]float64, d), q: make([]float32, 3*d)}
	for j := range st.c {
		st.c[j] = float64(net.Weights()[j])
	}
	st.setDirections(models)
	L := len(names)
	X := make([]float32, 3*L)
	for i := range X {
		X[i] = float32(0.3 * r.NormFloat64())
	}
	dl := make([]float32, len(y)*3)
	loss := func(X []float32) float64 {
		st.weights(net.Weights(), X)
		out := net.Forward(x, len(y), false)
		l, _ := nn.SoftmaxCrossEntropy(out, dl, y, 3, 0)
		return l
	}
	loss(X)
	net.ZeroGrad()
	net.Backward(dl, false)
	G := make([]float32, len(X))
	st.grad(G, net.Grads(), 3)
	const eps = 1e-3
	for i := range X {
		xp := slices.Clone(X)
		xp[i] += eps
		lp := loss(xp)
		xp[i] -= 2 * eps
		lm := loss(xp)
		fd := (lp - lm) / (2 * eps)
		if math.Abs(fd-float64(G[i])) > 2e-4+1e-2*math.Abs(fd) {
			t.Errorf("∂L/∂X[%d,%d] = %g, finite differences %g", i/L, i%L, G[i], fd)
		}
	}
}

// TestMEHLSoupBlocks: MEHL-Soup+ learns one coefficient per model and
// parameter tensor, MEHL-Soup one per model.
func TestMEHLSoupBlocks(t *testing.T) {
	x, y := soupProblem(64, 7)
	spec := nn.MLP([]int{4}, []int{5}, 3)
	net := newSoupNet(t, spec, 1)
	var models [][]float32
	for s := range uint64(4) {
		models = append(models, slices.Clone(newSoupNet(t, spec, s+10).Weights()))
	}
	for _, tc := range []struct {
		layerWise bool
		blocks    []string
	}{
		{false, []string{"all"}},
		{true, tensorNames(net)},
	} {
		cfg := DefaultMEHLConfig(rand.New(rand.NewPCG(1, 1)))
		cfg.Epochs, cfg.BatchSize, cfg.LayerWise = 2, 32, tc.layerWise
		res, err := MEHLSoup(context.Background(), net, models, x, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Blocks, tc.blocks) {
			t.Errorf("layer-wise %v: blocks %v, want %v", tc.layerWise, res.Blocks, tc.blocks)
		}
		for _, c := range res.Batches[0].Coef {
			if len(c) != len(tc.blocks) {
				t.Errorf("layer-wise %v: %d coefficients per model, want %d", tc.layerWise, len(c), len(tc.blocks))
			}
		}
	}
}

func tensorNames(net *nn.Network) []string {
	var s []string
	for _, p := range net.Params() {
		s = append(s, p.Name)
	}
	return s
}

// TestMEHLSoupDeterministic: the same seed gives the same soup bit for
// bit; another seed another model order or soup.
func TestMEHLSoupDeterministic(t *testing.T) {
	x, y := soupProblem(100, 8)
	spec := nn.MLP([]int{4}, []int{5}, 3)
	var models [][]float32
	for s := range uint64(5) {
		models = append(models, slices.Clone(newSoupNet(t, spec, s+20).Weights()))
	}
	soup := func(seed uint64) ([]float32, []int) {
		net := newSoupNet(t, spec, 1)
		cfg := DefaultMEHLConfig(rand.New(rand.NewPCG(seed, 1)))
		cfg.BatchModels, cfg.Epochs, cfg.BatchSize = 2, 3, 16
		res, err := MEHLSoup(context.Background(), net, models, x, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(net.Weights()), res.Order
	}
	a, oa := soup(3)
	b, ob := soup(3)
	if !slices.Equal(a, b) || !slices.Equal(oa, ob) {
		t.Fatal("same seed, different soups")
	}
	c, oc := soup(4)
	if slices.Equal(a, c) && slices.Equal(oa, oc) {
		t.Fatal("different seeds, identical soups")
	}
}

// TestMEHLSoupKeepsBNStatistics: coefficient learning runs the network in
// training mode but leaves its batch-norm running statistics exactly as
// they were, and restores the momentum.
func TestMEHLSoupKeepsBNStatistics(t *testing.T) {
	spec := nn.CNN([]int{1, 4, 4}, 2, nn.CNNOptions{Width: 2, Hidden: 4, BatchNorm: true})
	r := rand.New(rand.NewPCG(9, 9))
	x := make([]float32, 48*16)
	y := make([]int, 48)
	for i := range y {
		y[i] = i % 2
		for j := range 16 {
			x[i*16+j] = float32(r.Float64()) + 0.5*float32(y[i]*(j%2))
		}
	}
	net := newSoupNet(t, spec, 1)
	for i := range net.BufferData() {
		net.BufferData()[i] = float32(i%5) + 0.25 // non-default statistics
	}
	before := slices.Clone(net.BufferData())
	var models [][]float32
	for s := range uint64(3) {
		models = append(models, slices.Clone(newSoupNet(t, spec, s+30).Weights()))
	}
	cfg := DefaultMEHLConfig(rand.New(rand.NewPCG(1, 1)))
	cfg.Epochs, cfg.BatchSize = 2, 16
	if _, err := MEHLSoup(context.Background(), net, models, x, y, cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(net.BufferData(), before) {
		t.Error("batch-norm running statistics changed during coefficient learning")
	}
	if net.BNMomentum() != 0.1 {
		t.Errorf("batch-norm momentum %v not restored to 0.1", net.BNMomentum())
	}
	// A plain training-mode pass does change them, so the check above can fail.
	net.Forward(x[:16*16], 16, true)
	if slices.Equal(net.BufferData(), before) {
		t.Error("test setup: a training-mode forward left the statistics unchanged")
	}
}

// TestMEHLSoupZeroNormBlock: two models equal in their first tensor give
// zero directions there; the soup stays finite and keeps that tensor.
func TestMEHLSoupZeroNormBlock(t *testing.T) {
	x, y := soupProblem(64, 10)
	net := newSoupNet(t, linearSpec, 1)
	a := slices.Clone(newSoupNet(t, linearSpec, 2).Weights())
	b := slices.Clone(newSoupNet(t, linearSpec, 3).Weights())
	nw := net.Params()[0].Size()
	copy(b[:nw], a[:nw])
	for _, layerWise := range []bool{true, false} {
		cfg := DefaultMEHLConfig(rand.New(rand.NewPCG(1, 1)))
		cfg.Epochs, cfg.BatchSize, cfg.LayerWise = 3, 16, layerWise
		if _, err := MEHLSoup(context.Background(), net, [][]float32{a, b, a}, x, y, cfg); err != nil {
			t.Fatal(err)
		}
		if !finite(net.Weights()) {
			t.Fatalf("layer-wise %v: non-finite soup %v", layerWise, net.Weights())
		}
		if layerWise && !slices.Equal(net.Weights()[:nw], a[:nw]) {
			t.Errorf("shared tensor changed: %v, want %v", net.Weights()[:nw], a[:nw])
		}
	}
}

// TestGreedySoup: over model sets of varied quality, the greedy soup's
// held-out accuracy is never below the best single model's, it starts from
// the best model, its weights are the mean of its ingredients, and the
// per-model accuracies are the models' own.
func TestGreedySoup(t *testing.T) {
	x, y := soupProblem(300, 12)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		sigmas []float64
	}{
		{"close", []float64{0.1, 0.1, 0.1, 0.1}},
		{"mixed", []float64{0.05, 0.5, 1, 2, 0.2}},
		{"far", []float64{1.5, 1.5, 1.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net, opt, _ := optimumAndPerturbations(t, x, y, 2, 0, 1)
			r := rand.New(rand.NewPCG(uint64(len(tc.sigmas)), 1))
			var models [][]float32
			for _, s := range tc.sigmas {
				m := slices.Clone(opt)
				for j := range m {
					m[j] += float32(s * r.NormFloat64())
				}
				models = append(models, m)
			}
			res, err := GreedySoup(ctx, net, models, x, y, GreedyConfig{BatchSize: 64})
			if err != nil {
				t.Fatal(err)
			}
			soup := slices.Clone(net.Weights())
			bestSingle := 0.0
			for i, m := range models {
				copy(net.Weights(), m)
				acc, _, _ := heldOutEval(ctx, net, x, y, 300, 0)
				if acc != res.ModelAccuracy[i] {
					t.Errorf("model %d: reported accuracy %v, evaluated %v", i, res.ModelAccuracy[i], acc)
				}
				bestSingle = max(bestSingle, acc)
			}
			if res.Accuracy < bestSingle {
				t.Errorf("greedy soup %.4f below the best single model %.4f", res.Accuracy, bestSingle)
			}
			if res.ModelAccuracy[res.Ingredients[0]] != bestSingle {
				t.Errorf("first ingredient %d is not the best model", res.Ingredients[0])
			}
			for i := 1; i < len(res.Order); i++ {
				if res.ModelAccuracy[res.Order[i]] > res.ModelAccuracy[res.Order[i-1]] {
					t.Fatalf("order %v not by decreasing accuracy %v", res.Order, res.ModelAccuracy)
				}
			}
			var ing [][]float32
			for _, i := range res.Ingredients {
				ing = append(ing, models[i])
			}
			want := slices.Clone(ing[0])
			if len(ing) > 1 {
				UniformSoup(want, ing)
			}
			for j := range want {
				if math.Abs(float64(want[j]-soup[j])) > 1e-6 {
					t.Fatalf("soup weight %d = %g, mean of ingredients %v is %g", j, soup[j], res.Ingredients, want[j])
				}
			}
			copy(net.Weights(), soup)
			if acc, _, _ := heldOutEval(ctx, net, x, y, 300, 0); acc != res.Accuracy {
				t.Errorf("soup accuracy %v, reported %v", acc, res.Accuracy)
			}
			t.Logf("ingredients %v of %d, accuracy %.4f (best single %.4f)", res.Ingredients, len(models), res.Accuracy, bestSingle)
		})
	}
}

// TestGreedySoupBN: with BNData the statistics left in the network are the
// ones recomputed for the soup.
func TestGreedySoupBN(t *testing.T) {
	spec := nn.CNN([]int{1, 4, 4}, 2, nn.CNNOptions{Width: 2, Hidden: 4, BatchNorm: true})
	r := rand.New(rand.NewPCG(4, 4))
	x := make([]float32, 40*16)
	y := make([]int, 40)
	for i := range y {
		y[i] = i % 2
		for j := range 16 {
			x[i*16+j] = float32(r.Float64()) + 0.5*float32(y[i]*(j%2))
		}
	}
	net := newSoupNet(t, spec, 1)
	var models [][]float32
	for s := range uint64(3) {
		models = append(models, slices.Clone(newSoupNet(t, spec, s+40).Weights()))
	}
	ctx := context.Background()
	if _, err := GreedySoup(ctx, net, models, x, y, GreedyConfig{BNData: x, BNBatch: 8}); err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(net.BufferData())
	if err := UpdateBN(ctx, net, x, 8); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, net.BufferData()) {
		t.Error("batch-norm statistics left by the greedy soup are not the soup's")
	}
}

func TestSoupErrors(t *testing.T) {
	x, y := soupProblem(20, 1)
	net := newSoupNet(t, linearSpec, 1)
	w := slices.Clone(net.Weights())
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 1))
	ok := func() MEHLConfig { return DefaultMEHLConfig(r) }
	two := [][]float32{w, w}
	badLabels := slices.Clone(y)
	badLabels[3] = 7
	cases := []struct {
		name   string
		models [][]float32
		x      []float32
		y      []int
		cfg    func(*MEHLConfig)
		want   string
	}{
		{"one model", [][]float32{w}, x, y, nil, "at least 2 models"},
		{"length mismatch", [][]float32{w, w[:5]}, x, y, nil, "model 1 has 5 weights"},
		{"model batch 0", two, x, y, func(c *MEHLConfig) { c.BatchModels = 0 }, "model batch size 0"},
		{"lr 0", two, x, y, func(c *MEHLConfig) { c.LR = 0 }, "learning rate"},
		{"lr NaN", two, x, y, func(c *MEHLConfig) { c.LR = math.NaN() }, "learning rate"},
		{"epochs 0", two, x, y, func(c *MEHLConfig) { c.Epochs = 0 }, "0 epochs"},
		{"warm-up 1", two, x, y, func(c *MEHLConfig) { c.WarmupFrac = 1 }, "warm-up"},
		{"batch 0", two, x, y, func(c *MEHLConfig) { c.BatchSize = 0 }, "held-out batch size"},
		{"no rand", two, x, y, func(c *MEHLConfig) { c.Rand = nil }, "rand"},
		{"short x", two, x[:7], y, nil, "held-out input values"},
		{"bad label", two, x, badLabels, nil, "label 7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			_, err := MEHLSoup(ctx, net, tc.models, tc.x, tc.y, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("MEHLSoup: err = %v, want %q", err, tc.want)
			}
			if tc.cfg == nil {
				if _, err := GreedySoup(ctx, net, tc.models, tc.x, tc.y, GreedyConfig{}); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("GreedySoup: err = %v, want %q", err, tc.want)
				}
			}
		})
	}
	if err := UniformSoup(make([]float32, len(w)), [][]float32{w}); err == nil {
		t.Error("uniform soup of one model accepted")
	}
	if err := UniformSoup(make([]float32, len(w)), [][]float32{w, w[:3]}); err == nil {
		t.Error("uniform soup of mismatched models accepted")
	}
	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := MEHLSoup(ctxDone, net, two, x, y, ok()); err == nil {
		t.Error("cancelled context not reported")
	}
}

// TestTWAJournal: TWAJournalConfig has the journal defaults of TWA and puts
// all checkpoints in one model batch, so the start is their mean (the SWA
// point). The affine form w = c + Σ X[i,l]·Q_{i,l} keeps the result in the
// checkpoints' affine span block by block: for checkpoints on a line
// a + t(b − a), every parameter tensor of the result lies on that tensor's
// line (with one block, the result lies on the line itself), and training
// lowers the loss below the SWA point's.
func TestTWAJournal(t *testing.T) {
	cfg := TWAJournalConfig(rand.New(rand.NewPCG(1, 1)))
	if cfg.Epochs != 10 || cfg.LR != 1e-3 || cfg.WarmupFrac != 0.2 || !cfg.LayerWise || cfg.BatchSize != 128 || cfg.BatchModels < 1<<30 || cfg.LabelSmoothing != 0 {
		t.Fatalf("TWAJournalConfig = %+v", cfg)
	}
	if err := cfg.check(); err != nil {
		t.Fatal(err)
	}
	x, y := soupProblem(192, 9)
	spec := nn.MLP([]int{4}, []int{5}, 3)
	a := newSoupNet(t, spec, 30).Weights()
	b := newSoupNet(t, spec, 31).Weights()
	var models [][]float32
	for _, s := range []float64{-0.5, 0, 0.4, 1, 1.5} {
		w := make([]float32, len(a))
		for j := range w {
			w[j] = float32(float64(a[j]) + s*(float64(b[j])-float64(a[j])))
		}
		models = append(models, w)
	}
	net := newSoupNet(t, spec, 1)
	mean := make([]float32, len(a))
	if err := UniformSoup(mean, models); err != nil {
		t.Fatal(err)
	}
	swaLoss := fullLoss(t, net, mean, x, y)
	for _, layerWise := range []bool{true, false} {
		cfg := TWAJournalConfig(rand.New(rand.NewPCG(2, 2)))
		cfg.BatchSize, cfg.LayerWise = 32, layerWise
		res, err := MEHLSoup(context.Background(), net, models, x, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Batches) != 1 || len(res.Batches[0].Models) != len(models) || len(res.Batches[0].Loss) != 10 {
			t.Fatalf("layer-wise %v: %d batches (first %+v), want one of all %d models over 10 epochs", layerWise, len(res.Batches), res.Batches[0], len(models))
		}
		w := slices.Clone(net.Weights())
		bounds := []int{0, len(w)}
		if layerWise {
			bounds = []int{0}
			for _, p := range net.Params() {
				bounds = append(bounds, bounds[len(bounds)-1]+p.Size())
			}
		}
		var moved float64
		for l := range len(bounds) - 1 {
			lo, hi := bounds[l], bounds[l+1]
			var du, uu, ww float64
			for j := lo; j < hi; j++ {
				d, u := float64(w[j])-float64(a[j]), float64(b[j])-float64(a[j])
				du, uu, ww = du+d*u, uu+u*u, ww+float64(w[j])*float64(w[j])
				moved += (float64(w[j]) - float64(mean[j])) * (float64(w[j]) - float64(mean[j]))
			}
			var res2 float64
			for j := lo; j < hi; j++ {
				d, u := float64(w[j])-float64(a[j]), float64(b[j])-float64(a[j])
				r := d - du/uu*u
				res2 += r * r
			}
			if rel := math.Sqrt(res2 / ww); rel > 1e-6 {
				t.Errorf("layer-wise %v, block %d: residual to the line through the checkpoints %.3g of the weight norm", layerWise, l, rel)
			}
		}
		got := fullLoss(t, net, w, x, y)
		t.Logf("layer-wise %v: moved %.4f from the SWA point, loss %.5f → %.5f", layerWise, math.Sqrt(moved), swaLoss, got)
		if moved == 0 || !(got < swaLoss) {
			t.Errorf("layer-wise %v: moved %g from the SWA point, loss %.5f, SWA point %.5f", layerWise, math.Sqrt(moved), got, swaLoss)
		}
	}
}
