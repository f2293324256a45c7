package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
)

// SOME configures the training of a multi-head ensemble of smoothed
// classifiers (robustness.md §8; Fang et al., the official code calls it
// SPACTE): a network made by [nn.MultiHead] whose heads learn under
// Gaussian noise with circular teaching and are kept apart by an
// orthogonality penalty. The network's logits, the sum of the heads', are
// the base classifier that randomized smoothing (package certify)
// certifies. [RunConfig].SOME turns it on; the noise σ is the run's
// Augment.NoiseSigma, which must then be positive.
type SOME struct {
	// Heads is the number of heads H (0: off; the reference uses 5).
	Heads int `flag:"some-heads" help:"SOME: train a multi-head smoothed ensemble with this many heads (0 = off; needs --noise-sigma)"`
	// Noises is m, the independent noisy copies of every image of a batch
	// (default 2). The reference splits each batch of 256 into m chunks
	// and makes one step per chunk of 256/m images × m copies: --batch
	// 256/m here has the same step size.
	Noises int `flag:"some-noises" help:"SOME: noisy copies m of every image of a batch"`
	// LambdaLast is the circular-teaching threshold λ at the last epoch
	// (0: the reference's Gaussian base, 1.2 for σ ≤ 0.25 and 0.8 above).
	LambdaLast float64 `flag:"some-lambda-last" help:"SOME: the easy-sample threshold λ at the last epoch (0: 1.2 for σ ≤ 0.25, else 0.8)"`
	// Orth weighs the orthogonality penalty Σ_{i<j} cos²(θ_i, θ_j) of the
	// heads' parameter vectors (the reference: 1). A negative value turns
	// it off.
	Orth float64 `flag:"some-orth" help:"SOME: weight of the heads' orthogonality penalty (0: 1, the reference; negative: off)"`
}

// SOMELambda is the circular-teaching threshold at epoch (1-based) of
// epochs: −log10(a·epoch + b) with a, b such that λ(1) = ln K and
// λ(epochs) = last, the official code's log10 scheduler. With one epoch
// it is last.
func SOMELambda(epoch, epochs, classes int, last float64) float64 {
	if epochs <= 1 {
		return last
	}
	first := math.Log(float64(classes))
	a := (math.Pow(10, -first) - math.Pow(10, -last)) / float64(1-epochs)
	b := math.Pow(10, -first) - a
	return -math.Log10(a*float64(epoch) + b)
}

// SOMELoss is the circular-teaching cross-entropy of H heads on m noisy
// copies of n labelled inputs. z holds the heads' logits head-major, each
// head's block copy-major: z[((h·m+j)·n+i)·k+c] is head h's logit of class
// c for copy j of input i, which is how [nn.Network.HeadLogits] lays out a
// forward pass of the m copies stacked one after the other. For head h and
// input i, ℓ_{h,i} is the mean over the copies of the cross-entropy; the
// weight of the input is 1 if head h−1 (cyclically) finds it easy
// (ℓ_{h−1,i} < lambda), else (1 + e^{−λ})/(1 + e^{ℓ_{h,i} − λ}), a
// constant of the gradient; head h's loss is the mean over inputs of
// weight·ℓ, and the loss is the mean over heads. SOMELoss writes the
// gradient with respect to z into dz and returns the loss and each head's.
func SOMELoss(dz, z []float32, y []int, heads, copies, k int, lambda float64) (float64, []float64) {
	n := len(y)
	ce := make([]float64, heads*n) // ℓ_{h,i}
	for h := 0; h < heads; h++ {
		for j := 0; j < copies; j++ {
			for i := 0; i < n; i++ {
				off := ((h*copies+j)*n + i) * k
				row, d := z[off:off+k], dz[off:off+k]
				m := row[0]
				for _, v := range row {
					m = max(m, v)
				}
				var s float64
				for _, v := range row {
					s += math.Exp(float64(v - m))
				}
				lse := float64(m) + math.Log(s)
				ce[h*n+i] += (lse - float64(row[y[i]])) / float64(copies)
				for c, v := range row {
					d[c] = float32(math.Exp(float64(v) - lse)) // softmax, scaled below
				}
				d[y[i]]--
			}
		}
	}
	headLoss := make([]float64, heads)
	var total float64
	for h := 0; h < heads; h++ {
		prev := (h + heads - 1) % heads
		for i := 0; i < n; i++ {
			w := 1.0
			if ce[prev*n+i] >= lambda {
				w = (1 + math.Exp(-lambda)) / (1 + math.Exp(ce[h*n+i]-lambda))
			}
			headLoss[h] += w * ce[h*n+i] / float64(n)
			scale := float32(w / float64(n*copies*heads))
			for j := 0; j < copies; j++ {
				d := dz[((h*copies+j)*n+i)*k : ((h*copies+j)*n+i+1)*k]
				for c := range d {
					d[c] *= scale
				}
			}
		}
		total += headLoss[h] / float64(heads)
	}
	return total, headLoss
}

