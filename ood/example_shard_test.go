package ood_test

import (
	"fmt"

	"github.com/trustml/trustml/ood"
)

// Metrics depend on the per-sample scores only, so the scores of shards of
// the samples, computed apart and concatenated, give the unsharded metrics.
func ExampleResultsFromScores() {
	shard0 := ood.Scores{Detector: "energy", ID: []float64{5, 3}, OoD: [][]float64{{1, 4}}}
	shard1 := ood.Scores{Detector: "energy", ID: []float64{6, 2}, OoD: [][]float64{{0, 1}}}
	merged := ood.Scores{
		Detector: "energy",
		ID:       append(shard0.ID, shard1.ID...),
		OoD:      [][]float64{append(shard0.OoD[0], shard1.OoD[0]...)},
	}
	res, err := ood.ResultsFromScores([]ood.Scores{merged}, []string{"noise"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s vs %s: AUROC %.4f\n", res[0].Detector, res[0].OoD, res[0].AUROC)
	// Output:
	// energy vs noise: AUROC 0.8750
}
