package features

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// TestBridgeKernels checks that the samplers built from package kernel's
// kernels approximate those kernels (and reject kernels without one).
func TestBridgeKernels(t *testing.T) {
	X := randDense(newRand(1), 12, 3, 0.6)
	for _, k := range []kernel.Kernel{kernel.RBF{Gamma: 0.7}, kernel.Laplacian{Gamma: 0.5}} {
		s, err := SpectrumOf(k)
		if err != nil {
			t.Fatal(err)
		}
		m := must(NewRFF(s, 3, 20000, CosSin, newRand(2)))
		K := must(kernel.Gram(k, X, X))
		if e := mse(approxGram(m, X, X), K); e > 1e-3 {
			t.Errorf("%T: MSE %g against the exact kernel", k, e)
		}
	}
	dg := kernel.DeltaGaussian{Sigma1: 1, Sigma2: 10}
	rm := must(RadialMeasureOf(dg, 3, 0, 0))
	km := must(NewGORF(rm, 3, 20000, newRand(3)))
	if e := mse(must(km.Gram(X, X)), must(kernel.Gram(dg, X, X))); e > 1e-3 {
		t.Errorf("delta-gaussian: MSE %g", e)
	}
	sg := kernel.ShiftedGaussian{Sigma: 1, Shift: []float64{0.3, -0.2, 0.1}}
	mu := must(SpectralMeasureOf(sg))
	a := must(NewAsKRFF(mu, AsKRFFConfig{D: 20000}, nil, nil, newRand(4)))
	if e := mse(must(a.Gram(X, X)), must(kernel.Gram(sg, X, X))); e > 1e-3 {
		t.Errorf("shifted-gaussian: MSE %g", e)
	}
	if _, err := SpectrumOf(kernel.Linear{}); err == nil {
		t.Error("SpectrumOf(linear) gave no error")
	}
	if _, err := RadialMeasureOf(kernel.RBF{Gamma: 1}, 3, 1, 10); err == nil {
		t.Error("RadialMeasureOf(rbf) gave no error")
	}
	if _, err := SpectralMeasureOf(kernel.RBF{Gamma: 1}); err == nil {
		t.Error("SpectralMeasureOf(rbf) gave no error")
	}
}

// TestAsKLSPrimalMatchesKernelPackage checks the primal AsK-LS on AsK-RFF
// features against package kernel's dual AsK-LS on the Gram matrices of the
// same features, K = Φ_sΦ_tᵀ.
func TestAsKLSPrimalMatchesKernelPackage(t *testing.T) {
	const n = 50
	X := randDense(newRand(5), n, 2, 1)
	Xt := randDense(newRand(6), 10, 2, 1)
	y := make([]int, n)
	for i := range y {
		if X.At(i, 0)+0.3*X.At(i, 1) > 0 {
			y[i] = 1
		}
	}
	a := must(NewAsKRFF(ShiftedGaussian{Sigma: 1, Shift: []float64{0.5, 0.2}}, AsKRFFConfig{D: 5}, nil, nil, newRand(7)))
	S, T := must(a.Source(X)), must(a.Target(X))
	St, Tt := must(a.Source(Xt)), must(a.Target(Xt))
	p := &AsKLSPrimal{Gamma: 3}
	if err := p.Fit(context.Background(), S, T, y); err != nil {
		t.Fatal(err)
	}
	fs, ft := must2(p.Decision(St, Tt))
	var K, Kx, Kt mat.Dense
	K.Mul(S, T.T())
	Kx.Mul(St, T.T())
	Kt.Mul(S, Tt.T())
	d := &kernel.AsKLS{Gamma: 3, RCondMin: -1}
	if err := d.FitGram(t.Context(), &K, y); err != nil {
		t.Fatal(err)
	}
	ds, dt, err := d.DecisionGram(&Kx, &Kt)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		for c := 0; c < 2; c++ {
			if math.Abs(fs.At(i, c)-ds.At(i, c)) > 1e-6 || math.Abs(ft.At(i, c)-dt.At(i, c)) > 1e-6 {
				t.Fatalf("row %d class %d: primal (%v, %v), kernel.AsKLS (%v, %v)", i, c, fs.At(i, c), ft.At(i, c), ds.At(i, c), dt.At(i, c))
			}
		}
	}
}
