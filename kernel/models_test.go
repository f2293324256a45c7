package kernel_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

var bg = context.Background()

// regression returns a smooth synthetic regression problem.
func regression(seed uint64, n, d int, noise float64) (*mat.Dense, []float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	X := mat.NewDense(n, d, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		var s float64
		for j := 0; j < d; j++ {
			v := rng.Float64()*2 - 1
			X.Set(i, j, v)
			s += math.Sin(float64(j+1) * v)
		}
		y[i] = s + noise*rng.NormFloat64()
	}
	return X, y
}

// blobs returns c Gaussian clusters in d dimensions with labels 10, 20, ….
func blobs(seed uint64, n, d, c int, spread float64) (*mat.Dense, []int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	centers := make([][]float64, c)
	for k := range centers {
		centers[k] = make([]float64, d)
		for j := range centers[k] {
			centers[k][j] = rng.NormFloat64()
		}
		// Spread the centres on a circle of radius 5 so clusters separate.
		a := 2 * math.Pi * float64(k) / float64(c)
		centers[k][0] += 5 * math.Cos(a)
		if d > 1 {
			centers[k][1] += 5 * math.Sin(a)
		}
	}
	X := mat.NewDense(n, d, nil)
	y := make([]int, n)
	for i := 0; i < n; i++ {
		k := i % c
		y[i] = 10 * (k + 1)
		for j := 0; j < d; j++ {
			X.Set(i, j, centers[k][j]+spread*rng.NormFloat64())
		}
	}
	return X, y
}

