package nn

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/trustml/trustml/internal/linalg"
)

// The inference path ([Network.Infer]) runs the same layers as an
// inference-mode [Network.Forward] but fuses what training must keep apart:
//
//   - a batch norm after a convolution is folded into the convolution's
//     weights and bias (W' = γ/σ·W, b' = γ/σ·(b − μ) + β, with the running
//     statistics), so it costs nothing per pixel;
//   - the bias, a following ReLU and a following non-overlapping max pooling
//     are applied in the GEMM's epilogue, while the GEMM's output block is
//     still in cache;
//   - the batch is split over the cores one sample at a time, each core
//     building the patch matrix of a band of output rows small enough to
//     stay in its cache and multiplying it by a single-threaded GEMM.
//
// The results equal Forward's up to float32 rounding (folding reassociates
// the batch-norm arithmetic); the tests bound the difference.

// inferBandFlops bounds the multiply-adds of one band's GEMM (rows × out ×
// K), so that its patch block and output block stay in a core's L2 cache,
// and inferBandRows its rows, so that the GEMM runs on the calling goroutine
// (gonum's splits products of more than three 64-row blocks).
var (
	inferBandFlops = 1 << 20
	inferBandRows  = 128
)

// inferer is a layer with its own inference path.
type inferer interface {
	infer(x []float32, n int) []float32
}

// epilogue is what a convolution's inference path applies to its GEMM
// output besides the bias: a folded batch norm, a ReLU, a max pooling.
type epilogue struct {
	bn   *batchNorm
	relu bool
	pool *pool
}

// infer runs the chain in inference mode, fusing each convolution with the
// batch norm, ReLU and max pooling that directly follow it.
func (s seq) infer(x []float32, n int) []float32 {
	for i := 0; i < len(s); i++ {
		switch l := s[i].(type) {
		case *conv:
			var e epilogue
			j := i + 1
			if j < len(s) {
				if bn, ok := s[j].(*batchNorm); ok {
					e.bn, j = bn, j+1
				}
			}
			if j < len(s) {
				if _, ok := s[j].(*relu); ok {
					e.relu, j = true, j+1
				}
			}
			if j < len(s) {
				if p, ok := s[j].(*pool); ok && p.max && p.k == p.stride {
					e.pool, j = p, j+1
				}
			}
			x = l.infer(x, n, e)
			i = j - 1
		case *dense:
			r := i+1 < len(s)
			if r {
				_, r = s[i+1].(*relu)
			}
			x = l.infer(x, n, r)
			if r {
				i++
			}
		case inferer:
			x = l.infer(x, n)
		default:
			x = l.forward(x, n, false)
		}
	}
	return x
}

// infer implements [inferer] for residual blocks.
func (l *residual) infer(x []float32, n int) []float32 {
	a := l.body.infer(x, n)
	s := x
	if len(l.short) > 0 {
		s = l.short.infer(x, n)
	}
	l.y = grow(l.y, len(a))
	for i := range a {
		l.y[i] = a[i] + s[i]
	}
	return l.y
}

// infer is the dense layer's inference path: the forward pass with an
// optional ReLU applied in place.
func (l *dense) infer(x []float32, n int, relu bool) []float32 {
	y := l.forward(x, n, false)
	if relu {
		parallelFor(len(y), 1, func(lo, hi int) {
			for i, v := range y[lo:hi] {
				y[lo+i] = max(v, 0)
			}
		})
	}
	return y
}

// inferScratch is one worker's patch and output blocks.
type inferScratch struct{ col, y []float32 }

