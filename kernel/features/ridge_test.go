package features

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func regressionData(n, d int, seed uint64) (*mat.Dense, []float64) {
	rng := newRand(seed)
	X := randDense(rng, n, d, 1)
	y := make([]float64, n)
	for i := range y {
		r := X.RawRowView(i)
		y[i] = math.Sin(r[0]) + 0.5*r[1]*r[1%d] + 0.1*rng.NormFloat64()
	}
	return X, y
}

// TestRidgePrimalEqualsDual checks the primal D×D solve against the n×n
// dual: without intercept w = Φᵀ(ΦΦᵀ + λI)⁻¹y, and with intercept the
// LS-SVM regression system [0 1ᵀ; 1 K + I/γ][b; α] = [0; y] (K = ΦΦᵀ,
// γ = 1/λ), predictions f(x) = Σα_i k(x, x_i) + b.
func TestRidgePrimalEqualsDual(t *testing.T) {
	X, y := regressionData(60, 3, 1)
	Xt, _ := regressionData(20, 3, 2)
	m := must(NewRFF(Gaussian{Sigma: 1}, 3, 40, CosSin, newRand(3)))
	P, Pt := must(m.Transform(X)), must(m.Transform(Xt))
	var K, Kt mat.Dense
	K.Mul(P, P.T())
	Kt.Mul(Pt, P.T())
	n := 60
	for _, lambda := range []float64{1e-3, 0.1, 10} {
		// No intercept.
		r := &Ridge{Lambda: lambda, NoIntercept: true}
		if err := r.Fit(context.Background(), P, y); err != nil {
			t.Fatal(err)
		}
		A := mat.DenseCopyOf(&K)
		for i := 0; i < n; i++ {
			A.Set(i, i, A.At(i, i)+lambda)
		}
		var alpha mat.VecDense
		if err := alpha.SolveVec(A, mat.NewVecDense(n, y)); err != nil {
			t.Fatal(err)
		}
		var w mat.VecDense
		w.MulVec(P.T(), &alpha)
		if d := maxAbsDiff(mat.Col(nil, 0, r.Coef()), w.RawVector().Data); d > 1e-7 {
			t.Errorf("λ=%v no intercept: primal and dual weights differ by %g", lambda, d)
		}
		// LS-SVM with bias.
		l := LSSVMRegressor(1 / lambda)
		if err := l.Fit(context.Background(), P, y); err != nil {
			t.Fatal(err)
		}
		S := mat.NewDense(n+1, n+1, nil)
		rhs := mat.NewVecDense(n+1, nil)
		for i := 0; i < n; i++ {
			S.Set(0, i+1, 1)
			S.Set(i+1, 0, 1)
			rhs.SetVec(i+1, y[i])
			for j := 0; j < n; j++ {
				S.Set(i+1, j+1, K.At(i, j))
			}
			S.Set(i+1, i+1, K.At(i, i)+lambda)
		}
		var sol mat.VecDense
		if err := sol.SolveVec(S, rhs); err != nil {
			t.Fatal(err)
		}
		b := sol.AtVec(0)
		var dual mat.VecDense
		dual.MulVec(&Kt, sol.SliceVec(1, n+1))
		pred := must(l.Predict(Pt))
		for i := range pred {
			if d := math.Abs(pred[i] - (dual.AtVec(i) + b)); d > 1e-7 {
				t.Fatalf("λ=%v LS-SVM: primal %v, dual %v at test row %d", lambda, pred[i], dual.AtVec(i)+b, i)
			}
		}
	}
}

