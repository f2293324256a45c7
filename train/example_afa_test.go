package train_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/train"
)

// AFA trains a network whose batch norms are dual (clean and adversarial
// branches mixed by a predicted fusing weight). After training, the
// predictor gives adversarial inputs a larger weight than clean ones: the
// deployed model reads the attack strength off its own features.
func ExampleRunAFA() {
	tr, _ := data.Open(data.DefaultName, data.Train, "")
	te, _ := data.Open(data.DefaultName, data.Test, "")
	ctx := context.Background()
	oc := train.DefaultOptimizerConfig()
	res, err := train.RunAFA(ctx, train.AFARunConfig{
		Train: tr.Head(640), Test: te.Head(100), Arch: "cnn-small",
		AFA: train.AFA{Eps: 0.1, Steps: 2}, OptimizerConfig: oc, Schedule: "constant",
		Epochs: 2, BatchSize: 64, Seed: 1, RobustEval: train.RobustEval{N: 50, PGDSteps: 2},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	x, y := te.X[:50*784], te.Y[:50]
	adv := make([]float32, len(x))
	pgd := &attack.PGD{Threat: attack.Threat{Norm: attack.LInf, Eps: 0.1, Loss: attack.LossCE}, Steps: 5, StepSize: 0.05}
	if err := pgd.Perturb(ctx, res.Net, adv, x, y, nil); err != nil {
		fmt.Println(err)
		return
	}
	mean := func(in []float32) float64 {
		res.Net.Forward(in, len(y), false)
		var s float64
		for _, w := range res.Net.Fuse() {
			s += float64(w)
		}
		return s / float64(len(y))
	}
	fmt.Println("dual batch norms:", res.Net.NumDualBN())
	fmt.Println("fusing weight larger on PGD inputs than on clean ones:", mean(adv) > mean(x))
	// Output:
	// dual batch norms: 2
	// fusing weight larger on PGD inputs than on clean ones: true
}
