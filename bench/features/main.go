// Command features times random Fourier features plus primal ridge
// regression in trustml, for comparison with scikit-learn's
// RBFSampler + Ridge by run.sh.
//
//	go run ./bench/features -n 20000 -d 20 -D 2000 -reps 5
//
// It prints one JSON line: median seconds of the feature map + fit and of
// prediction over the repetitions, and the test MSE (a sanity check that
// the model is the same quality as scikit-learn's).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/kernel/features"
)

func main() {
	n := flag.Int("n", 20000, "training rows")
	nt := flag.Int("ntest", 5000, "test rows")
	d := flag.Int("d", 20, "input dimension")
	D := flag.Int("D", 2000, "random features")
	gamma := flag.Float64("gamma", 0.05, "RBF γ in exp(−γ‖x−z‖²)")
	alpha := flag.Float64("alpha", 1.0, "ridge λ")
	reps := flag.Int("reps", 5, "repetitions (the median is reported)")
	flag.Parse()

	X, y := synth(*n, *d, 1)
	Xt, yt := synth(*nt, *d, 2)
	sigma := 1 / math.Sqrt(2**gamma)
	var fitT, predT []float64
	var testMSE float64
	for r := 0; r < *reps; r++ {
		t0 := time.Now()
		m, err := features.NewRFF(features.Gaussian{Sigma: sigma}, *d, *D, features.Phase, rand.New(rand.NewPCG(uint64(r), 7)))
		if err != nil {
			fail(err)
		}
		model := &features.Ridge{Lambda: *alpha}
		if err := model.FitMap(context.Background(), m, X, y); err != nil {
			fail(err)
		}
		fitT = append(fitT, time.Since(t0).Seconds())
		t0 = time.Now()
		pred, err := model.PredictMap(m, Xt)
		if err != nil {
			fail(err)
		}
		predT = append(predT, time.Since(t0).Seconds())
		var s float64
		for i, v := range pred {
			s += (v - yt[i]) * (v - yt[i])
		}
		testMSE = s / float64(len(pred))
	}
	out := map[string]any{
		"engine": "trustml-" + linalg.Backend(), "n": *n, "d": *d, "D": *D, "threads": runtime.GOMAXPROCS(0),
		"fit_s": median(fitT), "predict_s": median(predT), "test_mse": testMSE,
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

// synth draws X ~ N(0, I) and y = sin(x₀ + x₁) + 0.5·x₂x₃ + 0.1·noise, the
// same function as sklearn_rff.py.
func synth(n, d int, seed uint64) (*mat.Dense, []float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	X := mat.NewDense(n, d, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		row := X.RawRowView(i)
		for j := range row {
			row[j] = rng.NormFloat64()
		}
		y[i] = math.Sin(row[0]+row[1]) + 0.5*row[2]*row[3] + 0.1*rng.NormFloat64()
	}
	return X, y
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
