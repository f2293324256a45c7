package train_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// K-FAC preconditions each dense layer's gradient with its Kronecker
// factors before the SGD update; the inverses are recomputed every
// InvPeriod steps.
func ExampleNewKFAC() {
	tr, te := wineSplits()
	net, _ := nn.New(nn.MLP(tr.Shape, []int{16}, len(tr.Classes)), 1)
	base, _ := train.NewSGD(0.05, 0.9, 0, false)
	cfg := train.DefaultKFACConfig()
	cfg.InvPeriod = 10
	opt, err := train.NewKFAC(net, base, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = train.Fit(context.Background(), net, tr.X, tr.Y, train.Config{Epochs: 10, BatchSize: 16, Seed: 1, Optimizer: opt})
	c, _, _ := metrics.EvaluateClassifier(context.Background(), net, te.X, te.Y)
	fmt.Println(err, opt.Steps, opt.Inversions, c.Accuracy > 0.9)
	// Output:
	// <nil> 70 7 true
}
