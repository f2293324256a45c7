package repro_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/repro"
)

// Flat with From merges saved runs into the table without training: here
// the runs of the README's table, with the F-SAM repo log's number beside
// ours.
func ExampleFlat() {
	res, err := repro.Flat(context.Background(), repro.FlatConfig{From: []string{"../docs/repro-flat-runs.json"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Table.Rows[:2] {
		fmt.Printf("%s %s: paper %s (%s), ours %s\n", r.Setting, r.Method, r.Paper.Format("%.2f"), r.Paper.Source, r.Ours.Format("%.2f"))
	}
	// Output:
	// cnn-small, 0% noise sgd: paper not public in text form (F-SAM repo logs), ours 84.19 ± 0.17
	// cnn-small, 0% noise sam: paper 80.78 (F-SAM repo log), ours 81.47 ± 0.54
}
