package nn

import (
	"fmt"
	"math"
)

// KindDualBN is the layer kind of dual batch normalization with a fusing
// weight (robustness.md §16, AFA): two batch normalizations of the channel
// (last) axis, one for clean and one for adversarial inputs, each with its
// own affine parameters and running statistics, whose outputs are mixed by
// a fusing weight w ∈ [0, 1] per input,
//
//	y = w·BN_adv(x) + (1 − w)·BN_clean(x).
//
// One small predictor per network gives w, and every dual layer uses it.
// It sits in the first dual layer (which must come before the others in
// the chain, not inside a residual block with another dual layer after it
// in a shortcut): a logistic regression on the log mean square of each of
// the input's channels there, relative to the clean branch's running
// second moment,
//
//	fc = 4·[log(mean over pixels of x² + δ) − log(μc² + σc² + δ)],
//	w = σ(Σ_c u_c fc + b),
//
// with δ = 10⁻⁵, μ, σ² the clean running statistics before the pass (held
// constant) and 4 a fixed gain (the spread of fc across inputs is about
// 0.05–0.2 without it). Its parameters are that layer's "fuse.weight" (u)
// and "fuse.bias" (b), initialised to 0 (w = ½); the branches' are
// "clean.weight", "clean.bias", "adv.weight", "adv.bias", with buffers
// "clean.running_mean" ... "adv.running_var".
//
// In training mode (unless frozen, [Network.FreezeBN]) both branches
// normalise with the batch statistics, and the running statistics of the
// clean branch move with momentum m·(1 − w̄), those of the adversarial
// branch with m·w̄, where w̄ is the batch's mean fusing weight: a batch
// forced to the clean branch ([Network.SetFuse] 0) updates only the clean
// statistics, one forced to 1 only the adversarial ones. In inference mode
// each branch uses its own running statistics. Without a forced weight the
// predicted one is used and differentiated through (every layer's share
// flows back into the predictor), so input gradients (white-box attacks)
// see the whole network.
const KindDualBN = "dualbn"

// fuseDelta keeps the log of a channel's mean square finite.
const fuseDelta = 1e-5

// fuseGain scales the predictor's features, a fixed preconditioning that
// lets SGD at the network's learning rate move the predictor.
const fuseGain = 4

// dualGroup is the fusing weight the dual layers of one network share.
type dualGroup struct {
	n      int
	w      []float32 // n predicted weights of the last forward
	om     []float32 // n weights used
	dw     []float64 // n: Σ over layers of ∂loss/∂ω, filled by backward
	forced bool      // use fuse instead of the predicted weight
	fuse   float32
	extra  []float32 // AddFuseGrad's gradient for the next backward, or nil
	extraB []float32
}

// dualBN is the layer of [KindDualBN].
type dualBN struct {
	c                  int
	gc, bc, ga, ba     *Param // clean and adversarial affine parameters
	u, ub              *Param // fusing predictor (the first dual layer only)
	rmC, rvC, rmA, rvA *Buffer
	st                 *state
	g                  *dualGroup
	owner              bool // this layer predicts the group's weight

	n, p      int // inputs and pixels per input of the last forward
	usedBatch bool
	x         []float32 // the input of the last forward (a view)
	f         []float64 // n×c predictor features (owner)
	e         []float64 // n×c mean squares (owner)
	ref       []float64 // log clean running second moment per channel (owner)
	meanC     []float64 // statistics used by the clean branch (batch or running)
	invC      []float64
	meanA     []float64 // by the adversarial branch
	invA      []float64
	y, dx     []float32
	part      []float64 // per-input partial sums
	dz        []float64
}

func (l *dualBN) setup(in []int, b *builder) ([]int, error) {
	l.c = in[len(in)-1]
	l.st = b.st
	if b.st.dual == nil {
		b.st.dual = &dualGroup{}
		l.owner = true
	}
	l.g = b.st.dual
	l.gc = b.param("clean.weight", []int{l.c}, constInit(1))
	l.bc = b.param("clean.bias", []int{l.c}, constInit(0))
	l.ga = b.param("adv.weight", []int{l.c}, constInit(1))
	l.ba = b.param("adv.bias", []int{l.c}, constInit(0))
	if l.owner {
		l.u = b.param("fuse.weight", []int{l.c}, constInit(0))
		l.ub = b.param("fuse.bias", []int{1}, constInit(0))
	}
	l.rmC = b.buffer("clean.running_mean", []int{l.c}, 0)
	l.rvC = b.buffer("clean.running_var", []int{l.c}, 1)
	l.rmA = b.buffer("adv.running_mean", []int{l.c}, 0)
	l.rvA = b.buffer("adv.running_var", []int{l.c}, 1)
	for _, s := range []*[]float64{&l.meanC, &l.invC, &l.meanA, &l.invA} {
		*s = make([]float64, l.c)
	}
	return in, nil
}