// HeadOrthogonality returns Σ_{i<j} cos²(θ_i, θ_j) of the heads' parameter
// vectors θ_h, read from w through spans ([nn.Network.HeadSpans]), and adds
// weight times its gradient with respect to w into g. A pair of heads
// whose spans are not laid out alike (the same lengths in the same order)
// or one of which is zero is left out. It allocates only H² numbers.
func HeadOrthogonality(g, w []float32, spans [][]nn.Span, weight float64) float64 {
	h := len(spans)
	dot := make([]float64, h*h)
	for i := 0; i < h; i++ {
		for j := i; j < h; j++ {
			if alike(spans[i], spans[j]) {
				dot[i*h+j] = spanDot(w, spans[i], spans[j])
			}
		}
	}
	var total float64
	for i := 0; i < h; i++ {
		for j := i + 1; j < h; j++ {
			ni, nj := math.Sqrt(dot[i*h+i]), math.Sqrt(dot[j*h+j])
			if !alike(spans[i], spans[j]) || ni == 0 || nj == 0 {
				continue
			}
			c := dot[i*h+j] / (ni * nj)
			total += c * c
			// d(c²)/dθ_i = 2c (θ_j/(|θ_i||θ_j|) − c θ_i/|θ_i|²), and symmetrically
			a := weight * 2 * c / (ni * nj)
			spanAxpy(g, w, spans[i], spans[j], a)
			spanAxpy(g, w, spans[i], spans[i], -weight*2*c*c/(ni*ni))
			spanAxpy(g, w, spans[j], spans[i], a)
			spanAxpy(g, w, spans[j], spans[j], -weight*2*c*c/(nj*nj))
		}
	}
	return total
}

// alike reports whether two span lists have the same lengths in order.
func alike(a, b []nn.Span) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k].Len != b[k].Len {
			return false
		}
	}
	return true
}

// spanDot is the dot product of the values of w at spans a and b (alike).
func spanDot(w []float32, a, b []nn.Span) float64 {
	var s float64
	for k := range a {
		x, y := w[a[k].Off:a[k].Off+a[k].Len], w[b[k].Off:b[k].Off+b[k].Len]
		for t := range x {
			s += float64(x[t]) * float64(y[t])
		}
	}
	return s
}

// spanAxpy adds alpha times the values of w at spans src to g at spans dst
// (alike).
func spanAxpy(g, w []float32, dst, src []nn.Span, alpha float64) {
	a := float32(alpha)
	for k := range dst {
		d, x := g[dst[k].Off:dst[k].Off+dst[k].Len], w[src[k].Off:src[k].Off+src[k].Len]
		for t := range d {
			d[t] += a * x[t]
		}
	}
}

// Validate checks the settings, naming the flag at fault; sigma is the
// run's noise σ.
func (s SOME) Validate(sigma float64) error {
	switch {
	case s.Heads == 0:
		return nil
	case s.Heads < 2:
		return fmt.Errorf("train: --some-heads %d, want 0 (off) or at least 2", s.Heads)
	case s.Noises < 0:
		return fmt.Errorf("train: --some-noises %d, want ≥ 1 (0: 2)", s.Noises)
	case !(sigma > 0) || math.IsInf(sigma, 0):
		return fmt.Errorf("train: --some-heads needs the noise of randomized smoothing: --noise-sigma %g, want σ > 0", sigma)
	case s.LambdaLast < 0 || math.IsNaN(s.LambdaLast) || math.IsInf(s.LambdaLast, 0):
		return fmt.Errorf("train: --some-lambda-last %g, want λ > 0 (0: by σ)", s.LambdaLast)
	case math.IsNaN(s.Orth) || math.IsInf(s.Orth, 0):
		return fmt.Errorf("train: --some-orth %g is not a number", s.Orth)
	}
	return nil
}

// withDefaults fills the zero fields for noise σ.
func (s SOME) withDefaults(sigma float64) SOME {
	if s.Noises == 0 {
		s.Noises = 2
	}
	if s.LambdaLast == 0 {
		s.LambdaLast = 0.8
		if sigma <= 0.25 {
			s.LambdaLast = 1.2
		}
	}
	if s.Orth == 0 {
		s.Orth = 1
	} else if s.Orth < 0 {
		s.Orth = 0
	}
	return s
}

// Spec returns the multi-head form of spec with s.Heads heads
// ([nn.MultiHead]), or spec itself when SOME is off.
func (s SOME) Spec(spec nn.Spec) (nn.Spec, error) {
	if s.Heads == 0 {
		return spec, nil
	}
	out, err := nn.MultiHead(spec, s.Heads)
	if err != nil {
		return nn.Spec{}, fmt.Errorf("train: --some-heads: %w", err)
	}
	return out, nil
}

