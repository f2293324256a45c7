package onnx

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trustml/trustml/nn"
	pb "github.com/trustml/trustml/onnx/internal/onnxpb"
)

// expRandomSpec draws a small valid architecture: an image or vector input
// and a random chain of every layer kind, residual blocks included, ending
// in the dense head.
func expRandomSpec(r *rand.Rand) nn.Spec {
	var in, shape []int // shape: trustml's internal H, W, C or D
	if r.IntN(4) == 0 {
		in = []int{1 + r.IntN(6)}
		shape = []int{in[0]}
	} else {
		in = []int{1 + r.IntN(3), 2 + r.IntN(6), 2 + r.IntN(6)}
		shape = []int{in[1], in[2], in[0]}
	}
	layers := expRandomLayers(r, &shape, 1+r.IntN(6), true)
	classes := 2 + r.IntN(3)
	layers = append(layers, nn.LayerSpec{Kind: nn.KindDense, Out: classes})
	return nn.Spec{Name: "random", InputShape: in, NumClasses: classes, Layers: layers}
}

// expRandomLayers draws n layers for *shape and updates it; residual
// blocks are drawn only when nest is set.
func expRandomLayers(r *rand.Rand, shape *[]int, n int, nest bool) []nn.LayerSpec {
	var ls []nn.LayerSpec
	for len(ls) < n {
		s := *shape
		switch k := r.IntN(9); {
		case k == 0:
			ls = append(ls, nn.LayerSpec{Kind: nn.KindBatchNorm})
		case k == 1:
			ls = append(ls, nn.LayerSpec{Kind: nn.KindReLU})
		case k == 2:
			ls = append(ls, nn.LayerSpec{Kind: nn.KindDropout, Rate: 0.5})
		case k == 3:
			out := 1 + r.IntN(8)
			ls = append(ls, nn.LayerSpec{Kind: nn.KindDense, Out: out})
			*shape = []int{out}
		case k == 4 && len(s) == 3:
			ls = append(ls, nn.LayerSpec{Kind: nn.KindFlatten})
			*shape = []int{s[0] * s[1] * s[2]}
		case k == 5 && len(s) == 3:
			kk, st := 1+r.IntN(3), 1+r.IntN(2)
			pad := r.IntN(kk/2 + 1)
			if kk > s[0]+2*pad || kk > s[1]+2*pad {
				continue
			}
			out := 1 + r.IntN(4)
			ls = append(ls, nn.LayerSpec{Kind: nn.KindConv, Out: out, Kernel: kk, Stride: st, Pad: pad})
			*shape = []int{(s[0]+2*pad-kk)/st + 1, (s[1]+2*pad-kk)/st + 1, out}
		case k == 6 && len(s) == 3:
			kk, st := 1+r.IntN(2), r.IntN(3)
			if kk > s[0] || kk > s[1] {
				continue
			}
			kind := []string{nn.KindMaxPool, nn.KindAvgPool}[r.IntN(2)]
			ls = append(ls, nn.LayerSpec{Kind: kind, Kernel: kk, Stride: st})
			if st == 0 {
				st = kk
			}
			*shape = []int{(s[0]-kk)/st + 1, (s[1]-kk)/st + 1, s[2]}
		case k == 7 && len(s) == 3:
			ls = append(ls, nn.LayerSpec{Kind: nn.KindGlobalAvg})
			*shape = []int{s[2]}
		case k == 8 && nest:
			// A residual block: a random body, and a shortcut that brings
			// the input to the body's output shape (identity, dense, or a
			// flatten when the sizes agree). An image body whose shape
			// changed is flattened.
			out := append([]int(nil), s...)
			body := expRandomLayers(r, &out, 1+r.IntN(3), false)
			res := nn.LayerSpec{Kind: nn.KindResidual, Body: body}
			if len(out) == 3 && !slices.Equal(out, s) {
				res.Body = append(res.Body, nn.LayerSpec{Kind: nn.KindFlatten})
				out = []int{prodInts(out)}
			}
			switch {
			case slices.Equal(out, s):
			case len(s) == 3 && out[0] == prodInts(s) && r.IntN(2) == 0:
				res.Shortcut = []nn.LayerSpec{{Kind: nn.KindFlatten}}
			default:
				res.Shortcut = []nn.LayerSpec{{Kind: nn.KindDense, Out: out[0]}}
			}
			ls = append(ls, res)
			*shape = out
		}
	}
	return ls
}

func prodInts(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// FuzzExport exports random architectures and checks the graph is well
// formed: every node reads values defined before it, no value is defined
// twice, the outputs exist, the initializers hold exactly the network's
// parameters and buffers, and [ExportSignature] describes the interface.
// (The golden models check the numbers.)
func FuzzExport(f *testing.F) {
	for seed := uint64(0); seed < 40; seed++ {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		spec := expRandomSpec(rand.New(rand.NewPCG(seed, 1)))
		net, err := nn.New(spec, seed)
		if err != nil {
			t.Fatalf("the generator made an invalid spec %+v: %v", spec, err)
		}
		opts := ExportOptions{Probabilities: seed%2 == 0, Features: seed%3 != 0}
		m := expDecode(t, expBytes(t, net, opts))
		expCheckGraph(t, m.GetGraph(), net)
		if d, want := expDescribe(m.GetGraph()), ExportSignature(net, opts); d != want {
			t.Errorf("graph interface %q, ExportSignature says %q", d, want)
		}
	})
}

// expCheckGraph checks g is a well-formed graph of net.
func expCheckGraph(t *testing.T, g *pb.GraphProto, net *nn.Network) {
	t.Helper()
	defined := map[string]bool{}
	define := func(name, what string) {
		if defined[name] {
			t.Errorf("%s %q defined twice", what, name)
		}
		defined[name] = true
	}
	for _, in := range g.GetInput() {
		define(in.GetName(), "input")
	}
	floats := 0
	for _, init := range g.GetInitializer() {
		define(init.GetName(), "initializer")
		if init.GetDataType() != int32(pb.TensorProto_FLOAT) {
			t.Errorf("initializer %q of type %d", init.GetName(), init.GetDataType())
		}
		n := 1
		for _, d := range init.GetDims() {
			n *= int(d)
		}
		if len(init.GetRawData()) != 4*n {
			t.Errorf("initializer %q: %d bytes for dims %v", init.GetName(), len(init.GetRawData()), init.GetDims())
		}
		floats += n
	}
	if want := net.NumParams() + len(net.BufferData()); floats != want {
		t.Errorf("initializers hold %d values, the network %d parameters and buffers", floats, want)
	}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			if !defined[in] {
				t.Errorf("node %s (%s) reads %q before it is defined", n.GetName(), n.GetOpType(), in)
			}
		}
		for _, out := range n.GetOutput() {
			define(out, "value")
		}
	}
	for _, out := range g.GetOutput() {
		if !defined[out.GetName()] {
			t.Errorf("output %q is not computed", out.GetName())
		}
	}
}
