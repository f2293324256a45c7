package hgnn_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/hgnn"
)

// Example trains ResMHGNN on two views of the same nodes, each with its
// k-NN hypergraph, from two labels per class.
func Example() {
	r := rand.New(rand.NewPCG(1, 2))
	const n, classes = 60, 3
	y := make([]int, n)
	a, b := mat.NewDense(n, 2, nil), mat.NewDense(n, 3, nil)
	for i := range n {
		y[i] = i % classes
		for j := range 2 {
			a.Set(i, j, float64(y[i]*(j+1))+0.4*r.NormFloat64())
		}
		for j := range 3 {
			b.Set(i, j, float64(y[i]*(2-j))+0.4*r.NormFloat64())
		}
	}
	var views []hgnn.View
	for _, x := range []*mat.Dense{a, b} {
		h, err := hgnn.KNN(x, 5)
		if err != nil {
			panic(err)
		}
		v, err := hgnn.NewView(x, h.WithSelfLoops())
		if err != nil {
			panic(err)
		}
		views = append(views, v)
	}
	labeled := hgnn.SampleLabels(y, 2, 1)
	cfg := hgnn.DefaultConfig() // ResHGNN branches
	cfg.Epochs = 100
	m, err := hgnn.Train(context.Background(), views, y, labeled, classes, cfg)
	if err != nil {
		panic(err)
	}
	acc := hgnn.Accuracy(m.Predict(), y, hgnn.Unlabeled(n, labeled))
	fmt.Printf("%d labeled nodes, accuracy on the others ≥ 0.9: %v\n", len(labeled), acc >= 0.9)
	// Output: 6 labeled nodes, accuracy on the others ≥ 0.9: true
}
