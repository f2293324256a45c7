package ood_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/ood"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/zoo"
)

// Run is "trustml ood eval" as one call: fit detectors on the embedded
// Fashion-MNIST training images and measure them against the far-OoD sets.
func ExampleRun() {
	net, _, err := zoo.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := ood.Run(context.Background(), ood.RunConfig{
		Models: []model.Classifier{net}, ModelName: "default",
		Detectors: []string{"energy", "knn"}, NTrain: 500, NTest: 200, NOoD: 100,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rep.Results {
		if r.OoD == "uniform" {
			fmt.Printf("%s vs %s: AUROC above 0.8: %v\n", r.Detector, r.OoD, r.AUROC > 0.8)
		}
	}
	// Output:
	// energy vs uniform: AUROC above 0.8: true
	// knn vs uniform: AUROC above 0.8: true
}

// Shards of one benchmark run apart (each its own process or machine:
// "trustml ood eval --shard i/N --json"); Merge joins their per-sample
// scores into the report of one unsharded run.
func ExampleMerge() {
	ctx := context.Background()
	net, _, err := zoo.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := ood.RunConfig{Models: []model.Classifier{net}, Detectors: []string{"energy"}, NTrain: 100, NTest: 50, NOoD: 30}
	whole, err := ood.Run(ctx, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	var parts []*ood.ShardReport
	for i := range 2 {
		cfg.Shard = shard.Spec{Index: i, Count: 2}
		rep, err := ood.Run(ctx, cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		parts = append(parts, rep.Shard)
	}
	merged, err := ood.Merge(parts[1], parts[0])
	if err != nil {
		fmt.Println(err)
		return
	}
	same := len(merged.Results) == len(whole.Results)
	for i := range whole.Results {
		same = same && merged.Results[i].Metrics == whole.Results[i].Metrics
	}
	fmt.Println(len(merged.Results), "results, equal to the unsharded run:", same)
	// Output:
	// 4 results, equal to the unsharded run: true
}

// Fit a detector on the embedded training images and save it ("trustml ood
// fit"), then score data with the saved detector ("trustml ood score").
func ExampleScore() {
	ctx := context.Background()
	net, _, err := zoo.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "ood-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	file := dir + "/knn.json"
	if _, err := ood.Fit(ctx, net, ood.FitConfig{Detector: "knn", NTrain: 300, Out: file}); err != nil {
		fmt.Println(err)
		return
	}
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := ood.Score(ctx, net, test, ood.ScoreConfig{DetectorFile: file, N: 5})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Detector, len(res.Scores), "scores")
	// Output:
	// knn 5 scores
}

// Detectors are registered by name; an unknown name is an error that
// matches ood.ErrUnknown and lists the names.
func ExampleNew() {
	det, err := ood.New("energy", ood.Config{Temperature: 1})
	fmt.Println(det.Name(), err)
	_, err = ood.New("nope", ood.Config{})
	fmt.Println(errors.Is(err, ood.ErrUnknown))
	// Output:
	// energy <nil>
	// true
}
