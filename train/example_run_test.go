package train_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// wineSplits returns the standardized wine data split into training and
// test sets: a small labelled set that trains in milliseconds.
func wineSplits() (*data.Dataset, *data.Dataset) {
	wine, _ := data.Tabular("wine")
	std, _ := data.FitStandardizer(wine)
	std.Apply(wine)
	tr, te, _ := data.StratifiedSplit(wine, 0.3, 1)
	return tr, te
}

// Optimizers are built by name from one configuration that holds every
// optimizer's defaults; an unknown name lists the valid ones.
func ExampleNewOptimizer() {
	net, _ := nn.New(nn.MLP([]int{13}, []int{8}, 3), 1)
	cfg := train.DefaultOptimizerConfig()
	cfg.Rho = 0.1
	opt, err := train.NewOptimizer("fsam", net, cfg)
	fmt.Printf("%T %v\n", opt, err)
	_, err = train.NewOptimizer("lion", net, cfg)
	fmt.Println(errors.Is(err, train.ErrUnknown))
	fmt.Println(train.OptimizerNames())
	// Output:
	// *train.FSAM <nil>
	// true
	// [adam adamw arwp asam fngd fsam kfac marwp nesterov ngd rwp sam sgd]
}

// Run is "trustml train" as a call: a network of a named architecture
// trained with a named optimizer and evaluated on the test split.
func ExampleRun() {
	tr, te := wineSplits()
	res, err := train.Run(context.Background(), train.RunConfig{
		Train: tr, Test: te, Arch: "mlp", Optimizer: "sam", OptimizerConfig: train.DefaultOptimizerConfig(),
		Schedule: "cosine", Epochs: 10, BatchSize: 16, Seed: 1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.History), "epochs, test accuracy above 90%:", res.Test.Accuracy > 0.9)
	// Output: 10 epochs, test accuracy above 90%: true
}

// DLDR samples an SGD trajectory, finds its principal subspace and trains
// from the initial weights in it.
func ExampleDLDR() {
	tr, te := wineSplits()
	cfg := train.DefaultDLDRConfig()
	cfg.Train, cfg.Test, cfg.Out = tr, te, ""
	cfg.Sampling.Arch, cfg.Sampling.Epochs, cfg.Sampling.LR, cfg.Sampling.Batch = "mlp", 8, 0.05, 16
	cfg.Dim, cfg.Epochs, cfg.Batch = 4, 5, 64
	res, err := train.DLDR(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d samples, %d directions, %s test accuracy above 90%%: %v\n",
		res.Samples, res.Dim, res.Label, res.Subspace.Test.Accuracy > 0.9)
	// Output: 9 samples, 4 directions, P-BFGS test accuracy above 90%: true
}

// Landscape measures the flatness of a trained model: the top Hessian
// eigenvalue and the loss along a random filter-normalized direction.
func ExampleLandscape() {
	tr, te := wineSplits()
	res, _ := train.Run(context.Background(), train.RunConfig{Train: tr, Test: te, Arch: "mlp", Optimizer: "sgd",
		OptimizerConfig: train.DefaultOptimizerConfig(), Schedule: "cosine", Epochs: 10, BatchSize: 16, Seed: 1})
	cfg := train.DefaultLandscapeConfig()
	cfg.Model, cfg.Data, cfg.Points = res.Net, tr, 5
	l, err := train.Landscape(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Alpha, *l.Top > 0, l.Loss[2] < l.Loss[0] && l.Loss[2] < l.Loss[4])
	// Output: [-1 -0.5 0 0.5 1] true true
}

// Average combines checkpoints with a registered method: here the soups,
// compared on a held-out part of the training split.
func ExampleAverage() {
	tr, te := wineSplits()
	dir, _ := os.MkdirTemp("", "soup")
	defer os.RemoveAll(dir)
	var paths []string
	for seed := range uint64(3) {
		p := filepath.Join(dir, fmt.Sprintf("ft%d.ckpt", seed))
		_, err := train.Run(context.Background(), train.RunConfig{Train: tr, Test: te, Arch: "mlp", Optimizer: "sgd",
			OptimizerConfig: train.DefaultOptimizerConfig(), Schedule: "cosine", Epochs: 5, BatchSize: 16, Seed: 1 + seed, Out: p})
		if err != nil {
			fmt.Println(err)
			return
		}
		paths = append(paths, p)
	}
	cfg := train.DefaultAverageConfig("soup-uniform")
	cfg.Train, cfg.Test, cfg.Checkpoints, cfg.Compare = tr, te, paths, true
	res, err := train.Average(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range res.Results {
		fmt.Print(s.Name, " ")
	}
	fmt.Println(res.Averaged)
	// Output: uniform greedy mehl mehl+ 3
}
