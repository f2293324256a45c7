package impute_test

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/impute"
)

// Example fills the missing entries of a tiny matrix by column means and
// by the 2 nearest rows.
func Example() {
	nan := math.NaN()
	X := mat.NewDense(4, 2, []float64{
		1, 10,
		2, nan,
		nan, 30,
		4, 40,
	})
	mean, _ := impute.Mean(X)
	knn, _ := impute.KNN(X, 2)
	fmt.Printf("mean: %.4g %.4g\n", mean.At(1, 1), mean.At(2, 0))
	fmt.Printf("knn:  %.4g %.4g\n", knn.At(1, 1), knn.At(2, 0))
	// Output:
	// mean: 26.67 2.333
	// knn:  25 2.5
}
