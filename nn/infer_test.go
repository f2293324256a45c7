package nn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// inferCases are networks whose fused inference path is checked against the
// plain inference-mode forward pass: every fusion pattern (convolution with
// or without batch norm, ReLU and max pooling; pooling that cannot be fused;
// 1×1, strided and padded convolutions; odd sizes that leave pooling
// remainders; residual blocks) with edge sizes (one channel, one output).
func inferCases(t *testing.T) map[string]Spec {
	t.Helper()
	cases := map[string]Spec{}
	add := func(name string, in []int, ls ...LayerSpec) {
		cases[name] = Spec{InputShape: in, NumClasses: 3, Layers: append(ls, LayerSpec{Kind: KindFlatten}, LayerSpec{Kind: KindDense, Out: 3})}
	}
	conv := func(out, k, s, p int) LayerSpec {
		return LayerSpec{Kind: KindConv, Out: out, Kernel: k, Stride: s, Pad: p}
	}
	bn, relu := LayerSpec{Kind: KindBatchNorm}, LayerSpec{Kind: KindReLU}
	mp := func(k, s int) LayerSpec { return LayerSpec{Kind: KindMaxPool, Kernel: k, Stride: s} }
	add("conv", []int{2, 5, 7}, conv(3, 3, 1, 1))
	add("conv bn", []int{2, 5, 7}, conv(3, 3, 1, 1), bn)
	add("conv bn relu", []int{1, 6, 6}, conv(4, 3, 1, 0), bn, relu)
	add("conv bn relu pool", []int{1, 9, 8}, conv(5, 3, 1, 1), bn, relu, mp(2, 2))
	add("conv relu pool3", []int{3, 10, 11}, conv(2, 3, 1, 1), relu, mp(3, 3))
	add("conv pool", []int{2, 7, 7}, conv(1, 2, 1, 0), mp(2, 2))
	add("conv bn pool", []int{2, 7, 7}, conv(3, 3, 2, 1), bn, mp(2, 2))
	add("overlapping pool", []int{2, 8, 8}, conv(3, 3, 1, 1), bn, relu, mp(3, 1))
	add("1x1", []int{4, 5, 5}, conv(6, 1, 1, 0), bn, relu)
	add("1x1 stride2", []int{4, 5, 5}, conv(6, 1, 2, 0), bn, relu, mp(2, 2))
	add("two stages", []int{1, 12, 12}, conv(4, 3, 1, 1), bn, relu, mp(2, 2), conv(7, 3, 1, 1), bn, relu, mp(2, 2))
	add("avgpool", []int{2, 6, 6}, conv(3, 3, 1, 1), bn, relu, LayerSpec{Kind: KindAvgPool, Kernel: 2})
	add("dual bn", []int{2, 6, 6}, conv(3, 3, 1, 1), LayerSpec{Kind: KindDualBN}, relu)
	res, err := ResNet([]int{2, 8, 8}, 3, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	cases["resnet8"] = res
	cases["cnn-bn"] = CNN([]int{1, 12, 12}, 3, CNNOptions{Width: 4, Hidden: 5, BatchNorm: true, Dropout: 0.25})
	cases["cnn"] = CNN([]int{3, 8, 8}, 3, CNNOptions{Width: 3, Hidden: 4})
	cases["mlp"] = MLP([]int{7}, []int{5, 4}, 3)
	return cases
}

// randomizeBN gives the batch norms non-trivial running statistics and
// affine parameters, including negative scales.
func randomizeBN(net *Network, r *rand.Rand) {
	for _, b := range net.Buffers() {
		for i := range b.Data {
			if strings.HasSuffix(b.Name, "running_var") {
				b.Data[i] = 0.2 + 2*r.Float32()
			} else {
				b.Data[i] = float32(r.NormFloat64())
			}
		}
	}
	for _, p := range net.Params() {
		if len(p.Shape) == 1 { // biases, batch-norm scales and shifts
			for i := range p.W {
				p.W[i] += float32(0.5 * r.NormFloat64())
			}
		}
	}
}

func TestInferMatchesForward(t *testing.T) {
	defer func(f, r int) { inferBandFlops, inferBandRows = f, r }(inferBandFlops, inferBandRows)
	for name, spec := range inferCases(t) {
		for _, band := range []int{1 << 20, 1} { // whole images; one output row per GEMM
			t.Run(fmt.Sprintf("%s/band%d", name, band), func(t *testing.T) {
				inferBandFlops, inferBandRows = band, band*128
				net, err := New(spec, 7)
				if err != nil {
					t.Fatal(err)
				}
				r := rand.New(rand.NewPCG(8, 9))
				randomizeBN(net, r)
				for _, n := range []int{1, 5} {
					x := make([]float32, n*net.inSize)
					for i := range x {
						x[i] = float32(r.NormFloat64())
					}
					want := slices.Clone(net.Forward(x, n, false))
					got := net.Infer(x, n)
					if len(got) != len(want) {
						t.Fatalf("n=%d: %d logits, want %d", n, len(got), len(want))
					}
					for i := range want {
						if d := math.Abs(float64(got[i] - want[i])); d > 2e-5*math.Max(1, math.Abs(float64(want[i]))) {
							t.Fatalf("n=%d: logit %d = %v, Forward %v (|Δ| %.2g)", n, i, got[i], want[i], d)
						}
					}
				}
			})
		}
	}
}

// TestInferClassifierAPI checks that Logits and Features (which use the
// inference path) agree with Forward, and that a Backward after Infer is
// refused while one after Forward still works.
func TestInferClassifierAPI(t *testing.T) {
	net, err := New(CNN([]int{1, 8, 8}, 3, CNNOptions{Width: 3, Hidden: 4, BatchNorm: true}), 2)
	if err != nil {
		t.Fatal(err)
	}
	randomizeBN(net, rand.New(rand.NewPCG(1, 2)))
	const n = 3
	x := separated(n*64, rand.New(rand.NewPCG(3, 4)))
	want := slices.Clone(net.Forward(x, n, false))
	feat := slices.Clone(net.head.x[:n*net.FeatureDim()])
	got := make([]float32, n*3)
	if err := net.Logits(context.Background(), got, x); err != nil {
		t.Fatal(err)
	}
	gotFeat := make([]float32, n*net.FeatureDim())
	if err := net.Features(context.Background(), gotFeat, x); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what      string
		got, want []float32
	}{{"logits", got, want}, {"features", gotFeat, feat}} {
		for i := range c.want {
			if math.Abs(float64(c.got[i]-c.want[i])) > 1e-5 {
				t.Errorf("%s[%d] = %v, Forward %v", c.what, i, c.got[i], c.want[i])
			}
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Backward after Infer did not panic")
			}
		}()
		net.Backward(make([]float32, n*3), true)
	}()
	net.Forward(x, n, false)
	if dx := net.Backward(make([]float32, n*3), true); len(dx) != len(x) {
		t.Errorf("Backward after Forward returned %d values", len(dx))
	}
}

