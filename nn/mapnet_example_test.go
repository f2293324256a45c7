package nn_test

import (
	"fmt"

	"github.com/trustml/trustml/nn"
)

// A siamese, fully convolutional detector body: two grayscale images
// through one shared stem, a strided trunk with pyramid pooling, and two
// output maps at strides 4 and 8.
func ExampleNewMapNet() {
	conv := func(out, k, s int) nn.LayerSpec {
		return nn.LayerSpec{Kind: nn.KindConv, Out: out, Kernel: k, Stride: s, Pad: k / 2}
	}
	relu := nn.LayerSpec{Kind: nn.KindReLU}
	spec := nn.MapSpec{
		Name: "pair-detector", InputShape: []int{2, 64, 64}, Groups: 2,
		Shared: []nn.LayerSpec{conv(4, 3, 2), relu},
		Trunk:  []nn.LayerSpec{conv(8, 3, 2), relu, conv(8, 3, 2), relu, nn.PyramidPooling([]int{2, 4}, 4)},
		Heads: []nn.MapHead{
			{Name: "stride4", At: 2, Layers: []nn.LayerSpec{conv(10, 1, 1)}},
			{Name: "stride8", At: 5, Layers: []nn.LayerSpec{conv(10, 1, 1)}},
		},
	}
	net, err := nn.NewMapNet(spec, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := make([]float32, 3*2*64*64) // three pairs, NCHW
	outs := net.Forward(x, 3, false)
	for i, s := range net.OutputShapes() {
		fmt.Printf("%s: %d×%d×%d per pair, %d values for 3 pairs\n", spec.Heads[i].Name, s[0], s[1], s[2], len(outs[i]))
	}
	// Output:
	// stride4: 16×16×10 per pair, 7680 values for 3 pairs
	// stride8: 8×8×10 per pair, 1920 values for 3 pairs
}
