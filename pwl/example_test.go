package pwl_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/pwl"
)

// Example converts a ReLU MLP to its affine map at a point and counts the
// linear regions along a segment.
func Example() {
	net, _ := nn.New(nn.MLP([]int{2}, []int{8, 8}, 3), 1)
	n, err := pwl.FromNetwork(net)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float64{0.3, -0.2}
	r, _ := n.Region(x)
	y, _, _ := n.Forward(x)
	fmt.Printf("units %d, affine map = network: %v\n", len(r.P), fmt.Sprintf("%.9f", r.Eval(x)[0]) == fmt.Sprintf("%.9f", y[0]))
	line, _ := n.Line(context.Background(), []float64{-2, -2}, []float64{2, 2})
	fmt.Println("pieces along the diagonal:", line.Regions == len(line.Breaks)+1)
	// Output:
	// units 16, affine map = network: true
	// pieces along the diagonal: true
}
