package nn

import (
	"math"
	"runtime"
	"sync"
)

// bnEps is the variance epsilon of batch normalization (PyTorch's default).
const bnEps = 1e-5

// batchNorm normalizes each channel (the last axis) over the batch and all
// pixels. In training mode it uses the batch statistics and updates the
// running statistics with the network's momentum (PyTorch convention: the
// running variance uses the unbiased batch variance); in inference mode, or
// when frozen, it uses the running statistics.
type batchNorm struct {
	c               int
	gamma, beta     *Param
	runMean, runVar *Buffer
	st              *state
	rows            int
	usedBatch       bool
	mean, invStd    []float64
	xhat, y, dx     []float32
	dgamma, dbeta   []float64
	mean32, inv32   []float32 // float32 copies of mean and invStd
	ca, cx, c0, az  []float32 // per-channel coefficients of the input gradient
	acc             []float64 // per-worker partial sums
	// pool: a coded max pooling (after a ReLU) that applies this batch
	// norm (see [pool]); forward then keeps only its input x and the
	// statistics.
	pool *pool
	x    []float32
	// conv: the convolution before, which asks for this layer's input
	// gradient band by band ([batchNorm.dxRows]) instead of a whole
	// batch of it (see [conv.backward]); pooledDY is the pooled gradient
	// of the last backward.
	conv     *conv
	pooledDY []float32
}

func (l *batchNorm) setup(in []int, b *builder) ([]int, error) {
	l.c = in[len(in)-1]
	l.st = b.st
	l.gamma = b.param("weight", []int{l.c}, constInit(1))
	l.beta = b.param("bias", []int{l.c}, constInit(0))
	l.runMean = b.buffer("running_mean", []int{l.c}, 0)
	l.runVar = b.buffer("running_var", []int{l.c}, 1)
	l.mean = make([]float64, l.c)
	l.invStd = make([]float64, l.c)
	l.dgamma = make([]float64, l.c)
	l.dbeta = make([]float64, l.c)
	l.mean32, l.inv32 = make([]float32, l.c), make([]float32, l.c)
	l.ca, l.cx, l.c0, l.az = make([]float32, l.c), make([]float32, l.c), make([]float32, l.c), make([]float32, l.c)
	return in, nil
}

func (l *batchNorm) forward(x []float32, n int, train bool) []float32 {
	c := l.c
	rows := len(x) / c
	l.rows = rows
	l.usedBatch = train && !l.st.bnFrozen
	if l.usedBatch {
		// One pass of per-channel sums and sums of squares in float64,
		// split over workers and combined in a fixed order.
		sums := l.partials(rows, func(acc []float64, lo, hi int) {
			if avx2Kernels && c%8 == 0 {
				if hi > lo {
					bnStatsAVX2(&acc[0], &x[lo*c], hi-lo, c)
				}
				return
			}
			for r := lo; r < hi; r++ {
				for j, v := range x[r*c : (r+1)*c] {
					f := float64(v)
					acc[j] += f
					acc[c+j] += f * f
				}
			}
		})
		m := float64(l.st.bnMomentum)
		for j := 0; j < c; j++ {
			mean := sums[j] / float64(rows)
			sq := sums[c+j] - float64(rows)*mean*mean
			v := max(sq/float64(rows), 0)
			l.mean[j] = mean
			if m > 0 {
				unbiased := v
				if rows > 1 {
					unbiased = max(sq/float64(rows-1), 0)
				}
				l.runMean.Data[j] = float32((1-m)*float64(l.runMean.Data[j]) + m*mean)
				l.runVar.Data[j] = float32((1-m)*float64(l.runVar.Data[j]) + m*unbiased)
			}
			l.invStd[j] = 1 / math.Sqrt(v+bnEps)
		}
	} else {
		for j := range l.mean {
			l.mean[j] = float64(l.runMean.Data[j])
			l.invStd[j] = 1 / math.Sqrt(float64(l.runVar.Data[j])+bnEps)
		}
	}
	mean32, inv32 := l.mean32, l.inv32
	for j := range mean32 {
		mean32[j], inv32[j] = float32(l.mean[j]), float32(l.invStd[j])
	}
	if l.pool != nil {
		l.x = x
		return x
	}
	l.xhat = grow(l.xhat, len(x))
	l.y = grow(l.y, len(x))
	g, b := l.gamma.W, l.beta.W
	parallelFor(rows, 4*c, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xs, xh, ys := x[r*c:(r+1)*c], l.xhat[r*c:(r+1)*c], l.y[r*c:(r+1)*c]
			for j, v := range xs {
				h := (v - mean32[j]) * inv32[j]
				xh[j] = h
				ys[j] = g[j]*h + b[j]
			}
		}
	})
	return l.y
}

