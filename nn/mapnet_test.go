package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// testMapSpec is the network of testdata/mapnet_golden.py: a siamese stem,
// a strided convolution, group pyramid pooling, a residual block with
// upsampling, and two heads (one on the merged stem, one upsampled).
func testMapSpec() MapSpec {
	return MapSpec{
		Name: "test", InputShape: []int{2, 8, 8}, Groups: 2,
		Shared: []LayerSpec{{Kind: KindConv, Out: 3, Kernel: 3, Stride: 1, Pad: 1}, {Kind: KindReLU}},
		Trunk: []LayerSpec{
			{Kind: KindConv, Out: 4, Kernel: 3, Stride: 2, Pad: 1}, {Kind: KindReLU},
			PyramidPooling([]int{2, 4}, 2),
			{Kind: KindConv, Out: 3, Kernel: 1},
			{Kind: KindResidual, Body: []LayerSpec{{Kind: KindMaxPool, Kernel: 2}, {Kind: KindUpsample, Stride: 2}}},
		},
		Heads: []MapHead{
			{Name: "stem", At: 0, Layers: []LayerSpec{{Kind: KindConv, Out: 2, Kernel: 1}}},
			{Name: "end", At: 5, Layers: []LayerSpec{{Kind: KindUpsample, Stride: 2}, {Kind: KindConv, Out: 5, Kernel: 3, Pad: 1}}},
		},
	}
}

// TestMapNetGolden compares outputs, weight and input gradients with
// PyTorch's (testdata/mapnet_golden.py).
func TestMapNetGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/mapnet_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Names                 []string
		Weights, X, Grads, Dx []float64
		C, Outs               [][]float64
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	net, err := NewMapNet(testMapSpec(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(net.Params()) != len(g.Names) || len(net.Weights()) != len(g.Weights) {
		t.Fatalf("%d params (%d values), golden %d (%d)", len(net.Params()), len(net.Weights()), len(g.Names), len(g.Weights))
	}
	for i, p := range net.Params() {
		if p.Name != g.Names[i] {
			t.Fatalf("param %d is %s, golden %s", i, p.Name, g.Names[i])
		}
	}
	f32 := func(v []float64) []float32 {
		o := make([]float32, len(v))
		for i, x := range v {
			o[i] = float32(x)
		}
		return o
	}
	copy(net.Weights(), f32(g.Weights))
	close := func(what string, got []float32, want []float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
		}
		for i := range got {
			if math.Abs(float64(got[i])-want[i]) > 1e-4*math.Max(1, math.Abs(want[i])) {
				t.Fatalf("%s[%d] = %v, PyTorch %v", what, i, got[i], want[i])
			}
		}
	}
	outs := net.Forward(f32(g.X), 2, true)
	for h := range outs {
		close("output "+testMapSpec().Heads[h].Name, outs[h], g.Outs[h])
	}
	net.ZeroGrad()
	dx := net.Backward([][]float32{f32(g.C[0]), f32(g.C[1])}, true)
	close("weight gradient", net.Grads(), g.Grads)
	close("input gradient", dx, g.Dx)
}

// TestMapNetGradients checks the gradients of a map network against
// finite differences, with a head missing from the loss.
func TestMapNetGradients(t *testing.T) {
	spec := testMapSpec()
	spec.Heads = append(spec.Heads, MapHead{Name: "mid", At: 2, Layers: []LayerSpec{{Kind: KindConv, Out: 1, Kernel: 1}}})
	net, err := NewMapNet(spec, 3)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const n = 2
	x := separated(n*2*8*8, r)
	cs := make([][]float32, 3)
	for h, s := range net.OutputShapes() {
		if h == 1 {
			continue // no loss on this head: a nil gradient
		}
		cs[h] = make([]float32, n*prod(s))
		for i := range cs[h] {
			cs[h][i] = float32(r.NormFloat64())
		}
	}
	lossAt := func() float64 {
		var s float64
		for h, o := range net.Forward(x, n, false) {
			for i, v := range cs[h] {
				s += float64(v) * float64(o[i])
			}
		}
		return s
	}
	lossAt()
	net.ZeroGrad()
	gx := append([]float32(nil), net.Backward(cs, true)...)
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
		for _, i := range sampleIdx(p.Size(), 8, r) {
			check(p.Name, p.W, i, p.G[i])
		}
	}
	for _, i := range sampleIdx(len(x), 24, r) {
		check("input", x, i, gx[i])
	}
}