// TestReLUPoolFusionExact checks that the ReLU and batch norm fused into a
// following max pooling give, bit for bit, the outputs, parameter gradients
// and input gradients of the separate layers, in training and inference
// mode: with 2×2 windows, wider ones, inputs outside every window (odd
// sizes), overlapping windows (not fused) and a batch norm first.
func TestReLUPoolFusionExact(t *testing.T) {
	bnPool3 := []LayerSpec{{Kind: KindConv, Out: 3, Kernel: 3, Pad: 1}, {Kind: KindBatchNorm}, {Kind: KindReLU}, {Kind: KindMaxPool, Kernel: 3}, {Kind: KindFlatten}, {Kind: KindDense, Out: 3}}
	bnFirst := []LayerSpec{{Kind: KindBatchNorm}, {Kind: KindReLU}, {Kind: KindMaxPool, Kernel: 2}, {Kind: KindFlatten}, {Kind: KindDense, Out: 3}}
	specs := map[string]Spec{
		"cnn-bn":     CNN([]int{1, 12, 12}, 3, CNNOptions{Width: 4, Hidden: 5, BatchNorm: true, Dropout: 0.25}),
		"cnn-bn-odd": CNN([]int{2, 11, 9}, 3, CNNOptions{Width: 3, Hidden: 4, BatchNorm: true}),
		"cnn":        CNN([]int{2, 9, 9}, 3, CNNOptions{Width: 3, Hidden: 4}),
		"bn-pool3":   {InputShape: []int{2, 8, 7}, NumClasses: 3, Layers: bnPool3},
		"bn-first":   {InputShape: []int{3, 5, 6}, NumClasses: 3, Layers: bnFirst},
		"overlap":    {InputShape: []int{2, 7, 7}, NumClasses: 3, Layers: []LayerSpec{{Kind: KindConv, Out: 3, Kernel: 3, Pad: 1}, {Kind: KindReLU}, {Kind: KindMaxPool, Kernel: 3, Stride: 2}, {Kind: KindFlatten}, {Kind: KindDense, Out: 3}}},
	}
	for name, spec := range specs {
		for _, train := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/train=%v", name, train), func(t *testing.T) {
				fused, err := New(spec, 5)
				if err != nil {
					t.Fatal(err)
				}
				plain := fused.Copy()
				n := 0
				for i, l := range plain.layers {
					if r, ok := l.(*relu); ok && r.intoPool {
						r.intoPool = false
						p := plain.layers[i+1].(*pool)
						p.relu = false
						if p.bn != nil {
							if p.bn.conv != nil {
								p.bn.conv.bnNext, p.bn.conv = nil, nil
							}
							p.bn.pool, p.bn = nil, nil
						}
						n++
					}
				}
				if n == 0 {
					t.Fatal("no fused ReLU")
				}
				bnFused := slices.ContainsFunc(fused.layers, func(l layer) bool { p, ok := l.(*pool); return ok && p.bn != nil })
				if wantBN := name != "cnn" && name != "overlap"; bnFused != wantBN {
					t.Fatalf("batch norm fused: %v, want %v", bnFused, wantBN)
				}
				r := rand.New(rand.NewPCG(1, 1))
				const batch = 4
				// Zeros and ties, where ReLU and pooling interact most.
				x := make([]float32, batch*fused.inSize)
				for i := range x {
					x[i] = float32(r.IntN(5)-2) * 0.25
				}
				dl := make([]float32, batch*3)
				for i := range dl {
					dl[i] = float32(r.NormFloat64())
				}
				var outs, gx, gw [2][]float32
				var taps [2][]Tap
				for k, net := range []*Network{fused, plain} {
					net.SetSeed(3)
					net.ZeroGrad()
					outs[k] = slices.Clone(net.Forward(x, batch, train))
					gx[k] = slices.Clone(net.Backward(dl, true))
					gw[k] = slices.Clone(net.Grads())
					taps[k] = net.Taps()
				}
				if !slices.Equal(outs[0], outs[1]) || !slices.Equal(gx[0], gx[1]) || !slices.Equal(gw[0], gw[1]) {
					t.Errorf("fused ReLU+pool differs: outputs %v, input gradients %v, weight gradients %v",
						slices.Equal(outs[0], outs[1]), slices.Equal(gx[0], gx[1]), slices.Equal(gw[0], gw[1]))
				}
				// The output gradient of a convolution before a fused
				// batch norm is built only when asked for.
				for i, tp := range taps[0] {
					if !slices.Equal(tp.In, taps[1][i].In) || !slices.Equal(tp.DOut, taps[1][i].DOut) || len(tp.DOut) != tp.Rows*tp.Out {
						t.Errorf("tap %d (%s) differs: inputs %v, output gradients %v", i, tp.Kind, slices.Equal(tp.In, taps[1][i].In), slices.Equal(tp.DOut, taps[1][i].DOut))
					}
				}
			})
		}
	}
}

