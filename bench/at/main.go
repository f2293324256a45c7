// Command at measures the throughput of one PGD-AT training step of
// trustml (the inner attack: PGD-10 at ε = 0.1, step 2.5ε/10, from a
// uniform random start, in inference mode; then an SGD step on the
// adversarial batch in training mode) on the default CNN ("cnn"), for
// comparison with PyTorch doing the same step (torch_at.py) by run.sh.
//
//	go run ./bench/at -steps 3 -reps 1
//
// It prints one JSON line: the images/s of each repetition and their
// median.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/trustml/trustml/internal/linalg"
)

func main() {
	arch := flag.String("arch", "cnn", "architecture (see nn.SpecFor)")
	batch := flag.Int("batch", 128, "batch size")
	pgdSteps := flag.Int("pgd-steps", 10, "PGD steps of the inner attack")
	steps := flag.Int("steps", 3, "training steps per repetition")
	reps := flag.Int("reps", 1, "repetitions")
	flag.Parse()
	s, err := newStepper(*arch, *batch, *pgdSteps)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	if err := s.step(ctx); err != nil { // warm up buffers
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var rates []float64
	for range *reps {
		start := time.Now()
		for range *steps {
			if err := s.step(ctx); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		rates = append(rates, float64(*batch**steps)/time.Since(start).Seconds())
	}
	sorted := append([]float64(nil), rates...)
	sort.Float64s(sorted)
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"engine": "trustml-" + linalg.Backend(), "arch": *arch, "batch": *batch, "pgd_steps": *pgdSteps,
		"img_s": rates, "median_img_s": sorted[len(sorted)/2],
	})
}
