package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/nn"
)

// Loss evaluates a loss at a model's current weights.
type Loss func() (float64, error)

// HVP sets dst to the Hessian-vector product H·v of the loss whose
// gradient c computes, at p's current weights, by central differences of
// gradients: H·v ≈ (g(w+h·v̂) − g(w−h·v̂))·‖v‖/(2h), v̂ = v/‖v‖. The weights
// are restored exactly. Batch-norm running statistics are left alone (the
// gradient passes run with momentum 0). c must be deterministic — a fixed
// batch, no dropout (inference-mode forward) — for the difference to mean
// anything. h ≤ 0 selects 1e-3.
func HVP(p Params, c Closure, v, dst []float32, h float64) error {
	w, g := p.Weights(), p.Grads()
	if len(v) != len(w) || len(dst) != len(w) {
		return fmt.Errorf("train: HVP: vector %d and destination %d for %d weights", len(v), len(dst), len(w))
	}
	if h <= 0 {
		h = 1e-3
	}
	nv := norm32(v)
	if nv == 0 {
		clear(dst)
		return nil
	}
	w0 := append([]float32(nil), w...)
	defer copy(w, w0)
	step := float32(h / nv)
	for i := range w {
		w[i] = w0[i] + step*v[i]
	}
	if _, err := perturbedPass(p, c); err != nil {
		return fmt.Errorf("train: HVP: %w", err)
	}
	copy(dst, g)
	for i := range w {
		w[i] = w0[i] - step*v[i]
	}
	if _, err := perturbedPass(p, c); err != nil {
		return fmt.Errorf("train: HVP: %w", err)
	}
	scale := float32(nv / (2 * h))
	for i := range dst {
		dst[i] = (dst[i] - g[i]) * scale
	}
	return nil
}

// TopEigenvalue estimates the largest-magnitude eigenvalue of the Hessian
// of the loss whose gradient c computes (see [HVP] for what c must be) by
// power iteration from a random start drawn from r: at most iters
// Hessian-vector products, stopping when the Rayleigh quotient changes by
// less than tol relative. It returns the eigenvalue and its unit
// eigenvector.
func TopEigenvalue(ctx context.Context, p Params, c Closure, iters int, tol float64, r *rand.Rand) (float64, []float32, error) {
	if iters <= 0 || r == nil {
		return 0, nil, fmt.Errorf("train: TopEigenvalue needs iters > 0 and a random source (got %d)", iters)
	}
	n := len(p.Weights())
	v, hv := make([]float32, n), make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	scale32(v, 1/norm32(v))
	var lambda float64
	for it := 0; it < iters; it++ {
		if err := ctx.Err(); err != nil {
			return lambda, v, fmt.Errorf("train: TopEigenvalue: %w", err)
		}
		if err := HVP(p, c, v, hv, 0); err != nil {
			return lambda, v, err
		}
		var dot float64
		for i := range v {
			dot += float64(v[i]) * float64(hv[i])
		}
		nh := norm32(hv)
		if nh == 0 {
			return 0, v, nil
		}
		prev := lambda
		lambda = dot
		copy(v, hv)
		scale32(v, 1/nh)
		if it > 0 && math.Abs(lambda-prev) <= tol*math.Abs(lambda) {
			break
		}
	}
	return lambda, v, nil
}

