package continual_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/continual"
	"github.com/trustml/trustml/data"
)

// Example runs ER-LAS on a small class-incremental split of the embedded
// Fashion-MNIST subset (5 tasks of 2 classes, one pass).
func Example() {
	tr, _ := data.EmbeddedFashion(data.Train)
	te, _ := data.EmbeddedFashion(data.Test)
	tr, _ = data.StratifiedSample(tr, 100, 1)
	te, _ = data.StratifiedSample(te, 20, 1)
	cfg := continual.DefaultConfig() // las, τ = 1, window 1, buffer 500
	cfg.Buffer, cfg.Train, cfg.Test = 200, tr, te
	res, err := continual.Run(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.Acc), "tasks,", res.Steps, "steps")
	fmt.Println("accuracy matrix is lower triangular:", len(res.Acc[0]) == 1 && len(res.Acc[4]) == 5)
	fmt.Println("final accuracy above chance (10%):", res.FinalAccuracy > 0.1)
	// Output:
	// 5 tasks, 35 steps
	// accuracy matrix is lower triangular: true
	// final accuracy above chance (10%): true
}
