package impute_test

import (
	"context"
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

// ExampleRun removes 20% of iris's entries at random, fills them by
// column means and scores the downstream LS-SVM on held-out rows, as
// "trustml kernel impute --data iris --remove 0.2 --method mean" does.
func ExampleRun() {
	cfg := impute.DefaultConfig()
	cfg.Data, cfg.Method, cfg.Remove = "iris", impute.MethodMean, 0.2
	r, err := impute.Run(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Rows, r.Features, r.Missing == r.Removed, r.Metric, r.TestRows)
	// Output:
	// 150 4 true test accuracy 45
}
