package nn

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trustml/trustml/model"
)

func TestSpecErrors(t *testing.T) {
	img := []int{1, 8, 8}
	head := LayerSpec{Kind: KindDense, Out: 3}
	cases := []struct {
		name string
		spec Spec
	}{
		{"no layers", Spec{InputShape: img, NumClasses: 3}},
		{"last not dense", Spec{InputShape: img, NumClasses: 3, Layers: []LayerSpec{{Kind: KindReLU}}}},
		{"wrong classes", Spec{InputShape: img, NumClasses: 4, Layers: []LayerSpec{head}}},
		{"one class", Spec{InputShape: img, NumClasses: 1, Layers: []LayerSpec{{Kind: KindDense, Out: 1}}}},
		{"bad input", Spec{InputShape: []int{1, 8}, NumClasses: 3, Layers: []LayerSpec{head}}},
		{"zero dim", Spec{InputShape: []int{0, 8, 8}, NumClasses: 3, Layers: []LayerSpec{head}}},
		{"unknown kind", Spec{InputShape: img, NumClasses: 3, Layers: []LayerSpec{{Kind: "lstm"}, head}}},
		{"conv on vector", Spec{InputShape: []int{5}, NumClasses: 3, Layers: []LayerSpec{{Kind: KindConv, Out: 2, Kernel: 3}, head}}},
		{"kernel too big", Spec{InputShape: img, NumClasses: 3, Layers: []LayerSpec{{Kind: KindConv, Out: 2, Kernel: 9}, head}}},
		{"pool too big", Spec{InputShape: img, NumClasses: 3, Layers: []LayerSpec{{Kind: KindMaxPool, Kernel: 9}, head}}},
		{"dropout rate", Spec{InputShape: img, NumClasses: 3, Layers: []LayerSpec{{Kind: KindDropout, Rate: 1}, head}}},
		{"residual mismatch", Spec{InputShape: img, NumClasses: 3, Layers: []LayerSpec{{Kind: KindResidual, Body: []LayerSpec{{Kind: KindConv, Out: 2, Kernel: 3}}}, head}}},
		{"huge", Spec{InputShape: img, NumClasses: 3, Layers: []LayerSpec{{Kind: KindDense, Out: 1 << 20}, head}}},
	}
	for _, c := range cases {
		if _, err := New(c.spec, 1); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if _, err := SpecFor("vgg", img, 3); err == nil {
		t.Error("unknown architecture accepted")
	}
	if _, err := ResNet(img, 3, 9, 16); err == nil {
		t.Error("ResNet depth 9 accepted")
	}
	for _, name := range Architectures {
		s, err := SpecFor(name, []int{1, 28, 28}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(s, 1); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFeaturesFeedTheHead(t *testing.T) {
	net, err := New(CNN([]int{3, 6, 6}, 4, CNNOptions{Width: 2, Hidden: 5, BatchNorm: true}), 2)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	x := separated(n*3*36, rand.New(rand.NewPCG(1, 1)))
	ctx := context.Background()
	f := make([]float32, n*net.FeatureDim())
	if err := net.Features(ctx, f, x); err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, n*4)
	if err := net.Logits(ctx, logits, x); err != nil {
		t.Fatal(err)
	}
	ps := net.Params()
	w, b := ps[len(ps)-2], ps[len(ps)-1]
	d := net.FeatureDim()
	for i := 0; i < n; i++ {
		for k := 0; k < 4; k++ {
			s := float64(b.W[k])
			for j := 0; j < d; j++ {
				s += float64(w.W[k*d+j]) * float64(f[i*d+j])
			}
			if math.Abs(s-float64(logits[i*4+k])) > 1e-5 {
				t.Fatalf("logit %d,%d = %v, features·W+b = %v", i, k, logits[i*4+k], s)
			}
		}
	}
}

func TestClassifierInputErrors(t *testing.T) {
	net, _ := New(MLP([]int{4}, []int{3}, 2), 1)
	ctx := context.Background()
	if err := net.Logits(ctx, make([]float32, 2), make([]float32, 5)); !errors.Is(err, model.ErrShape) {
		t.Errorf("ragged input: %v", err)
	}
	if err := net.Logits(ctx, make([]float32, 3), make([]float32, 4)); !errors.Is(err, model.ErrShape) {
		t.Errorf("short destination: %v", err)
	}
	x := []float32{0, float32(math.NaN()), 0, 0}
	if err := net.Logits(ctx, make([]float32, 2), x); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN input: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := net.Logits(cctx, make([]float32, 2), make([]float32, 4)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := net.InputGrad(ctx, make([]float32, 3), make([]float32, 4), CrossEntropyLoss([]int{0})); !errors.Is(err, model.ErrShape) {
		t.Errorf("InputGrad shape: %v", err)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	net, _ := New(CNN([]int{1, 6, 6}, 3, CNNOptions{Width: 2, Hidden: 4, BatchNorm: true}), 4)
	c := net.Copy()
	if !slices.Equal(c.Weights(), net.Weights()) || !slices.Equal(c.BufferData(), net.BufferData()) {
		t.Fatal("copy differs")
	}
	c.Weights()[0] += 1
	c.BufferData()[0] += 1
	if c.Weights()[0] == net.Weights()[0] || c.BufferData()[0] == net.BufferData()[0] {
		t.Error("copy shares memory with the original")
	}
}

func TestBatchNormModes(t *testing.T) {
	net, _ := New(CNN([]int{1, 6, 6}, 3, CNNOptions{Width: 2, Hidden: 4, BatchNorm: true}), 4)
	x := separated(4*36, rand.New(rand.NewPCG(2, 2)))
	before := slices.Clone(net.BufferData())
	net.SetBNMomentum(0)
	net.Forward(x, 4, true)
	if !slices.Equal(before, net.BufferData()) {
		t.Error("momentum 0 changed the running statistics")
	}
	net.SetBNMomentum(0.1)
	net.FreezeBN(true)
	frozen := slices.Clone(net.Forward(x, 4, true))
	if !slices.Equal(before, net.BufferData()) {
		t.Error("frozen batch norm changed the running statistics")
	}
	if eval := net.Forward(x, 4, false); !slices.Equal(frozen, eval) {
		t.Error("frozen batch norm in training mode differs from inference mode")
	}
	net.FreezeBN(false)
	net.Forward(x, 4, true)
	if slices.Equal(before, net.BufferData()) {
		t.Error("training mode did not update the running statistics")
	}
	// PyTorch's update: running_mean = 0.9·0 + 0.1·batch mean.
	for _, b := range net.Buffers() {
		if b.Name == "1.running_mean" {
			for _, v := range b.Data {
				if v == 0 {
					t.Error("running mean still zero")
				}
			}
		}
	}
}

// TestConvMatchesDirect compares the im2col convolution against a direct
// NCHW loop.
func TestConvMatchesDirect(t *testing.T) {
	const c, h, w, out, k, stride, pad = 3, 7, 6, 4, 3, 2, 1
	net, err := New(Spec{InputShape: []int{c, h, w}, NumClasses: 2, Layers: []LayerSpec{
		{Kind: KindConv, Out: out, Kernel: k, Stride: stride, Pad: pad}, {Kind: KindFlatten}, {Kind: KindDense, Out: 2}}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := separated(c*h*w, rand.New(rand.NewPCG(3, 3)))
	net.Forward(x, 1, false)
	cv := net.layers[0].(*conv)
	got := cv.y // NHWC
	wt, b := cv.wt.W, cv.b.W
	oh, ow := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	for o := 0; o < out; o++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				s := float64(b[o])
				for ci := 0; ci < c; ci++ {
					for ky := 0; ky < k; ky++ {
						for kx := 0; kx < k; kx++ {
							iy, ix := oy*stride-pad+ky, ox*stride-pad+kx
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							s += float64(wt[((o*k+ky)*k+kx)*c+ci]) * float64(x[(ci*h+iy)*w+ix])
						}
					}
				}
				if g := got[(oy*ow+ox)*out+o]; math.Abs(float64(g)-s) > 1e-5 {
					t.Fatalf("out[%d,%d,%d] = %v, direct %v", o, oy, ox, g, s)
				}
			}
		}
	}
}

// FuzzSpec builds networks from arbitrary JSON specs: New must return an
// error or a network that runs a forward and backward pass, never panic.
func FuzzSpec(f *testing.F) {
	for _, name := range Architectures {
		s, _ := SpecFor(name, []int{1, 8, 8}, 3)
		b, _ := json.Marshal(s)
		f.Add(b)
	}
	f.Add([]byte(`{"input_shape":[2,3,3],"num_classes":2,"layers":[{"kind":"conv","out":2,"kernel":3,"stride":5,"pad":2},{"kind":"dense","out":2}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Spec
		if json.Unmarshal(b, &s) != nil {
			return
		}
		if prod(s.InputShape) > 4096 {
			return // keep each run small
		}
		net, err := New(s, 1)
		if err != nil || net.NumParams() > 1<<20 {
			return
		}
		x := make([]float32, 2*net.inSize)
		out := net.Forward(x, 2, true)
		if len(out) != 2*s.NumClasses {
			t.Fatalf("%d logits for 2 inputs and %d classes", len(out), s.NumClasses)
		}
		net.Backward(make([]float32, len(out)), true)
	})
}