// LanczosTopEigenvalue estimates the largest (most positive) eigenvalue of
// the Hessian of the loss whose gradient c computes (see [HVP] for what c
// must be) by the Lanczos method with full reorthogonalization from a
// random start drawn from r: at most steps Hessian-vector products,
// stopping when the top Ritz value changes by less than tol relative. It
// returns the eigenvalue and its unit Ritz vector.
//
// Lanczos converges to the extreme eigenvalues in far fewer products than
// [TopEigenvalue]'s power iteration, and it is not drawn to a negative
// eigenvalue of larger magnitude (which networks away from a minimum, or
// trained on noisy labels, often have): it is the sharpness measure to use
// when comparing optimizers. The Lanczos vectors (steps × the number of
// weights float32 values) are kept for the reorthogonalization.
func LanczosTopEigenvalue(ctx context.Context, p Params, c Closure, steps int, tol float64, r *rand.Rand) (float64, []float32, error) {
	if steps <= 0 || r == nil {
		return 0, nil, fmt.Errorf("train: LanczosTopEigenvalue needs steps > 0 and a random source (got %d)", steps)
	}
	n := len(p.Weights())
	steps = min(steps, n)
	q := make([]float32, n)
	for i := range q {
		q[i] = float32(r.NormFloat64())
	}
	scale32(q, 1/norm32(q))
	var basis [][]float32
	var alpha, beta []float64 // the tridiagonal T: diagonal, off-diagonal
	hq := make([]float32, n)
	var theta float64
	var ritz []float64
	for j := 0; j < steps; j++ {
		if err := ctx.Err(); err != nil {
			return theta, nil, fmt.Errorf("train: LanczosTopEigenvalue: %w", err)
		}
		basis = append(basis, q)
		if err := HVP(p, c, q, hq, 0); err != nil {
			return theta, nil, err
		}
		a := dot64(q, hq)
		alpha = append(alpha, a)
		// w = Hq − αq − βq_prev, then full reorthogonalization against the
		// basis (twice is enough, "twice is enough" of Kahan–Parlett)
		w := make([]float64, n)
		for i := range w {
			w[i] = float64(hq[i]) - a*float64(q[i])
		}
		if j > 0 {
			b, prev := beta[j-1], basis[j-1]
			for i := range w {
				w[i] -= b * float64(prev[i])
			}
		}
		for range 2 {
			for _, v := range basis {
				var d float64
				for i, x := range v {
					d += float64(x) * w[i]
				}
				for i, x := range v {
					w[i] -= d * float64(x)
				}
			}
		}
		var nw float64
		for _, x := range w {
			nw += x * x
		}
		nw = math.Sqrt(nw)
		prev := theta
		var err error
		if theta, ritz, err = tridiagTop(alpha, beta); err != nil {
			return 0, nil, err
		}
		if j > 0 && math.Abs(theta-prev) <= tol*math.Abs(theta) || nw <= 1e-10*math.Max(math.Abs(theta), 1e-30) {
			break
		}
		beta = append(beta, nw)
		q = make([]float32, n)
		for i := range q {
			q[i] = float32(w[i] / nw)
		}
	}
	vec := make([]float32, n)
	acc := make([]float64, n)
	for k, y := range ritz {
		for i, x := range basis[k] {
			acc[i] += y * float64(x)
		}
	}
	var nv float64
	for _, x := range acc {
		nv += x * x
	}
	nv = math.Sqrt(nv)
	for i, x := range acc {
		vec[i] = float32(x / nv)
	}
	return theta, vec, nil
}

