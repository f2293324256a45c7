package train_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// DLDR (Li et al., "Low Dimensional Trajectory Hypothesis is True", TPAMI
// 2022): sample the SGD trajectory (initial weights and every epoch), take
// its top principal directions, and retrain from the initial weights with
// P-BFGS inside that tiny subspace.
func ExamplePCABasis() {
	wine, _ := data.Tabular("wine")
	std, _ := data.FitStandardizer(wine)
	std.Apply(wine)
	tr, te, _ := data.StratifiedSplit(wine, 0.3, 1)
	net, _ := nn.New(nn.MLP(tr.Shape, []int{16}, len(tr.Classes)), 1)
	ctx := context.Background()

	// 1. Sampling: w₀ and the weights after each of 8 SGD epochs.
	w0 := slices.Clone(net.Weights())
	traj := [][]float32{w0}
	sgd, _ := train.NewSGD(0.05, 0.9, 0, false)
	_, err := train.Fit(ctx, net, tr.X, tr.Y, train.Config{
		Epochs: 8, BatchSize: 16, Seed: 1, Optimizer: sgd,
		OnEpoch: func(train.EpochStats) error {
			traj = append(traj, slices.Clone(net.Weights()))
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// 2. PCA of the 9 samples: 4 directions of the 275 weights.
	basis, variance, err := train.PCABasis(traj, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	total, _ := train.TotalVariance(traj)
	explained := 0.0
	for _, v := range variance {
		explained += v / total
	}

	// 3. Restart from w₀ and train the 4 coordinates with P-BFGS.
	copy(net.Weights(), w0)
	pbfgs, _ := train.NewPBFGS(basis)
	if _, err := train.Fit(ctx, net, tr.X, tr.Y, train.Config{Epochs: 5, BatchSize: 64, Seed: 1, Optimizer: pbfgs}); err != nil {
		fmt.Println(err)
		return
	}
	m, _, _ := metrics.EvaluateClassifier(ctx, net, te.X, te.Y)
	fmt.Printf("%d weights, %d directions explain more than 90%%: %v\n", basis.D, basis.Dim, explained > 0.9)
	fmt.Println("test accuracy in the subspace above 90%:", m.Accuracy > 0.9)
	// Output:
	// 275 weights, 4 directions explain more than 90%: true
	// test accuracy in the subspace above 90%: true
}
