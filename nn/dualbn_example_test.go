package nn_test

import (
	"fmt"
	"strings"

	"github.com/trustml/trustml/nn"
)

// A network with dual batch norms: WithDualBN swaps every batch norm of an
// architecture; the first dual layer holds the one fusing-weight
// predictor. SetFuse(0) runs the clean branches only, SetFuse(-1) the
// predicted mix.
func ExampleWithDualBN() {
	spec, _ := nn.SpecFor("cnn-small", []int{1, 28, 28}, 10)
	net, err := nn.New(nn.WithDualBN(spec), 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range net.Params() {
		if strings.Contains(p.Name, "fuse") {
			fmt.Println(p.Name, p.Shape)
		}
	}
	x := make([]float32, 2*784)
	for i := range x {
		x[i] = float32(i%28) / 28
	}
	net.Forward(x, 2, false)
	fmt.Println(net.Spec().Name, net.NumDualBN(), "dual layers; initial fusing weights", net.Fuse())
	if err := net.SetFuse(0); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 1.fuse.weight [16]
	// 1.fuse.bias [1]
	// cnn-small-dual 2 dual layers; initial fusing weights [0.5 0.5]
}