// tridiagTop returns the largest eigenvalue of the symmetric tridiagonal
// matrix with diagonal alpha and off-diagonal beta (len(alpha)−1 of it is
// used) and its unit eigenvector.
func tridiagTop(alpha, beta []float64) (float64, []float64, error) {
	k := len(alpha)
	t := make([]float64, k*k)
	for i, a := range alpha {
		t[i*k+i] = a
		if i+1 < k {
			t[(i+1)*k+i], t[i*k+i+1] = beta[i], beta[i]
		}
	}
	w, z := make([]float64, 1), make([]float64, k)
	if err := linalg.DsyevTop(k, t, k, 1, w, z, k); err != nil {
		return 0, nil, fmt.Errorf("train: Lanczos tridiagonal eigenproblem: %w", err)
	}
	return w[0], z, nil
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func scale32(x []float32, s float64) {
	f := float32(s)
	for i := range x {
		x[i] *= f
	}
}

// FilterNormalizedDirection fills d with a random direction normalized
// filter by filter to the weights (Li et al., "Visualizing the Loss
// Landscape of Neural Nets", NeurIPS 2018): a Gaussian draw whose every
// filter (slice along a tensor's first axis, see [TensorParams]: an output
// channel of a convolution, an output unit of a dense layer, as in the
// paper's code) is rescaled to the norm of the corresponding weight
// filter, d_ij ← d_ij/‖d_ij‖·‖w_ij‖; a filter of zero weights gets a zero
// direction. 1-D tensors (biases, batch-norm parameters) get a zero
// direction, the paper's choice (its code's "biasbn" option). A model
// without tensor shapes is one filter. Two calls on one source give two
// independent directions, the axes of [LossSurface].
func FilterNormalizedDirection(p Params, d []float32, r *rand.Rand) error {
	w := p.Weights()
	if len(d) != len(w) {
		return fmt.Errorf("train: direction has %d values for %d weights", len(d), len(w))
	}
	segs, err := filterLayout(p)
	if err != nil {
		return err
	}
	if _, ok := p.(TensorParams); !ok {
		segs[0].oneD = false
	}
	for _, s := range segs {
		if s.oneD {
			clear(d[s.off : s.off+s.size])
			continue
		}
		for i := 0; i < s.n; i++ {
			lo, hi := s.off+i*s.size, s.off+(i+1)*s.size
			for j := lo; j < hi; j++ {
				d[j] = float32(r.NormFloat64())
			}
			if nd := norm32(d[lo:hi]); nd > 0 {
				scale32(d[lo:hi], norm32(w[lo:hi])/nd)
			}
		}
	}
	return nil
}

// CenteredGrid returns n points spread evenly over [−span, span], the k-th
// computed as span·(2k − (n−1))/(n−1) so that for odd n the middle point
// is exactly 0 and the grid is exactly symmetric. It is the α (and β) axis
// of [LossCurve] and [LossSurface].
func CenteredGrid(span float64, n int) ([]float64, error) {
	if n < 2 || !(span > 0) || math.IsInf(span, 0) {
		return nil, fmt.Errorf("train: grid of %d points over ±%g: need n ≥ 2 and a finite span > 0", n, span)
	}
	g := make([]float64, n)
	for k := range g {
		g[k] = span * float64(2*k-(n-1)) / float64(n-1)
	}
	return g, nil
}

// LineGrid returns the points t = k/(n−1) of a line between two
// solutions: n points on [0, 1], with t = 0 and t = 1 exact, extended on
// each side by round(extend·(n−1)) more steps, so the line covers
// [−extend, 1+extend] up to the rounding of extend to the grid step. It is
// the t axis of [LossLine]; extend = 0.25 is the usual choice.
func LineGrid(n int, extend float64) ([]float64, error) {
	if n < 2 || !(extend >= 0) || extend > 100 {
		return nil, fmt.Errorf("train: line of %d points extended by %g: need n ≥ 2 and 0 ≤ extend ≤ 100", n, extend)
	}
	e := int(math.Round(extend * float64(n-1)))
	ts := make([]float64, 0, n+2*e)
	for k := -e; k < n+e; k++ {
		ts = append(ts, float64(k)/float64(n-1))
	}
	return ts, nil
}

// displace sets w = w0 + a·d1, plus b·d2 when b ≠ 0. [LossCurve] and the
// β = 0 column of [LossSurface] go through the same expression, so they
// see bit-identical weights.
func displace(w, w0, d1, d2 []float32, a, b float64) {
	fa, fb := float32(a), float32(b)
	if fb == 0 {
		for i := range w {
			w[i] = w0[i] + fa*d1[i]
		}
		return
	}
	for i := range w {
		w[i] = w0[i] + fa*d1[i] + fb*d2[i]
	}
}

// LossCurve evaluates loss at w + α·d for each α in alphas and returns the
// values; the weights are restored exactly afterwards.
func LossCurve(ctx context.Context, p Params, loss Loss, d []float32, alphas []float64) ([]float64, error) {
	z, err := LossSurface(ctx, p, loss, d, nil, alphas, []float64{0})
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(alphas))
	for i := range z {
		out[i] = z[i][0]
	}
	return out, nil
}

// LossSurface evaluates loss at w + α·d1 + β·d2 for every α in alphas and
// β in betas (a 2-D loss surface, Li et al. 2018, with d1 and d2 two
// independent draws of [FilterNormalizedDirection]) and returns z with
// z[i][j] the loss at (alphas[i], betas[j]). The weights are restored
// exactly afterwards. Where β = 0 the weights are those [LossCurve]
// evaluates along d1, bit for bit, and at α = β = 0 they are w itself, so
// the surface's β = 0 column is the 1-D curve and its centre the model's
// own loss. d2 may be nil when every β is 0.
func LossSurface(ctx context.Context, p Params, loss Loss, d1, d2 []float32, alphas, betas []float64) ([][]float64, error) {
	w := p.Weights()
	if len(d1) != len(w) {
		return nil, fmt.Errorf("train: direction has %d values for %d weights", len(d1), len(w))
	}
	if d2 != nil && len(d2) != len(w) {
		return nil, fmt.Errorf("train: second direction has %d values for %d weights", len(d2), len(w))
	}
	if d2 == nil && slices.ContainsFunc(betas, func(b float64) bool { return float32(b) != 0 }) {
		return nil, fmt.Errorf("train: a non-zero β needs a second direction")
	}
	w0 := append([]float32(nil), w...)
	defer copy(w, w0)
	z := make([][]float64, len(alphas))
	for i, a := range alphas {
		z[i] = make([]float64, len(betas))
		for j, b := range betas {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("train: loss surface: %w", err)
			}
			displace(w, w0, d1, d2, a, b)
			l, err := loss()
			if err != nil {
				if len(betas) == 1 && b == 0 {
					return nil, fmt.Errorf("train: loss at α = %g: %w", a, err)
				}
				return nil, fmt.Errorf("train: loss at α = %g, β = %g: %w", a, b, err)
			}
			z[i][j] = l
		}
	}
	return z, nil
}

