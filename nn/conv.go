package nn

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/trustml/trustml/internal/linalg"
)

// conv is a 2-D convolution on NHWC activations, computed as im2col + GEMM:
// the patch matrix col has one row per output pixel (n·OH·OW rows) and
// K = kh·kw·C columns, and the output is col·Wᵀ with W of shape
// [out, kh, kw, in].
type conv struct {
	out, k, stride, pad int
	h, w, c             int // input
	oh, ow              int // output
	wt, b               *Param
	st                  *state
	n                   int
	x, col, y           []float32
	dx                  []float32
	dy                  []float32 // the output gradient of the last backward ([Network.Taps])
	direct              bool      // 1×1, stride 1, no padding: col is x itself
	// The training path of other convolutions (see [conv.forward]): col
	// holds the whole patch matrix only once [conv.patches] has built it;
	// dwParts and dbParts hold the per-shard weight and bias gradients, wT
	// the transposed weights, tscratch the per-worker band buffers.
	colFull          bool
	dwParts, dbParts []float32
	wT               []float32
	tscratch         []*convScratch
	// bnNext: a batch norm fused into a pooling after this convolution
	// (see [fuseBNPool]); backward computes its output gradient band by
	// band from it (dyLazy), and [conv.outGrad] builds the whole of it
	// into dy only when asked (dyFull).
	bnNext         *batchNorm
	dyFull, dyLazy bool
	// The inference path (infer.go): folded weights (K×out) and bias, and
	// per-worker blocks.
	wf, bf  []float32
	scratch []*inferScratch
}

func (l *conv) setup(in []int, b *builder) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("convolution needs an image input (H, W, C), got shape %v", in)
	}
	if l.out <= 0 || l.k <= 0 || l.pad < 0 {
		return nil, fmt.Errorf("convolution needs out > 0, kernel > 0, pad ≥ 0 (got %d, %d, %d)", l.out, l.k, l.pad)
	}
	l.h, l.w, l.c = in[0], in[1], in[2]
	l.oh = (l.h+2*l.pad-l.k)/l.stride + 1
	l.ow = (l.w+2*l.pad-l.k)/l.stride + 1
	if l.k > l.h+2*l.pad || l.k > l.w+2*l.pad {
		return nil, fmt.Errorf("convolution kernel %d larger than padded input %dx%d", l.k, l.h+2*l.pad, l.w+2*l.pad)
	}
	l.direct = l.k == 1 && l.stride == 1 && l.pad == 0
	l.st = b.st
	fan := l.k * l.k * l.c
	l.wt = b.param("weight", []int{l.out, l.k, l.k, l.c}, uniformInit(fan))
	l.b = b.param("bias", []int{l.out}, uniformInit(fan))
	return []int{l.oh, l.ow, l.out}, nil
}

func (l *conv) kdim() int { return l.k * l.k * l.c }

// The training passes of a convolution that needs a patch matrix run over
// the batch in trainShards fixed shards of whole samples, spread over the
// cores; each core builds the patch rows of a band of output rows of one
// sample at a time, small enough for its cache, and multiplies them by
// single-threaded GEMMs. Each output and input gradient is the same dot
// product as in one GEMM over the whole patch matrix (bit for bit the same
// in the pure-Go build; OpenBLAS's kernels for small products may round
// differently); the weight and bias gradients are summed per shard, band by
// band, and the shards' sums are added in shard order, so they depend on the
// batch but not on the number of cores.
const (
	trainShards = 16
	// trainBandFlops bounds rows × out × K of a band's GEMMs, below
	// linalg's threshold for splitting a product over goroutines.
	trainBandFlops = 1 << 21
)

// convScratch is one worker's band buffers.
type convScratch struct{ col, dcol, dy []float32 }

// trainBand is the number of output rows of one band of the training path.
func (l *conv) trainBand() int {
	perRow := max(l.ow*l.out*l.kdim(), 1)
	return max(1, min((trainBandFlops-1)/perRow, l.oh))
}

// shards runs body over the trainShards shards of n samples, on up to
// GOMAXPROCS workers, each with its own scratch.
func (l *conv) shards(n int, body func(sc *convScratch, s, lo, hi int)) {
	ns := min(n, trainShards)
	workers := min(runtime.GOMAXPROCS(0), ns)
	for len(l.tscratch) < workers {
		l.tscratch = append(l.tscratch, &convScratch{})
	}
	var next atomic.Int64
	work := func(sc *convScratch) {
		for {
			s := int(next.Add(1)) - 1
			if s >= ns {
				return
			}
			body(sc, s, s*n/ns, (s+1)*n/ns)
		}
	}
	if workers <= 1 {
		work(l.tscratch[0])
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(l.tscratch[w])
		}()
	}
	wg.Wait()
}

// bands calls f for each band of output rows [oy0, oy1) of one sample with
// its patch rows, built in sc.col.
func (l *conv) bands(sc *convScratch, xs []float32, f func(oy0, oy1 int, col []float32)) {
	band, K := l.trainBand(), l.kdim()
	sc.col = grow(sc.col, band*l.ow*K)
	for oy0 := 0; oy0 < l.oh; oy0 += band {
		oy1 := min(oy0+band, l.oh)
		col := sc.col[:(oy1-oy0)*l.ow*K]
		l.im2colRows(col, xs, oy0, oy1)
		f(oy0, oy1, col)
	}
}

