package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

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
			return lambda, v, err
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

func scale32(x []float32, s float64) {
	f := float32(s)
	for i := range x {
		x[i] *= f
	}
}

// FilterNormalizedDirection fills d with a random direction normalized
// filter by filter to the weights (Li et al., "Visualizing the Loss
// Landscape of Neural Nets", NeurIPS 2018): a Gaussian draw whose every
// filter (slice along a tensor's first axis, see [TensorParams]) is
// rescaled to the norm of the corresponding weight filter. 1-D tensors
// (biases, batch-norm parameters) get a zero direction, the paper's
// choice. A model without tensor shapes is one filter.
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

// LossCurve evaluates loss at w + α·d for each α in alphas and returns the
// values; the weights are restored exactly afterwards.
func LossCurve(ctx context.Context, p Params, loss Loss, d []float32, alphas []float64) ([]float64, error) {
	w := p.Weights()
	if len(d) != len(w) {
		return nil, fmt.Errorf("train: direction has %d values for %d weights", len(d), len(w))
	}
	w0 := append([]float32(nil), w...)
	defer copy(w, w0)
	out := make([]float64, len(alphas))
	for k, a := range alphas {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fa := float32(a)
		for i := range w {
			w[i] = w0[i] + fa*d[i]
		}
		l, err := loss()
		if err != nil {
			return nil, fmt.Errorf("train: loss at α = %g: %w", a, err)
		}
		out[k] = l
	}
	return out, nil
}

// FullBatch returns a deterministic closure over the n inputs x (NCHW) with
// labels y: inference-mode forward passes (batch norm uses its running
// statistics, dropout is off) in chunks of at most chunk inputs, returning
// the mean cross-entropy over all n and leaving its gradient in net's
// Grads. It suits [HVP], [TopEigenvalue] and, as a [Loss], [LossCurve].
func FullBatch(net Network, x []float32, y []int, chunk int) (Closure, error) {
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
		net.ZeroGrad()
		var total float64
		for lo := 0; lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			m := hi - lo
			out := net.Forward(x[lo*size:hi*size], m, false)
			l, _ := nn.SoftmaxCrossEntropy(out, dl[:m*k], y[lo:hi], k, 0)
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return l, fmt.Errorf("%w (loss %v)", ErrNonFiniteLoss, l)
			}
			w := float32(m) / float32(n)
			for i := range dl[:m*k] {
				dl[i] *= w
			}
			net.Backward(dl[:m*k], false)
			total += l * float64(m)
		}
		return total / float64(n), nil
	}, nil
}