// Endpoint is one end of a line between two solutions: its flat weights
// and, for a batch-norm network, its running statistics in the order of
// nn.Network.BufferData (nil for none).
type Endpoint struct {
	Weights []float32
	Buffers []float32
}

// BufferedParams is a model whose batch-norm running statistics are one
// flat vector; [nn.Network] implements it.
type BufferedParams interface {
	Params
	BufferData() []float32
}

var _ BufferedParams = (*nn.Network)(nil)

// LossLine evaluates loss on p at the weights (1−t)·a + t·b for every t in
// ts (t outside [0, 1] extrapolates; see [LineGrid]) and returns the
// values. The combination is computed in float64, so t = 0 and t = 1 give
// a's and b's weights exactly. p's weights and buffers are restored
// afterwards.
//
// Batch norm: the loss (an inference-mode forward, as [FullBatchLoss])
// depends on the running statistics, which belong to the end points and
// are stale for every interior t. When p is a [BufferedParams] with
// buffers, LossLine interpolates them like the weights: exact at both
// ends, but only a heuristic in between (the mean of two sets of
// statistics is not the statistics of the mean weights), which can show a
// barrier that is an artefact of the statistics rather than of the
// weights. Pass refresh, e.g. a closure over [UpdateBN] on training
// inputs, to recompute the statistics at every t instead: right in
// between, but then the ends no longer equal the checkpoints' own losses,
// whose stored statistics are running averages from training. refresh is
// called after the weights (and interpolated buffers) are set, before
// loss; without it both ends must carry buffers of p's size.
func LossLine(ctx context.Context, p Params, loss Loss, a, b Endpoint, ts []float64, refresh func(context.Context) error) ([]float64, error) {
	w := p.Weights()
	if len(a.Weights) != len(w) || len(b.Weights) != len(w) {
		return nil, fmt.Errorf("train: line between %d and %d weights on a model of %d", len(a.Weights), len(b.Weights), len(w))
	}
	var buf []float32
	if bp, ok := p.(BufferedParams); ok {
		buf = bp.BufferData()
	}
	interpBuf := len(buf) > 0 && (a.Buffers != nil || b.Buffers != nil || refresh == nil)
	if interpBuf && (len(a.Buffers) != len(buf) || len(b.Buffers) != len(buf)) {
		return nil, fmt.Errorf("train: line on a model with %d batch-norm statistics between end points with %d and %d", len(buf), len(a.Buffers), len(b.Buffers))
	}
	w0 := append([]float32(nil), w...)
	defer copy(w, w0)
	if len(buf) > 0 {
		b0 := append([]float32(nil), buf...)
		defer copy(buf, b0)
	}
	out := make([]float64, len(ts))
	for k, t := range ts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("train: LossLine: %w", err)
		}
		lerp(w, a.Weights, b.Weights, t)
		if interpBuf {
			lerp(buf, a.Buffers, b.Buffers, t)
		}
		if refresh != nil {
			if err := refresh(ctx); err != nil {
				return nil, fmt.Errorf("train: batch-norm statistics at t = %g: %w", t, err)
			}
		}
		l, err := loss()
		if err != nil {
			return nil, fmt.Errorf("train: loss at t = %g: %w", t, err)
		}
		out[k] = l
	}
	return out, nil
}

// lerp sets dst = (1−t)·a + t·b, computed in float64.
func lerp(dst, a, b []float32, t float64) {
	s := 1 - t
	for i := range dst {
		dst[i] = float32(s*float64(a[i]) + t*float64(b[i]))
	}
}

