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
	ca, cx, c0      []float32 // per-channel coefficients of the input gradient
	acc             []float64 // per-worker partial sums
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
	l.ca, l.cx, l.c0 = make([]float32, l.c), make([]float32, l.c), make([]float32, l.c)
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
		sums := l.partials(rows, func(acc []float64, r int) {
			for j, v := range x[r*c : (r+1)*c] {
				f := float64(v)
				acc[j] += f
				acc[c+j] += f * f
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
	l.xhat = grow(l.xhat, len(x))
	l.y = grow(l.y, len(x))
	mean32, inv32 := l.mean32, l.inv32
	for j := range mean32 {
		mean32[j], inv32[j] = float32(l.mean[j]), float32(l.invStd[j])
	}
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
	l.partialsDY(dy, rows)
	if !l.st.skipParamGrad {
		for j := range l.dgamma {
			l.gamma.G[j] += float32(l.dgamma[j])
			l.beta.G[j] += float32(l.dbeta[j])
		}
	}
	if !needDX {
		return nil
	}
	l.dx = grow(l.dx, len(dy))
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

// partials runs add over rows 0..rows-1 in chunks, one per worker, each
// into its own accumulator of 2c values, and returns their sum taken in chunk
// order (deterministic for a given core count).
func (l *batchNorm) partials(rows int, add func(acc []float64, r int)) []float64 {
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
			for r := lo; r < hi; r++ {
				add(a, r)
			}
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
	sums := l.partials(rows, func(acc []float64, r int) {
		xh := xhat[r*c : (r+1)*c]
		for j, d := range dy[r*c : (r+1)*c] {
			acc[j] += float64(d * xh[j])
			acc[c+j] += float64(d)
		}
	})
	copy(l.dgamma, sums[:c])
	copy(l.dbeta, sums[c:])
}