// TestNoSteadyStateBufferAllocs checks that once a batch size has been seen,
// training steps and inference allocate no buffers: what remains is the
// closures and goroutines of the parallel loops and of each linalg.Sgemm
// call (about 150 bytes a call), far below the size of one activation
// buffer.
func TestNoSteadyStateBufferAllocs(t *testing.T) {
	spec := CNN([]int{1, 12, 12}, 3, CNNOptions{Width: 8, Hidden: 8, BatchNorm: true, Dropout: 0.25})
	const n = 64
	net, _ := New(spec, 1)
	x := make([]float32, n*net.inSize)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	labels := make([]int, n)
	d := make([]float32, n*3)
	activation := n * 12 * 12 * 8 * 4 // bytes of the first convolution's output
	for _, infer := range []bool{false, true} {
		step := func() {
			if infer {
				net.Infer(x, n)
				return
			}
			SoftmaxCrossEntropy(net.Forward(x, n, true), d, labels, 3, 0)
			net.Backward(d, false)
		}
		step()
		const runs = 10
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			step()
		}
		runtime.ReadMemStats(&after)
		perStep := float64(after.TotalAlloc-before.TotalAlloc) / runs
		if perStep > float64(activation)/4 {
			t.Errorf("infer=%v: %.0f bytes allocated per step at batch %d (one activation buffer is %d)", infer, perStep, n, activation)
		}
		t.Logf("infer=%v: %.0f bytes, %.0f allocations per step", infer, perStep, float64(after.Mallocs-before.Mallocs)/runs)
	}
}

func TestFillRows(t *testing.T) {
	row := []float32{1, 2, 3}
	for _, rows := range []int{0, 1, 2, 3, 5, 8} {
		dst := make([]float32, rows*len(row))
		fillRows(dst, row)
		for i, v := range dst {
			if v != row[i%len(row)] {
				t.Fatalf("%d rows: value %d = %v, want %v", rows, i, v, row[i%len(row)])
			}
		}
	}
}