// FlatWidth measures how wide a 1-D loss curve is around x = 0: walking
// from the sample at x = 0 outwards, [lo, hi] ends where ys first rises
// more than delta above its value at 0, placed by linear interpolation
// between the last sample within delta and the first beyond. Where the
// curve stays within delta up to an end of the sampled range, that end is
// returned and clipped is true: the width is then only a lower bound. xs
// must increase strictly and contain 0.
func FlatWidth(xs, ys []float64, delta float64) (lo, hi float64, clipped bool, err error) {
	if len(xs) != len(ys) || len(xs) == 0 {
		return 0, 0, false, fmt.Errorf("train: FlatWidth: %d positions for %d values", len(xs), len(ys))
	}
	if !(delta > 0) {
		return 0, 0, false, fmt.Errorf("train: FlatWidth: delta %g must be positive", delta)
	}
	c := -1
	for i, x := range xs {
		if i > 0 && !(x > xs[i-1]) {
			return 0, 0, false, fmt.Errorf("train: FlatWidth: positions not increasing at %d (%g after %g)", i, x, xs[i-1])
		}
		if x == 0 {
			c = i
		}
	}
	if c < 0 {
		return 0, 0, false, fmt.Errorf("train: FlatWidth: no sample at 0")
	}
	limit := ys[c] + delta
	edge := func(step int) (float64, bool) {
		i := c
		for i+step >= 0 && i+step < len(xs) && ys[i+step] <= limit {
			i += step
		}
		j := i + step
		if j < 0 || j >= len(xs) {
			return xs[i], true
		}
		// ys[i] ≤ limit < ys[j] (or ys[j] is NaN: stop at xs[i]).
		if !(ys[j] > ys[i]) {
			return xs[i], false
		}
		f := (limit - ys[i]) / (ys[j] - ys[i])
		return xs[i] + f*(xs[j]-xs[i]), false
	}
	lo, c1 := edge(-1)
	hi, c2 := edge(1)
	return lo, hi, c1 || c2, nil
}

// Barrier is the loss barrier of a line between two solutions (Frankle et
// al., "Linear Mode Connectivity and the Lottery Ticket Hypothesis", ICML
// 2020): the largest excess, over t in [0, 1], of the loss above the
// straight line between the losses at t = 0 and t = 1. ts must contain 0
// and 1; points outside [0, 1] are ignored. A barrier near 0 means the
// two solutions lie in one basin.
func Barrier(ts, losses []float64) (float64, error) {
	if len(ts) != len(losses) {
		return 0, fmt.Errorf("train: Barrier: %d positions for %d losses", len(ts), len(losses))
	}
	i0, i1 := slices.Index(ts, 0), slices.Index(ts, 1)
	if i0 < 0 || i1 < 0 {
		return 0, fmt.Errorf("train: Barrier: the line must include t = 0 and t = 1")
	}
	l0, l1 := losses[i0], losses[i1]
	var b float64
	for k, t := range ts {
		if t < 0 || t > 1 {
			continue
		}
		b = max(b, losses[k]-((1-t)*l0+t*l1))
	}
	return b, nil
}

// FullBatch returns a deterministic closure over the n inputs x (NCHW) with
// labels y: inference-mode forward passes (batch norm uses its running
// statistics, dropout is off) in chunks of at most chunk inputs, returning
// the mean cross-entropy over all n and leaving its gradient in net's
// Grads. It suits [HVP] and [TopEigenvalue]; [FullBatchLoss] is the same
// loss without the backward pass.
func FullBatch(net Network, x []float32, y []int, chunk int) (Closure, error) {
	return fullBatch(net, x, y, chunk, true)
}

// FullBatchLoss is [FullBatch] without the backward pass: the same chunked
// inference-mode mean cross-entropy, bit for bit, for [LossCurve],
// [LossSurface] and [LossLine]. net's Grads are left alone.
func FullBatchLoss(net Network, x []float32, y []int, chunk int) (Loss, error) {
	c, err := fullBatch(net, x, y, chunk, false)
	return Loss(c), err
}

func fullBatch(net Network, x []float32, y []int, chunk int, grad bool) (Closure, error) {
	size := 1
	for _, d := range net.InputShape() {
		size *= d
	}
	n, k := len(y), net.NumClasses()
	switch {
	case n == 0 || len(x) != n*size:
		return nil, fmt.Errorf("train: %d input values for %d labels of size %d", len(x), n, size)
	case chunk <= 0:
		return nil, fmt.Errorf("train: chunk size %d must be positive", chunk)
	}
	for i, l := range y {
		if l < 0 || l >= k {
			return nil, fmt.Errorf("train: label %d of sample %d outside [0, %d)", l, i, k)
		}
	}
	dl := make([]float32, min(chunk, n)*k)
	return func() (float64, error) {
		if grad {
			net.ZeroGrad()
		}
		var total float64
		for lo := 0; lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			m := hi - lo
			out := net.Forward(x[lo*size:hi*size], m, false)
			l, _ := nn.SoftmaxCrossEntropy(out, dl[:m*k], y[lo:hi], k, 0)
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return l, fmt.Errorf("%w (loss %v)", ErrNonFiniteLoss, l)
			}
			total += l * float64(m)
			if !grad {
				continue
			}
			w := float32(m) / float32(n)
			for i := range dl[:m*k] {
				dl[i] *= w
			}
			net.Backward(dl[:m*k], false)
		}
		return total / float64(n), nil
	}, nil
}