func grow64(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}

func sigmoid64(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// predict computes the group's fusing weights for the n inputs x (owner).
func (l *dualBN) predict(x []float32, n, p int) {
	c, g := l.c, l.g
	g.n = n
	g.w, g.om = grow(g.w, n), grow(g.om, n)
	g.dw = grow64(g.dw, n)
	clear(g.dw)
	l.f, l.e = grow64(l.f, n*c), grow64(l.e, n*c)
	l.ref = grow64(l.ref, c)
	for j := range c {
		m := float64(l.rmC.Data[j])
		l.ref[j] = math.Log(m*m + float64(l.rvC.Data[j]) + fuseDelta)
	}
	u, ub := l.u.W, float64(l.ub.W[0])
	parallelFor(n, 3*p*c, func(lo, hi int) {
		sq := make([]float64, c)
		for i := lo; i < hi; i++ {
			clear(sq)
			for r := i * p; r < (i+1)*p; r++ {
				for j, v := range x[r*c : (r+1)*c] {
					sq[j] += float64(v) * float64(v)
				}
			}
			z := ub
			for j := range c {
				e := sq[j] / float64(p)
				l.e[i*c+j] = e
				l.f[i*c+j] = fuseGain * (math.Log(e+fuseDelta) - l.ref[j])
				z += float64(u[j]) * l.f[i*c+j]
			}
			g.w[i] = float32(sigmoid64(z))
		}
	})
	for i := range n {
		g.om[i] = g.w[i]
		if g.forced {
			g.om[i] = g.fuse
		}
	}
}

func (l *dualBN) forward(x []float32, n int, train bool) []float32 {
	c := l.c
	rows := len(x) / c
	p := rows / n
	l.n, l.p, l.x = n, p, x
	if l.owner {
		l.predict(x, n, p)
	}
	om := l.g.om
	var wbar float64
	for _, w := range om[:n] {
		wbar += float64(w)
	}
	wbar /= float64(n)
	l.usedBatch = train && !l.st.bnFrozen
	if l.usedBatch {
		// Channel sums per input, then combined in input order.
		l.part = grow64(l.part, n*2*c)
		parallelFor(n, 3*p*c, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				s, sq := l.part[i*2*c:i*2*c+c], l.part[i*2*c+c:(i+1)*2*c]
				clear(s)
				clear(sq)
				for r := i * p; r < (i+1)*p; r++ {
					for j, v := range x[r*c : (r+1)*c] {
						f := float64(v)
						s[j] += f
						sq[j] += f * f
					}
				}
			}
		})
		m := float64(l.st.bnMomentum)
		for j := range c {
			var s, sq float64
			for i := range n {
				s += l.part[i*2*c+j]
				sq += l.part[i*2*c+c+j]
			}
			mean := s / float64(rows)
			d := sq - float64(rows)*mean*mean
			v := max(d/float64(rows), 0)
			unbiased := v
			if rows > 1 {
				unbiased = max(d/float64(rows-1), 0)
			}
			for _, b := range []struct {
				rm, rv *Buffer
				m      float64
			}{{l.rmC, l.rvC, m * (1 - wbar)}, {l.rmA, l.rvA, m * wbar}} {
				if b.m > 0 {
					b.rm.Data[j] = float32((1-b.m)*float64(b.rm.Data[j]) + b.m*mean)
					b.rv.Data[j] = float32((1-b.m)*float64(b.rv.Data[j]) + b.m*unbiased)
				}
			}
			l.meanC[j], l.invC[j] = mean, 1/math.Sqrt(v+bnEps)
			l.meanA[j], l.invA[j] = l.meanC[j], l.invC[j]
		}
	} else {
		for j := range c {
			l.meanC[j], l.invC[j] = float64(l.rmC.Data[j]), 1/math.Sqrt(float64(l.rvC.Data[j])+bnEps)
			l.meanA[j], l.invA[j] = float64(l.rmA.Data[j]), 1/math.Sqrt(float64(l.rvA.Data[j])+bnEps)
		}
	}
	l.y = grow(l.y, len(x))
	gc, bc, ga, ba := l.gc.W, l.bc.W, l.ga.W, l.ba.W
	parallelFor(n, 6*p*c, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			w := float64(om[i])
			for r := i * p; r < (i+1)*p; r++ {
				ys := l.y[r*c : (r+1)*c]
				for j, v := range x[r*c : (r+1)*c] {
					hc := (float64(v) - l.meanC[j]) * l.invC[j]
					ha := (float64(v) - l.meanA[j]) * l.invA[j]
					ys[j] = float32(w*(float64(ga[j])*ha+float64(ba[j])) + (1-w)*(float64(gc[j])*hc+float64(bc[j])))
				}
			}
		}
	})
	return l.y
}

