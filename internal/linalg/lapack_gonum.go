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

// dsyevTop: tridiagonal reduction (dsytrdLower), all eigenvalues of T by
// gonum's Dsterf, the k wanted eigenvectors of T by inverse iteration (as
// LAPACK's dstein does), then back-transformation by the Householder
// reflectors of the reduction (applyQ).
func dsyevTop(n int, a []float64, lda int, k int, w []float64, z []float64, ldz int) error {
	if n == 1 {
		w[0] = a[0]
		z[0] = 1
		return nil
	}
	d := make([]float64, n)
	e := make([]float64, n-1)
	tau := make([]float64, n-1)
	dsytrdLower(n, a, lda, d, e, tau)

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
	applyQ(n-1, k, n-1, a[lda:], lda, tau, y[k:], k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			z[j*ldz+i] = y[i*k+j]
		}
	}
	return nil
}

// applyQ computes C := Q·C for the m×nc matrix C and Q = H(0)⋯H(k−1),
// the elementary reflectors H(i) = I − τᵢ·vᵢ·vᵢᵀ stored as LAPACK's dgeqrf
// stores them: vᵢ in column i of the m×k matrix v, below its diagonal,
// with a unit diagonal entry implied. It applies them in blocks of 64 in
// the compact WY form I − V·T·Vᵀ (T from gonum's Dlarft), each block as
// three GEMMs of this package: gonum's Dormqr spends its time in gonum's
// GEMM (about 6 s of a full-scale Nyström KPCA fit).
func applyQ(m, nc, k int, v []float64, ldv int, tau []float64, c []float64, ldc int) {
	const nb = 64
	t := make([]float64, nb*nb)
	vb := make([]float64, m*nb)
	w := make([]float64, nb*nc)
	tw := make([]float64, nb*nc)
	for i0 := (k - 1) / nb * nb; i0 >= 0; i0 -= nb {
		ib := min(nb, k-i0)
		rows := m - i0
		clear(t)
		lapackImpl.Dlarft(lapack.Forward, lapack.ColumnWise, rows, ib, v[i0*ldv+i0:], ldv, tau[i0:], t, nb)
		for r := range rows {
			row := vb[r*ib : (r+1)*ib]
			for j := range row {
				switch {
				case r < j:
					row[j] = 0
				case r == j:
					row[j] = 1
				default:
					row[j] = v[(i0+r)*ldv+i0+j]
				}
			}
		}
		cc := c[i0*ldc:]
		Dgemm(true, false, ib, nc, rows, 1, vb, ib, cc, ldc, 0, w, nc)
		Dgemm(false, false, ib, nc, ib, 1, t, nb, w, nc, 0, tw, nc)
		Dgemm(false, false, rows, nc, ib, -1, vb, ib, tw, nc, 1, cc, ldc)
	}
}

// invIterBlock is the number of eigenvectors [tridiagInverseIteration]
// iterates together.
const invIterBlock = 64

// tridiagInverseIteration computes unit eigenvectors of the symmetric
// tridiagonal matrix (d, e) for the eigenvalues lam (any order) into the
// columns of y (n×ldy), by five steps of inverse iteration from a fixed
// start vector, as LAPACK's dstein does. Vectors of eigenvalues closer than
// 1e-3·‖T‖ (a cluster) are orthogonalized against each other after every
// step.
//
// The vectors are iterated in blocks of invIterBlock, in descending order
// of eigenvalue, so that the clusters are contiguous. After each step a
// block is orthogonalized against the finished vectors of the earlier
// blocks that share its cluster by two rounds of block Gram–Schmidt (two
// GEMMs each: "twice is enough"), then within itself by modified
// Gram–Schmidt. Kernel matrices put most of their eigenvalues into one
// cluster near zero; the earlier vector-at-a-time Gram–Schmidt streamed all
// finished vectors from memory once per vector and step (16 s for the
// 2,048 landmarks of a full-scale Nyström KPCA), the GEMMs read them once
// per block and step.
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
	sort.Slice(order, func(a, b int) bool { return lam[order[a]] > lam[order[b]] })
	// vt holds the vectors as rows, in processing order.
	vt := make([]float64, k*n)
	h := make([]float64, invIterBlock*k)
	shifts := make([]float64, invIterBlock)
	for b0 := 0; b0 < k; b0 += invIterBlock {
		b1 := min(b0+invIterBlock, k)
		nb := b1 - b0
		x := vt[b0*n : b1*n]
		for oi := b0; oi < b1; oi++ {
			// Perturb coincident eigenvalues apart (dstein does the same)
			// so that inverse iteration starts from distinct shifts.
			shift := lam[order[oi]]
			if oi > 0 {
				if prev := lam[order[oi-1]]; math.Abs(prev-shift) < 10*eps*tnorm {
					shift = prev - 10*eps*tnorm
				}
			}
			shifts[oi-b0] = shift
			for i := range x[(oi-b0)*n : (oi-b0+1)*n] {
				x[(oi-b0)*n+i] = next()
			}
		}
		// The finished vectors [c0, b0) in the cluster of the block's
		// largest eigenvalue (the later ones' clusters start no earlier).
		c0 := b0
		for c0 > 0 && math.Abs(lam[order[c0-1]]-lam[order[b0]]) <= ortol {
			c0--
		}
		for it := 0; it < 5; it++ {
			for v := range nb {
				xv := x[v*n : (v+1)*n]
				for {
					for i := 0; i < n; i++ {
						dd[i] = d[i] - shifts[v]
					}
					copy(dl, e)
					copy(du, e)
					if lapackImpl.Dgtsv(n, 1, dl, dd, du, xv, 1) {
						break
					}
					// Exactly singular at this shift: nudge it.
					shifts[v] -= eps * tnorm
					for i := range xv {
						xv[i] = next()
					}
				}
			}
			if p := b0 - c0; p > 0 {
				prev := vt[c0*n : b0*n]
				for range 2 {
					Dgemm(false, true, nb, p, n, 1, x, n, prev, n, 0, h, p)
					Dgemm(false, false, nb, n, p, -1, h, p, prev, n, 1, x, n)
				}
			}
			for v := range nb {
				xv := x[v*n : (v+1)*n]
				for u := v - 1; u >= 0; u-- {
					if math.Abs(lam[order[b0+u]]-lam[order[b0+v]]) > ortol {
						break
					}
					xu := x[u*n : (u+1)*n]
					impl.Daxpy(n, -impl.Ddot(n, xv, 1, xu, 1), xu, 1, xv, 1)
				}
				nrm := math.Sqrt(impl.Ddot(n, xv, 1, xv, 1))
				if nrm == 0 || math.IsNaN(nrm) || math.IsInf(nrm, 0) {
					return ErrEigen
				}
				impl.Dscal(n, 1/nrm, xv, 1)
			}
		}
	}
	for oi, j := range order {
		for i := 0; i < n; i++ {
			y[i*ldy+j] = vt[oi*n+i]
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
