package nn_test

import (
	"fmt"

	"github.com/trustml/trustml/nn"
)

// A multi-head network is an ordinary network whose logits are the sum of
// its heads' (SOME's ensemble); HeadLogits splits them after a forward
// pass.
func ExampleMultiHead() {
	spec, err := nn.MultiHead(nn.MLP([]int{4}, []int{8, 6}, 3), 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	net, _ := nn.New(spec, 1)
	logits := net.Forward([]float32{0.1, 0.2, 0.3, 0.4}, 1, false)
	z := make([]float32, 3*3) // 3 heads × 1 input × 3 classes
	if err := net.HeadLogits(z); err != nil {
		fmt.Println(err)
		return
	}
	sum := z[0] + z[3] + z[6]
	fmt.Println(spec.Name, net.NumHeads(), "heads; class 0:", fmt.Sprintf("%.4f = %.4f", sum, logits[0]))
	// Output:
	// mlp-3heads 3 heads; class 0: 0.0468 = 0.0468
}
