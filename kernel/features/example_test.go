package features_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel/features"
)

// Random Fourier features plus primal ridge regression: learn y = sin(3x)
// with 200 features of the Gaussian kernel, solving a 200×200 system
// instead of an n×n one.
func Example_rffRidge() {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 2000
	X := mat.NewDense(n, 1, nil)
	y := make([]float64, n)
	for i := range y {
		x := 2*rng.Float64() - 1
		X.Set(i, 0, x)
		y[i] = math.Sin(3*x) + 0.05*rng.NormFloat64()
	}
	rff, err := features.NewRFF(features.Gaussian{Sigma: 0.5}, 1, 200, features.Phase, rng)
	if err != nil {
		panic(err)
	}
	model := &features.Ridge{Lambda: 1e-3}
	if err := model.FitMap(context.Background(), rff, X, y); err != nil {
		panic(err)
	}
	Xt := mat.NewDense(3, 1, []float64{-0.5, 0.25, 0.5})
	pred, _ := model.PredictMap(rff, Xt)
	for i, p := range pred {
		fmt.Printf("f(%+.1f) = %+.2f (true %+.2f)\n", Xt.At(i, 0), p, math.Sin(3*Xt.At(i, 0)))
	}
	// Output:
	// f(-0.5) = -1.00 (true -1.00)
	// f(+0.2) = +0.68 (true +0.68)
	// f(+0.5) = +1.00 (true +1.00)
}

// Orthogonal random features approximate the Gaussian kernel with lower
// variance than i.i.d. ones at the same number of features.
func ExampleNewORF() {
	g := features.Gaussian{Sigma: 2}
	x := []float64{0.3, -0.2, 0.5, 0.1}
	z := []float64{-0.4, 0.6, 0.2, -0.3}
	var sqRFF, sqORF float64
	for seed := uint64(0); seed < 200; seed++ {
		rff, _ := features.NewRFF(g, 4, 8, features.CosSin, rand.New(rand.NewPCG(seed, 1)))
		orf, _ := features.NewORF(g, 4, 8, features.CosSin, rand.New(rand.NewPCG(seed, 2)))
		sqRFF += math.Pow(rff.Approx(x, z)-g.Eval(x, z), 2)
		sqORF += math.Pow(orf.Approx(x, z)-g.Eval(x, z), 2)
	}
	fmt.Printf("k(x, z) = %.3f\n", g.Eval(x, z))
	fmt.Println("ORF error lower:", sqORF < sqRFF)
	// Output:
	// k(x, z) = 0.842
	// ORF error lower: true
}

// GORF features for the indefinite Delta-Gaussian kernel: the estimate is
// Φ₊(x)·Φ₊(z) − Φ₋(x)·Φ₋(z), and the diagonal is exact.
func ExampleNewGORF() {
	k := features.DeltaGaussian{Sigma1: 1, Sigma2: 10}
	X := mat.NewDense(2, 3, []float64{0, 0, 0, 1, 1, 0})
	m, err := features.NewGORF(k, 3, 4096, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		panic(err)
	}
	G, _ := m.Gram(X, X)
	fmt.Printf("exact k(x0, x1) = %.2f, GORF %.2f\n", k.Eval(X.RawRowView(0), X.RawRowView(1)), G.At(0, 1))
	fmt.Println("diagonal exact:", math.Abs(G.At(0, 0)) < 1e-12 && math.Abs(G.At(1, 1)) < 1e-12)
	// Output:
	// exact k(x0, x1) = -0.62, GORF -0.62
	// diagonal exact: true
}

// AsK-RFF for an asymmetric kernel: source and target features reproduce
// k(x, z) ≠ k(z, x).
func ExampleNewAsKRFF() {
	k := features.ShiftedGaussian{Sigma: 1, Shift: []float64{0.5, 0}}
	m, err := features.NewAsKRFF(k, features.AsKRFFConfig{D: 20000, Mass: features.MassExact}, nil, nil, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		panic(err)
	}
	X := mat.NewDense(2, 2, []float64{0, 0, 0.5, 0.2})
	G, _ := m.Gram(X, X) // G[i][j] ≈ k(x_i, x_j)
	fmt.Printf("k(x0, x1) = %.2f ≈ %.2f\n", k.Eval(X.RawRowView(0), X.RawRowView(1)), G.At(0, 1))
	fmt.Printf("k(x1, x0) = %.2f ≈ %.2f\n", k.Eval(X.RawRowView(1), X.RawRowView(0)), G.At(1, 0))
	ms := m.Masses()
	fmt.Printf("masses R+ %.3f, I+ %.3f, I- %.3f\n", ms.RealPos, ms.ImagPos, ms.ImagNeg)
	fmt.Printf("R- part dropped, mass %.4f\n", m.Dropped().RealNeg)
	// Output:
	// k(x0, x1) = 0.59 ≈ 0.60
	// k(x1, x0) = 0.98 ≈ 0.98
	// masses R+ 0.883, I+ 0.184, I- 0.184
	// R- part dropped, mass 0.0002
}

// The LS-SVM classifier in the primal on random features: one-vs-rest with
// a single D×D factorization.
func ExampleLSSVMClassifier() {
	rng := rand.New(rand.NewPCG(7, 8))
	n := 400
	X := mat.NewDense(n, 2, nil)
	y := make([]int, n)
	for i := 0; i < n; i++ {
		a, b := 2*rng.Float64()-1, 2*rng.Float64()-1
		X.SetRow(i, []float64{a, b})
		if a*a+b*b < 0.4 { // a disc inside a square
			y[i] = 1
		}
	}
	rff, _ := features.NewRFF(features.Gaussian{Sigma: 0.5}, 2, 300, features.CosSin, rng)
	Phi, _ := rff.Transform(X)
	clf := features.LSSVMClassifier(100)
	if err := clf.Fit(context.Background(), Phi, y); err != nil {
		panic(err)
	}
	pred, _ := clf.Predict(Phi)
	correct := 0
	for i := range pred {
		if pred[i] == y[i] {
			correct++
		}
	}
	fmt.Println("training accuracy ≥ 0.95:", float64(correct)/float64(n) >= 0.95)
	// Output:
	// training accuracy ≥ 0.95: true
}
