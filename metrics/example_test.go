package metrics_test

import (
	"fmt"

	"github.com/trustml/trustml/metrics"
)

// Score three predictions over two classes: accuracy, mean negative
// log-likelihood and expected calibration error.
func ExampleEvaluate() {
	logits := []float32{
		2, 0, // confident class 0
		0, 1, // class 1
		1, 0, // class 0, but the label is 1
	}
	m, err := metrics.Evaluate(logits, []int{0, 1, 1}, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("accuracy %.3f  nll %.3f  ece %.3f\n", m.Accuracy, m.NLL, m.ECE)
	// Output: accuracy 0.667  nll 0.584  ece 0.194
}
