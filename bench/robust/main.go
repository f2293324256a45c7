// Command robust measures, in one run on the default model, what the issue
// for black-box robustness asks of its performance:
//
//   - the cost of each output defense per batch against the model's forward
//     pass on the same batch (goal for AAA: under 2%), and
//
//   - the query attacks' own overhead as a share of total attack time (goal:
//     under 10%; the rest is model queries).
//
//     go run -tags openblas ./bench/robust -reps 5
//
// Timings are medians over the repetitions.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/zoo"
)

// timed wraps a classifier and accumulates the time spent in it.
type timed struct {
	model.Classifier
	spent time.Duration
}

func (t *timed) Logits(ctx context.Context, dst, x []float32) error {
	start := time.Now()
	err := t.Classifier.Logits(ctx, dst, x)
	t.spent += time.Since(start)
	return err
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

func main() {
	reps := flag.Int("reps", 5, "repetitions (medians are reported)")
	batch := flag.Int("batch", 128, "batch size")
	n := flag.Int("n", 100, "images attacked per repetition")
	budget := flag.Int("budget", 200, "queries per image")
	flag.Parse()
	ctx := context.Background()
	net, _, err := zoo.Default()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	size, k := test.SampleSize(), net.NumClasses()
	x := test.X[:*batch*size]
	logits := make([]float32, *batch*k)
	out := make([]float32, len(logits))
	fmt.Printf("default model %s, batch %d, linear algebra %s\n\n", net.Spec().Name, *batch, linalg.Backend())

	var fwd []float64
	for range *reps {
		start := time.Now()
		for range 10 {
			net.Logits(ctx, logits, x)
		}
		fwd = append(fwd, time.Since(start).Seconds()/10)
	}
	f := median(fwd)
	fmt.Printf("forward pass: %.2f ms per batch\n\n", 1e3*f)
	fmt.Printf("%-16s %12s %10s\n", "defense", "ms / batch", "of forward")
	for _, name := range defense.Names() {
		d, err := defense.New(name, defense.Options{Seed: 1})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var ts []float64
		for range *reps {
			start := time.Now()
			for range 10 {
				if err := d.Apply(out, logits, k); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
			}
			ts = append(ts, time.Since(start).Seconds()/10)
		}
		t := median(ts)
		fmt.Printf("%-16s %12.3f %9.2f%%\n", name, 1e3*t, 100*t/f)
	}

	fmt.Printf("\nattack overhead (%d images, budget %d, undefended model):\n", *n, *budget)
	fmt.Printf("%-12s %10s %10s %10s\n", "attack", "total s", "model s", "overhead")
	xs, ys := test.X[:*n*size], test.Y[:*n]
	for _, name := range []string{"square", "square-l2", "nes", "signhunter", "simba-dct", "bandits"} {
		var shares, totals, models []float64
		for r := range *reps {
			tm := &timed{Classifier: net}
			o, err := attack.NewOracle(tm, attack.OracleOptions{Budget: *budget})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			atk, _ := attack.New(name)
			th := atk.ThreatModel()
			if th.Norm == attack.LInf {
				th.Eps = 0.1
			} else {
				th.Eps = 1.5
			}
			start := time.Now()
			if _, err := atk.Run(ctx, o, xs, ys, attack.RunOptions{Rand: rand.New(rand.NewPCG(uint64(r), 0))}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			total := time.Since(start).Seconds()
			totals = append(totals, total)
			models = append(models, tm.spent.Seconds())
			shares = append(shares, 1-tm.spent.Seconds()/total)
		}
		fmt.Printf("%-12s %10.2f %10.2f %9.1f%%\n", name, median(totals), median(models), 100*median(shares))
	}
}
