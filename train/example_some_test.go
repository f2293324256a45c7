package train_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/train"
)

// SOME trains the multi-head form of an architecture under Gaussian noise
// (the σ of Augment.NoiseSigma) with circular teaching; the checkpointed
// network's logits are the sum of its heads', the base classifier that
// certify.Run smooths.
func ExampleSOME() {
	tr, _ := data.Open(data.DefaultName, data.Train, "")
	te, _ := data.Open(data.DefaultName, data.Test, "")
	oc := train.DefaultOptimizerConfig()
	oc.LR = 0.1
	res, err := train.Run(context.Background(), train.RunConfig{Train: tr.Head(512), Test: te.Head(200), Arch: "mlp",
		Optimizer: "sgd", OptimizerConfig: oc, Schedule: "constant", Epochs: 4, BatchSize: 32, Seed: 1,
		Augment: train.Augment{NoiseSigma: 0.25}, SOME: train.SOME{Heads: 3}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Net.Spec().Name, "with", res.Net.NumHeads(), "heads; above chance:", res.Test.Accuracy > 0.4)
	// λ falls from ln 10 at the first epoch to λ_last at the last
	fmt.Printf("λ: %.3f, %.3f\n", train.SOMELambda(1, 150, 10, 1.2), train.SOMELambda(150, 150, 10, 1.2))
	// Output:
	// mlp-3heads with 3 heads; above chance: true
	// λ: 2.303, 1.200
}
