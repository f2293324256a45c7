package repro_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/repro"
)

// ReproFNGD with From merges the README's two saved shards into the table
// without training; the last row puts K-FAC's training time over FNGD's
// beside the FNGD abstract's number.
func ExampleReproFNGD() {
	res, err := repro.ReproFNGD(context.Background(), &repro.FNGDConfig{
		From: []string{"../docs/repro-fngd-runs-0.json", "../docs/repro-fngd-runs-1.json"}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, row := range res.Summary {
		fmt.Printf("%-4s test accuracy %s%%\n", row.Arm, row.Acc.Format("%.2f"))
	}
	r := res.Table.Rows[len(res.Table.Rows)-1]
	fmt.Printf("%s: paper %s (%s), ours %s\n", r.Method, r.Paper.Format("%.2f"), r.Paper.Source, r.Ours.Format("%.2f"))
	// Output:
	// sgd  test accuracy 83.12 ± 0.21%
	// adam test accuracy 82.29 ± 0.037%
	// kfac test accuracy 80.04 ± 0.23%
	// ngd  test accuracy 78.74 ± 0.21%
	// fngd test accuracy 80.09 ± 0.4%
	// kfac ÷ fngd: paper 2.05 (FNGD abstract, quoted in training.md §9), ours 2.50 ± 0.098
}