// foldWeights fills l.wf (K×out, the transposed weights) and l.bf (out)
// with the convolution's weights and bias, with the batch norm bn folded in
// when it is not nil.
func (l *conv) foldWeights(bn *batchNorm) {
	K, out := l.kdim(), l.out
	l.wf = grow(l.wf, K*out)
	l.bf = grow(l.bf, out)
	for o := 0; o < out; o++ {
		w := l.wt.W[o*K : (o+1)*K]
		if bn == nil {
			for k, v := range w {
				l.wf[k*out+o] = v
			}
			l.bf[o] = l.b.W[o]
			continue
		}
		s := float64(bn.gamma.W[o]) / math.Sqrt(float64(bn.runVar.Data[o])+bnEps)
		for k, v := range w {
			l.wf[k*out+o] = float32(s * float64(v))
		}
		l.bf[o] = float32(s*(float64(l.b.W[o])-float64(bn.runMean.Data[o])) + float64(bn.beta.W[o]))
	}
}

// band is the number of output rows of one GEMM block: a multiple of step
// (the pooling stride, so that pooling windows never straddle blocks), at
// most oh rounded up to step.
func (l *conv) band(step int) int {
	perRow := max(l.ow*l.out*l.kdim(), 1)
	b := max(min(inferBandFlops/perRow, inferBandRows/max(l.ow, 1))/step, 1) * step
	return min(b, (l.oh+step-1)/step*step)
}

// infer is the convolution's inference path with epilogue e (see the
// comment at the top of this file).
func (l *conv) infer(x []float32, n int, e epilogue) []float32 {
	l.foldWeights(e.bn)
	K, out := l.kdim(), l.out
	step, oh, ow := 1, l.oh, l.ow
	if e.pool != nil {
		step = e.pool.stride
		oh, ow = e.pool.oh, e.pool.ow
	}
	band := l.band(step)
	inSize, outSize := l.h*l.w*l.c, oh*ow*out
	l.y = grow(l.y, n*outSize)
	workers := min(runtime.GOMAXPROCS(0), n)
	for len(l.scratch) < workers {
		l.scratch = append(l.scratch, &inferScratch{})
	}
	var next atomic.Int64
	work := func(sc *inferScratch) {
		if !l.direct {
			sc.col = grow(sc.col, band*l.ow*K)
		}
		sc.y = grow(sc.y, band*l.ow*out)
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			xs, ys := x[i*inSize:(i+1)*inSize], l.y[i*outSize:(i+1)*outSize]
			for oy0 := 0; oy0 < l.oh; oy0 += band {
				oy1 := min(oy0+band, l.oh)
				rows := (oy1 - oy0) * l.ow
				var col []float32
				if l.direct {
					col = xs[oy0*l.ow*K : oy1*l.ow*K]
				} else {
					col = sc.col[:rows*K]
					l.im2colRows(col, xs, oy0, oy1)
				}
				linalg.Sgemm(false, false, rows, out, K, 1, col, K, l.wf, out, 0, sc.y, out)
				if e.pool != nil {
					l.poolEpilogue(ys, sc.y, oy0, oy1, e)
				} else {
					l.epilogue(ys[oy0*l.ow*out:oy1*l.ow*out], sc.y[:rows*out], e.relu)
				}
			}
		}
	}
	if workers <= 1 {
		work(l.scratch[0])
		return l.y
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(l.scratch[w])
		}()
	}
	wg.Wait()
	return l.y
}

// epilogue writes y + bias, clamped at zero when relu is set, to dst.
func (l *conv) epilogue(dst, y []float32, relu bool) {
	out := l.out
	for r := 0; r < len(y); r += out {
		d, s := dst[r:r+out], y[r:r+out]
		if relu {
			for o, v := range s {
				d[o] = max(v+l.bf[o], 0)
			}
		} else {
			for o, v := range s {
				d[o] = v + l.bf[o]
			}
		}
	}
}

