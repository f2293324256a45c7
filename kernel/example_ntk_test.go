package kernel_test

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/nn"
)

// Kernel ridge regression with the weighted empirical NTK of a small MLP
// at initialization, the output layer weighted twice the hidden one.
func ExampleWNTK() {
	net, err := nn.New(nn.MLP([]int{2}, []int{16}, 2), 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	names, _ := kernel.NTKGroups(net)
	k := &kernel.WNTK{Net: net, Weights: []float64{1, 2}}
	X := mat.NewDense(30, 2, nil)
	y := make([]float64, 30)
	for i := 0; i < 30; i++ {
		a, b := float64(i%6)/3-1, float64(i/6)/2-1
		X.SetRow(i, []float64{a, b})
		y[i] = math.Sin(2*a) + b*b
	}
	m := &kernel.KRR{Kernel: k, Lambda: 1e-3}
	if err := m.Fit(context.Background(), X, y); err != nil {
		fmt.Println(err)
		return
	}
	pred, err := m.Predict(X)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d layers, training R² > 0.95: %v\n", len(names), kernel.R2(y, pred) > 0.95)
	// Output: 2 layers, training R² > 0.95: true
}
