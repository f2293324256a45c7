package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// convNet is a one-convolution network whose other products are too small
// to be split over cores, so that the weight gradient of the convolution is
// all that the number of cores could change.
func convNet(t *testing.T, k, stride, pad int) *Network {
	t.Helper()
	spec := Spec{InputShape: []int{3, 10, 9}, NumClasses: 3, Layers: []LayerSpec{
		{Kind: KindConv, Out: 5, Kernel: k, Stride: stride, Pad: pad}, {Kind: KindReLU},
		{Kind: KindFlatten}, {Kind: KindDense, Out: 3}}}
	net, err := New(spec, 7)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// convStep runs one forward and backward pass of n random inputs and returns
// the logits, the input gradient and the parameter gradients.
func convStep(net *Network, n int) (out, gx, g []float32) {
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, n*net.inSize)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(3)
	}
	d := make([]float32, n*3)
	net.ZeroGrad()
	out = slices.Clone(net.Forward(x, n, true))
	SoftmaxCrossEntropy(out, d, labels, 3, 0)
	gx = slices.Clone(net.Backward(d, true))
	return out, gx, slices.Clone(net.Grads())
}

// TestConvTrainingDeterministic checks that the convolution's sharded
// training passes give the same bits on 1 and 3 cores, and that their weight
// gradient is Σ DOutᵀ·In over the patch rows that [Network.Taps] reports
// (built on demand), with the same float32 rounding tolerance as a single
// GEMM.
func TestConvTrainingDeterministic(t *testing.T) {
	for _, tc := range []struct{ k, stride, pad, n int }{{3, 1, 1, 37}, {3, 2, 0, 5}, {2, 1, 0, 20}} {
		t.Run(fmt.Sprintf("k%d-s%d-p%d-n%d", tc.k, tc.stride, tc.pad, tc.n), func(t *testing.T) {
			var outs, gxs, gs [2][]float32
			for i, procs := range []int{1, 3} {
				old := runtime.GOMAXPROCS(procs)
				outs[i], gxs[i], gs[i] = convStep(convNet(t, tc.k, tc.stride, tc.pad), tc.n)
				runtime.GOMAXPROCS(old)
			}
			if !slices.Equal(outs[0], outs[1]) || !slices.Equal(gxs[0], gxs[1]) || !slices.Equal(gs[0], gs[1]) {
				t.Fatalf("1 and 3 cores differ: outputs %v, input gradients %v, parameter gradients %v",
					slices.Equal(outs[0], outs[1]), slices.Equal(gxs[0], gxs[1]), slices.Equal(gs[0], gs[1]))
			}
			net := convNet(t, tc.k, tc.stride, tc.pad)
			convStep(net, tc.n)
			tap := net.Taps()[0]
			if tap.Kind != KindConv || len(tap.In) != tap.Rows*tap.InDim || len(tap.DOut) != tap.Rows*tap.Out {
				t.Fatalf("tap %s: %d inputs and %d output gradients for %d rows", tap.Kind, len(tap.In), len(tap.DOut), tap.Rows)
			}
			for o := 0; o < tap.Out; o++ {
				for j := 0; j < tap.InDim; j++ {
					var want, scale float64
					for r := 0; r < tap.Rows; r++ {
						v := float64(tap.DOut[r*tap.Out+o]) * float64(tap.In[r*tap.InDim+j])
						want += v
						scale += math.Abs(v)
					}
					got := float64(tap.Weight.G[o*tap.InDim+j])
					if math.Abs(got-want) > 1e-5*scale+1e-12 {
						t.Fatalf("weight gradient [%d, %d] = %g, Σ DOutᵀ·In = %g", o, j, got, want)
					}
				}
			}
		})
	}
}
