package kernel_test

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// Fit a tensorized multitask SVM (tSVM-MTL: hinge loss) on two tasks whose
// classes are mirrored, and classify x = 1 in each task.
func ExampleTensorMTLClassifier_svm() {
	X := mat.NewDense(8, 1, []float64{-2, -1, 1, 2, -2, -1, 1, 2})
	y := []int{0, 0, 1, 1, 1, 1, 0, 0}
	tasks := [][]int{{0}, {0}, {0}, {0}, {1}, {1}, {1}, {1}}
	m := &kernel.TensorMTLClassifier{TensorMTL: kernel.TensorMTL{Kernel: kernel.Linear{}, Gamma: 10, Rank: 1, Seed: 1, Loss: kernel.LossSVM}}
	if err := m.FitTasks(context.Background(), X, y, tasks); err != nil {
		fmt.Println(err)
		return
	}
	pred, err := m.PredictTasks(mat.NewDense(2, 1, []float64{1, 1}), [][]int{{0}, {1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("task 0: class %d, task 1: class %d\n", pred[0], pred[1])
	// Output: task 0: class 1, task 1: class 0
}
