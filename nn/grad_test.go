package nn

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// gradCase is a small network whose gradients are checked against central
// finite differences.
type gradCase struct {
	name  string
	spec  Spec
	train bool
}

func gradCases(t *testing.T) []gradCase {
	res, err := ResNet([]int{2, 6, 6}, 3, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	l := func(ls ...LayerSpec) []LayerSpec {
		return append(ls, LayerSpec{Kind: KindFlatten}, LayerSpec{Kind: KindDense, Out: 3})
	}
	img := []int{2, 6, 6}
	return append([]gradCase{
		{"dense", MLP([]int{7}, []int{5}, 3), false},
		{"conv pad1", Spec{InputShape: img, NumClasses: 3, Layers: l(LayerSpec{Kind: KindConv, Out: 3, Kernel: 3, Stride: 1, Pad: 1})}, false},
		{"conv stride2", Spec{InputShape: img, NumClasses: 3, Layers: l(LayerSpec{Kind: KindConv, Out: 4, Kernel: 3, Stride: 2})}, false},
		{"conv 1x1", Spec{InputShape: img, NumClasses: 3, Layers: l(LayerSpec{Kind: KindConv, Out: 2, Kernel: 1})}, false},
		{"maxpool", Spec{InputShape: img, NumClasses: 3, Layers: l(LayerSpec{Kind: KindMaxPool, Kernel: 2})}, false},
		{"maxpool overlap", Spec{InputShape: img, NumClasses: 3, Layers: l(LayerSpec{Kind: KindMaxPool, Kernel: 3, Stride: 1})}, false},
		{"avgpool", Spec{InputShape: img, NumClasses: 3, Layers: l(LayerSpec{Kind: KindAvgPool, Kernel: 3, Stride: 2})}, false},
		{"globalavg", Spec{InputShape: img, NumClasses: 3, Layers: []LayerSpec{{Kind: KindGlobalAvg}, {Kind: KindDense, Out: 3}}}, false},
		{"batchnorm train", Spec{InputShape: img, NumClasses: 3, Layers: l(LayerSpec{Kind: KindConv, Out: 3, Kernel: 3, Pad: 1}, LayerSpec{Kind: KindBatchNorm})}, true},
		{"batchnorm eval", Spec{InputShape: img, NumClasses: 3, Layers: l(LayerSpec{Kind: KindConv, Out: 3, Kernel: 3, Pad: 1}, LayerSpec{Kind: KindBatchNorm})}, false},
		{"batchnorm dense", Spec{InputShape: []int{7}, NumClasses: 3, Layers: []LayerSpec{{Kind: KindDense, Out: 5}, {Kind: KindBatchNorm}, {Kind: KindDense, Out: 3}}}, true},
		{"relu", Spec{InputShape: []int{7}, NumClasses: 3, Layers: []LayerSpec{{Kind: KindDense, Out: 6}, {Kind: KindReLU}, {Kind: KindDense, Out: 3}}}, false},
		{"dropout", Spec{InputShape: []int{7}, NumClasses: 3, Layers: []LayerSpec{{Kind: KindDense, Out: 6}, {Kind: KindDropout, Rate: 0.5}, {Kind: KindDense, Out: 3}}}, true},
		{"residual identity", Spec{InputShape: img, NumClasses: 3, Layers: l(LayerSpec{Kind: KindConv, Out: 2, Kernel: 3, Pad: 1}, LayerSpec{Kind: KindResidual, Body: []LayerSpec{{Kind: KindConv, Out: 2, Kernel: 3, Pad: 1}}})}, false},
		{"resnet8", res, true},
		{"resnet8 eval", res, false},
	}, append(importedGradCases(img), detectionGradCases(img)...)...)
}

// separated returns n values in [0, 1] that are pairwise at least 1/(2n)
// apart, so that max pooling has no near-ties within the finite-difference
// step.
func separated(n int, r *rand.Rand) []float32 {
	x := make([]float32, n)
	for i, p := range r.Perm(n) {
		x[i] = (float32(p) + 0.5) / float32(n)
	}
	return x
}

func TestGradients(t *testing.T) {
	for _, tc := range gradCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			net, err := New(tc.spec, 3)
			if err != nil {
				t.Fatal(err)
			}
			net.SetBNMomentum(0)
			r := rand.New(rand.NewPCG(5, 6))
			const n = 4
			x := separated(n*net.inSize, r)
			k := net.NumClasses()
			c := make([]float32, n*k) // loss = Σ c ⊙ logits
			for i := range c {
				c[i] = float32(r.NormFloat64())
			}
			lossAt := func() float64 {
				net.SetSeed(11) // same dropout mask on every pass
				out := net.Forward(x, n, tc.train)
				var s float64
				for i, v := range out {
					s += float64(c[i]) * float64(v)
				}
				return s
			}
			lossAt()
			net.ZeroGrad()
			gx := append([]float32(nil), net.Backward(c, true)...)

			// A ReLU kink within the step spoils a finite difference, so a
			// coordinate passes if the difference at either of two steps
			// agrees with the analytic gradient.
			check := func(what string, v []float32, i int, analytic float32) {
				var nums []float64
				for _, h := range []float32{1e-3, 2e-4} {
					old := v[i]
					v[i] = old + h
					lp := lossAt()
					v[i] = old - h
					lm := lossAt()
					v[i] = old
					num := (lp - lm) / (2 * float64(h))
					if math.Abs(num-float64(analytic)) <= 2e-2*math.Max(1, math.Abs(num)) {
						return
					}
					nums = append(nums, num)
				}
				t.Errorf("%s[%d]: analytic %.5f, finite differences %.5f", what, i, analytic, nums)
			}
			for _, p := range net.Params() {
				for _, i := range sampleIdx(p.Size(), 12, r) {
					check(p.Name, p.W, i, p.G[i])
				}
			}
			for _, i := range sampleIdx(len(x), 24, r) {
				check("input", x, i, gx[i])
			}
		})
	}
}

