package kernel_test

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// Fit a tensorized multitask LS-SVM on two tasks with opposite slopes and
// predict each task at x = 1.
func ExampleTensorMTLRegressor() {
	X := mat.NewDense(8, 1, []float64{-2, -1, 1, 2, -2, -1, 1, 2})
	y := []float64{-2, -1, 1, 2, 2, 1, -1, -2}
	tasks := [][]int{{0}, {0}, {0}, {0}, {1}, {1}, {1}, {1}}
	m := &kernel.TensorMTLRegressor{TensorMTL: kernel.TensorMTL{Kernel: kernel.Linear{}, Gamma: 100, Rank: 1, Seed: 1}}
	if err := m.FitTasks(context.Background(), X, y, tasks); err != nil {
		fmt.Println(err)
		return
	}
	pred, err := m.PredictTasks(mat.NewDense(2, 1, []float64{1, 1}), [][]int{{0}, {1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("task 0: %.1f, task 1: %.1f\n", pred[0], pred[1])
	// Output: task 0: 1.0, task 1: -1.0
}
