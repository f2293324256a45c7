//go:build !openblas

package linalg

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

var lapackImpl lapackgonum.Implementation

// The pure-Go build has no threaded whole-matrix Cholesky: blockedPotrfT
// runs its own blocked algorithm over goroutines.
var (
	dpotrfThreads func(n int, a []float64, lda int) error
	spotrfThreads func(n int, a []float32, lda int) error
)

// dsyrk1 and dgemm1 are the serial float64 kernels of the blocked
// algorithms: the micro-kernel where the CPU has one, gonum otherwise.
func dsyrk1(trans bool, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
	if useAsmDgemm {
		dsyrkAsm1(trans, n, k, alpha, a, lda, beta, c, ldc)
		return
	}
	impl.Dsyrk(blas.Lower, transpose(trans), n, k, alpha, a, lda, beta, c, ldc)
}

func dgemm1(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if useAsmDgemm {
		dgemmAsm1(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	impl.Dgemm(transpose(transA), transpose(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// ssyrk1 and sgemm1 are their float32 counterparts, for the mixed-precision
// Cholesky.
func ssyrk1(trans bool, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	if useAsmSgemm {
		ssyrkAsm1(trans, n, k, alpha, a, lda, beta, c, ldc)
		return
	}
	impl.Ssyrk(blas.Lower, transpose(trans), n, k, alpha, a, lda, beta, c, ldc)
}

func sgemm1(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if useAsmSgemm {
		sgemmAsm1(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	impl.Sgemm(transpose(transA), transpose(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// spotrf1 is an unblocked float32 Cholesky (lower, row-major) of a small
// diagonal block: gonum's LAPACK is float64 only.
func spotrf1(n int, a []float32, lda int, off int) error {
	for j := 0; j < n; j++ {
		rj := a[j*lda : j*lda+j+1]
		s := rj[j]
		for _, v := range rj[:j] {
			s -= v * v
		}
		if !(s > 0) {
			return &NotPositiveDefiniteError{Minor: off + j + 1}
		}
		d := float32(math.Sqrt(float64(s)))
		rj[j] = d
		for i := j + 1; i < n; i++ {
			ri := a[i*lda : i*lda+j+1]
			t := ri[j]
			for k, v := range rj[:j] {
				t -= ri[k] * v
			}
			ri[j] = t / d
		}
	}
	return nil
}

// strtri1 inverts the n×n lower triangular float32 matrix in place.
func strtri1(n int, a []float32, lda int) {
	x := make([]float32, n*n)
	for j := 0; j < n; j++ {
		x[j*n+j] = 1 / a[j*lda+j]
		for i := j + 1; i < n; i++ {
			var s float32
			for k := j; k < i; k++ {
				s += a[i*lda+k] * x[k*n+j]
			}
			x[i*n+j] = -s / a[i*lda+i]
		}
	}
	for i := 0; i < n; i++ {
		copy(a[i*lda:i*lda+i+1], x[i*n:i*n+i+1])
	}
}

// spotrs1 solves L·Lᵀ·X = B with the float32 factor L (B n×nrhs,
// overwritten).
func spotrs1(n, nrhs int, l []float32, ldl int, b []float32, ldb int) {
	if nrhs == 1 && ldb == 1 && n >= 2*trsvBlock {
		parSpotrsVec(n, l, ldl, b)
		return
	}
	impl.Strsm(blas.Left, blas.Lower, blas.NoTrans, blas.NonUnit, n, nrhs, 1, l, ldl, b, ldb)
	impl.Strsm(blas.Left, blas.Lower, blas.Trans, blas.NonUnit, n, nrhs, 1, l, ldl, b, ldb)
}

// dtrtri1 inverts the n×n lower triangular matrix in place.
func dtrtri1(n int, a []float64, lda int) {
	lapackImpl.Dtrtri(blas.Lower, blas.NonUnit, n, a, lda)
}

// dpotrf1 factors the n×n block serially; off is the block's offset in
// the whole matrix, for error reporting.
func dpotrf1(n int, a []float64, lda int, off int) error {
	if !lapackImpl.Dpotrf(blas.Lower, n, a, lda) {
		return &NotPositiveDefiniteError{}
	}
	return nil
}

func dpotrs(n, nrhs int, a []float64, lda int, b []float64, ldb int) {
	lapackImpl.Dpotrs(blas.Lower, n, nrhs, a, lda, b, ldb)
}

func dpocon(n int, a []float64, lda int, anorm float64) float64 {
	work := make([]float64, 3*n)
	iwork := make([]int, n)
	return lapackImpl.Dpocon(blas.Lower, n, a, lda, anorm, work, iwork)
}

func dgetrf(n int, a []float64, lda int, ipiv []int) error {
	if !lapackImpl.Dgetrf(n, n, a, lda, ipiv[:n]) {
		for i := 0; i < n; i++ {
			if a[i*lda+i] == 0 {
				return &SingularError{Index: i + 1}
			}
		}
		return &SingularError{}
	}
	return nil
}

func dgetrs(trans bool, n, nrhs int, a []float64, lda int, ipiv []int, b []float64, ldb int) {
	lapackImpl.Dgetrs(transpose(trans), n, nrhs, a, lda, ipiv[:n], b, ldb)
}

func dgecon(n int, a []float64, lda int, anorm float64) float64 {
	work := make([]float64, 4*n)
	iwork := make([]int, n)
	return lapackImpl.Dgecon(lapack.MaxColumnSum, n, a, lda, anorm, work, iwork)
}

// dsyevTop: tridiagonal reduction, all eigenvalues of T by dsterf, the k
// wanted eigenvectors of T by inverse iteration (as LAPACK's dstein does),
// then back-transformation by the Householder reflectors of dsytrd.
func dsyevTop(n int, a []float64, lda int, k int, w []float64, z []float64, ldz int) error {
	if n == 1 {
		w[0] = a[0]
		z[0] = 1
		return nil
	}
	d := make([]float64, n)
	e := make([]float64, n-1)
	tau := make([]float64, n-1)
	work := make([]float64, 1)
	lapackImpl.Dsytrd(blas.Lower, n, a, lda, d, e, tau, work, -1)
	work = make([]float64, int(work[0]))
	lapackImpl.Dsytrd(blas.Lower, n, a, lda, d, e, tau, work, len(work))

	// Eigenvalues of T (ascending after dsterf).
	ev := append([]float64(nil), d...)
	ee := append([]float64(nil), e...)
	if !lapackImpl.Dsterf(n, ev, ee) {
		return ErrEigen
	}
	sort.Float64s(ev)
	for j := 0; j < k; j++ {
		w[j] = ev[n-1-j]
	}

	// Eigenvectors of T by inverse iteration: y is n×k row-major, column j
	// belongs to w[j].
	y := make([]float64, n*k)
	if err := tridiagInverseIteration(n, d, e, w[:k], y, k); err != nil {
		return err
	}

	// Back-transform: Z = Q*Y, Q = diag(1, Q') with Q' the product of the
	// n-1 reflectors stored below the subdiagonal of a.
	lapackImpl.Dormqr(blas.Left, blas.NoTrans, n-1, k, n-1, a[lda:], lda, tau, y[k:], k, work[:1], -1)
	if need := int(work[0]); need > len(work) {
		work = make([]float64, need)
	}
	lapackImpl.Dormqr(blas.Left, blas.NoTrans, n-1, k, n-1, a[lda:], lda, tau, y[k:], k, work, len(work))
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			z[j*ldz+i] = y[i*k+j]
		}
	}
	return nil
}

// tridiagInverseIteration computes unit eigenvectors of the symmetric
// tridiagonal matrix (d, e) for the eigenvalues lam (any order) into the
// columns of y (n×ldy). Vectors of eigenvalues closer than 1e-3·‖T‖ are
// reorthogonalized against each other, as in LAPACK's dstein.
func tridiagInverseIteration(n int, d, e, lam []float64, y []float64, ldy int) error {
	k := len(lam)
	var tnorm float64
	for i := 0; i < n; i++ {
		s := math.Abs(d[i])
		if i > 0 {
			s += math.Abs(e[i-1])
		}
		if i < n-1 {
			s += math.Abs(e[i])
		}
		tnorm = math.Max(tnorm, s)
	}
	if tnorm == 0 {
		tnorm = 1
	}
	eps := 2.220446049250313e-16
	ortol := 1e-3 * tnorm
	dl := make([]float64, n-1)
	dd := make([]float64, n)
	du := make([]float64, n-1)
	x := make([]float64, n)
	// A fixed, well-spread start vector (deterministic; any vector with a
	// component along the eigenvector works).
	var seed uint64 = 0x9E3779B97F4A7C15
	next := func() float64 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return float64(seed>>11)/float64(1<<53) - 0.5
	}
	order := make([]int, k)
	for i := range order {
		order[i] = i
	}
	// The vectors are kept contiguous, one row of vt per eigenvector in
	// processing order, so that reorthogonalization against a large cluster
	// (the near-null space of a kernel matrix can hold most of its
	// eigenvalues) streams through memory instead of striding over y; the
	// arithmetic, and so every bit of the result, is that of the strided
	// loop it replaces.
	vt := make([]float64, k*n)
	// Process eigenvalues in descending order so clusters are contiguous.
	sort.Slice(order, func(a, b int) bool { return lam[order[a]] > lam[order[b]] })
	for oi, j := range order {
		// Perturb coincident eigenvalues apart (dstein does the same) so
		// that inverse iteration starts from distinct shifts.
		shift := lam[j]
		if oi > 0 {
			prev := order[oi-1]
			if math.Abs(lam[prev]-shift) < 10*eps*tnorm {
				shift = lam[prev] - 10*eps*tnorm
			}
		}
		for i := range x {
			x[i] = next()
		}
		for it := 0; it < 5; it++ {
			for i := 0; i < n; i++ {
				dd[i] = d[i] - shift
			}
			copy(dl, e)
			copy(du, e)
			ok := lapackImpl.Dgtsv(n, 1, dl, dd, du, x, 1)
			if !ok {
				// Exactly singular at this shift: nudge it.
				shift -= eps * tnorm
				for i := range x {
					x[i] = next()
				}
				continue
			}
			// Reorthogonalize against already computed vectors of the
			// same cluster (modified Gram–Schmidt, latest first), each
			// subtraction fused with the next dot product and the last
			// with the norm: one pass over x per vector, same operations
			// in the same order as separate loops.
			var prev []float64
			var dot float64
			for pi := oi - 1; pi >= 0; pi-- {
				if math.Abs(lam[order[pi]]-lam[j]) > ortol {
					break
				}
				yp := vt[pi*n : (pi+1)*n]
				xs := x[:len(yp)]
				var nd float64
				if prev == nil {
					for i, v := range yp {
						nd += xs[i] * v
					}
				} else {
					pv := prev[:len(yp)]
					for i, v := range yp {
						xi := xs[i] - dot*pv[i]
						xs[i] = xi
						nd += xi * v
					}
				}
				prev, dot = yp, nd
			}
			var nrm float64
			if prev == nil {
				for _, v := range x {
					nrm += v * v
				}
			} else {
				xs := x[:len(prev)]
				for i, v := range prev {
					xi := xs[i] - dot*v
					xs[i] = xi
					nrm += xi * xi
				}
			}
			nrm = math.Sqrt(nrm)
			if nrm == 0 || math.IsNaN(nrm) || math.IsInf(nrm, 0) {
				return ErrEigen
			}
			for i := range x {
				x[i] /= nrm
			}
		}
		copy(vt[oi*n:(oi+1)*n], x)
		for i := 0; i < n; i++ {
			y[i*ldy+j] = x[i]
		}
	}
	return nil
}

func transpose(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}