func sampleIdx(n, m int, r *rand.Rand) []int {
	if n <= m {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return r.Perm(n)[:m]
}

// TestInputGradAPI checks model.InputGrader and model.ParamGrader against
// finite differences of the cross-entropy loss.
func TestInputGradAPI(t *testing.T) {
	spec := CNN([]int{3, 8, 8}, 4, CNNOptions{Width: 3, Hidden: 8, BatchNorm: true})
	net, err := New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	const n = 3
	x := separated(n*net.inSize, r)
	labels := []int{0, 3, 1}
	loss := CrossEntropyLoss(labels)
	ctx := context.Background()
	gx := make([]float32, len(x))
	l0, err := net.InputGrad(ctx, gx, x, loss)
	if err != nil {
		t.Fatal(err)
	}
	g := make([]float32, net.NumParams())
	l1, err := net.ParamGrad(ctx, g, x, loss)
	if err != nil || l1 != l0 {
		t.Fatalf("ParamGrad loss %v (err %v), InputGrad loss %v", l1, err, l0)
	}
	eval := func() float64 {
		out := make([]float32, n*4)
		if err := net.Logits(ctx, out, x); err != nil {
			t.Fatal(err)
		}
		d := make([]float32, len(out))
		return loss(out, d, n, 4)
	}
	const h = 1e-3
	for _, tc := range []struct {
		name string
		v, g []float32
	}{{"input", x, gx}, {"params", net.Weights(), g}} {
		for _, i := range sampleIdx(len(tc.v), 40, r) {
			old := tc.v[i]
			tc.v[i] = old + h
			lp := eval()
			tc.v[i] = old - h
			lm := eval()
			tc.v[i] = old
			num := (lp - lm) / (2 * h)
			if math.Abs(num-float64(tc.g[i])) > 1e-2*math.Max(1, math.Abs(num))+2e-4 {
				t.Errorf("%s[%d]: analytic %.6f, finite difference %.6f", tc.name, i, tc.g[i], num)
			}
		}
	}
}

func TestSoftmaxCrossEntropyGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const n, k = 5, 4
	logits := make([]float32, n*k)
	for i := range logits {
		logits[i] = float32(3 * r.NormFloat64())
	}
	labels := []int{0, 1, 2, 3, 1}
	for _, eps := range []float64{0, 0.1} {
		d := make([]float32, n*k)
		SoftmaxCrossEntropy(logits, d, labels, k, eps)
		scratch := make([]float32, n*k)
		for i := range logits {
			old := logits[i]
			logits[i] = old + 1e-2
			lp, _ := SoftmaxCrossEntropy(logits, scratch, labels, k, eps)
			logits[i] = old - 1e-2
			lm, _ := SoftmaxCrossEntropy(logits, scratch, labels, k, eps)
			logits[i] = old
			if num := (lp - lm) / 2e-2; math.Abs(num-float64(d[i])) > 1e-3 {
				t.Errorf("eps %g: dlogits[%d] = %v, finite difference %v", eps, i, d[i], num)
			}
		}
	}
}

// TestSoftmaxCrossEntropyValue checks the loss against a hand computation:
// two classes with logits (0, log 3) give p = (1/4, 3/4).
func TestSoftmaxCrossEntropyValue(t *testing.T) {
	logits := []float32{0, float32(math.Log(3))}
	d := make([]float32, 2)
	cases := []struct {
		label int
		eps   float64
		want  float64
	}{
		{1, 0, -math.Log(0.75)},
		{0, 0, -math.Log(0.25)},
		{1, 0.2, -(0.9*math.Log(0.75) + 0.1*math.Log(0.25))},
	}
	for _, c := range cases {
		l, correct := SoftmaxCrossEntropy(logits, d, []int{c.label}, 2, c.eps)
		if math.Abs(l-c.want) > 1e-6 {
			t.Errorf("label %d eps %g: loss %v want %v", c.label, c.eps, l, c.want)
		}
		if (correct == 1) != (c.label == 1) {
			t.Errorf("label %d: correct = %d", c.label, correct)
		}
	}
}