func (l *conv) forward(x []float32, n int, _ bool) []float32 {
	l.x, l.n = x, n
	rows, K, out := n*l.oh*l.ow, l.kdim(), l.out
	l.y = grow(l.y, rows*out)
	if l.direct {
		l.col = x
		fillRows(l.y, l.b.W)
		linalg.Sgemm(false, true, rows, out, K, 1, l.col, K, l.wt.W, K, 1, l.y, out)
		return l.y
	}
	l.colFull = false
	if l.dyLazy {
		// A pass without backward has no output gradient.
		l.dyLazy, l.dy = false, nil
	}
	// Wᵀ (K×out), so that the GEMMs pack their B operand by rows rather
	// than by a strided gather, once per band.
	l.wT = grow(l.wT, K*out)
	for o := 0; o < out; o++ {
		for kk, v := range l.wt.W[o*K : (o+1)*K] {
			l.wT[kk*out+o] = v
		}
	}
	inSize, pix := l.h*l.w*l.c, l.oh*l.ow
	l.shards(n, func(sc *convScratch, _, lo, hi int) {
		for i := lo; i < hi; i++ {
			l.bands(sc, x[i*inSize:(i+1)*inSize], func(oy0, oy1 int, col []float32) {
				r0, r1 := i*pix+oy0*l.ow, i*pix+oy1*l.ow
				y := l.y[r0*out : r1*out]
				fillRows(y, l.b.W)
				linalg.Sgemm(false, false, r1-r0, out, K, 1, col, K, l.wT, out, 1, y, out)
			})
		}
	})
	return l.y
}

// patches returns the patch matrix of the last forward pass (n·OH·OW rows
// of K values), building it if the training path has not.
func (l *conv) patches() []float32 {
	if l.direct || l.colFull || l.x == nil {
		return l.col
	}
	K := l.kdim()
	l.col = grow(l.col, l.n*l.oh*l.ow*K)
	parallelFor(l.n, l.oh*l.ow*K, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			l.im2col(l.x, i)
		}
	})
	l.colFull = true
	return l.col
}

// im2col fills the patch rows of sample i.
func (l *conv) im2col(x []float32, i int) {
	K, c := l.kdim(), l.c
	xs := x[i*l.h*l.w*c : (i+1)*l.h*l.w*c]
	l.im2colRows(l.col[i*l.oh*l.ow*K:(i+1)*l.oh*l.ow*K], xs, 0, l.oh)
}

// im2colRows fills col with the patch rows of output rows oy0..oy1-1 of
// one sample xs (H×W×C), one row of K values per output pixel.
func (l *conv) im2colRows(col, xs []float32, oy0, oy1 int) {
	c := l.c
	p := 0
	for oy := oy0; oy < oy1; oy++ {
		for ox := 0; ox < l.ow; ox++ {
			iy0, ix0 := oy*l.stride-l.pad, ox*l.stride-l.pad
			for ky := 0; ky < l.k; ky++ {
				iy := iy0 + ky
				if iy < 0 || iy >= l.h {
					clear32(col[p : p+l.k*c])
					p += l.k * c
					continue
				}
				rowBase := iy * l.w
				if ix0 >= 0 && ix0+l.k <= l.w {
					// The whole kernel row is inside the image: its k
					// taps are k·c contiguous values, copied by a loop
					// when too few for a copy call to pay.
					src, dst := xs[(rowBase+ix0)*c:(rowBase+ix0+l.k)*c], col[p:p+l.k*c]
					if len(src) <= 8 {
						for t, v := range src {
							dst[t] = v
						}
					} else {
						copy(dst, src)
					}
					p += l.k * c
					continue
				}
				if c == 1 {
					// One value per tap: a copy call per value costs more
					// than the value.
					for kx := 0; kx < l.k; kx++ {
						ix := ix0 + kx
						v := float32(0)
						if ix >= 0 && ix < l.w {
							v = xs[rowBase+ix]
						}
						col[p] = v
						p++
					}
					continue
				}
				for kx := 0; kx < l.k; kx++ {
					ix := ix0 + kx
					if ix < 0 || ix >= l.w {
						clear32(col[p : p+c])
					} else {
						copy(col[p:p+c], xs[(rowBase+ix)*c:(rowBase+ix+1)*c])
					}
					p += c
				}
			}
		}
	}
}

// col2imRows adds the patch gradients dcol of output rows oy0..oy1-1 of one
// sample into its input gradient dxs, in the order of the rows.
func (l *conv) col2imRows(dxs, dcol []float32, oy0, oy1 int) {
	c := l.c
	p := 0
	for oy := oy0; oy < oy1; oy++ {
		for ox := 0; ox < l.ow; ox++ {
			iy0, ix0 := oy*l.stride-l.pad, ox*l.stride-l.pad
			for ky := 0; ky < l.k; ky++ {
				iy := iy0 + ky
				if iy < 0 || iy >= l.h {
					p += l.k * c
					continue
				}
				rowBase := iy * l.w
				for kx := 0; kx < l.k; kx++ {
					ix := ix0 + kx
					if ix >= 0 && ix < l.w {
						d := dxs[(rowBase+ix)*c : (rowBase+ix+1)*c]
						for j, v := range dcol[p : p+c] {
							d[j] += v
						}
					}
					p += c
				}
			}
		}
	}
}

