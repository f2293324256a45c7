package train_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// Adversarial training is an objective of the training loop: each batch is
// replaced by its adversarial examples (here FGSM with a random start,
// Fast-AT) before the optimizer's step. EvalRobust then measures clean,
// FGSM and PGD-10 accuracy at the same radius.
func ExampleNewAdversarialObjective() {
	tr, _ := data.Open(data.DefaultName, data.Train, "")
	te, _ := data.Open(data.DefaultName, data.Test, "")
	tr, te = tr.Head(1024), te.Head(200)
	ctx := context.Background()
	fit := func(obj train.Objective) train.RobustEpoch {
		net, _ := nn.New(nn.MLP([]int{1, 28, 28}, []int{64}, 10), 3)
		sgd, _ := train.NewSGD(0.05, 0.9, 0, false)
		if _, err := train.Fit(ctx, net, tr.X, tr.Y, train.Config{Epochs: 10, BatchSize: 64, Seed: 1, Optimizer: sgd, Objective: obj}); err != nil {
			fmt.Println(err)
		}
		r, _ := train.EvalRobust(ctx, net, te.X, te.Y, 0.1, 10, 1)
		return r
	}
	obj, err := train.NewAdversarialObjective(train.Adversarial{Method: "fgsm-rs", Eps: 0.1, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(obj.Config())
	plain, adv := fit(nil), fit(obj)
	fmt.Println("PGD-10 accuracy raised by more than 10 points:", adv.PGD > plain.PGD+0.1)
	// Output:
	// fgsm-rs ε=0.1 α=0.125
	// PGD-10 accuracy raised by more than 10 points: true
}

// DetectCO finds catastrophic overfitting in a per-epoch history: PGD
// accuracy halves from its best while the FGSM−PGD gap opens by 20 points.
func ExampleDetectCO() {
	hist := []train.RobustEpoch{
		{Epoch: 1, Clean: 0.60, FGSM: 0.40, PGD: 0.30},
		{Epoch: 2, Clean: 0.65, FGSM: 0.45, PGD: 0.35},
		{Epoch: 3, Clean: 0.70, FGSM: 0.75, PGD: 0.05}, // collapse
	}
	fmt.Println("catastrophic overfitting at epoch", train.DetectCO(hist, 0.2))
	// Output:
	// catastrophic overfitting at epoch 3
}
