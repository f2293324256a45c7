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

// quadLoss is ½ Σ a_i w_i² computed in float64 from float32 weights, the
// closed form the surfaces are checked against.
func quadLoss(a, w []float32) float64 {
	var l float64
	for i := range w {
		l += 0.5 * float64(a[i]) * float64(w[i]) * float64(w[i])
	}
	return l
}

// TestLossSurface: every grid value is the quadratic's closed form at
// w + α·d1 + β·d2, the centre is the model's loss and the β = 0 column is
// LossCurve along d1, bit for bit; the weights are restored.
func TestLossSurface(t *testing.T) {
	s := newShaped(4, 3, 2)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range s.w {
		s.w[i] = float32(r.NormFloat64())
		s.a[i] = 0.5 + float32(i%4)
	}
	d1, d2 := make([]float32, len(s.w)), make([]float32, len(s.w))
	dr := rand.New(rand.NewPCG(7, 7))
	if err := FilterNormalizedDirection(s, d1, dr); err != nil {
		t.Fatal(err)
	}
	if err := FilterNormalizedDirection(s, d2, dr); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(d1, d2) {
		t.Fatal("two draws gave one direction")
	}
	c := s.closure()
	loss := Loss(c)
	w0 := slices.Clone(s.w)
	l0, _ := loss()
	alphas, err := CenteredGrid(0.8, 5)
	if err != nil {
		t.Fatal(err)
	}
	betas, _ := CenteredGrid(0.5, 3)
	z, err := LossSurface(context.Background(), s, loss, d1, d2, alphas, betas)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.w, w0) {
		t.Fatal("LossSurface did not restore the weights")
	}
	if len(z) != 5 || len(z[0]) != 3 {
		t.Fatalf("surface is %d×%d, want 5×3", len(z), len(z[0]))
	}
	wt := make([]float32, len(w0))
	for i, al := range alphas {
		for j, be := range betas {
			for k := range wt {
				wt[k] = float32(float64(w0[k]) + al*float64(d1[k]) + be*float64(d2[k]))
			}
			if want := quadLoss(s.a, wt); math.Abs(z[i][j]-want) > 1e-5*want {
				t.Errorf("z(%g, %g) = %g, want %g", al, be, z[i][j], want)
			}
		}
	}
	if z[2][1] != l0 {
		t.Errorf("centre %v, model loss %v", z[2][1], l0)
	}
	curve, err := LossCurve(context.Background(), s, loss, d1, alphas)
	if err != nil {
		t.Fatal(err)
	}
	for i := range alphas {
		if curve[i] != z[i][1] {
			t.Errorf("α = %g: curve %v, surface %v", alphas[i], curve[i], z[i][1])
		}
	}

	for _, tc := range []struct {
		name   string
		d1, d2 []float32
		betas  []float64
	}{
		{"short first direction", d1[:3], d2, betas},
		{"short second direction", d1, d2[:3], betas},
		{"β ≠ 0 without second direction", d1, nil, betas},
	} {
		if _, err := LossSurface(context.Background(), s, loss, tc.d1, tc.d2, alphas, tc.betas); err == nil {
			t.Errorf("%s accepted", tc.name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LossSurface(ctx, s, loss, d1, d2, alphas, betas); err == nil {
		t.Error("cancelled context ignored")
	}
	if !slices.Equal(s.w, w0) {
		t.Fatal("weights not restored after an error")
	}
}

func TestGrids(t *testing.T) {
	for _, tc := range []struct {
		span float64
		n    int
	}{{1, 11}, {0.3, 21}, {2.5, 7}, {1, 4}} {
		g, err := CenteredGrid(tc.span, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if len(g) != tc.n || g[0] != -tc.span || g[tc.n-1] != tc.span {
			t.Errorf("CenteredGrid(%g, %d) = %v", tc.span, tc.n, g)
		}
		for k := range g {
			if g[k] != -g[tc.n-1-k] {
				t.Errorf("CenteredGrid(%g, %d) not symmetric: %v", tc.span, tc.n, g)
			}
		}
		if tc.n%2 == 1 && g[tc.n/2] != 0 {
			t.Errorf("CenteredGrid(%g, %d) centre %v", tc.span, tc.n, g[tc.n/2])
		}
	}
	for _, tc := range []struct {
		n      int
		extend float64
		len    int
		first  float64
	}{{21, 0.25, 31, -0.25}, {11, 0.25, 17, -0.3}, {2, 0, 2, 0}, {5, 1, 13, -1}} {
		ts, err := LineGrid(tc.n, tc.extend)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != tc.len || math.Abs(ts[0]-tc.first) > 1e-12 || !slices.Contains(ts, 0) || !slices.Contains(ts, 1) {
			t.Errorf("LineGrid(%d, %g) = %v", tc.n, tc.extend, ts)
		}
	}
	for _, bad := range []func() error{
		func() error { _, err := CenteredGrid(1, 1); return err },
		func() error { _, err := CenteredGrid(0, 5); return err },
		func() error { _, err := CenteredGrid(math.NaN(), 5); return err },
		func() error { _, err := LineGrid(1, 0.25); return err },
		func() error { _, err := LineGrid(5, -1); return err },
	} {
		if bad() == nil {
			t.Error("bad grid accepted")
		}
	}
}

// TestLossLine: on a quadratic the line is the closed form at
// (1−t)·a + t·b; on a batch-norm CNN the ends equal each network's own
// loss exactly (buffers interpolated with the weights), refresh recomputes
// the statistics, and the model is restored.
func TestLossLine(t *testing.T) {
	q := newQuad([]float32{1, 2, 3}, []float32{9, 9, 9})
	a := Endpoint{Weights: []float32{1, -1, 0.5}}
	b := Endpoint{Weights: []float32{-0.5, 2, 1}}
	ts, _ := LineGrid(5, 0.25)
	got, err := LossLine(context.Background(), q, Loss(q.closure()), a, b, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.w, []float32{9, 9, 9}) {
		t.Fatal("LossLine did not restore the weights")
	}
	for k, tt := range ts {
		wt := make([]float32, 3)
		for i := range wt {
			wt[i] = float32((1-tt)*float64(a.Weights[i]) + tt*float64(b.Weights[i]))
		}
		if want := quadLoss(q.a, wt); math.Abs(got[k]-want) > 1e-6*want {
			t.Errorf("t = %g: %g, want %g", tt, got[k], want)
		}
	}

	x, y := toyProblem(40)
	netA, netB := smallBNCNN(t, 1), smallBNCNN(t, 2)
	for _, n := range []*nn.Network{netA, netB} {
		// Give each network its own running statistics.
		if err := UpdateBN(context.Background(), n, x, 8); err != nil {
			t.Fatal(err)
		}
	}
	want := func(n *nn.Network) float64 {
		l, err := FullBatchLoss(n, x, y, 16)
		if err != nil {
			t.Fatal(err)
		}
		v, err := l()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	lA, lB := want(netA), want(netB)
	p := smallBNCNN(t, 3)
	p0, pb0 := slices.Clone(p.Weights()), slices.Clone(p.BufferData())
	loss, err := FullBatchLoss(p, x, y, 16)
	if err != nil {
		t.Fatal(err)
	}
	ea := Endpoint{Weights: netA.Weights(), Buffers: netA.BufferData()}
	eb := Endpoint{Weights: netB.Weights(), Buffers: netB.BufferData()}
	ts = []float64{-0.25, 0, 0.5, 1, 1.25}
	got, err = LossLine(context.Background(), p, loss, ea, eb, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got[1] != lA || got[3] != lB {
		t.Errorf("ends %v, %v; want the networks' losses %v, %v", got[1], got[3], lA, lB)
	}
	if !slices.Equal(p.Weights(), p0) || !slices.Equal(p.BufferData(), pb0) {
		t.Fatal("LossLine did not restore the weights and buffers")
	}
	// The midpoint with the buffers interpolated, by hand.
	mid := p.Copy()
	lerp(mid.Weights(), ea.Weights, eb.Weights, 0.5)
	lerp(mid.BufferData(), ea.Buffers, eb.Buffers, 0.5)
	if m := want(mid); got[2] != m {
		t.Errorf("midpoint %v, want %v", got[2], m)
	}

	// Recomputed statistics: the midpoint is UpdateBN's, not interpolated.
	refresh := func(ctx context.Context) error { return UpdateBN(ctx, p, x, 8) }
	got2, err := LossLine(context.Background(), p, loss, Endpoint{Weights: ea.Weights}, Endpoint{Weights: eb.Weights}, []float64{0.5}, refresh)
	if err != nil {
		t.Fatal(err)
	}
	if err := UpdateBN(context.Background(), mid, x, 8); err != nil {
		t.Fatal(err)
	}
	if m := want(mid); got2[0] != m {
		t.Errorf("refreshed midpoint %v, want %v", got2[0], m)
	}
	if got2[0] == got[2] {
		t.Error("refresh did not change the statistics")
	}
	if !slices.Equal(p.Weights(), p0) || !slices.Equal(p.BufferData(), pb0) {
		t.Fatal("LossLine with refresh did not restore the weights and buffers")
	}

	for _, tc := range []struct {
		name string
		a, b Endpoint
	}{
		{"short weights", Endpoint{Weights: ea.Weights[:5], Buffers: ea.Buffers}, eb},
		{"missing buffers", Endpoint{Weights: ea.Weights}, eb},
		{"short buffers", ea, Endpoint{Weights: eb.Weights, Buffers: eb.Buffers[:2]}},
	} {
		if _, err := LossLine(context.Background(), p, loss, tc.a, tc.b, ts, nil); err == nil {
			t.Errorf("%s accepted", tc.name)
		}
	}
}

func TestFullBatchLossMatchesFullBatch(t *testing.T) {
	x, y := toyProblem(30)
	net := smallBNCNN(t, 4)
	c, err := FullBatch(net, x, y, 7)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := c()
	if err != nil {
		t.Fatal(err)
	}
	g := slices.Clone(net.Grads())
	l, err := FullBatchLoss(net, x, y, 7)
	if err != nil {
		t.Fatal(err)
	}
	ll, err := l()
	if err != nil {
		t.Fatal(err)
	}
	if ll != lc {
		t.Errorf("FullBatchLoss %v, FullBatch %v", ll, lc)
	}
	if !slices.Equal(net.Grads(), g) {
		t.Error("FullBatchLoss touched the gradient")
	}
	if _, err := FullBatchLoss(net, x, y[:3], 7); err == nil {
		t.Error("mismatched labels accepted")
	}
}

// TestFilterNormalizedDirectionOnNetwork: on a CNN with batch norm every
// output channel / unit of a weight tensor has the norm of its weights,
// 1-D tensors are zero, and the draw is reproducible.
func TestFilterNormalizedDirectionOnNetwork(t *testing.T) {
	net := smallBNCNN(t, 5)
	d := make([]float32, net.NumParams())
	if err := FilterNormalizedDirection(net, d, rand.New(rand.NewPCG(9, 9))); err != nil {
		t.Fatal(err)
	}
	off, filters := 0, 0
	for _, p := range net.Params() {
		dp := d[off : off+p.Size()]
		if len(p.Shape) == 1 {
			if norm32(dp) != 0 {
				t.Errorf("%s (1-D): direction norm %g, want 0", p.Name, norm32(dp))
			}
		} else {
			fs := p.Size() / p.Shape[0]
			for i := 0; i < p.Shape[0]; i++ {
				nd, nw := norm32(dp[i*fs:(i+1)*fs]), norm32(p.W[i*fs:(i+1)*fs])
				if math.Abs(nd-nw) > 1e-5*nw {
					t.Errorf("%s filter %d: direction norm %g, weight norm %g", p.Name, i, nd, nw)
				}
				filters++
			}
		}
		off += p.Size()
	}
	if filters == 0 {
		t.Fatal("no multi-dimensional tensors")
	}
	d2 := make([]float32, len(d))
	if err := FilterNormalizedDirection(net, d2, rand.New(rand.NewPCG(9, 9))); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d, d2) {
		t.Error("same seed, different direction")
	}
}

func TestFlatWidth(t *testing.T) {
	xs, _ := CenteredGrid(1, 21) // step 0.1
	ys := make([]float64, len(xs))
	for i, x := range xs {
		if x < 0 {
			ys[i] = 1 + x*x
		} else {
			ys[i] = 1 + 4*x*x
		}
	}
	// Right: 4x² crosses 0.3 between 0.2 (0.16) and 0.3 (0.36): 0.2 + 0.1·0.14/0.2.
	// Left: x² crosses 0.3 between −0.5 (0.25) and −0.6 (0.36): −0.5 − 0.1·0.05/0.11.
	lo, hi, clipped, err := FlatWidth(xs, ys, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(hi-0.27) > 1e-9 || math.Abs(lo-(-0.5-0.1*0.05/0.11)) > 1e-9 || clipped {
		t.Errorf("FlatWidth = [%g, %g] (clipped %v), want [%g, 0.27]", lo, hi, clipped, -0.5-0.1*0.05/0.11)
	}
	// δ = 1.5: the left side never leaves it; the right crosses between
	// 0.6 (1.44) and 0.7 (1.96).
	lo, hi, clipped, err = FlatWidth(xs, ys, 1.5)
	if wantHi := 0.6 + 0.1*0.06/0.52; err != nil || lo != -1 || math.Abs(hi-wantHi) > 1e-9 || !clipped {
		t.Errorf("FlatWidth(δ = 1.5) = [%g, %g] (clipped %v, %v), want [−1, %g] clipped", lo, hi, clipped, err, wantHi)
	}
	for _, tc := range []struct {
		name   string
		xs, ys []float64
		delta  float64
	}{
		{"no zero", []float64{-1, 1}, []float64{1, 1}, 0.1},
		{"unsorted", []float64{0, -1}, []float64{1, 1}, 0.1},
		{"length", []float64{0, 1}, []float64{1}, 0.1},
		{"delta", xs, ys, 0},
	} {
		if _, _, _, err := FlatWidth(tc.xs, tc.ys, tc.delta); err == nil {
			t.Errorf("%s accepted", tc.name)
		}
	}
}

func TestBarrier(t *testing.T) {
	ts := []float64{-0.5, 0, 0.25, 0.5, 0.75, 1, 1.5}
	ls := []float64{9, 1, 2.5, 3, 2, 2, 9}
	// Excess over 1 + t: 0.25 → 1.25, 0.5 → 1.5, 0.75 → 0.25.
	b, err := Barrier(ts, ls)
	if err != nil || b != 1.5 {
		t.Errorf("Barrier = %v (%v), want 1.5", b, err)
	}
	if b, _ := Barrier([]float64{0, 1}, []float64{1, 2}); b != 0 {
		t.Errorf("Barrier of a straight line = %v", b)
	}
	if _, err := Barrier([]float64{0, 0.5}, []float64{1, 2}); err == nil {
		t.Error("line without t = 1 accepted")
	}
}

// TestLanczosTopEigenvalue: on a quadratic whose most negative eigenvalue
// has the largest magnitude, Lanczos finds the largest eigenvalue (9) and
// its eigenvector in a few products, where power iteration finds −12.
func TestLanczosTopEigenvalue(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    []float32
		top  int
	}{
		{"positive definite", []float32{1, 4, 9, 2, 3, 0.5, 0.25, 7}, 2},
		{"indefinite", []float32{1, 4, 9, 2, -12, 0.5, -3, 7}, 2},
		{"top last", []float32{1, 4, -9, 2, 3, 0.5, 0.25, 11}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newQuad(tc.a, make([]float32, len(tc.a)))
			q.batch(1)
			lambda, vec, err := LanczosTopEigenvalue(context.Background(), q, q.closure(), 20, 1e-9, rand.New(rand.NewPCG(3, 4)))
			if err != nil {
				t.Fatal(err)
			}
			want := float64(tc.a[tc.top])
			if math.Abs(lambda-want) > 1e-2 {
				t.Errorf("top eigenvalue %g, want %g", lambda, want)
			}
			if math.Abs(math.Abs(float64(vec[tc.top]))-1) > 1e-2 {
				t.Errorf("Ritz vector %v, want ±e%d", vec, tc.top+1)
			}
		})
	}
	q := newQuad([]float32{1, 4, 9, 2, -12, 0.5}, make([]float32, 6))
	q.batch(1)
	power, _, err := TopEigenvalue(context.Background(), q, q.closure(), 200, 1e-9, rand.New(rand.NewPCG(3, 4)))
	if err != nil || math.Abs(power+12) > 1e-2 {
		t.Errorf("power iteration: %g, %v; want the largest-magnitude eigenvalue −12", power, err)
	}
	if _, _, err := LanczosTopEigenvalue(context.Background(), q, q.closure(), 0, 0, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("0 steps accepted")
	}
}

// TestLanczosAgreesWithPowerIterationOnANetwork: on a small trained
// network both methods estimate the same top eigenvalue, Lanczos with
// fewer Hessian-vector products.
func TestLanczosAgreesWithPowerIterationOnANetwork(t *testing.T) {
	x, y := toyProblem(64)
	net, err := nn.New(nn.MLP([]int{16}, []int{12}, 2), 5)
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := NewSGD(0.1, 0.9, 0, false)
	if _, err := Fit(context.Background(), net, x, y, Config{Steps: 60, BatchSize: 16, Optimizer: opt}); err != nil {
		t.Fatal(err)
	}
	c, err := FullBatch(net, x, y, 64)
	if err != nil {
		t.Fatal(err)
	}
	power, _, err := TopEigenvalue(context.Background(), net, c, 500, 1e-7, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	lz, _, err := LanczosTopEigenvalue(context.Background(), net, c, 40, 1e-7, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("top eigenvalue: power iteration %g, Lanczos %g", power, lz)
	if power > 0 && math.Abs(lz-power) > 1e-2*math.Abs(power) {
		t.Errorf("Lanczos %g, power iteration %g", lz, power)
	}
	if lz < power-1e-3*math.Abs(power) {
		t.Errorf("Lanczos %g below power iteration's %g: it must find the largest eigenvalue", lz, power)
	}
}