// SOMEObjective is the training loss of SOME as an [Objective]: each call
// draws Noises copies of the batch with Gaussian noise of σ, runs them
// through the multi-head network in training mode, and back-propagates
// [SOMELoss] per head plus Orth times [HeadOrthogonality]. It counts its
// steps to know the epoch, and so λ.
type SOMEObjective struct {
	cfg      SOME
	sigma    float64
	epochs   int
	perEpoch int
	step     int
	rng      *rand.Rand
	xb, z    []float32
	dz       []float32
	spans    [][]nn.Span
	spansOf  *nn.Network
	// Orthogonality is the penalty of the last call, before its weight.
	Orthogonality float64
}

// NewSOMEObjective returns SOME's objective for a run of epochs epochs of
// perEpoch steps with noise σ, seeded by seed.
func NewSOMEObjective(cfg SOME, sigma float64, epochs, perEpoch int, seed uint64) (*SOMEObjective, error) {
	if cfg.Heads == 0 {
		return nil, fmt.Errorf("train: SOME needs --some-heads ≥ 2")
	}
	if err := cfg.Validate(sigma); err != nil {
		return nil, err
	}
	return &SOMEObjective{cfg: cfg.withDefaults(sigma), sigma: sigma, epochs: max(epochs, 1), perEpoch: max(perEpoch, 1),
		rng: rand.New(rand.NewPCG(seed, 0x50e))}, nil
}

// Lambda is the threshold λ of the current epoch.
func (o *SOMEObjective) Lambda(classes int) float64 {
	ep := min(max(o.step-1, 0)/o.perEpoch+1, o.epochs)
	return SOMELambda(ep, o.epochs, classes, o.cfg.LambdaLast)
}

// BatchLoss implements [Objective]. net must be a multi-head *nn.Network
// with cfg.Heads heads. The correct count is the ensemble's (summed
// logits) on the first noisy copy.
func (o *SOMEObjective) BatchLoss(ctx context.Context, net Network, x []float32, y []int, first bool) (float64, int, error) {
	mh, ok := net.(*nn.Network)
	if !ok || mh.NumHeads() != o.cfg.Heads {
		return 0, 0, fmt.Errorf("train: SOME needs a multi-head network with %d heads (nn.MultiHead), got %T", o.cfg.Heads, net)
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	n, k, m, h := len(y), net.NumClasses(), o.cfg.Noises, o.cfg.Heads
	if n == 0 || len(x)%n != 0 {
		return 0, 0, fmt.Errorf("train: SOME batch of %d values for %d labels", len(x), n)
	}
	if first || len(o.xb) != m*len(x) {
		o.step++
		o.xb = grow32(o.xb, m*len(x))
		for j := 0; j < m; j++ {
			c := o.xb[j*len(x) : (j+1)*len(x)]
			for t, v := range x {
				c[t] = v + float32(o.rng.NormFloat64()*o.sigma)
			}
		}
	}
	out := mh.Forward(o.xb, m*n, true)
	correct := 0
	for i := 0; i < n; i++ {
		if metrics.Argmax(out[i*k:(i+1)*k]) == y[i] {
			correct++
		}
	}
	o.z, o.dz = grow32(o.z, h*m*n*k), grow32(o.dz, h*m*n*k)
	if err := mh.HeadLogits(o.z); err != nil {
		return 0, 0, err
	}
	loss, _ := SOMELoss(o.dz, o.z, y, h, m, k, o.Lambda(k))
	if err := mh.BackwardHeads(o.dz); err != nil {
		return 0, 0, err
	}
	if o.cfg.Orth > 0 {
		if o.spansOf != mh {
			spans, err := mh.HeadSpans()
			if err != nil {
				return 0, 0, err
			}
			o.spans, o.spansOf = spans, mh
		}
		o.Orthogonality = HeadOrthogonality(mh.Grads(), mh.Weights(), o.spans, o.cfg.Orth)
		loss += o.cfg.Orth * o.Orthogonality
	}
	return loss, correct, nil
}

// objective returns the SOME objective of the run cfg on n training
// images (the batch size and epochs as [Fit] derives them).
func (s SOME) objective(cfg *RunConfig, n int) (*SOMEObjective, error) {
	bs := cfg.BatchSize
	if bs <= 0 {
		bs = 128
	}
	perEpoch := max(n/min(bs, n), 1)
	epochs := cfg.Epochs
	if cfg.Steps > 0 {
		epochs = (cfg.Steps + perEpoch - 1) / perEpoch
	}
	return NewSOMEObjective(s, cfg.Augment.NoiseSigma, epochs, perEpoch, cfg.Seed)
}

// String describes the settings for a checkpoint's metadata.
func (s SOME) String() string {
	return fmt.Sprintf("%d heads, %d noisy copies, λ_last %g, orthogonality weight %g", s.Heads, s.Noises, s.LambdaLast, s.Orth)
}