// poolEpilogue max-pools the GEMM output y of output rows oy0..oy1-1 (the
// pooling stride divides oy0), adds the bias and applies the ReLU, into the
// sample's pooled output ys. Adding the bias after the maximum gives the
// same value as before it: rounding is monotone.
func (l *conv) poolEpilogue(ys, y []float32, oy0, oy1 int, e epilogue) {
	p, out := e.pool, l.out
	if p.k == 2 {
		l.pool2Epilogue(ys, y, oy0, oy1, e)
		return
	}
	for py := oy0 / p.stride; py < p.oh && py*p.stride+p.k <= oy1; py++ {
		for px := 0; px < p.ow; px++ {
			d := ys[(py*p.ow+px)*out : (py*p.ow+px+1)*out]
			first := ((py*p.stride-oy0)*l.ow + px*p.stride) * out
			copy(d, y[first:first+out])
			for ky := 0; ky < p.k; ky++ {
				for kx := 0; kx < p.k; kx++ {
					if ky == 0 && kx == 0 {
						continue
					}
					q := ((py*p.stride+ky-oy0)*l.ow + px*p.stride + kx) * out
					for o, v := range y[q : q+out] {
						d[o] = max(d[o], v)
					}
				}
			}
			if e.relu {
				for o, v := range d {
					d[o] = max(v+l.bf[o], 0)
				}
			} else {
				for o, v := range d {
					d[o] = v + l.bf[o]
				}
			}
		}
	}
}

// Infer runs n inputs x (NCHW, n×InputSize values) through the network in
// inference mode and returns the n×K logits, owned by the network and valid
// until the next call. It computes what Forward(x, n, false) computes, up to
// float32 rounding, faster: batch norms are folded into the convolutions
// before them, and bias, ReLU and max pooling run in the convolution's
// GEMM epilogue. The pass cannot be differentiated: [Network.Backward] must
// follow a [Network.Forward].
func (net *Network) Infer(x []float32, n int) []float32 {
	if len(x) != n*net.inSize {
		panic(fmt.Sprintf("nn: Infer got %d values for %d inputs of size %d", len(x), n, net.inSize))
	}
	net.n = n
	net.inferred = true
	in := x
	if len(net.inShape) == 3 && net.inShape[0] > 1 {
		net.xbuf = grow(net.xbuf, len(x))
		nchwToNHWC(net.xbuf, x, n, net.inShape[0], net.inShape[1]*net.inShape[2])
		in = net.xbuf
	}
	net.logits = net.layers.infer(in, n)
	return net.logits
}

// pool2Epilogue is poolEpilogue for 2×2 windows with stride 2: a vertical
// maximum of row pairs (in place, over long contiguous runs), then the
// horizontal maximum of column pairs with bias and ReLU.
func (l *conv) pool2Epilogue(ys, y []float32, oy0, oy1 int, e epilogue) {
	p, out := e.pool, l.out
	rowLen := l.ow * out
	bias := l.bf[:out]
	for py := oy0 / 2; py < p.oh && 2*py+2 <= oy1; py++ {
		r0 := y[(2*py-oy0)*rowLen : (2*py-oy0+1)*rowLen]
		r1 := y[(2*py-oy0+1)*rowLen : (2*py-oy0+2)*rowLen]
		r1 = r1[:len(r0)]
		i0 := 0
		if avx2Kernels && len(r1) >= 8 {
			i0 = len(r1) &^ 7
			vmaxAVX2(&r0[0], &r1[0], i0)
		}
		for i := i0; i < len(r1); i++ {
			r0[i] = max(r0[i], r1[i])
		}
		for px := 0; px < p.ow; px++ {
			d := ys[(py*p.ow+px)*out : (py*p.ow+px+1)*out]
			a := r0[2*px*out : (2*px+1)*out]
			b := r0[(2*px+1)*out : (2*px+2)*out]
			a, b, bias := a[:len(d)], b[:len(d)], bias[:len(d)]
			o0 := 0
			if avx2Kernels && len(d) >= 8 {
				o0 = len(d) &^ 7
				pool2BiasAVX2(&d[0], &a[0], &b[0], &bias[0], o0, e.relu)
			}
			if e.relu {
				for o := o0; o < len(d); o++ {
					d[o] = max(max(a[o], b[o])+bias[o], 0)
				}
			} else {
				for o := o0; o < len(d); o++ {
					d[o] = max(a[o], b[o]) + bias[o]
				}
			}
		}
	}
}
