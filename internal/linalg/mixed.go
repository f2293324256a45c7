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
	l := float32s(n * n)
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

// trsvBlock is the block order of [parSpotrsVec].
const trsvBlock = 256

// parSpotrsVec solves L·Lᵀ·x = b for one right-hand side with the float32
// factor L (b overwritten by x), by blocks of rows: the products with the
// rows or columns already solved, which read all of L, are split over
// goroutines, the small diagonal triangles are solved in turn. Sums are
// accumulated in float64. A solve reads L twice from memory, which single-
// threaded triangular solves leave at one core's bandwidth. The pure-Go
// build solves with it (2.6× gonum's Strsm at n = 10,000 on 2 cores);
// OpenBLAS's single-threaded solves are as fast.
func parSpotrsVec(n int, l []float32, ldl int, b []float32) {
	workers := runtime.GOMAXPROCS(0)
	// L·y = b.
	for r0 := 0; r0 < n; r0 += trsvBlock {
		r1 := min(r0+trsvBlock, n)
		if r0 > 0 {
			y := b[:r0]
			parRows(r1-r0, workers, func(lo, hi int) {
				for i := r0 + lo; i < r0+hi; i++ {
					b[i] -= float32(dot32(l[i*ldl:i*ldl+r0], y))
				}
			})
		}
		for i := r0; i < r1; i++ {
			b[i] = float32((float64(b[i]) - dot32(l[i*ldl+r0:i*ldl+i], b[r0:i])) / float64(l[i*ldl+i]))
		}
	}
	// Lᵀ·x = y, from the last block up.
	acc := make([][]float64, workers)
	for w := range acc {
		acc[w] = make([]float64, trsvBlock)
	}
	for r1 := n; r1 > 0; r1 -= trsvBlock {
		r0 := max(r1-trsvBlock, 0)
		nb := r1 - r0
		if r1 < n {
			// b[r0:r1] −= L[r1:n, r0:r1]ᵀ·x[r1:n], rows split over workers.
			m := n - r1
			per := (m + workers - 1) / workers
			parFor(workers, func(w int) {
				s := acc[w][:nb]
				clear(s)
				for j := r1 + w*per; j < min(r1+(w+1)*per, n); j++ {
					xj := float64(b[j])
					for c, v := range l[j*ldl+r0 : j*ldl+r1] {
						s[c] += float64(v) * xj
					}
				}
			})
			for c := 0; c < nb; c++ {
				var s float64
				for w := range acc {
					s += acc[w][c]
				}
				b[r0+c] = float32(float64(b[r0+c]) - s)
			}
		}
		for i := r1 - 1; i >= r0; i-- {
			s := float64(b[i])
			for j := i + 1; j < r1; j++ {
				s -= float64(l[j*ldl+i]) * float64(b[j])
			}
			b[i] = float32(s / float64(l[i*ldl+i]))
		}
	}
}

// parRows runs f on about equal row ranges of [0, m) on up to workers
// goroutines.
func parRows(m, workers int, f func(lo, hi int)) {
	per := (m + workers - 1) / workers
	parFor(workers, func(w int) {
		if lo := w * per; lo < m {
			f(lo, min(lo+per, m))
		}
	})
}

// dot32 returns Σ a[i]·b[i] accumulated in float64.
func dot32(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float64(a[i]) * float64(b[i])
		s1 += float64(a[i+1]) * float64(b[i+1])
		s2 += float64(a[i+2]) * float64(b[i+2])
		s3 += float64(a[i+3]) * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float64(a[i]) * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}
