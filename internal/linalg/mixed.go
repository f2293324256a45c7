package linalg

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Dsposv solves A·X = B for a symmetric positive definite A by LAPACK
// dsposv's mixed-precision scheme: a Cholesky factorization in float32
// (twice the float64 flop rate, half the memory traffic) followed by
// iterative refinement with float64 residuals, x ← x + A₃₂⁻¹(b − A·x),
// until every column satisfies ‖b − A·x‖∞ ≤ ‖x‖∞·‖A‖∞·ε·√n (ε = 2⁻⁵³), the
// accuracy of a float64 Cholesky solve. The refinement converges when
// cond(A)·2⁻²⁴ is well below 1.
//
// Only the lower triangle of the n×n matrix A is read, and A is not
// modified; B is n×nrhs and is not modified; X (n×nrhs, ldx) receives the solution. It
// returns the number of refinement steps and ok = false, with X
// unspecified, when the float32 factorization fails (A not positive
// definite in float32, or entries out of float32 range) or 30 steps do not
// converge; solve with [Dpotrf] and [Dpotrs] then.
func Dsposv(n, nrhs int, a []float64, lda int, b []float64, ldb int, x []float64, ldx int) (iter int, ok bool) {
	if n == 0 || nrhs == 0 {
		return 0, true
	}
	if !fits(len(a), n, n, lda) || !fits(len(b), n, nrhs, ldb) || !fits(len(x), n, nrhs, ldx) {
		panic("linalg: sposv slice too short for its shape")
	}
	anorm := parSymOneNorm(n, a, lda) // = ‖A‖∞ for symmetric A
	if !(anorm > 0) || math.IsInf(anorm, 0) {
		return 0, false
	}
	l := make([]float32, n*n)
	parFor(runtime.GOMAXPROCS(0)*4, func(p int) {
		parts := runtime.GOMAXPROCS(0) * 4
		for i := p * n / parts; i < (p+1)*n/parts; i++ {
			row := a[i*lda : i*lda+i+1]
			dst := l[i*n : i*n+i+1]
			for j, v := range row {
				dst[j] = float32(v)
			}
		}
	})
	if err := blockedPotrfT(n, l, n, sOps); err != nil {
		return 0, false
	}
	r32 := make([]float32, n*nrhs)
	r := make([]float64, n*nrhs)
	solve := func(src []float64, lds int) { // r32 ← A₃₂⁻¹·src
		for i := 0; i < n; i++ {
			for j := 0; j < nrhs; j++ {
				r32[i*nrhs+j] = float32(src[i*lds+j])
			}
		}
		spotrs1(n, nrhs, l, n, r32, nrhs)
	}
	solve(b, ldb)
	for i := 0; i < n; i++ {
		for j := 0; j < nrhs; j++ {
			x[i*ldx+j] = float64(r32[i*nrhs+j])
		}
	}
	const eps = 1.1102230246251565e-16 // LAPACK's dlamch('E')
	cte := anorm * eps * math.Sqrt(float64(n))
	for iter = 0; iter <= 30; iter++ {
		// r = b − A·x.
		parSymv(n, nrhs, a, lda, x, ldx, r)
		for i := 0; i < n; i++ {
			for j := 0; j < nrhs; j++ {
				r[i*nrhs+j] = b[i*ldb+j] - r[i*nrhs+j]
			}
		}
		done := true
		for j := 0; j < nrhs && done; j++ {
			var xn, rn float64
			for i := 0; i < n; i++ {
				xn = math.Max(xn, math.Abs(x[i*ldx+j]))
				rn = math.Max(rn, math.Abs(r[i*nrhs+j]))
			}
			done = rn <= xn*cte
			if math.IsNaN(rn) || math.IsNaN(xn) {
				return iter, false
			}
		}
		if done {
			return iter, true
		}
		if iter == 30 {
			break
		}
		solve(r, nrhs)
		for i := 0; i < n; i++ {
			for j := 0; j < nrhs; j++ {
				x[i*ldx+j] += float64(r32[i*nrhs+j])
			}
		}
	}
	return iter, false
}

// parSymv computes Y = A·X (Y n×nrhs with stride nrhs, overwritten) for
// the symmetric A stored in its lower triangle, reading each stored element
// once: row blocks run in parallel, each with a private accumulator for the
// contributions of the strict lower triangle to earlier rows.
func parSymv(n, nrhs int, a []float64, lda int, x []float64, ldx int, y []float64) {
	workers := runtime.GOMAXPROCS(0)
	parts := 4 * workers
	bounds := triBounds(n, parts)
	acc := make([][]float64, workers)
	for w := range acc {
		acc[w] = make([]float64, n*nrhs)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(buf []float64) {
			defer wg.Done()
			for {
				p := int(next.Add(1) - 1)
				if p >= parts {
					return
				}
				for i := bounds[p]; i < bounds[p+1]; i++ {
					row := a[i*lda : i*lda+i+1]
					if nrhs == 1 {
						xi := x[i*ldx]
						var s float64
						for j, v := range row[:i] {
							s += v * x[j*ldx]
							buf[j] += v * xi
						}
						buf[i] += s + row[i]*xi
						continue
					}
					for c := 0; c < nrhs; c++ {
						xi := x[i*ldx+c]
						var s float64
						for j, v := range row[:i] {
							s += v * x[j*ldx+c]
							buf[j*nrhs+c] += v * xi
						}
						buf[i*nrhs+c] += s + row[i]*xi
					}
				}
			}
		}(acc[w])
	}
	wg.Wait()
	copy(y[:n*nrhs], acc[0])
	for _, buf := range acc[1:] {
		for i, v := range buf {
			y[i] += v
		}
	}
}

// parSymOneNorm is [SymOneNorm] over row blocks in parallel.
func parSymOneNorm(n int, a []float64, lda int) float64 {
	workers := runtime.GOMAXPROCS(0)
	parts := 4 * workers
	bounds := triBounds(n, parts)
	acc := make([][]float64, parts)
	parFor(parts, func(p int) {
		sums := make([]float64, n)
		for i := bounds[p]; i < bounds[p+1]; i++ {
			row := a[i*lda : i*lda+i+1]
			var s float64
			for j, v := range row[:i] {
				av := math.Abs(v)
				s += av
				sums[j] += av
			}
			sums[i] += s + math.Abs(row[i])
		}
		acc[p] = sums
	})
	var mx float64
	for i := 0; i < n; i++ {
		var s float64
		for _, sums := range acc {
			s += sums[i]
		}
		if s > mx || math.IsNaN(s) {
			mx = s
		}
	}
	return mx
}
