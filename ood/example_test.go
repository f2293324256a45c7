package ood_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/ood"
	"github.com/trustml/trustml/zoo"
)

// Fit the KPCA detector (cosine-Gaussian kernel through random Fourier
// features) on penultimate features of ID training images, then score new
// inputs: Fashion-MNIST test images and uniform-noise images.
func Example() {
	ctx := context.Background()
	net, _, err := zoo.Default()
	if err != nil {
		panic(err)
	}
	train, _ := data.EmbeddedFashion(data.Train)
	test, _ := data.EmbeddedFashion(data.Test)
	train = train.Subset(first(1000))
	test = test.Subset(first(200))

	det := &ood.KPCA{Map: "cos-rff", Gamma: 1, M: 256, ExpVarRatio: 0.8, Seed: 1}
	if err := det.Fit(ctx, net, ood.NewInputs(train.X, train.Y)); err != nil {
		panic(err)
	}
	idScores := make([]float64, test.Len())
	if err := det.Score(ctx, net, idScores, ood.NewInputs(test.X, nil)); err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]float32, 200*28*28)
	for i := range noise {
		noise[i] = rng.Float32()
	}
	oodScores := make([]float64, 200)
	if err := det.Score(ctx, net, oodScores, ood.NewInputs(noise, nil)); err != nil {
		panic(err)
	}
	m, err := metrics.EvaluateOoD(idScores, oodScores)
	if err != nil {
		panic(err)
	}
	fmt.Println("AUROC above 0.95:", m.AUROC > 0.95)
	// Output: AUROC above 0.95: true
}

func first(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// The metrics take the positive class explicitly; scores are higher = more
// in-distribution.
func ExampleEvaluate() {
	id := []float64{0.9, 0.8, 0.7, 0.4}
	out := []float64{0.5, 0.3, 0.1}
	m, _ := metrics.EvaluateOoD(id, out)
	fmt.Printf("FPR95 %.3f AUROC %.3f AUPR-In %.3f AUPR-Out %.3f\n", m.FPR95, m.AUROC, m.AUPRIn, m.AUPROut)
	auprOut, _ := metrics.AUPR(id, out, metrics.OutPositive)
	fmt.Printf("AUPR with OoD positive %.3f\n", auprOut)
	// Output:
	// FPR95 0.333 AUROC 0.917 AUPR-In 0.950 AUPR-Out 0.917
	// AUPR with OoD positive 0.917
}