func TestMapNetCheckpointAndResize(t *testing.T) {
	net, err := NewMapNet(testMapSpec(), 5)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := SaveMapFile(path, net, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	back, meta, err := LoadMapFile(path)
	if err != nil || meta["k"] != "v" {
		t.Fatalf("load: %v, meta %v", err, meta)
	}
	x := separated(2*2*8*8, rand.New(rand.NewPCG(3, 3)))
	a := net.Forward(x, 2, false)
	b := back.Forward(x, 2, false)
	for h := range a {
		if !slicesEqual(a[h], b[h]) {
			t.Fatalf("head %d differs after a checkpoint round trip", h)
		}
	}
	big, err := net.WithInput(16, 24)
	if err != nil {
		t.Fatal(err)
	}
	if s := big.OutputShapes(); s[0][0] != 16 || s[0][1] != 24 || s[1][0] != 16 || s[1][1] != 24 || s[1][2] != 5 {
		t.Errorf("resized output shapes %v", s)
	}
	if _, err := net.WithInput(6, 8); err == nil {
		t.Error("an input the pyramid cannot pool (6 rows, stride 2, windows of 4) was accepted")
	}
	raw, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{
		"truncated": raw[:len(raw)-9],
		"flipped":   append(append([]byte(nil), raw[:40]...), append([]byte{raw[40] ^ 1}, raw[41:]...)...),
		"network":   append([]byte("TRUSTMLN"), raw[8:]...),
	} {
		if _, _, err := LoadMap(bad); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("%s: %v, want ErrCheckpoint", name, err)
		}
	}
}

func TestMapNetSpecErrors(t *testing.T) {
	for name, mod := range map[string]func(*MapSpec){
		"no heads":       func(s *MapSpec) { s.Heads = nil },
		"head past end":  func(s *MapSpec) { s.Heads[0].At = 9 },
		"groups":         func(s *MapSpec) { s.Groups = 3 },
		"vector input":   func(s *MapSpec) { s.InputShape = []int{8} },
		"vector head":    func(s *MapSpec) { s.Heads[0].Layers = []LayerSpec{{Kind: KindFlatten}} },
		"upsample zero":  func(s *MapSpec) { s.Heads[1].Layers[0].Stride = 0 },
		"pyramid misfit": func(s *MapSpec) { s.InputShape = []int{2, 12, 12} },
	} {
		s := testMapSpec()
		mod(&s)
		if _, err := NewMapNet(s, 1); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestUpsampleValues checks nearest upsampling by hand.
func TestUpsampleValues(t *testing.T) {
	l, err := newUpsample(2)
	if err != nil {
		t.Fatal(err)
	}
	out, err := l.setup([]int{1, 2, 2}, &builder{}) // one row, two pixels, two channels
	if err != nil || out[0] != 2 || out[1] != 4 || out[2] != 2 {
		t.Fatalf("shape %v, %v", out, err)
	}
	got := l.forward([]float32{1, 2, 3, 4}, 1, false)
	want := []float32{1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}
	if !slicesEqual(got, want) {
		t.Fatalf("upsample: %v, want %v", got, want)
	}
	dx := l.backward(want, true)
	if !slicesEqual(dx, []float32{4, 8, 12, 16}) {
		t.Fatalf("upsample backward: %v", dx)
	}
}

// FuzzLoadMap feeds LoadMap corrupted checkpoints: it must fail with
// ErrCheckpoint or load a usable network, never panic.
func FuzzLoadMap(f *testing.F) {
	net, err := NewMapNet(testMapSpec(), 1)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := SaveMap(&buf, net, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("TRUSTMLM"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _, err := LoadMap(b)
		if err != nil {
			if !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("error %v does not wrap ErrCheckpoint", err)
			}
			return
		}
		if len(m.Weights()) == 0 && len(m.Params()) > 0 {
			t.Fatal("loaded network without weights")
		}
	})
}