// outGrad returns the output gradient of the last backward pass (nil
// before one), building it if the pass computed it band by band.
func (l *conv) outGrad() []float32 {
	if !l.dyLazy || l.dyFull {
		return l.dy
	}
	l.dy = grow(l.dy, l.n*l.oh*l.ow*l.out)
	parallelFor(l.n, l.oh*l.ow*l.out, func(lo, hi int) {
		pix := l.oh * l.ow
		l.bnNext.dxRows(l.dy[lo*pix*l.out:hi*pix*l.out], lo*pix, hi*pix)
	})
	l.dyFull = true
	return l.dy
}

func (l *conv) backward(dy []float32, needDX bool) []float32 {
	rows, K, out := l.n*l.oh*l.ow, l.kdim(), l.out
	lazy := l.bnNext != nil
	// With lazy, dy is the pooled gradient; each band's rows of the real
	// one come from the batch norm, and l.dy keeps its buffer for outGrad.
	l.dyLazy, l.dyFull = lazy, !lazy
	if !lazy {
		l.dy = dy
	}
	needW := !l.st.skipParamGrad
	if l.direct {
		if needW {
			addColSums(l.b.G, dy, rows, out)
			linalg.Sgemm(true, false, out, K, rows, 1, dy, out, l.col, K, 1, l.wt.G, K)
		}
		if !needDX {
			return nil
		}
		l.dx = grow(l.dx, rows*K)
		linalg.Sgemm(false, false, rows, K, out, 1, dy, out, l.wt.W, K, 0, l.dx, K)
		return l.dx
	}
	if !needW && !needDX {
		return nil
	}
	ns := min(l.n, trainShards)
	if needW {
		l.dwParts = grow(l.dwParts, ns*out*K)
		l.dbParts = grow(l.dbParts, ns*out)
	}
	inSize, pix := l.h*l.w*l.c, l.oh*l.ow
	if needDX {
		l.dx = grow(l.dx, l.n*inSize)
	}
	band := l.trainBand()
	// The GEMM packs its B operand band by band: the patch rows for
	// dyᵀ·col, the output gradient for the transposed colᵀ·dy. tw picks
	// the narrower.
	tw := out <= K
	l.shards(l.n, func(sc *convScratch, s, lo, hi int) {
		var dw, db []float32
		if needW {
			dw = l.dwParts[s*out*K : (s+1)*out*K]
			db = l.dbParts[s*out : (s+1)*out]
			clear32(dw)
			clear32(db)
		}
		if needDX {
			sc.dcol = grow(sc.dcol, band*l.ow*K)
		}
		if lazy {
			sc.dy = grow(sc.dy, band*l.ow*out)
		}
		for i := lo; i < hi; i++ {
			var dxs []float32
			if needDX {
				dxs = l.dx[i*inSize : (i+1)*inSize]
				clear32(dxs)
			}
			l.bands(sc, l.x[i*inSize:(i+1)*inSize], func(oy0, oy1 int, col []float32) {
				r0, r1 := i*pix+oy0*l.ow, i*pix+oy1*l.ow
				var dyb []float32
				if lazy {
					dyb = sc.dy[:(r1-r0)*out]
					l.bnNext.dxRows(dyb, r0, r1)
				} else {
					dyb = dy[r0*out : r1*out]
				}
				if needW {
					addColSums(db, dyb, r1-r0, out)
				}
				switch {
				case needW && tw:
					linalg.Sgemm(true, false, K, out, r1-r0, 1, col, K, dyb, out, 1, dw, out)
				case needW:
					linalg.Sgemm(true, false, out, K, r1-r0, 1, dyb, out, col, K, 1, dw, K)
				}
				if needDX {
					dcol := sc.dcol[:(r1-r0)*K]
					linalg.Sgemm(false, false, r1-r0, K, out, 1, dyb, out, l.wt.W, K, 0, dcol, K)
					l.col2imRows(dxs, dcol, oy0, oy1)
				}
			})
		}
	})
	if needW {
		for s := range ns {
			for j, v := range l.dbParts[s*out : (s+1)*out] {
				l.b.G[j] += v
			}
		}
	}
	if needW {
		// Shard sums in shard order; the gradient is out×K, the parts
		// too or, when tw, K×out.
		g := l.wt.G
		for s := range ns {
			part := l.dwParts[s*out*K : (s+1)*out*K]
			if !tw {
				for j, v := range part {
					g[j] += v
				}
				continue
			}
			for o := 0; o < out; o++ {
				gr := g[o*K : (o+1)*K]
				for kk := range gr {
					gr[kk] += part[kk*out+o]
				}
			}
		}
	}
	if !needDX {
		return nil
	}
	return l.dx
}
