package nn

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// dualSpec is a small network with two dual batch norms after
// convolutions (the first predicts the fusing weight both use).
func dualSpec() Spec {
	return Spec{Name: "dual", InputShape: []int{2, 5, 5}, NumClasses: 3, Layers: []LayerSpec{
		{Kind: KindConv, Out: 3, Kernel: 3, Pad: 1}, {Kind: KindDualBN}, {Kind: KindTanh},
		{Kind: KindConv, Out: 2, Kernel: 3, Pad: 1}, {Kind: KindDualBN}, {Kind: KindTanh},
		{Kind: KindFlatten}, {Kind: KindDense, Out: 3}}}
}

// randomDual gives every parameter and buffer of net a random value
// (positive variances), so that no gradient path is trivially zero.
func randomDual(net *Network, r *rand.Rand) {
	for _, p := range net.Params() {
		for i := range p.W {
			p.W[i] = float32(0.5 * r.NormFloat64())
		}
	}
	for _, b := range net.Buffers() {
		for i := range b.Data {
			if strings.HasSuffix(b.Name, "var") {
				b.Data[i] = float32(0.5 + r.Float64())
			} else {
				b.Data[i] = float32(0.3 * r.NormFloat64())
			}
		}
	}
}

// TestDualBNGradients checks the layer's parameter and input gradients
// against central finite differences, in training and inference mode, with
// predicted and forced fusing weights and an extra loss on the fusing
// logits.
func TestDualBNGradients(t *testing.T) {
	for _, tc := range []struct {
		name  string
		train bool
		fuse  float64
		extra bool
	}{
		{"train predicted", true, -1, false},
		{"train predicted extra", true, -1, true},
		{"train forced 0 extra", true, 0, true},
		{"train forced 1", true, 1, false},
		{"train forced 0.3", true, 0.3, false},
		{"eval predicted", false, -1, false},
		{"eval predicted extra", false, -1, true},
		{"eval forced 0.7 extra", false, 0.7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net, err := New(dualSpec(), 1)
			if err != nil {
				t.Fatal(err)
			}
			net.SetBNMomentum(0)
			r := rand.New(rand.NewPCG(2, 3))
			randomDual(net, r)
			if err := net.SetFuse(tc.fuse); err != nil {
				t.Fatal(err)
			}
			const n = 4
			x := separated(n*net.inSize, r)
			k := net.NumClasses()
			c := make([]float32, n*k)
			a := make([]float32, n)
			for i := range c {
				c[i] = float32(r.NormFloat64())
			}
			for i := range a {
				a[i] = float32(r.NormFloat64())
			}
			lossAt := func() float64 {
				out := net.Forward(x, n, tc.train)
				var s float64
				for i, v := range out {
					s += float64(c[i]) * float64(v)
				}
				if tc.extra {
					for i, w := range net.Fuse() {
						s += float64(a[i]) * math.Log(float64(w)/(1-float64(w)))
					}
				}
				return s
			}
			lossAt()
			net.ZeroGrad()
			if tc.extra {
				if err := net.AddFuseGrad(a); err != nil {
					t.Fatal(err)
				}
			}
			gx := append([]float32(nil), net.Backward(c, true)...)
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
			for _, i := range sampleIdx(len(x), 30, r) {
				check("input", x, i, gx[i])
			}
		})
	}
}

// TestDualBNRunningStats: a batch forced to the clean branch moves only the
// clean running statistics, one forced to 1 only the adversarial ones, and
// in inference mode a forced weight of 0 is the ordinary batch norm of the
// clean branch's statistics.
func TestDualBNRunningStats(t *testing.T) {
	net, err := New(dualSpec(), 1)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(4, 4))
	x := separated(6*net.inSize, r)
	get := func(name string) []float32 {
		for _, b := range net.Buffers() {
			if strings.HasSuffix(b.Name, name) {
				return append([]float32(nil), b.Data...)
			}
		}
		t.Fatalf("no buffer %s", name)
		return nil
	}
	for _, tc := range []struct {
		fuse          float64
		moved, stayed string
	}{{0, "clean.running_mean", "adv.running_mean"}, {1, "adv.running_var", "clean.running_var"}} {
		before, keep := get(tc.moved), get(tc.stayed)
		if err := net.SetFuse(tc.fuse); err != nil {
			t.Fatal(err)
		}
		net.Forward(x, 6, true)
		if after := get(tc.moved); slicesEqual(after, before) {
			t.Errorf("fuse %g: %s did not move", tc.fuse, tc.moved)
		}
		if after := get(tc.stayed); !slicesEqual(after, keep) {
			t.Errorf("fuse %g: %s moved", tc.fuse, tc.stayed)
		}
	}
	// Inference with the clean branch equals a plain batch norm network
	// carrying the clean parameters and statistics.
	plain := dualSpec()
	plain.Layers[1].Kind, plain.Layers[4].Kind = KindBatchNorm, KindBatchNorm
	pn, err := New(plain, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomDual(net, r)
	src := map[string][]float32{}
	for _, p := range net.Params() {
		src[strings.Replace(p.Name, "clean.", "", 1)] = p.W
	}
	for _, b := range net.Buffers() {
		src[strings.Replace(b.Name, "clean.", "", 1)] = b.Data
	}
	for _, p := range pn.Params() {
		copy(p.W, src[p.Name])
	}
	for _, b := range pn.Buffers() {
		copy(b.Data, src[b.Name])
	}
	if err := net.SetFuse(0); err != nil {
		t.Fatal(err)
	}
	got := append([]float32(nil), net.Forward(x, 6, false)...)
	want := pn.Forward(x, 6, false)
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("logit %d: dual (clean branch) %v, batch norm %v", i, got[i], want[i])
		}
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDualBNCheckpoint: a dual network survives Save and Load with the same
// outputs, and WithDualBN swaps every batch norm.
func TestDualBNCheckpoint(t *testing.T) {
	spec := WithDualBN(CNN([]int{1, 8, 8}, 3, CNNOptions{Width: 2, Hidden: 4, BatchNorm: true}))
	if spec.Name != "cnn-dual" || spec.Layers[1].Kind != KindDualBN || spec.Layers[5].Kind != KindDualBN {
		t.Fatalf("WithDualBN: %+v", spec)
	}
	net, err := New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	if net.NumDualBN() != 2 {
		t.Fatalf("%d dual layers, want 2", net.NumDualBN())
	}
	r := rand.New(rand.NewPCG(9, 9))
	randomDual(net, r)
	x := separated(5*64, r)
	want := append([]float32(nil), net.Forward(x, 5, false)...)
	var buf bytes.Buffer
	if err := Save(&buf, net, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := Load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Spec().Equal(spec) {
		t.Fatalf("spec changed: %+v", got.Spec())
	}
	out := got.Forward(x, 5, false)
	for i := range out {
		if out[i] != want[i] {
			t.Fatalf("logit %d: loaded %v, saved %v", i, out[i], want[i])
		}
	}
	if err := net.SetFuse(1.5); err == nil {
		t.Error("SetFuse(1.5) accepted")
	}
	if err := net.AddFuseGrad(make([]float32, 2)); err == nil {
		t.Error("AddFuseGrad with the wrong length accepted")
	}
	plain, err := New(CNN([]int{1, 8, 8}, 3, CNNOptions{Width: 2, Hidden: 4, BatchNorm: true}), 1)
	if err != nil {
		t.Fatal(err)
	}
	if plain.SetFuse(0) == nil || plain.AddFuseGrad(nil) == nil || plain.Fuse() != nil || plain.NumDualBN() != 0 {
		t.Error("a network without dual batch norms accepted a fusing weight")
	}
}
