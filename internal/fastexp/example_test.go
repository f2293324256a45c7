package fastexp_test

import (
	"fmt"

	"github.com/trustml/trustml/internal/fastexp"
)

func ExampleInPlace() {
	x := []float64{0, 1, -2}
	fastexp.InPlace(x)
	fmt.Printf("%.12f %.12f %.12f\n", x[0], x[1], x[2])
	// Output: 1.000000000000 2.718281828459 0.135335283237
}
