package dekrr_test

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/dekrr"
	"github.com/trustml/trustml/natsnet"
)

// Example fits DeKRR-DDRF on three nodes of a ring, each node a goroutine
// with its own connection to an embedded NATS server.
func Example() {
	srv, err := natsnet.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	nodes := make([]dekrr.Node, 3)
	for j := range nodes {
		X := mat.NewDense(20, 1, nil)
		y := make([]float64, 20)
		for i := range y {
			x := float64(j*20+i) / 60
			X.Set(i, 0, x)
			y[i] = math.Sin(6 * x)
		}
		nodes[j] = dekrr.Node{X: X, Y: y}
	}
	g, err := dekrr.ParseTopology("ring", 3, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := dekrr.DeKRR{D: 10, Sigma: 0.3, Lambda: 1e-4, Iters: 200, Seed: 1}
	res, err := m.Fit(context.Background(), srv.URL(), nodes, g)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := res.PredictNode(0, mat.NewDense(1, 1, []float64{0.1}))
	fmt.Printf("converged: %v, messages per round: %g\n", res.Converged, res.MessagesPerRound)
	fmt.Printf("node 0 predicts f(0.1) = %.1f (sin 0.6 = %.1f)\n", p[0], math.Sin(0.6))
	// Output:
	// converged: true, messages per round: 6
	// node 0 predicts f(0.1) = 0.6 (sin 0.6 = 0.6)
}
