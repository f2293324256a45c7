package defense_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/trustml/trustml/defense"
)

// AAA keeps the prediction but bends the top-1 minus top-2 margin: with the
// released experiments' attractor interval τ = 6, a clean margin of 5 is shown as about 1
// and a margin of 4 as about 2, so a query attack that lowers the real margin
// sees its loss rise and rejects the step.
func Example() {
	cfg := defense.DefaultAAAConfig(defense.Linear)
	cfg.Tau = 6 // the default 0 picks τ from the class count (1.10 for 10)
	d, err := defense.NewAAA(cfg)
	if err != nil {
		panic(err)
	}
	for _, m0 := range []float32{5, 4} {
		logits := []float32{-2, -1.5, -3, -2.5, m0, -1, -4, 0, -3.5, -2.2}
		out := make([]float32, len(logits))
		if err := d.Apply(out, logits, len(logits)); err != nil {
			panic(err)
		}
		fmt.Printf("clean margin %.0f → observed margin %.1f (class %d kept)\n", m0, out[4]-out[7], 4)
	}
	// Output:
	// clean margin 5 → observed margin 1.1 (class 4 kept)
	// clean margin 4 → observed margin 2.0 (class 4 kept)
}

// A defense is built by its command-line name with parameters parsed from a
// flag value.
func ExampleNew() {
	params, err := defense.ParseParams("tau=3,temperature=1.2")
	if err != nil {
		panic(err)
	}
	d, err := defense.New("aaa-sine", defense.Options{Params: params})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Name(), d.Output(), d.KeepsArgmax())

	_, err = defense.New("outrnd", defense.Options{Params: map[string]float64{"sigma": -1}})
	fmt.Println(err)
	// Output:
	// aaa-sine logits true
	// defense outrnd: outrnd: noise scale must be in [0, 1e+06], got -1
}

// List describes the registered defenses for a command's help.
func ExampleList() {
	for _, info := range defense.List() {
		line := fmt.Sprintf("%-16s", info.Name)
		for _, p := range info.Params {
			line += fmt.Sprintf(" %s=%g", p.Name, p.Default)
		}
		fmt.Println(strings.TrimSpace(line))
	}
	// Output:
	// aaa-linear       tau=0 alpha=1 kappa=5 temperature=1 iters=100 lr=0.1 eps=1e-08 rowwise=0 workers=0
	// aaa-sine         tau=0 kappa=5 temperature=1 iters=100 lr=0.1 eps=1e-08 rowwise=0 workers=0
	// class-labels
	// gaussian-noise   scale=0.2
	// high-confidence  cutoff=0.25
	// none
	// outrnd           sigma=1
	// reverse-sigmoid  beta=1 gamma=0.1
	// rnd              sigma=0.02
	// rounded          decimals=3
	// top-k            k=1
	// unig             lr=10 epochs=1 delta=0.5 init_std=0.5 momentum=0.9 weight_decay=0.0005 batch=256
}

// constant is a stand-in for a trained model: it returns the same logits for
// every input of shape 1×2×2.
type constant []float32

var constantShape = []int{1, 2, 2}

func (c constant) InputShape() []int { return constantShape }
func (c constant) NumClasses() int   { return len(c) }
func (c constant) Logits(_ context.Context, dst, x []float32) error {
	for i := 0; i < len(x)/4; i++ {
		copy(dst[i*len(c):], c)
	}
	return nil
}

// Wrap puts a defense in front of a model; attacks and the evaluation then
// query the defended model like any classifier.
func ExampleWrap() {
	m := constant{2, 0.5, -1}
	api := defense.Wrap(m, defense.ClassLabels{})
	x := make([]float32, 2*4) // two 1×2×2 images
	scores := make([]float32, 2*3)
	if err := api.Logits(context.Background(), scores, x); err != nil {
		panic(err)
	}
	fmt.Println(api.Output(), scores)
	// Output:
	// probabilities [1 0 0 1 0 0]
}

// Randomized defenses take a seeded source: the same seed reproduces the
// same noise, call after call.
func ExampleNewOutputNoise() {
	logits := []float32{1, 0, -1}
	for range 2 {
		d, err := defense.NewOutputNoise(0.3, rand.New(rand.NewPCG(42, 0)))
		if err != nil {
			panic(err)
		}
		a, b := make([]float32, 3), make([]float32, 3)
		d.Apply(a, logits, 3)
		d.Apply(b, logits, 3) // fresh noise on every call
		fmt.Printf("%.3f %.3f\n", a, b)
	}
	// Output:
	// [0.790 0.355 -1.189] [0.980 0.187 -0.690]
	// [0.790 0.355 -1.189] [0.980 0.187 -0.690]
}

// TuneTemperature picks AAA's calibration temperature on held-out data by
// the ECE of the defended output, as the official code does; here with a
// coarse grid. The result says whether the defended ECE is at or below the
// undefended one.
func ExampleTuneTemperature() {
	logits := []float32{
		9, 0, 1, // wrong and overconfident
		8, 1, 0,
		0, 10, 1,
		1, 0, 12,
	}
	labels := []int{1, 0, 1, 2}
	res, err := defense.TuneTemperature(context.Background(), defense.DefaultAAAConfig(defense.Linear),
		logits, labels, 3, []float64{1, 2, 4, 8})
	if err != nil {
		panic(err)
	}
	fmt.Printf("T = %g, ECE %.3f (undefended %.3f, at or below: %v)\n", res.Temperature, res.ECE, res.Undefended, res.AtOrBelow)
	// Output:
	// T = 2, ECE 0.249 (undefended 0.250, at or below: true)
}

// A server that defends each request's rows as their own AAA batch (in the
// official mode a row's output depends on its call's size) hands a
// dynamic batch of requests to ApplyGroups in one call: the same outputs
// as one Apply per request, with the rows of all requests sharing the
// SIMD kernels' lanes.
func ExampleAAA_ApplyGroups() {
	const k = 10
	d, err := defense.NewAAA(defense.DefaultAAAConfig(defense.Linear))
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, 7*k) // requests of 1, 4 and 2 images
	for i := range logits {
		logits[i] = float32(3 * rng.NormFloat64())
	}
	sizes := []int{1, 4, 2}
	batched := make([]float32, len(logits))
	if err := d.ApplyGroups(batched, logits, k, sizes); err != nil {
		panic(err)
	}
	one := make([]float32, len(logits))
	off := 0
	for _, n := range sizes {
		if err := d.Apply(one[off*k:(off+n)*k], logits[off*k:(off+n)*k], k); err != nil {
			panic(err)
		}
		off += n
	}
	fmt.Println("same as one Apply per request:", slices.Equal(batched, one))
	fmt.Printf("rows defended: %d\n", d.Stats().Rows)
	// Output:
	// same as one Apply per request: true
	// rows defended: 14
}