func (l *batchNorm) backward(dy []float32, needDX bool) []float32 {
	c, rows := l.c, l.rows
	if l.pool != nil {
		l.partialsPooled(dy)
	} else {
		l.partialsDY(dy, rows)
	}
	if !l.st.skipParamGrad {
		for j := range l.dgamma {
			l.gamma.G[j] += float32(l.dgamma[j])
			l.beta.G[j] += float32(l.dbeta[j])
		}
	}
	if !needDX {
		return nil
	}
	// With batch statistics:
	//   dx = γ·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂)).
	// With running statistics the normalization is a fixed affine map:
	//   dx = γ·invStd·dy.
	a, bx, b0 := l.ca, l.cx, l.c0
	for j := range a {
		s := float64(l.gamma.W[j]) * l.invStd[j]
		a[j] = float32(s)
		if l.usedBatch {
			bx[j] = float32(-s * l.dgamma[j] / float64(rows))
			b0[j] = float32(-s * l.dbeta[j] / float64(rows))
		} else {
			bx[j], b0[j] = 0, 0
		}
	}
	if l.conv != nil {
		// The convolution before computes the input gradient band by
		// band, with dxRows.
		l.pooledDY = dy
		return dy
	}
	l.dx = grow(l.dx, rows*c)
	if l.pool != nil {
		l.dxPooled(dy)
		return l.dx
	}
	parallelFor(rows, 3*c, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xh, dxs := l.xhat[r*c:(r+1)*c], l.dx[r*c:(r+1)*c]
			for j, d := range dy[r*c : (r+1)*c] {
				dxs[j] = a[j]*d + bx[j]*xh[j] + b0[j]
			}
		}
	})
	return l.dx
}

// partials runs add over rows 0..rows-1 in chunks [lo, hi), one per worker,
// each into its own accumulator of 2c values, and returns their sum taken in
// chunk order (deterministic for a given core count).
func (l *batchNorm) partials(rows int, add func(acc []float64, lo, hi int)) []float64 {
	c := l.c
	workers := min(runtime.GOMAXPROCS(0), max(rows*c/(1<<14), 1))
	if cap(l.acc) < workers*2*c {
		l.acc = make([]float64, workers*2*c)
	}
	acc := l.acc[:workers*2*c]
	for i := range acc {
		acc[i] = 0
	}
	chunk := (rows + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, rows)
		a := acc[w*2*c : (w+1)*2*c]
		wg.Add(1)
		go func() {
			defer wg.Done()
			add(a, lo, hi)
		}()
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		for j, v := range acc[w*2*c : (w+1)*2*c] {
			acc[j] += v
		}
	}
	return acc[:2*c]
}

// partialsDY accumulates dgamma = Σ dy·x̂ and dbeta = Σ dy per channel.
func (l *batchNorm) partialsDY(dy []float32, rows int) {
	c := l.c
	xhat := l.xhat
	sums := l.partials(rows, func(acc []float64, lo, hi int) {
		for r := lo; r < hi; r++ {
			xh := xhat[r*c : (r+1)*c]
			for j, d := range dy[r*c : (r+1)*c] {
				acc[j] += float64(d * xh[j])
				acc[c+j] += float64(d)
			}
		}
	})
	copy(l.dgamma, sums[:c])
	copy(l.dbeta, sums[c:])
}

// pooledRows walks rows lo..hi-1 (pixels of the batch, in order) for the
// fused pooling, calling f with each row, the pooled gradient and codes of
// its window's output (nil when no window covers it) and its position in
// the window.
func (l *batchNorm) pooledRows(dy []float32, lo, hi int, f func(r int, do []float32, co []uint8, idx uint8)) {
	p, c := l.pool, l.c
	hw, out, k := p.h*p.w, p.oh*p.ow*c, p.k
	i, px := lo/hw, lo%hw
	iy, ix := px/p.w, px%p.w
	oy, ky, ox, kx := iy/k, iy%k, ix/k, ix%k
	for r := lo; r < hi; r++ {
		if oy < p.oh && ox < p.ow {
			o := i*out + (oy*p.ow+ox)*c
			f(r, dy[o:o+c], p.codes[o:o+c], uint8(ky*k+kx))
		} else {
			f(r, nil, nil, 0)
		}
		if kx++; kx == k {
			kx, ox = 0, ox+1
		}
		if ix++; ix == p.w {
			ix, ox, kx = 0, 0, 0
			if ky++; ky == k {
				ky, oy = 0, oy+1
			}
			if iy++; iy == p.h {
				iy, oy, ky = 0, 0, 0
				i++
			}
		}
	}
}

