package repro_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trustml/trustml/repro"
	"github.com/trustml/trustml/shard"
)

// Two shards of "repro at" saved with Out and merged with From: the
// merged table holds every run once (here at a tiny size).
func ExampleAT() {
	dir, _ := os.MkdirTemp("", "repro-at")
	defer os.RemoveAll(dir)
	var files []string
	for i := range 2 {
		cfg := repro.ATConfig{TrainN: 200, HeldOut: 40, TestN: 20, Epochs: 1, Steps: 2, AAIters: 3, AATargets: 2, AASquare: 20,
			Methods: []string{"standard", "fgsm-rs"}, Shard: shard.Spec{Index: i, Count: 2}, Out: filepath.Join(dir, fmt.Sprint(i, ".json"))}
		if _, err := repro.AT(context.Background(), cfg); err != nil {
			fmt.Println(err)
			return
		}
		files = append(files, cfg.Out)
	}
	res, err := repro.AT(context.Background(), repro.ATConfig{From: files})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Runs {
		fmt.Println(r.Label, "— robust ≤ clean:", r.Robust <= r.Clean)
	}
	fmt.Println(len(res.Table.Rows), "rows")
	// Output:
	// standard training — robust ≤ clean: true
	// FGSM-RS (Fast-AT) — robust ≤ clean: true
	// FGSM-RS + CO remedy (early stop at best held-out PGD) — robust ≤ clean: true
	// 6 rows
}
