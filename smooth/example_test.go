package smooth_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/smooth"
)

// Example smooths a grey image with a step edge and flat noise-free sides
// by the generalized framework and measures it.
func Example() {
	in := smooth.NewImage(16, 8, 1)
	for y := 0; y < 8; y++ {
		for x := 0; x < 16; x++ {
			v := 0.2 + 0.02*float64((x*7+y*3)%5) // texture
			if x >= 8 {
				v += 0.5
			}
			in.Pix[y*16+x] = v
		}
	}
	out, err := smooth.DefaultGeneral().Smooth(context.Background(), in)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := smooth.Evaluate(in, out)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("edge kept %.1f, texture flattened: %v\n", m.EdgeKept, m.FlatKept < 0.2)
	// Output: edge kept 1.0, texture flattened: true
}
