package train

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
)

// TestSmallCNNLearnsFashionMNIST trains the small CNN on the embedded
// Fashion-MNIST subset for a fixed number of steps with a fixed seed and
// requires at least 80% accuracy on the embedded test subset.
func TestSmallCNNLearnsFashionMNIST(t *testing.T) {
	tr, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(nn.CNN(tr.Shape, 10, nn.CNNOptions{Width: 16, Hidden: 64, BatchNorm: true}), 1)
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := NewSGD(0.05, 0.9, 5e-4, true)
	const steps = 200
	hist, err := Fit(context.Background(), net, tr.X, tr.Y, Config{
		Steps: steps, BatchSize: 128, Seed: 1, Optimizer: opt, Schedule: Cosine{Base: 0.05},
	})
	if err != nil {
		t.Fatal(err)
	}
	if last := hist[len(hist)-1]; last.Step != steps {
		t.Fatalf("ran %d steps, want %d", last.Step, steps)
	}
	m, _, err := metrics.EvaluateClassifier(context.Background(), net, te.X, te.Y)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test accuracy %.4f, ECE %.4f after %d steps", m.Accuracy, m.ECE, steps)
	if m.Accuracy < 0.80 {
		t.Errorf("test accuracy %.4f < 0.80", m.Accuracy)
	}
}

func toyProblem(n int) ([]float32, []int) {
	r := rand.New(rand.NewPCG(3, 3))
	x := make([]float32, n*4*4)
	y := make([]int, n)
	for i := range y {
		y[i] = i % 2
		for j := 0; j < 16; j++ {
			x[i*16+j] = float32(r.Float64()*0.5) + 0.4*float32(y[i]*(j%2))
		}
	}
	return x, y
}

func TestFitDeterministic(t *testing.T) {
	x, y := toyProblem(64)
	run := func() []float32 {
		net, err := nn.New(nn.CNN([]int{1, 4, 4}, 2, nn.CNNOptions{Width: 2, Hidden: 4, Dropout: 0.2}), 9)
		if err != nil {
			t.Fatal(err)
		}
		opt, _ := NewSGD(0.1, 0.9, 0, false)
		if _, err := Fit(context.Background(), net, x, y, Config{Epochs: 3, BatchSize: 16, Seed: 4, Optimizer: opt, Augment: Augment{CropPad: 1, FlipH: true}}); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(net.Weights())
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Error("two runs with the same seeds gave different weights")
	}
}

func TestFitStopsOnNonFiniteLoss(t *testing.T) {
	x, y := toyProblem(64)
	net, err := nn.New(nn.MLP([]int{1, 4, 4}, []int{8}, 2), 1)
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := NewSGD(1e30, 0, 0, false)
	_, err = Fit(context.Background(), net, x, y, Config{Epochs: 5, BatchSize: 16, Optimizer: opt})
	if !errors.Is(err, ErrNonFiniteLoss) {
		t.Fatalf("err = %v, want ErrNonFiniteLoss", err)
	}
	for i, v := range net.Weights() {
		if v != v || v > 1e38 || v < -1e38 {
			t.Fatalf("weight %d = %v: the failing step was not rolled back", i, v)
		}
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	x, y := toyProblem(8)
	net, _ := nn.New(nn.MLP([]int{1, 4, 4}, []int{8}, 2), 1)
	opt, _ := NewSGD(0.1, 0, 0, false)
	bad := []struct {
		name string
		x    []float32
		y    []int
		cfg  Config
	}{
		{"no optimizer", x, y, Config{Epochs: 1}},
		{"no epochs", x, y, Config{Optimizer: opt}},
		{"ragged", x[:len(x)-1], y, Config{Epochs: 1, Optimizer: opt}},
		{"label range", x, append(slices.Clone(y[:7]), 5), Config{Epochs: 1, Optimizer: opt}},
	}
	for _, c := range bad {
		if _, err := Fit(context.Background(), net, c.x, c.y, c.cfg); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, net, x, y, Config{Epochs: 1, Optimizer: opt}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
}

func TestAugment(t *testing.T) {
	const c, h, w = 2, 5, 6
	src := make([]float32, c*h*w)
	for i := range src {
		src[i] = float32(i + 1)
	}
	dst := make([]float32, len(src))
	r := rand.New(rand.NewPCG(1, 1))
	Augment{}.Apply(dst, src, 1, c, h, w, r)
	if !slices.Equal(dst, src) {
		t.Error("no augmentation changed the image")
	}
	// A flip applied to a flipped image gives the original back.
	flipped := make([]float32, len(src))
	flipOnly := Augment{FlipH: true}
	for tries := 0; ; tries++ {
		flipOnly.Apply(flipped, src, 1, c, h, w, r)
		if !slices.Equal(flipped, src) {
			break
		}
		if tries > 50 {
			t.Fatal("flip never happened in 50 draws")
		}
	}
	if flipped[0] != src[w-1] {
		t.Errorf("flip: first pixel %v, want %v", flipped[0], src[w-1])
	}
	// A crop shifts the image: every nonzero output pixel equals the source
	// pixel at one common offset within the padding.
	crop := Augment{CropPad: 2}
	for trial := 0; trial < 20; trial++ {
		crop.Apply(dst, src, 1, c, h, w, r)
		found := false
		for dy := -2; dy <= 2 && !found; dy++ {
			for dx := -2; dx <= 2 && !found; dx++ {
				ok := true
				for ch := 0; ch < c && ok; ch++ {
					for y := 0; y < h && ok; y++ {
						for x := 0; x < w; x++ {
							var want float32
							if sy, sx := y+dy, x+dx; sy >= 0 && sy < h && sx >= 0 && sx < w {
								want = src[(ch*h+sy)*w+sx]
							}
							if dst[(ch*h+y)*w+x] != want {
								ok = false
								break
							}
						}
					}
				}
				found = ok
			}
		}
		if !found {
			t.Fatalf("crop output is not a shifted copy of the input")
		}
	}
}
