package uap

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

// goldenNet is the tiny MLP of testdata/make_golden.py with its weights.
func goldenNet(t *testing.T) (*nn.Network, map[string]*data.Array) {
	t.Helper()
	g, err := data.ReadNPZ(filepath.Join("testdata", "golden.npz"))
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(nn.MLP([]int{1, 4, 4}, []int{12, 6}, 3), 0)
	if err != nil {
		t.Fatal(err)
	}
	w := g["w"].Float32()
	if len(w) != len(net.Weights()) {
		t.Fatalf("golden has %d weights, the network %d", len(w), len(net.Weights()))
	}
	copy(net.Weights(), w)
	return net, g
}

// TestObjectivesGolden checks the FG-UAP, dominant-pattern and GD-UAP
// objectives and their gradients with respect to v (through the network,
// by the probe of featureNet) against PyTorch autograd.
func TestObjectivesGolden(t *testing.T) {
	net, g := goldenNet(t)
	x, v := g["x"].Float32(), g["v"].Float32()
	for _, layer := range []string{"penultimate", "dense1"} {
		for _, obj := range []struct{ name, method string }{{"fg", "fg-uap"}, {"dom", "dominant"}, {"gd", "gd-uap"}} {
			t.Run(layer+"/"+obj.method, func(t *testing.T) {
				gv := make([]float32, len(v))
				l, err := ObjectiveGrad(context.Background(), net, obj.method, layer, x, slices.Clone(v), gv)
				if err != nil {
					t.Fatal(err)
				}
				wantL := g[layer+"_"+obj.name+"_loss"].At(0)
				if math.Abs(l-wantL) > 1e-5 {
					t.Errorf("loss %.8f, PyTorch %.8f", l, wantL)
				}
				want := g[layer+"_"+obj.name+"_grad"].Float64()
				var scale float64
				for _, w := range want {
					scale = max(scale, math.Abs(w))
				}
				for i, w := range want {
					if math.Abs(float64(gv[i])-w) > 1e-4*scale+1e-7 {
						t.Fatalf("gradient[%d] = %.7g, PyTorch %.7g (max |grad| %.3g)", i, gv[i], w, scale)
					}
				}
			})
		}
	}
}

func smallCNN(t *testing.T) *nn.Network {
	t.Helper()
	net, err := nn.New(nn.CNN([]int{1, 8, 8}, 4, nn.CNNOptions{Width: 3, Hidden: 10, BatchNorm: true}), 3)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, b := range net.Buffers() { // non-trivial batch-norm statistics
		for i := range b.Data {
			if strings.HasSuffix(b.Name, "running_mean") {
				b.Data[i] = float32(0.2 * (r.Float64() - 0.5))
			} else {
				b.Data[i] = float32(0.05 + 0.1*r.Float64())
			}
		}
	}
	return net
}

func randImages(n, in int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 9))
	x := make([]float32, n*in)
	for i := range x {
		x[i] = float32(r.Float64())
	}
	return x
}

// TestFeatureNet checks that the cut network gives the model's own
// penultimate features, and that the probe's input gradient of a linear
// function of a convolutional layer's features matches central finite
// differences.
func TestFeatureNet(t *testing.T) {
	ctx := context.Background()
	net := smallCNN(t)
	x := randImages(3, 64, 1)
	fn, err := newFeatureNet(net, len(net.Spec().Layers)-2, 3)
	if err != nil {
		t.Fatal(err)
	}
	got, want := make([]float32, 3*fn.dim), make([]float32, 3*net.FeatureDim())
	if err := fn.features(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	if err := net.Features(ctx, want, x); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("cut network's features differ from the model's:\n%v\n%v", got, want)
	}

	idx, err := ResolveLayer(net.Spec(), "relu1")
	if err != nil {
		t.Fatal(err)
	}
	fn, err = newFeatureNet(net, idx, 3)
	if err != nil {
		t.Fatal(err)
	}
	coef := randImages(3, fn.dim, 2)
	lin := func(feat, g []float32, n int) float64 {
		var s float64
		for i := range n * fn.dim {
			s += float64(coef[i]) * float64(feat[i])
			if g != nil {
				g[i] += coef[i]
			}
		}
		return s
	}
	gx := make([]float32, len(x))
	if _, err := fn.lossGrad(ctx, gx, x, lin); err != nil {
		t.Fatal(err)
	}
	feat := make([]float32, 3*fn.dim)
	at := func(xx []float32) float64 {
		if err := fn.features(ctx, feat, xx); err != nil {
			t.Fatal(err)
		}
		return lin(feat, nil, 3)
	}
	const h = 1e-2
	for _, i := range []int{0, 17, 64 + 30, 2*64 + 63} {
		xp, xm := slices.Clone(x), slices.Clone(x)
		xp[i] += h
		xm[i] -= h
		fd := (at(xp) - at(xm)) / (2 * h)
		if math.Abs(fd-float64(gx[i])) > 2e-2*max(1, math.Abs(fd)) {
			t.Errorf("input %d: gradient %.5g, finite difference %.5g", i, gx[i], fd)
		}
	}
}