func maxAbs(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

func TestKRRScaleByN(t *testing.T) {
	X, y := regression(1, 40, 3, 0.1)
	a := &kernel.KRR{Kernel: kernel.RBF{Gamma: 0.7}, Lambda: 0.01, ScaleByN: true}
	b := &kernel.KRR{Kernel: kernel.RBF{Gamma: 0.7}, Lambda: 0.4}
	for _, m := range []*kernel.KRR{a, b} {
		if err := m.Fit(bg, X, y); err != nil {
			t.Fatal(err)
		}
	}
	for i := range a.Dual() {
		if math.Abs(a.Dual()[i]-b.Dual()[i]) > 1e-12*maxAbs(b.Dual()) {
			t.Fatalf("ScaleByN λ=0.01 (n=40) differs from λ=0.4 at %d", i)
		}
	}
	if a.Info().Method != "cholesky" || a.Info().Fallback || !(a.Info().RCond > 0) {
		t.Errorf("info = %+v, want a Cholesky solve", a.Info())
	}
}

// TestKRRGramVariants checks that FitGram/PredictGram on precomputed
// matrices equal Fit/Predict with the kernel.
func TestKRRGramVariants(t *testing.T) {
	X, y := regression(2, 30, 4, 0.1)
	Xt, _ := regression(3, 9, 4, 0)
	k := kernel.Laplacian{Gamma: 0.5}
	a := &kernel.KRR{Kernel: k, Lambda: 0.1}
	if err := a.Fit(bg, X, y); err != nil {
		t.Fatal(err)
	}
	K, _ := kernel.Gram(k, X, X)
	Kt, _ := kernel.Gram(k, Xt, X)
	b := &kernel.KRR{Lambda: 0.1}
	if err := b.FitGram(bg, K, y); err != nil {
		t.Fatal(err)
	}
	pa, err := a.Predict(Xt)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.PredictGram(Kt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pa {
		if math.Abs(pa[i]-pb[i]) > 1e-10 {
			t.Errorf("prediction %d: %v vs %v", i, pa[i], pb[i])
		}
	}
	if _, err := b.Predict(Xt); !errors.Is(err, kernel.ErrNotFitted) {
		t.Errorf("Predict on a Gram-fitted model: %v, want ErrNotFitted", err)
	}
}

// TestIndefiniteKernelFallsBackToLU: the sigmoid kernel's K + λI is not
// positive definite for small λ; the solver must fall back to LU and still
// solve the system.
func TestIndefiniteKernelFallsBackToLU(t *testing.T) {
	X, y := regression(4, 40, 3, 0.1)
	k := kernel.Sigmoid{Gamma: 2, Coef0: -1}
	m := &kernel.KRR{Kernel: k, Lambda: 1e-3}
	if err := m.Fit(bg, X, y); err != nil {
		t.Fatal(err)
	}
	if info := m.Info(); info.Method != "lu" || !info.Fallback {
		t.Fatalf("info = %+v, want the LU fallback", info)
	}
	K, _ := kernel.Gram(k, X, X)
	var A mat.Dense
	A.Add(K, scaledIdentity(40, 1e-3))
	r := residual(&A, m.Dual(), y)
	if r > 1e-8*maxAbs(y) {
		t.Errorf("‖(K+λI)α − y‖∞ = %g", r)
	}
}

func scaledIdentity(n int, v float64) *mat.Dense {
	m := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		m.Set(i, i, v)
	}
	return m
}

func residual(A *mat.Dense, x, b []float64) float64 {
	var r mat.VecDense
	r.MulVec(A, mat.NewVecDense(len(x), x))
	var m float64
	for i := range b {
		m = math.Max(m, math.Abs(r.AtVec(i)-b[i]))
	}
	return m
}

// TestIllConditionedIsAnError: duplicated training points with no ridge
// make K singular; Fit must say so instead of returning noise.
func TestIllConditionedIsAnError(t *testing.T) {
	X, y := regression(5, 10, 2, 0)
	X2 := mat.NewDense(20, 2, nil)
	y2 := make([]float64, 20)
	for i := 0; i < 20; i++ {
		X2.SetRow(i, X.RawRowView(i%10))
		y2[i] = y[i%10] + float64(i/10) // inconsistent targets for equal inputs
	}
	err := (&kernel.KRR{Kernel: kernel.RBF{Gamma: 1}}).Fit(bg, X2, y2)
	var ic *kernel.IllConditionedError
	if !errors.As(err, &ic) || !errors.Is(err, kernel.ErrIllConditioned) {
		t.Fatalf("got %v, want an IllConditionedError", err)
	}
	if ic.Hint == "" {
		t.Error("no hint in the error")
	}
	// A ridge cures it.
	if err := (&kernel.KRR{Kernel: kernel.RBF{Gamma: 1}, Lambda: 1e-3}).Fit(bg, X2, y2); err != nil {
		t.Errorf("with a ridge: %v", err)
	}
}

// TestLSSVMRegressorBorderedSystem checks the solution against the
// explicitly assembled bordered system [0 1ᵀ; 1 K+I/γ][b; α] = [0; y].
func TestLSSVMRegressorBorderedSystem(t *testing.T) {
	for _, k := range []kernel.Kernel{kernel.RBF{Gamma: 0.5}, kernel.Sigmoid{Gamma: 0.3, Coef0: -0.5}} {
		X, y := regression(6, 35, 3, 0.2)
		m := &kernel.LSSVMRegressor{Kernel: k, Gamma: 10}
		if err := m.Fit(bg, X, y); err != nil {
			t.Fatal(err)
		}
		alpha, b := m.Dual()
		K, _ := kernel.Gram(k, X, X)
		n := len(y)
		A := mat.NewDense(n+1, n+1, nil)
		for i := 0; i < n; i++ {
			A.Set(0, i+1, 1)
			A.Set(i+1, 0, 1)
			for j := 0; j < n; j++ {
				A.Set(i+1, j+1, K.At(i, j))
			}
			A.Set(i+1, i+1, K.At(i, i)+1/m.Gamma)
		}
		x := append([]float64{b}, alpha...)
		rhs := append([]float64{0}, y...)
		if r := residual(A, x, rhs); r > 1e-9*maxAbs(y) {
			t.Errorf("%T: bordered-system residual %g", k, r)
		}
		pred, err := m.Predict(X)
		if err != nil {
			t.Fatal(err)
		}
		// f(x_i) = y_i − α_i/γ on the training set.
		for i := range y {
			if math.Abs(pred[i]-(y[i]-alpha[i]/m.Gamma)) > 1e-8 {
				t.Fatalf("%T: f(x_%d) = %v, want y − α/γ = %v", k, i, pred[i], y[i]-alpha[i]/m.Gamma)
			}
		}
	}
}

// lssvmSystem assembles the LS-SVM classifier system for ±1 labels.
func lssvmSystem(K *mat.Dense, y []float64, gamma float64) *mat.Dense {
	n := len(y)
	A := mat.NewDense(n+1, n+1, nil)
	for i := 0; i < n; i++ {
		A.Set(0, i+1, y[i])
		A.Set(i+1, 0, y[i])
		for j := 0; j < n; j++ {
			A.Set(i+1, j+1, y[i]*y[j]*K.At(i, j))
		}
		A.Set(i+1, i+1, A.At(i+1, i+1)+1/gamma)
	}
	return A
}

// TestLSSVMClassifierBorderedSystem checks every one-vs-rest machine
// against [0 yᵀ; y Ω+I/γ][b; α] = [0; 1] and the class predictions.
func TestLSSVMClassifierBorderedSystem(t *testing.T) {
	for _, c := range []int{2, 3} {
		X, labels := blobs(7, 45, 2, c, 0.8)
		k := kernel.RBF{Gamma: 0.3}
		m := &kernel.LSSVMClassifier{Kernel: k, Gamma: 5}
		if err := m.Fit(bg, X, labels); err != nil {
			t.Fatal(err)
		}
		K, _ := kernel.Gram(k, X, X)
		classes := m.Classes()
		machines := c
		if c == 2 {
			machines = 1
		}
		// Compare each machine's decisions at the training points with
		// f(x) = Σ α_i y_i k(x, x_i) + b from the assembled system.
		D, err := m.Decision(X)
		if err != nil {
			t.Fatal(err)
		}
		n := len(labels)
		for mc := 0; mc < machines; mc++ {
			pos := classes[mc]
			if c == 2 {
				pos = classes[1]
			}
			y := make([]float64, n)
			for i, l := range labels {
				y[i] = -1
				if l == pos {
					y[i] = 1
				}
			}
			A := lssvmSystem(K, y, m.Gamma)
			rhs := mat.NewVecDense(n+1, nil)
			for i := 1; i <= n; i++ {
				rhs.SetVec(i, 1)
			}
			var sol mat.VecDense
			if err := sol.SolveVec(A, rhs); err != nil {
				t.Fatal(err)
			}
			col := mc
			if c == 2 {
				col = 1
			}
			for i := 0; i < n; i++ {
				var f float64
				for j := 0; j < n; j++ {
					f += sol.AtVec(j+1) * y[j] * K.At(i, j)
				}
				f += sol.AtVec(0)
				if math.Abs(D.At(i, col)-f) > 1e-8 {
					t.Fatalf("c=%d machine %d: decision %d = %v, bordered system gives %v", c, mc, i, D.At(i, col), f)
				}
			}
		}
		pred, err := m.Predict(X)
		if err != nil {
			t.Fatal(err)
		}
		if acc := kernel.Accuracy(labels, pred); acc < 0.95 {
			t.Errorf("c=%d: training accuracy %v on separated blobs", c, acc)
		}
	}
}

// TestAsKLSReducesToLSSVM: on a symmetric kernel AsK-LS gives α = β,
// b1 = b2 and the LS-SVM classifier's solution.
func TestAsKLSReducesToLSSVM(t *testing.T) {
	for _, c := range []int{2, 4} {
		X, y := blobs(8, 40, 3, c, 1.5)
		Xt, _ := blobs(9, 12, 3, c, 1.5)
		k := kernel.RBF{Gamma: 0.2}
		as := &kernel.AsKLS{Kernel: k, Gamma: 2}
		ls := &kernel.LSSVMClassifier{Kernel: k, Gamma: 2}
		if err := as.Fit(bg, X, y); err != nil {
			t.Fatal(err)
		}
		if err := ls.Fit(bg, X, y); err != nil {
			t.Fatal(err)
		}
		alpha, beta, b1, b2 := as.Dual()
		if !mat.EqualApprox(alpha, beta, 1e-9) {
			t.Errorf("c=%d: α ≠ β on a symmetric kernel", c)
		}
		for i := range b1 {
			if math.Abs(b1[i]-b2[i]) > 1e-9 {
				t.Errorf("c=%d: b1 = %v ≠ b2 = %v", c, b1[i], b2[i])
			}
		}
		fs, ft, err := as.DecisionST(Xt)
		if err != nil {
			t.Fatal(err)
		}
		dl, err := ls.Decision(Xt)
		if err != nil {
			t.Fatal(err)
		}
		if !mat.EqualApprox(fs, dl, 1e-8) || !mat.EqualApprox(ft, dl, 1e-8) {
			t.Errorf("c=%d: AsK-LS f_s, f_t differ from the LS-SVM decision", c)
		}
		pa, _ := as.Predict(Xt)
		pl, _ := ls.Predict(Xt)
		for i := range pa {
			if pa[i] != pl[i] {
				t.Errorf("c=%d: prediction %d: AsK-LS %d, LS-SVM %d", c, i, pa[i], pl[i])
			}
		}
	}
}

// TestAsKLSBlockSystem checks an asymmetric fit against the explicitly
// assembled (2n+2) system of the spec, with H = diag(y) K diag(y).
func TestAsKLSBlockSystem(t *testing.T) {
	X, labels := blobs(10, 30, 2, 2, 1.0)
	k := kernel.SkewedGaussian{Sigma: 1.5, A: 0.8, C: []float64{1, -0.5}}
	m := &kernel.AsKLS{Kernel: k, Gamma: 3}
	if err := m.Fit(bg, X, labels); err != nil {
		t.Fatal(err)
	}
	if m.Info().Method != "lu" {
		t.Fatalf("info %+v", m.Info())
	}
	ay, by, b1, b2 := m.Dual() // α_i y_i, β_i y_i
	K, _ := kernel.Gram(k, X, X)
	n := len(labels)
	y := make([]float64, n)
	for i, l := range labels {
		y[i] = -1
		if l == m.Classes()[1] {
			y[i] = 1
		}
	}
	N := 2*n + 2
	A := mat.NewDense(N, N, nil)
	for i := 0; i < n; i++ {
		A.Set(0, 2+i, y[i])
		A.Set(1, 2+n+i, y[i])
		A.Set(2+i, 0, y[i])
		A.Set(2+n+i, 1, y[i])
		A.Set(2+i, 2+i, 1/m.Gamma)
		A.Set(2+n+i, 2+n+i, 1/m.Gamma)
		for j := 0; j < n; j++ {
			A.Set(2+i, 2+n+j, y[i]*y[j]*K.At(i, j))
			A.Set(2+n+i, 2+j, y[j]*y[i]*K.At(j, i))
		}
	}
	x := make([]float64, N)
	x[0], x[1] = b1[0], b2[0]
	for i := 0; i < n; i++ {
		x[2+i] = ay.At(i, 0) * y[i]
		x[2+n+i] = by.At(i, 0) * y[i]
	}
	rhs := make([]float64, N)
	for i := 2; i < N; i++ {
		rhs[i] = 1
	}
	if r := residual(A, x, rhs); r > 1e-9 {
		t.Errorf("block-system residual %g", r)
	}
	// The asymmetry matters: α ≠ β.
	if mat.EqualApprox(ay, by, 1e-6) {
		t.Error("α = β on an asymmetric kernel")
	}
	// Precomputed-Gram prediction in both orientations equals Predict.
	Xt, _ := blobs(11, 7, 2, 2, 1.0)
	Kx2tr, _ := kernel.Gram(k, Xt, X)
	Ktr2x, _ := kernel.Gram(k, X, Xt)
	g := &kernel.AsKLS{Gamma: 3}
	if err := g.FitGram(bg, K, labels); err != nil {
		t.Fatal(err)
	}
	fs1, ft1, err := m.DecisionST(Xt)
	if err != nil {
		t.Fatal(err)
	}
	fs2, ft2, err := g.DecisionGram(Kx2tr, Ktr2x)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.EqualApprox(fs1, fs2, 1e-10) || !mat.EqualApprox(ft1, ft2, 1e-10) {
		t.Error("DecisionGram differs from DecisionST")
	}
	// Passing the test→train matrix twice is caught by the shapes.
	if _, _, err := g.DecisionGram(Kx2tr, Kx2tr); !errors.Is(err, kernel.ErrShape) {
		t.Errorf("same orientation twice: %v, want ErrShape", err)
	}
}

// TestAsKLSPrimalEqualsDual: FitFeatures on explicit source/target
// features gives the decisions of FitGram on K = Φ_s Φ_tᵀ.
func TestAsKLSPrimalEqualsDual(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	n, D, c := 40, 6, 3
	Fs, Ft := mat.NewDense(n, D, nil), mat.NewDense(n, D, nil)
	y := make([]int, n)
	for i := 0; i < n; i++ {
		y[i] = i % c
		for j := 0; j < D; j++ {
			Fs.Set(i, j, rng.NormFloat64()+float64(y[i]*j%3))
			Ft.Set(i, j, rng.NormFloat64()-float64(y[i]*(j+1)%2))
		}
	}
	var K mat.Dense
	K.Mul(Fs, Ft.T())
	p := &kernel.AsKLS{Gamma: 0.5}
	d := &kernel.AsKLS{Gamma: 0.5}
	if err := p.FitFeatures(bg, Fs, Ft, y); err != nil {
		t.Fatal(err)
	}
	if err := d.FitGram(bg, &K, y); err != nil {
		t.Fatal(err)
	}
	ps, pt, err := p.DecisionFeatures(Fs, Ft)
	if err != nil {
		t.Fatal(err)
	}
	// Test points = training points, so both orientations are K itself:
	// Kx2tr[i][j] = k(x_i, x_j) and Ktr2x[j][i] = k(x_j, x_i).
	ds, dt, err := d.DecisionGram(&K, &K)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.EqualApprox(ps, ds, 1e-7) || !mat.EqualApprox(pt, dt, 1e-7) {
		t.Errorf("primal and dual decisions differ")
	}
}

// TestAsKLSFallback exercises the regularized normal-equations fallback and
// the error when it is disabled.
func TestAsKLSFallback(t *testing.T) {
	K := mat.NewDense(4, 4, nil) // an empty graph: no information at all
	y := []int{0, 1, 0, 1}
	m := &kernel.AsKLS{Gamma: 1e200}
	if err := m.FitGram(bg, K, y); err != nil {
		t.Fatal(err)
	}
	if info := m.Info(); info.Method != "normal-equations" || !info.Fallback {
		t.Errorf("info %+v, want the fallback", info)
	}
	m = &kernel.AsKLS{Gamma: 1e200, RCondMin: -1}
	if err := m.FitGram(bg, K, y); !errors.Is(err, kernel.ErrIllConditioned) {
		t.Errorf("fallback disabled: %v, want ErrIllConditioned", err)
	}
	// A high threshold forces the fallback on a healthy system; its
	// solution satisfies the regularized normal equations.
	X, labels := blobs(13, 20, 2, 2, 1)
	m = &kernel.AsKLS{Kernel: kernel.RBF{Gamma: 0.5}, Gamma: 1, RCondMin: 0.9, FallbackLambda: 0.5}
	if err := m.Fit(bg, X, labels); err != nil {
		t.Fatal(err)
	}
	if !m.Info().Fallback {
		t.Error("RCondMin 0.9 did not trigger the fallback")
	}
}

func TestNystromExactWithAllLandmarks(t *testing.T) {
	X, _ := regression(14, 25, 3, 0)
	k := kernel.RBF{Gamma: 0.3}
	idx := make([]int, 25)
	for i := range idx {
		idx[i] = i
	}
	m := &kernel.Nystrom{Kernel: k, Landmarks: idx}
	if err := m.Fit(bg, X); err != nil {
		t.Fatal(err)
	}
	F, err := m.Transform(X)
	if err != nil {
		t.Fatal(err)
	}
	var FFt mat.Dense
	FFt.Mul(F, F.T())
	K, _ := kernel.Gram(k, X, X)
	if !mat.EqualApprox(&FFt, K, 1e-6) {
		t.Error("ΦΦᵀ ≠ K with every point a landmark")
	}
	// Uniform landmarks are reproducible per seed.
	a := &kernel.Nystrom{Kernel: k, Components: 7, Rand: rand.New(rand.NewPCG(5, 5))}
	b := &kernel.Nystrom{Kernel: k, Components: 7, Rand: rand.New(rand.NewPCG(5, 5))}
	_ = a.Fit(bg, X)
	_ = b.Fit(bg, X)
	fa, _ := a.Transform(X)
	fb, _ := b.Transform(X)
	if !mat.Equal(fa, fb) {
		t.Error("same seed, different Nyström features")
	}
}

func TestKPCAReconstructionError(t *testing.T) {
	X, _ := regression(15, 30, 4, 0)
	k := kernel.RBF{Gamma: 0.5}
	prev := math.Inf(1)
	for _, q := range []int{1, 3, 8, 29} {
		m := &kernel.KPCA{Kernel: k, Components: q}
		if err := m.Fit(bg, X); err != nil {
			t.Fatal(err)
		}
		e, err := m.ReconstructionError(X)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for _, v := range e {
			if v < 0 {
				t.Fatalf("negative reconstruction error %v", v)
			}
			s += v
		}
		if s > prev+1e-9 {
			t.Errorf("q=%d: total error %v grew from %v", q, s, prev)
		}
		prev = s
		// Sum of training errors = sum of discarded eigenvalues.
		var total, kept float64
		K, _ := kernel.Gram(k, X, X)
		for i := 0; i < 30; i++ {
			total += K.At(i, i)
		}
		var all float64
		for i := 0; i < 30; i++ {
			for j := 0; j < 30; j++ {
				all += K.At(i, j)
			}
		}
		total -= all / 30 // trace of the centered Gram matrix
		for _, l := range m.Eigenvalues() {
			kept += l
		}
		if math.Abs(s-(total-kept)) > 1e-8*total {
			t.Errorf("q=%d: Σ errors %v, trace − Σ kept eigenvalues %v", q, s, total-kept)
		}
	}
	if prev > 1e-8 {
		t.Errorf("with n−1 components the training error is %v, want ≈ 0", prev)
	}
}

func TestLABRBFLearningReducesError(t *testing.T) {
	X, y := regression(16, 160, 3, 0.05)
	Xt, yt := regression(17, 80, 3, 0.05)
	m := &kernel.LABRBF{MaxSV: 30, Iters: []int{60, 120}, Batch: 64, LR: 0.02, Rand: rand.New(rand.NewPCG(1, 2))}
	if err := m.Fit(bg, X, y); err != nil {
		t.Fatal(err)
	}
	h := m.History()
	if len(h) != 3 {
		t.Fatalf("history %v, want initial + 2 stages", h)
	}
	if !(h[len(h)-1] < 0.7*h[0]) {
		t.Errorf("training MSE %v: learning did not reduce it by 30%%", h)
	}
	pred, err := m.Predict(Xt)
	if err != nil {
		t.Fatal(err)
	}
	if r2 := kernel.R2(yt, pred); r2 < 0.8 {
		t.Errorf("test R² = %v", r2)
	}
	// SupportSet reproduces Predict in original units (before clipping).
	Xsv, theta, alpha, b := m.SupportSet()
	if r, _ := Xsv.Dims(); r != len(alpha) || r < 10 || r > 30 {
		t.Fatalf("support set of %d points", r)
	}
	lk := kernel.LABKernel{Centers: Xsv, Theta: theta}
	for p := 0; p < 5; p++ {
		x := Xt.RawRowView(p)
		f := b
		for i, a := range alpha {
			f += a * lk.Eval(Xsv.RawRowView(i), x)
		}
		lo, hi := minMax(y)
		f = math.Min(math.Max(f, lo), hi)
		if math.Abs(f-pred[p]) > 1e-9*(1+math.Abs(f)) {
			t.Errorf("SupportSet expansion %v, Predict %v", f, pred[p])
		}
	}
	// Same seed, same model.
	m2 := &kernel.LABRBF{MaxSV: 30, Iters: []int{60, 120}, Batch: 64, LR: 0.02, Rand: rand.New(rand.NewPCG(1, 2))}
	if err := m2.Fit(bg, X, y); err != nil {
		t.Fatal(err)
	}
	pred2, _ := m2.Predict(Xt)
	for i := range pred {
		if pred[i] != pred2[i] {
			t.Fatal("same seed, different LAB RBF predictions")
		}
	}
}

func minMax(v []float64) (float64, float64) {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// TestLABRBFRidgeless: with λ = 0 the support points are interpolated, and
// duplicated inputs are skipped rather than making the system singular.
func TestLABRBFRidgeless(t *testing.T) {
	X, y := regression(18, 60, 2, 0.1)
	// Duplicate every point.
	X2 := mat.NewDense(120, 2, nil)
	y2 := make([]float64, 120)
	for i := 0; i < 120; i++ {
		X2.SetRow(i, X.RawRowView(i/2))
		y2[i] = y[i/2]
	}
	m := &kernel.LABRBF{Ridgeless: true, MaxSV: 24, Iters: []int{30}, Stages: 2, NoClip: true, Shape: kernel.LABGauss}
	if err := m.Fit(bg, X2, y2); err != nil {
		t.Fatal(err)
	}
	Xsv, _, _, _ := m.SupportSet()
	pred, err := m.Predict(Xsv)
	if err != nil {
		t.Fatal(err)
	}
	matched := 0
	for i := range pred {
		// The support input is a training input up to the rounding of the
		// min–max scaling round trip.
		x := Xsv.RawRowView(i)
		for j := 0; j < 60; j++ {
			if math.Abs(x[0]-X.At(j, 0)) < 1e-12 && math.Abs(x[1]-X.At(j, 1)) < 1e-12 {
				matched++
				if math.Abs(pred[i]-y[j]) > 1e-6 {
					t.Errorf("support point %d: f = %v, y = %v (no interpolation)", i, pred[i], y[j])
				}
			}
		}
	}
	if n, _ := Xsv.Dims(); matched != n || n < 8 {
		t.Errorf("%d of %d support points matched a distinct training input", matched, n)
	}
	if m.Info().RCond <= 0 {
		t.Errorf("info %+v", m.Info())
	}
}

// TestZeroVarianceAndWideData documents the behaviour on a constant
// feature (kernels ignore it; LAB RBF maps it to 0) and on more features
// than samples (the dual methods are unaffected).
func TestZeroVarianceAndWideData(t *testing.T) {
	X, y := regression(19, 30, 3, 0.1)
	Xc := mat.NewDense(30, 4, nil)
	for i := 0; i < 30; i++ {
		Xc.SetRow(i, append(append([]float64(nil), X.RawRowView(i)...), 7))
	}
	a := &kernel.KRR{Kernel: kernel.RBF{Gamma: 0.5}, Lambda: 0.1}
	b := &kernel.KRR{Kernel: kernel.RBF{Gamma: 0.5}, Lambda: 0.1}
	_ = a.Fit(bg, X, y)
	if err := b.Fit(bg, Xc, y); err != nil {
		t.Fatal(err)
	}
	for i := range a.Dual() {
		if math.Abs(a.Dual()[i]-b.Dual()[i]) > 1e-9*maxAbs(a.Dual()) {
			t.Fatal("a constant feature changed the RBF KRR solution")
		}
	}
	l := &kernel.LABRBF{MaxSV: 12, Iters: []int{10}, Stages: 1}
	if err := l.Fit(bg, Xc, y); err != nil {
		t.Fatal(err)
	}
	_, theta, _, _ := l.SupportSet()
	if theta.At(0, 3) != 0 {
		t.Errorf("bandwidth of a constant feature = %v, want 0", theta.At(0, 3))
	}
	// Wide data: 10 samples, 50 features.
	W, yw := regression(20, 10, 50, 0)
	m := &kernel.KRR{Kernel: kernel.Linear{}, Lambda: 1e-8}
	if err := m.Fit(bg, W, yw); err != nil {
		t.Fatal(err)
	}
	p, _ := m.Predict(W)
	for i := range p {
		if math.Abs(p[i]-yw[i]) > 1e-5 {
			t.Errorf("wide linear KRR does not interpolate: %v vs %v", p[i], yw[i])
		}
	}
}

// TestBadInput: every model returns errors (never panics) on bad shapes,
// non-finite values, bad settings and use before Fit.
func TestBadInput(t *testing.T) {
	X, y := regression(21, 12, 3, 0.1)
	Xl, labels := blobs(22, 12, 3, 3, 1)
	nanX := mat.DenseCopyOf(X)
	nanX.Set(3, 1, math.NaN())
	infY := append([]float64(nil), y...)
	infY[2] = math.Inf(1)
	wide, _ := regression(23, 4, 4, 0)
	rbf := kernel.RBF{Gamma: 1}
	type fitter func() error
	cases := []struct {
		name string
		run  fitter
		want error
	}{
		{"KRR NaN X", func() error { return (&kernel.KRR{Kernel: rbf}).Fit(bg, nanX, y) }, kernel.ErrNonFinite},
		{"KRR Inf y", func() error { return (&kernel.KRR{Kernel: rbf}).Fit(bg, X, infY) }, kernel.ErrNonFinite},
		{"KRR short y", func() error { return (&kernel.KRR{Kernel: rbf}).Fit(bg, X, y[:5]) }, kernel.ErrShape},
		{"KRR nil X", func() error { return (&kernel.KRR{Kernel: rbf}).Fit(bg, nil, y) }, kernel.ErrShape},
		{"KRR nil kernel", func() error { return (&kernel.KRR{}).Fit(bg, X, y) }, kernel.ErrParam},
		{"KRR negative lambda", func() error { return (&kernel.KRR{Kernel: rbf, Lambda: -1}).Fit(bg, X, y) }, kernel.ErrParam},
		{"KRR bad kernel", func() error { return (&kernel.KRR{Kernel: kernel.RBF{Gamma: -1}}).Fit(bg, X, y) }, kernel.ErrParam},
		{"KRR predict unfitted", func() error { _, err := (&kernel.KRR{Kernel: rbf}).Predict(X); return err }, kernel.ErrNotFitted},
		{"KRR predict wrong d", func() error {
			m := &kernel.KRR{Kernel: rbf, Lambda: 1}
			if err := m.Fit(bg, X, y); err != nil {
				return err
			}
			_, err := m.Predict(mat.NewDense(2, 5, nil))
			return err
		}, kernel.ErrShape},
		{"KRR non-square Gram", func() error { return (&kernel.KRR{}).FitGram(bg, mat.NewDense(3, 4, nil), y[:3]) }, kernel.ErrShape},
		{"LSSVM zero gamma", func() error { return (&kernel.LSSVMRegressor{Kernel: rbf}).Fit(bg, X, y) }, kernel.ErrParam},
		{"LSSVM one class", func() error {
			return (&kernel.LSSVMClassifier{Kernel: rbf, Gamma: 1}).Fit(bg, X, make([]int, 12))
		}, kernel.ErrShape},
		{"LSSVM short labels", func() error {
			return (&kernel.LSSVMClassifier{Kernel: rbf, Gamma: 1}).Fit(bg, Xl, labels[:4])
		}, kernel.ErrShape},
		{"AsKLS NaN Gram", func() error {
			K := mat.NewDense(3, 3, nil)
			K.Set(0, 0, math.NaN())
			return (&kernel.AsKLS{Gamma: 1}).FitGram(bg, K, []int{0, 1, 0})
		}, kernel.ErrNonFinite},
		{"AsKLS features shapes", func() error {
			return (&kernel.AsKLS{Gamma: 1}).FitFeatures(bg, mat.NewDense(4, 2, nil), mat.NewDense(4, 3, nil), []int{0, 1, 0, 1})
		}, kernel.ErrShape},
		{"AsKLS unbound SNE via Gram", func() error {
			_, err := kernel.Gram(kernel.SNE{Sigma: 1}, X, X)
			return err
		}, kernel.ErrParam},
		{"KPCA too many components", func() error { return (&kernel.KPCA{Kernel: rbf, Components: 13}).Fit(bg, X) }, kernel.ErrParam},
		{"KPCA asymmetric kernel", func() error {
			return (&kernel.KPCA{Kernel: kernel.SNE{Sigma: 1}, Components: 2}).Fit(bg, X)
		}, kernel.ErrParam},
		{"Nystrom landmark out of range", func() error {
			return (&kernel.Nystrom{Kernel: rbf, Landmarks: []int{0, 12}}).Fit(bg, X)
		}, kernel.ErrParam},
		{"Nystrom zero components", func() error { return (&kernel.Nystrom{Kernel: rbf}).Fit(bg, X) }, kernel.ErrParam},
		{"LABRBF bad shape", func() error { return (&kernel.LABRBF{Shape: "cubic"}).Fit(bg, X, y) }, kernel.ErrParam},
		{"LABRBF NaN", func() error { return (&kernel.LABRBF{}).Fit(bg, nanX, y) }, kernel.ErrNonFinite},
		{"LABRBF predict wrong d", func() error {
			m := &kernel.LABRBF{MaxSV: 6, Iters: []int{2}, Stages: 1}
			if err := m.Fit(bg, X, y); err != nil {
				return err
			}
			_, err := m.Predict(wide)
			return err
		}, kernel.ErrShape},
		{"FromRows ragged", func() error { _, err := kernel.FromRows([][]float64{{1, 2}, {3}}); return err }, kernel.ErrShape},
		{"FromRows NaN", func() error { _, err := kernel.FromRows([][]float64{{1, math.NaN()}}); return err }, kernel.ErrNonFinite},
		{"cancelled", func() error {
			ctx, cancel := context.WithCancel(bg)
			cancel()
			return (&kernel.KRR{Kernel: rbf, Lambda: 1}).Fit(ctx, X, y)
		}, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestMixedPrecisionSolve: from MixedPrecisionMinN points a PSD kernel
// system is solved in mixed precision, to the accuracy of the float64
// solve (FitGram always solves in float64).
func TestMixedPrecisionSolve(t *testing.T) {
	n := kernel.MixedPrecisionMinN + 100
	X, y := regression(26, n, 3, 0.1)
	Xt, _ := regression(27, 20, 3, 0)
	k := kernel.RBF{Gamma: 0.5}
	m := &kernel.KRR{Kernel: k, Lambda: 0.05}
	if err := m.Fit(bg, X, y); err != nil {
		t.Fatal(err)
	}
	if info := m.Info(); info.Method != "cholesky-mixed" || !(info.RCond > 0) {
		t.Fatalf("info %+v, want the mixed-precision solve", info)
	}
	K, _ := kernel.Gram(k, X, X)
	ref := &kernel.KRR{Lambda: 0.05}
	if err := ref.FitGram(bg, K, y); err != nil {
		t.Fatal(err)
	}
	if ref.Info().Method != "cholesky" {
		t.Fatalf("reference info %+v", ref.Info())
	}
	var d float64
	for i := range y {
		d = math.Max(d, math.Abs(m.Dual()[i]-ref.Dual()[i]))
	}
	if scale := maxAbs(ref.Dual()); d > 1e-9*scale {
		t.Errorf("mixed and float64 duals differ by %g (scale %g)", d, scale)
	}
	Kt, _ := kernel.Gram(k, Xt, X)
	p1, _ := m.Predict(Xt)
	p2, _ := ref.PredictGram(Kt)
	for i := range p1 {
		if math.Abs(p1[i]-p2[i]) > 1e-10*(1+math.Abs(p2[i])) {
			t.Errorf("prediction %d: %v vs %v", i, p1[i], p2[i])
		}
	}
	// LS-SVM takes the same path; its bordered system still holds.
	ls := &kernel.LSSVMRegressor{Kernel: k, Gamma: 20}
	if err := ls.Fit(bg, X, y); err != nil {
		t.Fatal(err)
	}
	if ls.Info().Method != "cholesky-mixed" {
		t.Fatalf("LS-SVM info %+v", ls.Info())
	}
	alpha, b := ls.Dual()
	var sum, res float64
	for i := 0; i < n; i++ {
		sum += alpha[i]
		s := b + alpha[i]/ls.Gamma
		row := K.RawRowView(i)
		for j, v := range row {
			s += v * alpha[j]
		}
		res = math.Max(res, math.Abs(s-y[i]))
	}
	if res > 1e-9*maxAbs(y) || math.Abs(sum) > 1e-9*maxAbs(alpha) {
		t.Errorf("bordered system residual %g, 1ᵀα = %g", res, sum)
	}
	// A tiny ridge does not bound the condition number: float64 Cholesky.
	tiny := &kernel.KRR{Kernel: k, Lambda: 1e-9}
	if err := tiny.Fit(bg, X, y); err != nil && !errors.Is(err, kernel.ErrIllConditioned) {
		t.Fatal(err)
	} else if err == nil && tiny.Info().Method == "cholesky-mixed" {
		t.Error("mixed precision used with λ = 1e-9")
	}
}

// TestPredictInRowBlocks: prediction on more points than fit one block of
// the test-to-train kernel matrix (2²¹ entries) equals prediction through
// the whole matrix, for KRR and the LS-SVM regressor.
func TestPredictInRowBlocks(t *testing.T) {
	X, y := regression(3, 300, 4, 0.1)
	Xt, _ := regression(4, 7500, 4, 0.1) // 7500·300 entries: 2 blocks, the last one short
	k := kernel.RBF{Gamma: 0.5}
	Kt, err := kernel.Gram(k, Xt, X)
	if err != nil {
		t.Fatal(err)
	}
	krr := &kernel.KRR{Kernel: k, Lambda: 0.1}
	ls := &kernel.LSSVMRegressor{Kernel: k, Gamma: 10}
	for _, m := range []interface {
		Fit(context.Context, *mat.Dense, []float64) error
		Predict(*mat.Dense) ([]float64, error)
		PredictGram(*mat.Dense) ([]float64, error)
	}{krr, ls} {
		if err := m.Fit(bg, X, y); err != nil {
			t.Fatal(err)
		}
		got, err := m.Predict(Xt)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.PredictGram(Kt)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%T: %d predictions, want %d", m, len(got), len(want))
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
				t.Fatalf("%T: prediction %d is %g, through the whole matrix %g", m, i, got[i], want[i])
			}
		}
	}
}
