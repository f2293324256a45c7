package train_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// FNGD solves for its layer-wise coefficients in the first epoch and
// reuses them after; Fit hands it each batch's samples.
func ExampleNewFNGD() {
	tr, te := wineSplits()
	net, _ := nn.New(nn.MLP(tr.Shape, []int{16}, len(tr.Classes)), 1)
	base, _ := train.NewSGD(0.02, 0.9, 0, false)
	opt, err := train.NewFNGD(net, base, 0.1, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = train.Fit(context.Background(), net, tr.X, tr.Y, train.Config{Epochs: 10, BatchSize: 16, Seed: 1, Optimizer: opt})
	c, _, _ := metrics.EvaluateClassifier(context.Background(), net, te.X, te.Y)
	fmt.Println(err, opt.Solves, opt.Reuses, c.Accuracy > 0.9)
	// Output:
	// <nil> 7 63 true
}
