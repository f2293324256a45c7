package kernel_test

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// Kernel ridge regression of a sine curve with an RBF kernel.
func ExampleKRR() {
	X := mat.NewDense(20, 1, nil)
	y := make([]float64, 20)
	for i := 0; i < 20; i++ {
		x := float64(i) / 19 * 2 * math.Pi
		X.Set(i, 0, x)
		y[i] = math.Sin(x)
	}
	m := &kernel.KRR{Kernel: kernel.RBF{Gamma: 0.5}, Lambda: 1e-3}
	if err := m.Fit(context.Background(), X, y); err != nil {
		fmt.Println(err)
		return
	}
	pred, err := m.Predict(mat.NewDense(3, 1, []float64{math.Pi / 2, math.Pi, 3 * math.Pi / 2}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("f(π/2)=%.2f f(π)=%.2f f(3π/2)=%.2f solver=%s\n", pred[0], pred[1], pred[2], m.Info().Method)
	// Output: f(π/2)=1.00 f(π)=-0.00 f(3π/2)=-1.00 solver=cholesky
}

// An LS-SVM classifier separating two clusters; labels can be any integers.
func ExampleLSSVMClassifier() {
	X := mat.NewDense(6, 2, []float64{
		0, 0, 0.2, 0.1, 0.1, 0.3, // class 7
		3, 3, 3.2, 2.9, 2.8, 3.1, // class 9
	})
	y := []int{7, 7, 7, 9, 9, 9}
	m := &kernel.LSSVMClassifier{Kernel: kernel.RBF{Gamma: 0.5}, Gamma: 10}
	if err := m.Fit(context.Background(), X, y); err != nil {
		fmt.Println(err)
		return
	}
	pred, _ := m.Predict(mat.NewDense(2, 2, []float64{0.3, 0.2, 2.5, 3.5}))
	fmt.Println(m.Classes(), pred)
	// Output: [7 9] [7 9]
}

// AsK-LS on a directed graph given as a precomputed, asymmetric kernel
// matrix: K[i][j] = 1 if node i links to node j. Predicting needs both
// orientations of the test kernel.
func ExampleAsKLS_FitGram() {
	// Nodes 0-2 (class 0) link to each other, nodes 3-5 (class 1) link to
	// each other, and node 2 links across to node 3 (but not back).
	links := [][2]int{{0, 1}, {1, 2}, {2, 0}, {2, 3}, {3, 4}, {4, 5}, {5, 3}}
	K := mat.NewDense(6, 6, nil)
	for _, l := range links {
		K.Set(l[0], l[1], 1)
	}
	y := []int{0, 0, 0, 1, 1, 1}
	// (With γ = 1 this system is exactly singular: K Kᵀ has eigenvalue
	// 1/γ² = 1 for the 3-cycles, and Fit would use the regularized
	// fallback; Info reports which solver ran.)
	m := &kernel.AsKLS{Gamma: 2}
	if err := m.FitGram(context.Background(), K, y); err != nil {
		fmt.Println(err)
		return
	}
	// Predict the training nodes: test→train is K, train→test is K as well
	// (K[j][i] = k(train j, test i)).
	pred, err := m.PredictGram(K, K)
	if err != nil {
		fmt.Println(err)
		return
	}
	alpha, beta, _, _ := m.Dual()
	fmt.Println(pred, "α = β:", mat.EqualApprox(alpha, beta, 1e-9), m.Info().Method)
	// Output: [0 0 0 1 1 1] α = β: false lu
}

// Kernel PCA: the first component of points on two concentric circles
// separates the circles, which linear PCA cannot do.
func ExampleKPCA() {
	n := 40
	X := mat.NewDense(n, 2, nil)
	for i := 0; i < n; i++ {
		r := 1.0
		if i%2 == 1 {
			r = 3
		}
		a := 2 * math.Pi * float64(i) / float64(n)
		X.Set(i, 0, r*math.Cos(a))
		X.Set(i, 1, r*math.Sin(a))
	}
	m := &kernel.KPCA{Kernel: kernel.RBF{Gamma: 0.3}, Components: 2}
	if err := m.Fit(context.Background(), X); err != nil {
		fmt.Println(err)
		return
	}
	T, _ := m.Transform(X)
	// Inner and outer circle points fall on opposite sides of 0.
	inner, outer := T.At(0, 0), T.At(1, 0)
	same := true
	for i := 0; i < n; i++ {
		ref := inner
		if i%2 == 1 {
			ref = outer
		}
		same = same && (T.At(i, 0) > 0) == (ref > 0)
	}
	fmt.Println("circles separated:", same && (inner > 0) != (outer > 0))
	e, _ := m.ReconstructionError(X)
	fmt.Printf("reconstruction error ≥ 0: %v\n", e[0] >= 0)
	// Output:
	// circles separated: true
	// reconstruction error ≥ 0: true
}

// Cross-validated grid search over the RBF bandwidth and the ridge.
func ExampleGridSearch() {
	X := mat.NewDense(30, 1, nil)
	y := make([]float64, 30)
	for i := 0; i < 30; i++ {
		x := float64(i) / 29 * 4
		X.Set(i, 0, x)
		y[i] = math.Cos(2 * x)
	}
	build := func(p map[string]float64, _ int) (kernel.Estimator[float64], error) {
		return &kernel.KRR{Kernel: kernel.RBF{Gamma: p["gamma"]}, Lambda: p["lambda"]}, nil
	}
	grid := kernel.Grid{"gamma": {0.001, 1}, "lambda": {1e-4, 10}}
	res, err := kernel.GridSearch(context.Background(), kernel.CV{Folds: 3}, X, y, grid, build, kernel.R2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.BestParams())
	// Output: map[gamma:1 lambda:0.0001]
}
