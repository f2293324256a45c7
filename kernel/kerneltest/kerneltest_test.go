package kerneltest_test

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/kernel/kerneltest"
)

// TestBuiltinKernels runs the conformance checks on every built-in kernel.
func TestBuiltinKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	centers := kerneltest.Normal(rng, 5, 4)
	theta := mat.NewDense(5, 4, nil)
	for i := 0; i < 5; i++ {
		for j := 0; j < 4; j++ {
			theta.Set(i, j, 0.3+rng.Float64())
		}
	}
	cases := []struct {
		name string
		k    kernel.Kernel
		opt  kerneltest.Options
	}{
		{"linear", kernel.Linear{}, kerneltest.Options{}},
		{"poly", kernel.Polynomial{Gamma: 0.5, Coef0: 1, Degree: 3}, kerneltest.Options{}},
		{"poly-negative-coef0", kernel.Polynomial{Gamma: 0.5, Coef0: -1, Degree: 2}, kerneltest.Options{}},
		{"rbf", kernel.RBF{Gamma: 0.3}, kerneltest.Options{}},
		{"rbf-high-dim", kernel.RBF{Gamma: 0.01}, kerneltest.Options{Dim: 40, NX: 60}},
		{"laplacian", kernel.Laplacian{Gamma: 0.4}, kerneltest.Options{}},
		{"cosine", kernel.Cosine{}, kerneltest.Options{}},
		{"sigmoid", kernel.Sigmoid{Gamma: 0.2, Coef0: 0.5}, kerneltest.Options{}},
		{"cosine-gaussian", kernel.CosineGaussian{Gamma: 2}, kerneltest.Options{}},
		{"delta-gaussian", kernel.DeltaGaussian{Sigma1: 1, Sigma2: 10}, kerneltest.Options{}},
		{"sphere-poly", kernel.SpherePolynomial{A: 3, P: 2}, kerneltest.Options{Inputs: kerneltest.Sphere}},
		{"shifted-gaussian", kernel.ShiftedGaussian{Sigma: 1.5, Shift: []float64{0.5, -0.2, 0, 0.1}}, kerneltest.Options{}},
		{"skewed-gaussian", kernel.SkewedGaussian{Sigma: 1.2, A: 0.7, C: []float64{1, 0.5, -0.3, 0}}, kerneltest.Options{}},
		{"sne", kernel.SNE{Sigma: 2}, kerneltest.Options{}},
		{"sne-power1", kernel.SNE{Sigma: 2, Power: 1}, kerneltest.Options{}},
		{"tsne", kernel.TSNE{}, kerneltest.Options{}},
		{"lab-laplace", kernel.LABKernel{Centers: centers, Theta: theta}, kerneltest.Options{}},
		{"lab-gauss", kernel.LABKernel{Centers: centers, Theta: theta, Shape: kernel.LABGauss}, kerneltest.Options{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kerneltest.Check(t, tc.k, tc.opt)
		})
	}
}

// TestPSDDeclarations pins which kernels declare themselves PSD, so that a
// kernel cannot silently opt out of the PSD check.
func TestPSDDeclarations(t *testing.T) {
	for _, tc := range []struct {
		k   kernel.Kernel
		psd bool
	}{
		{kernel.Linear{}, true},
		{kernel.RBF{Gamma: 1}, true},
		{kernel.Laplacian{Gamma: 1}, true},
		{kernel.Cosine{}, true},
		{kernel.CosineGaussian{Gamma: 1}, true},
		{kernel.Polynomial{Gamma: 1, Coef0: 1, Degree: 2}, true},
		{kernel.Polynomial{Gamma: 1, Coef0: -1, Degree: 2}, false},
		{kernel.Sigmoid{Gamma: 1}, false},
		{kernel.DeltaGaussian{Sigma1: 1, Sigma2: 2}, false},
		{kernel.SpherePolynomial{A: 3, P: 1}, false},
		{kernel.ShiftedGaussian{Sigma: 1, Shift: []float64{1}}, false},
		{kernel.ShiftedGaussian{Sigma: 1, Shift: []float64{0}}, true},
		{kernel.SNE{Sigma: 1}, false},
	} {
		if got := kernel.IsPSD(tc.k); got != tc.psd {
			t.Errorf("IsPSD(%#v) = %v, want %v", tc.k, got, tc.psd)
		}
	}
}

// recorder captures failures so that Check itself can be tested.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }
func (r *recorder) Helper()               {}

func fails(t *testing.T, k kernel.Kernel) bool {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		kerneltest.Check(r, k, kerneltest.Options{})
	}()
	<-done
	return r.failed
}

// liarSym is asymmetric but claims to be symmetric.
type liarSym struct{ kernel.ShiftedGaussian }

func (liarSym) Symmetric() bool { return true }

// liarPSD is the indefinite sigmoid kernel claiming to be PSD.
type liarPSD struct{ kernel.Sigmoid }

func (liarPSD) PSD() bool { return true }

// badGram builds Gram blocks that disagree with Eval.
type badGram struct{ kernel.RBF }

func (b badGram) GramTo(dst *mat.Dense, X, Z *mat.Dense) error {
	r, c := dst.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			dst.Set(i, j, 1.5*b.Eval(X.RawRowView(i), Z.RawRowView(j)))
		}
	}
	return nil
}

func TestCheckCatchesBrokenKernels(t *testing.T) {
	for name, k := range map[string]kernel.Kernel{
		"claims symmetric": liarSym{kernel.ShiftedGaussian{Sigma: 1, Shift: []float64{1, 0, 0, 0}}},
		"claims PSD":       liarPSD{kernel.Sigmoid{Gamma: 2, Coef0: -1}},
		"Gram ≠ Eval":      badGram{kernel.RBF{Gamma: 0.5}},
	} {
		if !fails(t, k) {
			t.Errorf("%s: Check passed a broken kernel", name)
		}
	}
	if fails(t, kernel.RBF{Gamma: 0.5}) {
		t.Error("Check failed a correct kernel")
	}
}