func (l *dualBN) backward(dy []float32, needDX bool) []float32 {
	c, n, p := l.c, l.n, l.p
	rows := n * p
	x, g := l.x, l.g
	om := g.om
	gc, bc, ga, ba := l.gc.W, l.bc.W, l.ga.W, l.ba.W
	// Per input: Σ dy·x̂ and Σ dy per channel and branch, and ∂loss/∂ω.
	const k = 4 // dγc, dβc, dγa, dβa per channel
	l.part = grow64(l.part, n*(k*c+1))
	part := l.part
	parallelFor(n, 8*p*c, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			acc := part[i*(k*c+1) : (i+1)*(k*c+1)]
			clear(acc)
			w := float64(om[i])
			var dw float64
			for r := i * p; r < (i+1)*p; r++ {
				for j, v := range x[r*c : (r+1)*c] {
					d := float64(dy[r*c+j])
					hc := (float64(v) - l.meanC[j]) * l.invC[j]
					ha := (float64(v) - l.meanA[j]) * l.invA[j]
					acc[j] += (1 - w) * d * hc
					acc[c+j] += (1 - w) * d
					acc[2*c+j] += w * d * ha
					acc[3*c+j] += w * d
					dw += d * ((float64(ga[j])*ha + float64(ba[j])) - (float64(gc[j])*hc + float64(bc[j])))
				}
			}
			acc[k*c] = dw
		}
	})
	sums := make([]float64, k*c)
	for i := range n {
		for j, v := range part[i*(k*c+1) : i*(k*c+1)+k*c] {
			sums[j] += v
		}
		g.dw[i] += part[i*(k*c+1)+k*c]
	}
	if !l.st.skipParamGrad {
		for j := range c {
			l.gc.G[j] += float32(sums[j])
			l.bc.G[j] += float32(sums[c+j])
			l.ga.G[j] += float32(sums[2*c+j])
			l.ba.G[j] += float32(sums[3*c+j])
		}
	}
	// The owner, last in backward order, turns the layers' ∂loss/∂ω into
	// the gradient of the fusing logits.
	l.dz = grow64(l.dz, n)
	clear(l.dz)
	if l.owner {
		for i := range n {
			var d float64
			if !g.forced {
				w := float64(g.w[i])
				d = g.dw[i] * w * (1 - w)
			}
			if g.extra != nil {
				d += float64(g.extra[i])
			}
			l.dz[i] = d
		}
		g.extra = nil
		clear(g.dw)
		if !l.st.skipParamGrad {
			for j := range c {
				var du float64
				for i := range n {
					du += l.dz[i] * l.f[i*c+j]
				}
				l.u.G[j] += float32(du)
			}
			var db float64
			for i := range n {
				db += l.dz[i]
			}
			l.ub.G[0] += float32(db)
		}
	}
	if !needDX {
		return nil
	}
	l.dx = grow(l.dx, len(dy))
	// With batch statistics both branches share x̂, and the gradient of the
	// output with respect to x̂ is gx = dy·(ω γa + (1−ω) γc):
	//   dx = invStd/M · (M·gx − Σgx − x̂·Σ(gx·x̂)),
	// where Σgx = γa·dβa + γc·dβc and Σ gx·x̂ = γa·dγa + γc·dγc.
	sg, sgx := make([]float64, c), make([]float64, c)
	if l.usedBatch {
		for j := range c {
			sg[j] = float64(gc[j])*sums[c+j] + float64(ga[j])*sums[3*c+j]
			sgx[j] = float64(gc[j])*sums[j] + float64(ga[j])*sums[2*c+j]
		}
	}
	var u []float32
	if l.owner {
		u = l.u.W
	}
	parallelFor(n, 6*p*c, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			w := float64(om[i])
			dz := l.dz[i]
			for r := i * p; r < (i+1)*p; r++ {
				dxs := l.dx[r*c : (r+1)*c]
				for j, v := range x[r*c : (r+1)*c] {
					d := float64(dy[r*c+j])
					var gx float64
					if l.usedBatch {
						h := (float64(v) - l.meanC[j]) * l.invC[j]
						gg := d * (w*float64(ga[j]) + (1-w)*float64(gc[j]))
						gx = l.invC[j] / float64(rows) * (float64(rows)*gg - sg[j] - h*sgx[j])
					} else {
						gx = d * (w*float64(ga[j])*l.invA[j] + (1-w)*float64(gc[j])*l.invC[j])
					}
					if dz != 0 {
						gx += dz * float64(u[j]) * fuseGain * 2 * float64(v) / (float64(p) * (l.e[i*c+j] + fuseDelta))
					}
					dxs[j] = float32(gx)
				}
			}
		}
	})
	return l.dx
}