// TestLSSVMClassifierEqualsDual checks the binary LS-SVM classifier in the
// primal against Suykens' dual system [0 yᵀ; y Ω + I/γ][b; α] = [0; 1],
// Ω_ij = y_i y_j K_ij, f(x) = Σα_i y_i k(x, x_i) + b.
func TestLSSVMClassifierEqualsDual(t *testing.T) {
	X, yr := regressionData(50, 2, 4)
	labels := make([]int, 50)
	ys := make([]float64, 50)
	for i, v := range yr {
		if v > 0.3 {
			labels[i], ys[i] = 1, 1
		} else {
			labels[i], ys[i] = 0, -1
		}
	}
	m := must(NewRFF(Gaussian{Sigma: 0.7}, 2, 30, Phase, newRand(5)))
	P := must(m.Transform(X))
	var K mat.Dense
	K.Mul(P, P.T())
	gamma := 3.0
	c := LSSVMClassifier(gamma)
	if err := c.Fit(context.Background(), P, labels); err != nil {
		t.Fatal(err)
	}
	n := 50
	S := mat.NewDense(n+1, n+1, nil)
	rhs := mat.NewVecDense(n+1, nil)
	for i := 0; i < n; i++ {
		S.Set(0, i+1, ys[i])
		S.Set(i+1, 0, ys[i])
		rhs.SetVec(i+1, 1)
		for j := 0; j < n; j++ {
			S.Set(i+1, j+1, ys[i]*ys[j]*K.At(i, j))
		}
		S.Set(i+1, i+1, S.At(i+1, i+1)+1/gamma)
	}
	var sol mat.VecDense
	if err := sol.SolveVec(S, rhs); err != nil {
		t.Fatal(err)
	}
	dec := must(c.Decision(P))
	for i := 0; i < n; i++ {
		f := sol.AtVec(0)
		for j := 0; j < n; j++ {
			f += sol.AtVec(j+1) * ys[j] * K.At(i, j)
		}
		if d := math.Abs(dec.At(i, 1) - f); d > 1e-7 {
			t.Fatalf("row %d: primal decision %v, dual %v", i, dec.At(i, 1), f)
		}
	}
}

// TestFitMapMatchesFit checks that streaming the features in row blocks
// gives the same model as fitting on the full feature matrix.
func TestFitMapMatchesFit(t *testing.T) {
	X, y := regressionData(5000, 4, 6) // > rowBlock rows
	labels := make([]int, len(y))
	for i, v := range y {
		labels[i] = int(math.Floor(v)) // several classes
	}
	m := must(NewSORF(1.5, 4, 24, CosSin, newRand(7)))
	P := must(m.Transform(X))
	a, b := &Ridge{Lambda: 0.5}, &Ridge{Lambda: 0.5}
	if err := a.Fit(context.Background(), P, y); err != nil {
		t.Fatal(err)
	}
	if err := b.FitMap(t.Context(), m, X, y); err != nil {
		t.Fatal(err)
	}
	pa, pb := must(a.Predict(P)), must(b.PredictMap(m, X))
	if d := maxAbsDiff(pa, pb); d > 1e-8 {
		t.Errorf("FitMap and Fit predictions differ by %g", d)
	}
	ca, cb := &RidgeClassifier{Lambda: 0.5}, &RidgeClassifier{Lambda: 0.5}
	if err := ca.Fit(context.Background(), P, labels); err != nil {
		t.Fatal(err)
	}
	if err := cb.FitMap(t.Context(), m, X, labels); err != nil {
		t.Fatal(err)
	}
	la, lb := must(ca.Predict(P)), must(cb.PredictMap(m, X))
	for i := range la {
		if la[i] != lb[i] {
			t.Fatalf("label %d: Fit %d, FitMap %d", i, la[i], lb[i])
		}
	}
}

// TestRidgeRegressionAccuracy checks that RFF ridge learns a smooth function
// much better than predicting the mean, and better with more features.
func TestRidgeRegressionAccuracy(t *testing.T) {
	X, y := regressionData(800, 3, 8)
	Xt, yt := regressionData(300, 3, 9)
	var mean float64
	for _, v := range yt {
		mean += v / float64(len(yt))
	}
	var sst float64
	for _, v := range yt {
		sst += (v - mean) * (v - mean)
	}
	r2 := func(D int) float64 {
		m := must(NewORF(Gaussian{Sigma: 1.5}, 3, D, CosSin, newRand(10)))
		r := &Ridge{Lambda: 1e-2}
		if err := r.FitMap(t.Context(), m, X, y); err != nil {
			t.Fatal(err)
		}
		p := must(r.PredictMap(m, Xt))
		var sse float64
		for i, v := range p {
			sse += (v - yt[i]) * (v - yt[i])
		}
		return 1 - sse/sst
	}
	small, large := r2(4), r2(200)
	if large < 0.9 || large <= small {
		t.Errorf("R² with 4 frequencies %.3f, with 200 %.3f; want the latter ≥ 0.9 and larger", small, large)
	}
}

