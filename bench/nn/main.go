// Command nn measures the training and inference throughput of trustml's
// engine on the small CNN, for comparison with PyTorch by run.sh.
//
//	go run ./bench/nn -arch cnn -reps 5
//
// It prints one JSON line: the median images/s over the repetitions.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

func main() {
	arch := flag.String("arch", "cnn", "architecture (see nn.SpecFor)")
	batch := flag.Int("batch", 128, "batch size")
	steps := flag.Int("steps", 20, "steps per repetition")
	reps := flag.Int("reps", 5, "repetitions (the median is reported)")
	flag.Parse()
	spec, err := nn.SpecFor(*arch, []int{1, 28, 28}, 10)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	net, err := nn.New(spec, 1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	n := *batch
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n*784)
	for i := range x {
		x[i] = r.Float32()
	}
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(10)
	}
	d := make([]float32, n*10)
	opt, _ := train.NewSGD(0.01, 0.9, 5e-4, false)
	trainStep := func() {
		opt.Step(net, func() (float64, error) {
			net.ZeroGrad()
			out := net.Forward(x, n, true)
			l, _ := nn.SoftmaxCrossEntropy(out, d, y, 10, 0)
			net.Backward(d, false)
			return l, nil
		})
	}
	inferStep := func() { net.Infer(x, n) } // the path of Logits and serving
	measure := func(step func()) float64 {
		step() // warm up buffers
		var rates []float64
		for range *reps {
			start := time.Now()
			for range *steps {
				step()
			}
			rates = append(rates, float64(n**steps)/time.Since(start).Seconds())
		}
		sort.Float64s(rates)
		return rates[len(rates)/2]
	}
	res := map[string]any{
		"engine": "trustml-" + linalg.Backend(), "arch": *arch, "batch": n,
		"train_img_s": measure(trainStep), "infer_img_s": measure(inferStep),
	}
	json.NewEncoder(os.Stdout).Encode(res)
}