// tinyData is a random labelled image set that fits smallCNN.
func tinyData(n int, seed uint64) *data.Dataset {
	d := &data.Dataset{Name: "tiny", Shape: []int{1, 8, 8}, X: randImages(n, 64, seed), Y: make([]int, n), Classes: []string{"a", "b", "c", "d"}}
	for i := range d.Y {
		d.Y[i] = i % 4
	}
	return d
}

// TestCraftWithinEps is the budget property: every method's perturbation
// is within ε in ℓ∞, and the clipped perturbed images are in [0, 1] and
// within ε of the originals.
func TestCraftWithinEps(t *testing.T) {
	ctx := context.Background()
	net := smallCNN(t)
	train, test := tinyData(40, 3), tinyData(30, 4)
	for _, m := range Methods() {
		for _, eps := range []float64{0.03, 0.3, 1} {
			o := DefaultOptions()
			o.Method, o.Eps, o.Epochs, o.Batch, o.DeepFoolIter = m, eps, 1, 8, 20
			p, err := Craft(ctx, net, train, o, nil)
			if err != nil {
				t.Fatalf("%s ε=%g: %v", m, eps, err)
			}
			if p.MaxAbs() > eps {
				t.Errorf("%s ε=%g: ‖v‖∞ = %g", m, eps, p.MaxAbs())
			}
			if m != "uap" && p.MaxAbs() == 0 {
				t.Errorf("%s ε=%g: the perturbation is zero", m, eps)
			}
			adv := make([]float32, len(test.X))
			Perturb(adv, test.X, p.V, true)
			for i, a := range adv {
				if a < 0 || a > 1 || math.Abs(float64(a)-float64(test.X[i])) > eps+1e-7 {
					t.Fatalf("%s ε=%g: perturbed value %g from %g", m, eps, a, test.X[i])
				}
			}
			if _, err := Evaluate(ctx, net, "cnn", test, p.V); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCraftDeterministic: the same seed gives the same perturbation, bit
// for bit; another seed another one.
func TestCraftDeterministic(t *testing.T) {
	net := smallCNN(t)
	train := tinyData(20, 5)
	o := DefaultOptions()
	o.Epochs, o.Batch = 1, 8
	a, _ := Craft(context.Background(), net, train, o, nil)
	b, _ := Craft(context.Background(), net, train, o, nil)
	o.Seed = 2
	c, _ := Craft(context.Background(), net, train, o, nil)
	if !slices.Equal(a.V, b.V) || slices.Equal(a.V, c.V) {
		t.Fatal("crafting is not deterministic per seed")
	}
}

// TestFGUAPFools: on a trained-looking setting FG-UAP must lower the
// cosine objective and change predictions more than doing nothing.
func TestFGUAPLowersObjective(t *testing.T) {
	ctx := context.Background()
	net := smallCNN(t)
	train := tinyData(64, 6)
	o := DefaultOptions()
	o.Epochs, o.Batch, o.Eps = 4, 16, 0.3
	p, err := Craft(ctx, net, train, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	gv := make([]float32, 64)
	start := make([]float32, 64)
	for i := range start {
		start[i] = float32(0.51 * o.Eps)
	}
	l0, err := ObjectiveGrad(ctx, net, "fg-uap", "", train.X, start, gv)
	if err != nil {
		t.Fatal(err)
	}
	l1, err := ObjectiveGrad(ctx, net, "fg-uap", "", train.X, p.V, gv)
	if err != nil {
		t.Fatal(err)
	}
	if !(l1 < l0 && l1 < 0.99) {
		t.Fatalf("mean cosine after FG-UAP %.4f, at a constant start %.4f", l1, l0)
	}
}

func TestDeepFoolFlips(t *testing.T) {
	ctx := context.Background()
	net := smallCNN(t)
	d := &deepFool{net: net, in: 64, k: 4, iters: 50, overshoot: 0.02}
	x := randImages(5, 64, 8)
	flipped := 0
	for i := range 5 {
		xi := x[i*64 : (i+1)*64]
		c, err := d.classify(ctx, xi)
		if err != nil {
			t.Fatal(err)
		}
		adv, label, err := d.attack(ctx, xi, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range adv {
			if a < 0 || a > 1 {
				t.Fatalf("DeepFool left [0, 1]: %g", a)
			}
		}
		if label != c {
			flipped++
		}
	}
	if flipped < 4 {
		t.Fatalf("DeepFool changed %d of 5 predictions", flipped)
	}
}

func TestResolveLayer(t *testing.T) {
	spec := nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{BatchNorm: true, Dropout: 0.25})
	last := len(spec.Layers) - 1
	for _, c := range []struct {
		name string
		want int
		err  bool
	}{
		{"", last - 1, false}, {"penultimate", last - 1, false}, {"conv1", 0, false}, {"conv2", 4, false},
		{"relu3", 10, false}, {"0", 0, false}, {"11", 11, false}, {" dense1 ", 9, false},
		{"12", 0, true}, {"-1", 0, true}, {"conv3", 0, true}, {"dense2", 0, true}, {"logits", 0, true}, {"1e3", 0, true},
	} {
		got, err := ResolveLayer(spec, c.name)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("ResolveLayer(%q) = %d, %v; want %d (error %v)", c.name, got, err, c.want, c.err)
		}
		if err != nil && (!errors.Is(err, ErrLayer) || !strings.Contains(err.Error(), "conv1")) {
			t.Errorf("ResolveLayer(%q): error %q does not match ErrLayer or list the names", c.name, err)
		}
	}
}

func FuzzResolveLayer(f *testing.F) {
	spec := nn.CNN([]int{1, 28, 28}, 10, nn.CNNOptions{})
	for _, s := range []string{"penultimate", "conv2", "3", "-7", "relu99", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		i, err := ResolveLayer(spec, name)
		if err == nil && (i < 0 || i >= len(spec.Layers)-1) {
			t.Fatalf("ResolveLayer(%q) = %d outside the feature layers", name, i)
		}
		if err != nil && !errors.Is(err, ErrLayer) {
			t.Fatalf("error %v is not ErrLayer", err)
		}
	})
}

func TestBadOptions(t *testing.T) {
	net := smallCNN(t)
	train := tinyData(8, 1)
	for _, c := range []struct {
		set  func(*Options)
		want string
	}{
		{func(o *Options) { o.Eps = 0 }, "--eps 0 outside (0, 1]"},
		{func(o *Options) { o.Eps = 1.5 }, "--eps 1.5 outside"},
		{func(o *Options) { o.Eps = -0.1 }, "--eps -0.1 outside"},
		{func(o *Options) { o.Eps = math.NaN() }, "--eps NaN outside"},
		{func(o *Options) { o.Method = "deepfool" }, `unknown UAP method "deepfool"`},
		{func(o *Options) { o.Layer = "conv7" }, `unknown layer "conv7"`},
		{func(o *Options) { o.Layer = "11" }, `unknown layer "11": index outside [0, 11)`},
		{func(o *Options) { o.Epochs = 0 }, "--epochs 0"},
		{func(o *Options) { o.Batch = 0 }, "--batch 0"},
	} {
		o := DefaultOptions()
		c.set(&o)
		_, err := Craft(context.Background(), net, train, o, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got error %v, want one containing %q", err, c.want)
		}
	}
	o := DefaultOptions()
	wrong := &data.Dataset{Name: "wrong", Shape: []int{1, 4, 4}, X: make([]float32, 16)}
	if _, err := Craft(context.Background(), net, wrong, o, nil); err == nil || !strings.Contains(err.Error(), "shape [1 4 4]") {
		t.Errorf("wrong shape: %v", err)
	}
}

// TestRunFiles runs the command's library call at a tiny size on the
// embedded model and data: files written atomically, the .npy reads back,
// and a second run does not overwrite them without Force.
func TestRunFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.TrainN, cfg.TestN, cfg.Epochs, cfg.Batch, cfg.OutDir = 64, 100, 1, 32, dir
	cfg.Targets = []string{"default"}
	rep, err := Run(context.Background(), &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := rep.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fg-uap on fashion-cnn, layer dropout1", "transfer", "random ±ε", "dominant pattern", "uap.npy"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, sb.String())
		}
	}
	// The same model as a target gives the source's numbers.
	if rep.Evals[0].Unclipped != rep.Evals[1].Unclipped || rep.Evals[0].Clipped != rep.Evals[1].Clipped {
		t.Errorf("source %+v and the same model as target %+v differ", rep.Evals[0], rep.Evals[1])
	}
	a, err := data.ReadNPYFile(filepath.Join(dir, NPYFile))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, []int{1, 28, 28}) || !slices.Equal(a.Float32(), rep.Perturbation.V) {
		t.Fatalf("uap.npy has shape %v and other values than the perturbation", a.Shape)
	}
	d := rep.Dominance
	var s float64
	for _, x := range d.PerturbedShare {
		s += x
	}
	if math.Abs(s-1) > 1e-9 || d.CosPerturbedDelta < -1 || d.CosPerturbedDelta > 1 {
		t.Errorf("dominance: shares sum to %g, cosine %g", s, d.CosPerturbedDelta)
	}
	for _, f := range []string{PNGFile, ClassesFile, CosineFile} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := Run(context.Background(), &cfg, nil); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second run without --force: %v", err)
	}
}
