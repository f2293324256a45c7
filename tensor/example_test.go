package tensor_test

import (
	"fmt"
	"math"

	"github.com/trustml/trustml/tensor"
)

// Example fits TT, the semi-tensor train (STP factor 2), Tucker and the
// semi-tensor Tucker to a smooth 8×8×16 tensor at a storage budget of 200
// values (4% of the tensor) and prints what each stores and its error.
func Example() {
	x := tensor.New(8, 8, 16)
	for i := range 8 {
		for j := range 8 {
			for k := range 16 {
				x.Data[(i*8+j)*16+k] = math.Exp(-float64((i-j)*(i-j))/8)*math.Cos(float64(k*(i+1))/7) + 0.1*math.Sin(float64(i*j+k))
			}
		}
	}
	for _, s := range []tensor.Spec{{Method: "tt"}, {Method: "stt", T: 2}, {Method: "tucker"}, {Method: "sttu", T: 2}} {
		d, fit, err := tensor.FitBudget(x, s, 200)
		if err != nil {
			fmt.Println(err)
			return
		}
		e, _ := tensor.RelError(x, d.Reconstruct())
		fmt.Printf("%-14s %3d values, relative error %.4f\n", fit, d.NumParams(), e)
	}
	// Output:
	// tt r=3         144 values, relative error 0.6522
	// stt t=2 r=4    104 values, relative error 0.7726
	// tucker r=4     192 values, relative error 0.5470
	// sttu t=2 r=4    96 values, relative error 0.8144
}