// NumDualBN is the number of dual batch-norm layers ([KindDualBN]) of the
// network.
func (net *Network) NumDualBN() int { return countDual(net.spec.Layers) }

func countDual(ls []LayerSpec) int {
	k := 0
	for _, l := range ls {
		if l.Kind == KindDualBN {
			k++
		}
		k += countDual(l.Body) + countDual(l.Shortcut)
	}
	return k
}

// SetFuse forces the fusing weight of the dual batch norms ([KindDualBN])
// to w in [0, 1] (0: the clean branches only, 1: the adversarial ones)
// until the next call; a negative w goes back to the predicted weights. It
// is an error for a network without dual batch norms, and for w above 1
// or NaN.
func (net *Network) SetFuse(w float64) error {
	g := net.st.dual
	switch {
	case g == nil:
		return fmt.Errorf("nn: network %q has no dual batch norm", net.spec.Name)
	case math.IsNaN(w) || w > 1:
		return fmt.Errorf("nn: fusing weight %v outside [0, 1] (negative: predicted)", w)
	}
	g.forced, g.fuse = w >= 0, float32(max(w, 0))
	return nil
}

// Fuse returns the fusing weights the predictor gave the inputs of the
// last Forward (one per input), whether or not they were used, or nil
// without dual batch norms; the slice is the network's and valid until
// the next Forward.
func (net *Network) Fuse() []float32 {
	if g := net.st.dual; g != nil {
		return g.w[:g.n]
	}
	return nil
}

// AddFuseGrad adds dz, the gradient of an extra loss with respect to the
// fusing logits zᵢ (wᵢ = σ(zᵢ)) of the last Forward's inputs, to what the
// next Backward propagates into the predictor and the input; it is used
// once. dz must have one value per input.
func (net *Network) AddFuseGrad(dz []float32) error {
	g := net.st.dual
	switch {
	case g == nil:
		return fmt.Errorf("nn: network %q has no dual batch norm", net.spec.Name)
	case len(dz) != g.n:
		return fmt.Errorf("nn: %d fusing-logit gradients for %d inputs", len(dz), g.n)
	}
	g.extraB = append(g.extraB[:0], dz...)
	g.extra = g.extraB
	return nil
}

// WithDualBN returns s with every batch-norm layer (in residual blocks
// too) replaced by a dual one ([KindDualBN]) and its name suffixed with
// "-dual".
func WithDualBN(s Spec) Spec {
	var repl func([]LayerSpec) []LayerSpec
	repl = func(ls []LayerSpec) []LayerSpec {
		if ls == nil {
			return nil
		}
		out := make([]LayerSpec, len(ls))
		for i, l := range ls {
			if l.Kind == KindBatchNorm {
				l.Kind = KindDualBN
			}
			l.Body, l.Shortcut = repl(l.Body), repl(l.Shortcut)
			out[i] = l
		}
		return out
	}
	s.Layers = repl(s.Layers)
	s.Name += "-dual"
	return s
}
