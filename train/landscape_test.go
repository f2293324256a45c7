package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/trustml/trustml/nn"
)

func TestHVPAndTopEigenvalueOfQuadratic(t *testing.T) {
	a := []float32{1, 4, 9, 2, -3, 0.5}
	q := newQuad(a, []float32{0.3, -0.2, 0.1, 1, 2, -1})
	q.batch(1)
	w0 := slices.Clone(q.w)
	v := []float32{1, -2, 0.5, 3, 1, 0}
	hv := make([]float32, len(v))
	if err := HVP(q, q.closure(), v, hv, 0); err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(v))
	for i := range v {
		want[i] = float64(a[i]) * float64(v[i])
	}
	near(t, "Hv", hv, want, 2e-3)
	if !slices.Equal(q.w, w0) {
		t.Fatal("HVP did not restore the weights")
	}
	lambda, vec, err := TopEigenvalue(context.Background(), q, q.closure(), 200, 1e-7, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lambda-9) > 1e-2 {
		t.Errorf("top eigenvalue %g, want 9", lambda)
	}
	if math.Abs(math.Abs(float64(vec[2]))-1) > 1e-2 {
		t.Errorf("eigenvector %v, want ±e₃", vec)
	}
}

// TestHVPIsSymmetric: u·(Hv) = v·(Hu) for a network's Hessian.
func TestHVPIsSymmetric(t *testing.T) {
	x, y := toyProblem(32)
	net, err := nn.New(nn.MLP([]int{1, 4, 4}, []int{8}, 2), 3)
	if err != nil {
		t.Fatal(err)
	}
	dl := make([]float32, len(y)*2)
	c := func() (float64, error) {
		net.ZeroGrad()
		l, _ := nn.SoftmaxCrossEntropy(net.Forward(x, len(y), false), dl, y, 2, 0)
		net.Backward(dl, false)
		return l, nil
	}
	r := rand.New(rand.NewPCG(3, 4))
	n := net.NumParams()
	u, v, hu, hv := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range u {
		u[i], v[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
	}
	if err := HVP(net, c, v, hv, 0); err != nil {
		t.Fatal(err)
	}
	if err := HVP(net, c, u, hu, 0); err != nil {
		t.Fatal(err)
	}
	var uhv, vhu float64
	for i := range u {
		uhv += float64(u[i]) * float64(hv[i])
		vhu += float64(v[i]) * float64(hu[i])
	}
	if math.Abs(uhv-vhu) > 0.02*(math.Abs(uhv)+math.Abs(vhu)) || uhv == 0 {
		t.Errorf("u·Hv = %g, v·Hu = %g", uhv, vhu)
	}
}

func TestFilterNormalizedDirectionAndLossCurve(t *testing.T) {
	s := newShaped(3, 5, 4)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range s.w {
		s.w[i] = float32(r.NormFloat64()) * float32(1+i/5)
		s.a[i] = 1 + float32(i%3)
	}
	d := make([]float32, len(s.w))
	if err := FilterNormalizedDirection(s, d, rand.New(rand.NewPCG(2, 2))); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		nd, nw := norm32(d[i*5:(i+1)*5]), norm32(s.w[i*5:(i+1)*5])
		if math.Abs(nd-nw) > 1e-5*nw {
			t.Errorf("filter %d: direction norm %g, weight norm %g", i, nd, nw)
		}
	}
	if norm32(d[15:]) != 0 {
		t.Errorf("1-D tensor direction %v, want zero", d[15:])
	}
	w0 := slices.Clone(s.w)
	c := s.closure()
	alphas := []float64{-1, -0.5, 0, 0.5, 1}
	got, err := LossCurve(context.Background(), s, func() (float64, error) { return c() }, d, alphas)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.w, w0) {
		t.Fatal("LossCurve did not restore the weights")
	}
	for k, al := range alphas {
		var want float64
		for i := range w0 {
			wi := float64(w0[i] + float32(al)*d[i])
			want += 0.5 * float64(s.a[i]) * wi * wi
		}
		if math.Abs(got[k]-want) > 1e-5*want {
			t.Errorf("loss at α = %g: %g, want %g", al, got[k], want)
		}
	}
	if err := FilterNormalizedDirection(s, d[:3], r); err == nil {
		t.Error("short direction accepted")
	}
}

// TestFullBatchChunking: the loss and gradient do not depend on the chunk
// size, and bad input is an error.
func TestFullBatchChunking(t *testing.T) {
	x, y := toyProblem(30)
	net := smallBNCNN(t, 2)
	var losses []float64
	var grads [][]float32
	for _, chunk := range []int{30, 7, 1} {
		c, err := FullBatch(net, x, y, chunk)
		if err != nil {
			t.Fatal(err)
		}
		l, err := c()
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, l)
		grads = append(grads, slices.Clone(net.Grads()))
	}
	for k := 1; k < len(losses); k++ {
		if math.Abs(losses[k]-losses[0]) > 1e-6 {
			t.Errorf("loss %g vs %g", losses[k], losses[0])
		}
		near(t, "gradient", grads[k], f64(grads[0]), 1e-5)
	}
	if _, err := FullBatch(net, x[:10], y, 4); err == nil {
		t.Error("short input accepted")
	}
	if _, err := FullBatch(net, x, y, 0); err == nil {
		t.Error("chunk 0 accepted")
	}
}