// TestAsKLSPrimalMatchesDual checks the primal AsK-LS on explicit features
// against the dual system of He et al. on K = Φ_sΦ_tᵀ (non-symmetric):
//
//	[0 0 yᵀ 0; 0 0 0 yᵀ; y 0 I/γ H; 0 y Hᵀ I/γ][b₁; b₂; α; β] = [0; 0; 1; 1],
//
// H_ij = y_i y_j K_ij, f_s(x) = Σβ_j y_j K(x, x_j) + b₁,
// f_t(x) = Σα_j y_j K(x_j, x) + b₂.
func TestAsKLSPrimalMatchesDual(t *testing.T) {
	const n, d = 40, 3
	X := randDense(newRand(11), n, d, 0.8)
	Xt := randDense(newRand(12), 15, d, 0.8)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		r := X.RawRowView(i)
		switch {
		case r[0] > 0.3:
			labels[i] = 2
		case r[1] > 0:
			labels[i] = 1
		}
	}
	mu := ShiftedGaussian{Sigma: 1, Shift: []float64{0.4, -0.2, 0.1}}
	a := must(NewAsKRFF(mu, AsKRFFConfig{D: 6}, nil, nil, newRand(13)))
	S, T := must(a.Source(X)), must(a.Target(X))
	St, Tt := must(a.Source(Xt)), must(a.Target(Xt))
	gamma := 2.0
	m := &AsKLSPrimal{Gamma: gamma}
	if err := m.Fit(context.Background(), S, T, labels); err != nil {
		t.Fatal(err)
	}
	fs, ft := must2(m.Decision(St, Tt))
	var K, Kx2tr, Ktr2x mat.Dense
	K.Mul(S, T.T())
	Kx2tr.Mul(St, T.T()) // K(x, x_j)
	Ktr2x.Mul(S, Tt.T()) // K(x_j, x)
	for ci, c := range m.Classes() {
		y := make([]float64, n)
		for i, l := range labels {
			if l == c {
				y[i] = 1
			} else {
				y[i] = -1
			}
		}
		N := 2*n + 2
		A := mat.NewDense(N, N, nil)
		rhs := mat.NewVecDense(N, nil)
		for i := 0; i < n; i++ {
			A.Set(0, 2+i, y[i])
			A.Set(1, 2+n+i, y[i])
			A.Set(2+i, 0, y[i])
			A.Set(2+n+i, 1, y[i])
			A.Set(2+i, 2+i, 1/gamma)
			A.Set(2+n+i, 2+n+i, 1/gamma)
			rhs.SetVec(2+i, 1)
			rhs.SetVec(2+n+i, 1)
			for j := 0; j < n; j++ {
				h := y[i] * y[j] * K.At(i, j)
				A.Set(2+i, 2+n+j, h) // H
				A.Set(2+n+j, 2+i, h) // Hᵀ
			}
		}
		var sol mat.VecDense
		if err := sol.SolveVec(A, rhs); err != nil {
			t.Fatal(err)
		}
		b1, b2 := sol.AtVec(0), sol.AtVec(1)
		for k := 0; k < 15; k++ {
			s, tt := b1, b2
			for j := 0; j < n; j++ {
				s += sol.AtVec(2+n+j) * y[j] * Kx2tr.At(k, j)
				tt += sol.AtVec(2+j) * y[j] * Ktr2x.At(j, k)
			}
			if math.Abs(s-fs.At(k, ci)) > 1e-6 || math.Abs(tt-ft.At(k, ci)) > 1e-6 {
				t.Fatalf("class %d row %d: primal (f_s, f_t) = (%v, %v), dual (%v, %v)", c, k, fs.At(k, ci), ft.At(k, ci), s, tt)
			}
		}
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// TestAsKLSPrimalSymmetric checks the sanity property: with Φ_s = Φ_t the
// two halves coincide (ω = ν, b₁ = b₂).
func TestAsKLSPrimalSymmetric(t *testing.T) {
	X, y := regressionData(40, 2, 14)
	labels := make([]int, len(y))
	for i, v := range y {
		if v > 0 {
			labels[i] = 1
		}
	}
	P := must(must(NewRFF(Gaussian{Sigma: 1}, 2, 10, CosSin, newRand(15))).Transform(X))
	m := &AsKLSPrimal{Gamma: 5}
	if err := m.Fit(context.Background(), P, P, labels); err != nil {
		t.Fatal(err)
	}
	omega, nu, b1, b2 := m.Model().Primal()
	if omega == nil {
		t.Fatal("no primal weights")
	}
	if d := maxAbsDiff(omega.RawMatrix().Data, nu.RawMatrix().Data); d > 1e-8 {
		t.Errorf("symmetric features: ω and ν differ by %g", d)
	}
	if d := maxAbsDiff(b1, b2); d > 1e-8 {
		t.Errorf("symmetric features: b₁ and b₂ differ by %g", d)
	}
}

// TestLinearSVCSeparable checks that the L2-loss SVM separates separable
// data, is deterministic per seed, and handles several classes.
func TestLinearSVCSeparable(t *testing.T) {
	X := randDense(newRand(16), 300, 3, 1)
	labels := make([]int, 300)
	for i := 0; i < 300; i++ {
		r := X.RawRowView(i)
		switch {
		case r[0] > 0.5:
			labels[i] = 7
		case r[0] < -0.5:
			labels[i] = -1
		default:
			labels[i] = 3
		}
	}
	// Features [x, 1] are enough: the classes are slabs along x₀ for OvR
	// only when paired with a bias, so use a bias.
	fit := func(seed uint64) *LinearSVC {
		s := &LinearSVC{C: 100, Bias: 1}
		if err := s.Fit(t.Context(), X, labels, newRand(seed)); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s1, s2 := fit(1), fit(1)
	if d := maxAbsDiff(s1.w.RawMatrix().Data, s2.w.RawMatrix().Data); d != 0 {
		t.Errorf("same seed, weights differ by %g", d)
	}
	pred := must(s1.Predict(X))
	correct := 0
	for i := range pred {
		if pred[i] == labels[i] {
			correct++
		}
	}
	// OvR linear on slabs: the middle class is not linearly separable from
	// the rest, but argmax of three linear scores can still carve it out.
	if acc := float64(correct) / 300; acc < 0.95 {
		t.Errorf("accuracy %.3f, want ≥ 0.95", acc)
	}
}

// TestModelErrors checks validation in the primal models.
func TestModelErrors(t *testing.T) {
	P := mat.NewDense(4, 2, []float64{1, 0, 0, 1, 1, 1, 0, 0})
	nan := mat.NewDense(2, 1, []float64{1, math.NaN()})
	cases := []struct {
		name string
		err  func() error
		want string
		is   error
	}{
		{"negative lambda", func() error { return (&Ridge{Lambda: -1}).Fit(context.Background(), P, []float64{1, 2, 3, 4}) }, "non-negative", ErrParam},
		{"rows mismatch", func() error { return (&Ridge{Lambda: 1}).Fit(context.Background(), P, []float64{1, 2}) }, "4 rows but there are 2", ErrShape},
		{"nan features", func() error { return (&Ridge{Lambda: 1}).Fit(context.Background(), nan, []float64{1, 2}) }, "row 1, column 0", ErrNonFinite},
		{"nan target", func() error { return (&Ridge{Lambda: 1}).Fit(context.Background(), P, []float64{1, 2, math.Inf(1), 4}) }, "targets", ErrNonFinite},
		{"singular", func() error {
			return (&Ridge{}).Fit(context.Background(), mat.NewDense(3, 2, []float64{1, 1, 1, 1, 1, 1}), []float64{1, 2, 3})
		}, "positive regularization", ErrIllConditioned},
		{"unfitted", func() error { _, err := (&Ridge{}).Predict(P); return err }, "not fitted", ErrNotFitted},
		{"predict columns", func() error {
			r := &Ridge{Lambda: 1}
			_ = r.Fit(context.Background(), P, []float64{1, 2, 3, 4})
			_, err := r.Predict(mat.NewDense(2, 3, nil))
			return err
		}, "3 columns", ErrShape},
		{"one class", func() error { return (&RidgeClassifier{Lambda: 1}).Fit(context.Background(), P, []int{1, 1, 1, 1}) }, "at least 2 classes", ErrShape},
		{"askls gamma", func() error { return (&AsKLSPrimal{Gamma: -1}).Fit(context.Background(), P, P, []int{0, 1, 0, 1}) }, "gamma", ErrParam},
		{"askls widths", func() error {
			return (&AsKLSPrimal{}).Fit(context.Background(), P, mat.NewDense(4, 3, nil), []int{0, 1, 0, 1})
		}, "want equal shapes", ErrShape},
		{"svc C", func() error { return (&LinearSVC{C: -2}).Fit(t.Context(), P, []int{0, 1, 0, 1}, newRand(1)) }, "C must be positive", ErrParam},
		{"svc rng", func() error { return (&LinearSVC{}).Fit(t.Context(), P, []int{0, 1, 0, 1}, nil) }, "random source", ErrParam},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.is) {
				t.Errorf("got error %v, want one mentioning %q that matches %v", err, tc.want, tc.is)
			}
		})
	}
}
