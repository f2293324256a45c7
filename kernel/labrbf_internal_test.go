package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLABGradientFiniteDifference checks the closed-form gradient through
// the asymmetric solve (including the adjoint solve with K, not Kᵀ) against
// central finite differences of the minibatch loss.
func TestLABGradientFiniteDifference(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shape  LABShape
		lambda float64
	}{
		{"laplace", LABLaplace, 1e-2},
		{"gauss", LABGauss, 1e-2},
		{"gauss-ridgeless", LABGauss, 0},
		{"laplace-ridgeless", LABLaplace, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(4, 2))
			d, n, nsv := 3, 25, 6
			xs := make([][]float64, n)
			ys := make([]float64, n)
			for i := range xs {
				xs[i] = []float64{rng.Float64()*2 - 1, rng.Float64()*2 - 1, rng.Float64()*2 - 1}
				ys[i] = math.Sin(3*xs[i][0]) + xs[i][1]*xs[i][2]
			}
			st := &labState{shape: tc.shape, lambda: tc.lambda, d: d}
			for i := 0; i < nsv; i++ {
				th := []float64{0.5 + rng.Float64(), 0.5 + rng.Float64(), -(0.5 + rng.Float64())}
				st.add(xs[i*4], ys[i*4], th)
			}
			st.b = mean(st.ysv)
			// The batch includes support points (their own residual λα_i)
			// and ordinary points.
			batch := []int{0, 3, 4, 7, 11, 12, 19, 24}
			grad := make([]float64, nsv*d)
			if _, err := st.lossGrad(xs, ys, batch, grad); err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				g := make([]float64, nsv*d)
				l, err := st.lossGrad(xs, ys, batch, g)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			const h = 1e-6
			var maxErr, maxG float64
			for i := 0; i < nsv; i++ {
				for c := 0; c < d; c++ {
					old := st.theta[i][c]
					st.theta[i][c] = old + h
					lp := loss()
					st.theta[i][c] = old - h
					lm := loss()
					st.theta[i][c] = old
					fd := (lp - lm) / (2 * h)
					maxErr = math.Max(maxErr, math.Abs(fd-grad[i*d+c]))
					maxG = math.Max(maxG, math.Abs(fd))
				}
			}
			if maxG == 0 {
				t.Fatal("zero gradient: the test does not exercise anything")
			}
			if maxErr > 1e-5*maxG {
				t.Errorf("max |analytic − finite difference| = %g (gradient scale %g)", maxErr, maxG)
			}
		})
	}
}

// TestLABWrongAdjointIsCaught guards the test above: solving the adjoint
// with Kᵀ instead of K (the pitfall the spec warns about) must change the
// gradient noticeably on an asymmetric support system.
func TestLABWrongAdjointIsCaught(t *testing.T) {
	st := &labState{shape: LABGauss, lambda: 1e-2, d: 1}
	st.add([]float64{-0.5}, 1, []float64{1})
	st.add([]float64{0.1}, -1, []float64{3})
	st.add([]float64{0.6}, 0.5, []float64{0.7})
	st.b = mean(st.ysv)
	f, err := st.factor()
	if err != nil {
		t.Fatal(err)
	}
	g := []float64{1, -2, 0.5}
	u1 := append([]float64(nil), g...)
	u2 := append([]float64(nil), g...)
	f.solve(true, u1, 1)
	f.solve(false, u2, 1)
	var diff float64
	for i := range u1 {
		diff = math.Max(diff, math.Abs(u1[i]-u2[i]))
	}
	if diff < 1e-3 {
		t.Fatalf("K and Kᵀ solves agree (%g): the support system is not asymmetric enough for the gradient test", diff)
	}
}
