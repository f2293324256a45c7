package nn

import "testing"

// importedGradCases are the gradient checks (run by TestGradients) of the
// layers package onnx maps imported models onto.
func importedGradCases(img []int) []gradCase {
	head := func(ls ...LayerSpec) []LayerSpec {
		return append(ls, LayerSpec{Kind: KindFlatten}, LayerSpec{Kind: KindDense, Out: 3})
	}
	vec := func(kind string, rate float64) Spec {
		return Spec{InputShape: []int{7}, NumClasses: 3, Layers: []LayerSpec{{Kind: KindDense, Out: 6}, {Kind: kind, Rate: rate}, {Kind: KindDense, Out: 3}}}
	}
	return []gradCase{
		{"sigmoid", vec(KindSigmoid, 0), false},
		{"tanh", vec(KindTanh, 0), false},
		{"leakyrelu", vec(KindLeakyReLU, 0.1), false},
		{"affine", Spec{InputShape: img, NumClasses: 3, Layers: head(
			LayerSpec{Kind: KindAffine, Scale: []float32{2, -0.5}, Shift: []float32{-1, 0.25}},
			LayerSpec{Kind: KindConv, Out: 2, Kernel: 3, Pad: 1})}, false},
		{"pad", Spec{InputShape: img, NumClasses: 3, Layers: head(
			LayerSpec{Kind: KindPad, Pads: []int{1, 0, 2, 1}},
			LayerSpec{Kind: KindConv, Out: 2, Kernel: 2})}, false},
		{"pad lowest maxpool", Spec{InputShape: img, NumClasses: 3, Layers: head(
			LayerSpec{Kind: KindConv, Out: 2, Kernel: 1}, // negative values at the border
			LayerSpec{Kind: KindPad, Pads: []int{1, 1, 1, 1}, Fill: "lowest"},
			LayerSpec{Kind: KindMaxPool, Kernel: 3, Stride: 2})}, false},
		{"concat", Spec{InputShape: img, NumClasses: 3, Layers: head(
			LayerSpec{Kind: KindConcat, Branches: [][]LayerSpec{
				{{Kind: KindConv, Out: 3, Kernel: 3, Pad: 1}, {Kind: KindTanh}},
				{},
				{{Kind: KindConv, Out: 1, Kernel: 1}}}},
			LayerSpec{Kind: KindConv, Out: 2, Kernel: 3})}, false},
		{"grouped conv", Spec{InputShape: []int{4, 5, 5}, NumClasses: 3, Layers: head(
			LayerSpec{Kind: KindConcat, Branches: [][]LayerSpec{
				{{Kind: KindSlice, Channels: []int{0, 2}}, {Kind: KindConv, Out: 2, Kernel: 3, Pad: 1}},
				{{Kind: KindSlice, Channels: []int{2, 4}}, {Kind: KindConv, Out: 2, Kernel: 3, Pad: 1}}}})}, false},
		{"concat bn train", Spec{InputShape: []int{5}, NumClasses: 3, Layers: []LayerSpec{
			{Kind: KindConcat, Branches: [][]LayerSpec{{{Kind: KindDense, Out: 4}, {Kind: KindBatchNorm}}, {{Kind: KindDense, Out: 2}}}},
			{Kind: KindSigmoid}, {Kind: KindDense, Out: 3}}}, true},
	}
}

// TestImportedLayerValues checks the new layers' forward values by hand.
func TestImportedLayerValues(t *testing.T) {
	x := []float32{-2, 0, 3}
	for _, tc := range []struct {
		l    layer
		want []float32
	}{
		{&actFn{kind: KindSigmoid}, []float32{0.11920292, 0.5, 0.95257413}},
		{&actFn{kind: KindTanh}, []float32{-0.9640276, 0, 0.9950548}},
		{&actFn{kind: KindLeakyReLU, slope: 0.1}, []float32{-0.2, 0, 3}},
		{&affine{scale: []float32{2, 3, -1}, shift: []float32{1, 1, 1}}, []float32{-3, 1, -2}},
	} {
		if _, err := tc.l.setup([]int{3}, &builder{}); err != nil {
			t.Fatal(err)
		}
		got := tc.l.forward(x, 1, false)
		for i := range got {
			if d := got[i] - tc.want[i]; d > 1e-6 || d < -1e-6 {
				t.Errorf("%T: got %v, want %v", tc.l, got, tc.want)
				break
			}
		}
	}
	p, err := newPad([]int{1, 0, 0, 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.setup([]int{1, 2, 1}, &builder{})
	if err != nil || out[0] != 2 || out[1] != 3 {
		t.Fatalf("pad output shape %v, %v", out, err)
	}
	got := p.forward([]float32{5, 6}, 1, false)
	want := []float32{0, 0, 0, 5, 6, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pad: got %v, want %v", got, want)
		}
	}
}

// TestImportedLayerErrors checks that bad specs of the new kinds fail at
// construction, not at run time.
func TestImportedLayerErrors(t *testing.T) {
	for name, l := range map[string]LayerSpec{
		"affine length": {Kind: KindAffine, Scale: []float32{1}, Shift: []float32{0}},
		"pad count":     {Kind: KindPad, Pads: []int{1, 1}},
		"pad negative":  {Kind: KindPad, Pads: []int{1, -1, 0, 0}},
		"pad fill":      {Kind: KindPad, Pads: []int{1, 1, 0, 0}, Fill: "nan"},
		"slice range":   {Kind: KindSlice, Channels: []int{1, 3}},
		"slice empty":   {Kind: KindSlice, Channels: []int{1, 1}},
		"concat one":    {Kind: KindConcat, Branches: [][]LayerSpec{{}}},
		"concat shapes": {Kind: KindConcat, Branches: [][]LayerSpec{{}, {{Kind: KindMaxPool, Kernel: 2}}}},
	} {
		spec := Spec{InputShape: []int{2, 4, 4}, NumClasses: 2, Layers: []LayerSpec{l, {Kind: KindFlatten}, {Kind: KindDense, Out: 2}}}
		if _, err := New(spec, 1); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