// partialsPooled is partialsDY for a batch norm fused into a pooling: dy is
// the pooled gradient, and each row's output gradient and x̂ are recomputed
// from the codes and the input, exactly as the separate layers stored them.
// Rows and channels are summed in the same order, so the sums are the same.
func (l *batchNorm) partialsPooled(dy []float32) {
	c, x, mean, inv := l.c, l.x, l.mean32[:l.c], l.inv32[:l.c]
	zero := zero32
	sums := l.partials(l.rows, func(acc []float64, lo, hi int) {
		sg, sb := acc[:c], acc[c:2*c]
		l.pooledRows(dy, lo, hi, func(r int, do []float32, co []uint8, idx uint8) {
			if do == nil {
				return // a zero gradient adds nothing
			}
			xs := x[r*c : (r+1)*c]
			do, co = do[:len(xs)], co[:len(xs)]
			m, iv, g, b := mean[:len(xs)], inv[:len(xs)], sg[:len(xs)], sb[:len(xs)]
			j0 := 0
			if avx2Kernels && len(xs) >= 8 {
				j0 = len(xs) &^ 7
				bnPartialsAVX2(&g[0], &b[0], &xs[0], &m[0], &iv[0], &do[0], &co[0], uint32(idx)+1, zero, j0)
			}
			for j := j0; j < len(xs); j++ {
				v := xs[j]
				d := windowGrad(do[j], co[j], idx, zero)
				xh := (v - m[j]) * iv[j]
				g[j] += float64(d * xh)
				b[j] += float64(d)
			}
		})
	})
	copy(l.dgamma, sums[:c])
	copy(l.dbeta, sums[c:])
}

// dxPooled is the input-gradient pass of backward for a batch norm fused
// into a pooling (see [batchNorm.partialsPooled]), one sample at a time:
// every input first gets the gradient of a zero output gradient,
// (a·0 + bx·x̂) + b0, then the one input of each window that the pooling's
// code names gets a·d + bx·x̂ + b0; the same expressions, in the same
// float32 operations, as the separate layers.
func (l *batchNorm) dxPooled(dy []float32) {
	p, c := l.pool, l.c
	x, mean, inv := l.x, l.mean32[:c], l.inv32[:c]
	a, bx, b0 := l.ca[:c], l.cx[:c], l.c0[:c]
	zero := zero32
	az := l.az[:c]
	for j := range az {
		az[j] = a[j] * zero
	}
	in, out := p.h*p.w*c, p.oh*p.ow*c
	parallelFor(l.rows/(p.h*p.w), 3*in, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xs, dxs := x[i*in:(i+1)*in], l.dx[i*in:(i+1)*in]
			for r := 0; r < len(xs); r += c {
				xr := xs[r : r+c]
				// Resliced to one length, the loop has no bounds checks.
				dr, m, iv, z, cx, c0 := dxs[r:r+len(xr)], mean[:len(xr)], inv[:len(xr)], az[:len(xr)], bx[:len(xr)], b0[:len(xr)]
				for j, v := range xr {
					xh := (v - m[j]) * iv[j]
					dr[j] = z[j] + cx[j]*xh + c0[j]
				}
			}
			dys, codes := dy[i*out:(i+1)*out], p.codes[i*out:(i+1)*out]
			for o := 0; o < len(codes); o += c {
				oy, ox := o/c/p.ow, o/c%p.ow
				for j, code := range codes[o : o+c] {
					if code == 0 {
						continue
					}
					ky, kx := int(code-1)/p.k, int(code-1)%p.k
					q := ((oy*p.k+ky)*p.w+ox*p.k+kx)*c + j
					d := dys[o+j] + zero
					xh := (xs[q] - mean[j]) * inv[j]
					dxs[q] = a[j]*d + bx[j]*xh + b0[j]
				}
			}
		}
	})
}

// dxRows writes the input gradient of rows lo..hi-1 to dst, for a batch
// norm whose convolution computes it band by band (see [batchNorm.conv]):
// the expression of the separate layers, with the output gradient of each
// row rebuilt from the pooling's codes.
func (l *batchNorm) dxRows(dst []float32, lo, hi int) {
	c, x, mean, inv := l.c, l.x, l.mean32[:l.c], l.inv32[:l.c]
	a, bx, b0 := l.ca[:c], l.cx[:c], l.c0[:c]
	zero := zero32
	l.pooledRows(l.pooledDY, lo, hi, func(r int, do []float32, co []uint8, idx uint8) {
		xs := x[r*c : (r+1)*c]
		ds, m, iv, ca, cx, c0 := dst[(r-lo)*c:(r-lo)*c+len(xs)], mean[:len(xs)], inv[:len(xs)], a[:len(xs)], bx[:len(xs)], b0[:len(xs)]
		if do == nil {
			for j, v := range xs {
				var d float32
				xh := (v - m[j]) * iv[j]
				ds[j] = ca[j]*d + cx[j]*xh + c0[j]
			}
			return
		}
		do, co = do[:len(xs)], co[:len(xs)]
		j0 := 0
		if avx2Kernels && len(xs) >= 8 {
			j0 = len(xs) &^ 7
			bnDxAVX2(&ds[0], &xs[0], &m[0], &iv[0], &ca[0], &cx[0], &c0[0], &do[0], &co[0], uint32(idx)+1, zero, j0)
		}
		for j := j0; j < len(xs); j++ {
			v := xs[j]
			d := windowGrad(do[j], co[j], idx, zero)
			xh := (v - m[j]) * iv[j]
			ds[j] = ca[j]*d + cx[j]*xh + c0[j]
		}
	})
}
