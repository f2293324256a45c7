package train

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

// kfacGolden is testdata/kfac_golden.json (testdata/kfac_golden.py).
type kfacGolden struct {
	Lambda, Decay, LR      float64
	KLClip                 float64 `json:"kl_clip"`
	N, In, Hidden, Classes int
	Weights                []float64
	X                      [][]float64
	Y                      [][]int
	Steps                  []struct {
		Nu              float64
		Grad, Direction []float64
		WeightsJ        []float64 `json:"weights"`
	}
}

// ceClosure is the mean cross-entropy of net on (x, y), as Fit's closure.
func ceClosure(net *nn.Network, x []float32, y []int) Closure {
	dl := make([]float32, len(y)*net.NumClasses())
	return func() (float64, error) {
		net.ZeroGrad()
		out := net.Forward(x, len(y), true)
		loss, _ := nn.SoftmaxCrossEntropy(out, dl, y, net.NumClasses(), 0)
		net.Backward(dl, false)
		return loss, nil
	}
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestKFACGolden makes two K-FAC steps (the second with running-average
// factors, both KL-clipped) on a tiny MLP and checks the gradient, the
// preconditioned direction and the weights after each step against the
// numpy script's within 1e-5.
func TestKFACGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/kfac_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g kfacGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(nn.MLP([]int{g.In}, []int{g.Hidden}, g.Classes), 1)
	if err != nil {
		t.Fatal(err)
	}
	copy(net.Weights(), to32(g.Weights))
	sgd, _ := NewSGD(g.LR, 0, 0, false)
	o, err := NewKFAC(net, sgd, KFACConfig{Damping: g.Lambda, StatDecay: g.Decay, StatsPeriod: 1, InvPeriod: 1, KLClip: g.KLClip})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Steps) != 2 {
		t.Fatalf("golden has %d steps", len(g.Steps))
	}
	for s, want := range g.Steps {
		if _, err := o.Step(net, ceClosure(net, to32(g.X[s]), g.Y[s])); err != nil {
			t.Fatal(err)
		}
		for i, v := range net.Grads() {
			if math.Abs(float64(v)-want.Grad[i]) > 1e-6 {
				t.Fatalf("step %d: gradient [%d] = %g, numpy %g", s+1, i, v, want.Grad[i])
			}
		}
		for i, v := range o.dir {
			if math.Abs(float64(v)-want.Direction[i]) > 1e-5 {
				t.Fatalf("step %d: direction [%d] = %g, numpy %g", s+1, i, v, want.Direction[i])
			}
		}
		for i, v := range net.Weights() {
			if math.Abs(float64(v)-want.WeightsJ[i]) > 1e-5 {
				t.Fatalf("step %d: weight [%d] = %g, numpy %g", s+1, i, v, want.WeightsJ[i])
			}
		}
	}
	if o.Steps != 2 || o.StatUpdates != 2 || o.Inversions != 2 {
		t.Fatalf("counts: %d steps, %d stat updates, %d inversions", o.Steps, o.StatUpdates, o.Inversions)
	}
}

