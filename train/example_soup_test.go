package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// Fine-tune one small MLP on the wine data under four learning rates and
// seeds, then make uniform, greedy and learned (MEHL-Soup+) soups of the
// fine-tuned models, selecting on a held-out split of the training data.
func ExampleMEHLSoup() {
	ctx := context.Background()
	wine, _ := data.Tabular("wine")
	std, _ := data.FitStandardizer(wine)
	std.Apply(wine)
	trainSet, _, _ := data.StratifiedSplit(wine, 0.3, 1)
	fit, held, _ := data.StratifiedSplit(trainSet, 0.3, 2)

	base, _ := nn.New(nn.MLP(fit.Shape, []int{16}, len(fit.Classes)), 1)
	sgd, _ := train.NewSGD(0.05, 0.9, 0, false)
	train.Fit(ctx, base, fit.X, fit.Y, train.Config{Epochs: 5, BatchSize: 16, Seed: 1, Optimizer: sgd})
	var models [][]float32
	for i, lr := range []float64{0.01, 0.05, 0.1, 0.2} {
		m := base.Copy()
		opt, _ := train.NewSGD(lr, 0.9, 0, false)
		train.Fit(ctx, m, fit.X, fit.Y, train.Config{Epochs: 10, BatchSize: 16, Seed: uint64(i + 2), Optimizer: opt})
		models = append(models, slices.Clone(m.Weights()))
	}
	heldOutNLL := func(net *nn.Network) float64 {
		m, _, _ := metrics.EvaluateClassifier(ctx, net, held.X, held.Y)
		return m.NLL
	}

	net := base.Copy()
	train.UniformSoup(net.Weights(), models)
	uniform := heldOutNLL(net)

	greedy, _ := train.GreedySoup(ctx, net, models, held.X, held.Y, train.GreedyConfig{})
	best := slices.Max(greedy.ModelAccuracy)

	cfg := train.DefaultMEHLConfig(rand.New(rand.NewPCG(1, 1)))
	cfg.BatchSize = 16
	res, _ := train.MEHLSoup(ctx, net, models, held.X, held.Y, cfg)
	// A network with batch norm would need train.UpdateBN here.
	learned := heldOutNLL(net)

	fmt.Println("greedy soup at least as accurate as the best model:", greedy.Accuracy >= best)
	fmt.Println("coefficients per model:", len(res.Batches[0].Coef[0]), res.Blocks)
	fmt.Println("learned soup's held-out loss below the uniform soup's:", learned < uniform)
	// Output:
	// greedy soup at least as accurate as the best model: true
	// coefficients per model: 4 [1.weight 1.bias 3.weight 3.bias]
	// learned soup's held-out loss below the uniform soup's: true
}

// Train a small MLP on the wine data, keep a checkpoint after each of the
// last six epochs, then compare their SWA mean with TWA-v, the journal
// version of trainable weight averaging, learned on a held-out split.
func ExampleTWAJournalConfig() {
	ctx := context.Background()
	wine, _ := data.Tabular("wine")
	std, _ := data.FitStandardizer(wine)
	std.Apply(wine)
	trainSet, _, _ := data.StratifiedSplit(wine, 0.3, 1)
	fit, held, _ := data.StratifiedSplit(trainSet, 0.2, 2)

	net, _ := nn.New(nn.MLP(fit.Shape, []int{16}, len(fit.Classes)), 1)
	sgd, _ := train.NewSGD(0.05, 0.9, 0, false)
	var ckpts [][]float32
	for ep := range 12 {
		train.Fit(ctx, net, fit.X, fit.Y, train.Config{Epochs: 1, BatchSize: 16, Seed: uint64(ep), Optimizer: sgd})
		if ep >= 6 {
			ckpts = append(ckpts, slices.Clone(net.Weights()))
		}
	}
	heldOutNLL := func(net *nn.Network) float64 {
		m, _, _ := metrics.EvaluateClassifier(ctx, net, held.X, held.Y)
		return m.NLL
	}
	train.UniformSoup(net.Weights(), ckpts)
	swa := heldOutNLL(net)

	cfg := train.TWAJournalConfig(rand.New(rand.NewPCG(1, 1)))
	cfg.BatchSize = 8
	res, _ := train.MEHLSoup(ctx, net, ckpts, held.X, held.Y, cfg) // TWA-v; TWA-t would pass fit
	// A network with batch norm would need train.UpdateBN here.
	twa := heldOutNLL(net)

	fmt.Println("model batches:", len(res.Batches), "of", len(res.Batches[0].Models), "checkpoints")
	fmt.Println("coefficients per checkpoint:", len(res.Blocks))
	fmt.Println("TWA-v held-out loss below SWA's:", twa < swa)
	// Output:
	// model batches: 1 of 6 checkpoints
	// coefficients per checkpoint: 4
	// TWA-v held-out loss below SWA's: true
}
