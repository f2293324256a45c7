package train_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// Train a small MLP on the embedded wine data set with SGD and a cosine
// schedule, then evaluate it.
func ExampleFit() {
	wine, err := data.Tabular("wine")
	if err != nil {
		fmt.Println(err)
		return
	}
	std, _ := data.FitStandardizer(wine)
	std.Apply(wine)
	tr, te, _ := data.StratifiedSplit(wine, 0.3, 1)
	net, _ := nn.New(nn.MLP(tr.Shape, []int{16}, len(tr.Classes)), 1)
	opt, _ := train.NewSGD(0.1, 0.9, 0, true)
	_, err = train.Fit(context.Background(), net, tr.X, tr.Y, train.Config{
		Epochs: 30, BatchSize: 16, Seed: 1, Optimizer: opt, Schedule: train.Cosine{Base: 0.1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, _, _ := metrics.EvaluateClassifier(context.Background(), net, te.X, te.Y)
	fmt.Println("test accuracy above 90%:", m.Accuracy > 0.9)
	// Output: test accuracy above 90%: true
}