// TestKFACConvFactors checks the convolution factors (KFC) of one pass on
// a small CNN against sums over the im2col rows computed here, and that the
// taps' product Σ DOutᵀ·In is the weight gradient the backward pass left.
func TestKFACConvFactors(t *testing.T) {
	spec := nn.CNN([]int{1, 6, 6}, 3, nn.CNNOptions{Width: 2, Hidden: 4})
	net, err := nn.New(spec, 5)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	n := 4
	x := make([]float32, n*36)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	y := []int{0, 1, 2, 1}
	sgd, _ := NewSGD(0.1, 0, 0, false)
	o, err := NewKFAC(net, sgd, KFACConfig{Damping: 1e-2, StatDecay: 0.95, StatsPeriod: 1, InvPeriod: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.layers) != 4 {
		t.Fatalf("%d K-FAC layers, want 2 conv + 2 dense", len(o.layers))
	}
	if _, err := ceClosure(net, x, y)(); err != nil {
		t.Fatal(err)
	}
	taps := net.Taps()
	if err := o.updateStats(taps); err != nil {
		t.Fatal(err)
	}
	for li, tp := range taps {
		l := o.layers[li]
		// weight gradient = Σ_r dy_r a_rᵀ
		for oo := 0; oo < tp.Out; oo++ {
			for j := 0; j < tp.InDim; j++ {
				var s float64
				for rr := 0; rr < tp.Rows; rr++ {
					s += float64(tp.DOut[rr*tp.Out+oo]) * float64(tp.In[rr*tp.InDim+j])
				}
				if got := float64(tp.Weight.G[oo*tp.InDim+j]); math.Abs(got-s) > 1e-5 {
					t.Fatalf("layer %d (%s): weight gradient [%d,%d] %g, Σ dy aᵀ %g", li, tp.Kind, oo, j, got, s)
				}
			}
		}
		// A = mean ā āᵀ over rows; G = n Σ dy dyᵀ (first update: no decay)
		for i := 0; i < l.p; i++ {
			for j := 0; j <= i; j++ {
				var s float64
				for rr := 0; rr < tp.Rows; rr++ {
					ai, aj := 1.0, 1.0
					if i < tp.InDim {
						ai = float64(tp.In[rr*tp.InDim+i])
					}
					if j < tp.InDim {
						aj = float64(tp.In[rr*tp.InDim+j])
					}
					s += ai * aj
				}
				if got := l.a[i*l.p+j]; math.Abs(got-s/float64(tp.Rows)) > 1e-9*(1+math.Abs(got)) {
					t.Fatalf("layer %d: A[%d,%d] %g, want %g", li, i, j, got, s/float64(tp.Rows))
				}
			}
		}
		for i := 0; i < l.out; i++ {
			for j := 0; j <= i; j++ {
				var s float64
				for rr := 0; rr < tp.Rows; rr++ {
					s += float64(tp.DOut[rr*tp.Out+i]) * float64(tp.DOut[rr*tp.Out+j])
				}
				if got := l.g[i*l.out+j]; math.Abs(got-float64(n)*s) > 1e-9*(1+math.Abs(got)) {
					t.Fatalf("layer %d: G[%d,%d] %g, want %g", li, i, j, got, float64(n)*s)
				}
			}
		}
	}
	if taps[0].Kind != nn.KindConv || taps[0].Rows != n*36 || taps[3].Rows != n {
		t.Fatalf("taps %s rows %d, head rows %d", taps[0].Kind, taps[0].Rows, taps[3].Rows)
	}
}

// TestKFACTrains trains a batch-norm CNN a few steps through the registry
// (batch-norm parameters take their plain gradient) and checks that the
// loss falls and inverses are recomputed on schedule.
func TestKFACTrains(t *testing.T) {
	spec := nn.CNN([]int{1, 8, 8}, 3, nn.CNNOptions{Width: 2, Hidden: 8, BatchNorm: true})
	net, err := nn.New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	n := 24
	x := make([]float32, n*64)
	y := make([]int, n)
	for i := range y {
		y[i] = i % 3
		for j := 0; j < 64; j++ {
			x[i*64+j] = float32(r.NormFloat64()*0.3) + float32(y[i]*(j%3))*0.5
		}
	}
	cfg := DefaultOptimizerConfig()
	cfg.LR, cfg.KFAC = 0.05, KFACConfig{Damping: 1e-2, StatDecay: 0.95, StatsPeriod: 1, InvPeriod: 5, KLClip: 1e-2}
	opt, err := NewOptimizer("kfac", net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := ceClosure(net, x, y)
	first, _ := c()
	var last float64
	for s := 0; s < 30; s++ {
		if last, err = opt.Step(net, c); err != nil {
			t.Fatal(err)
		}
	}
	if !(last < 0.5*first) {
		t.Fatalf("loss %g after 30 steps, from %g", last, first)
	}
	if k := opt.(*KFAC); k.Inversions != 6 || k.StatUpdates != 30 {
		t.Fatalf("%d inversions, %d stat updates", k.Inversions, k.StatUpdates)
	}
	// the registry's default config
	if _, err := NewOptimizer("kfac", net, DefaultOptimizerConfig()); err != nil {
		t.Fatal(err)
	}
}

// TestKFACBadSettings checks the errors for settings that cannot work.
func TestKFACBadSettings(t *testing.T) {
	net, err := nn.New(nn.MLP([]int{4}, []int{3}, 2), 1)
	if err != nil {
		t.Fatal(err)
	}
	sgd, _ := NewSGD(0.1, 0, 0, false)
	ok := DefaultKFACConfig()
	for _, tc := range []struct {
		name string
		edit func(c *KFACConfig)
		want string
	}{
		{"zero damping", func(c *KFACConfig) { c.Damping = 0 }, "damping"},
		{"NaN damping", func(c *KFACConfig) { c.Damping = math.NaN() }, "damping"},
		{"decay 1", func(c *KFACConfig) { c.StatDecay = 1 }, "stat decay"},
		{"inverse period 0", func(c *KFACConfig) { c.InvPeriod = 0 }, "periods"},
		{"negative clip", func(c *KFACConfig) { c.KLClip = -1 }, "KL clip"},
	} {
		c := ok
		tc.edit(&c)
		if _, err := NewKFAC(net, sgd, c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one about %q", tc.name, err, tc.want)
		}
	}
	// a step whose closure fails passes the error on, the weights untouched
	o, _ := NewKFAC(net, sgd, ok)
	boom := errors.New("boom")
	w0 := append([]float32(nil), net.Weights()...)
	if _, err := o.Step(net, func() (float64, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	for i := range w0 {
		if w0[i] != net.Weights()[i] {
			t.Fatal("weights changed by a failed step")
		}
	}
}
