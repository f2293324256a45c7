package robustopt_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/robustopt"
)

// The robust newsvendor orders more than SAA and certifies a bound on the
// expected cost over the RKHS ball.
func ExampleRobustSolve() {
	sources := [][]float64{{90, 110, 95}, {120, 130, 100}, {80, 85, 105}, {100, 115, 98}}
	u, err := robustopt.Fit(sources, 0.9)
	if err != nil {
		panic(err)
	}
	loss := robustopt.Newsvendor(1, 4)
	rob, err := robustopt.RobustSolve(context.Background(), loss, u, 0, 200, 1e-6)
	if err != nil {
		panic(err)
	}
	saa := robustopt.SAA(loss, u, 0, 200)
	fmt.Printf("SAA x=%.1f cost=%.2f; robust x=%.1f bound=%.2f (%d rounds)\n", saa.X, saa.Nominal, rob.X, rob.Value, rob.Iterations)
	// Output: SAA x=115.0 cost=21.00; robust x=122.6 bound=35.77 (14 rounds)
}
