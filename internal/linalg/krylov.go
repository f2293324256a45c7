package linalg

import (
	"math"
	"math/rand/v2"

	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// SymEigTopKrylov computes the k largest eigenvalues of the n×n symmetric
// matrix A and their eigenvectors by block Krylov iteration with
// Rayleigh–Ritz, for k ≪ n. A is given in full (both triangles) and is not
// modified. Its cost is a few products A·V with n×b blocks (b = k + max(16,
// k/4)), which run at GEMM speed, instead of the O(n³) tridiagonal reduction
// of [DsyevTop], most of which is memory-bound.
//
// Iteration stops when every wanted Ritz pair (θ, v) has residual
// ‖A·v − θ·v‖₂ ≤ tol·|θ₁|, so the eigenvectors are accurate to about
// tol·|θ₁|/gap. w (len ≥ k) receives the eigenvalues in descending order and
// z (k×n, ldz ≥ n) the unit eigenvectors as rows, as [DsyevTop]. It returns
// false, without a result, when the problem is too small for the method
// (3b > n) or the residuals do not fall below tol before the Krylov basis
// reaches n/2 columns; the caller should then use [DsyevTop]. The start
// block is drawn from a fixed seed, so results are deterministic.
func SymEigTopKrylov(n int, a []float64, lda int, k int, w []float64, z []float64, ldz int, tol float64) bool {
	if k < 1 || k > n {
		panic("linalg: krylov k out of range")
	}
	if !fits(len(a), n, n, lda) || len(w) < k || !fits(len(z), k, n, ldz) {
		panic("linalg: krylov slice too short for its shape")
	}
	b := k + max(16, k/4)
	if 3*b > n {
		return false
	}
	smax := n / 2
	Q := make([]float64, n*smax) // basis, n×s used, stride smax
	W := make([]float64, n*smax) // A·Q
	V := make([]float64, n*b)
	AV := make([]float64, n*b)
	rng := rand.New(rand.NewPCG(0x6b72796c, uint64(n)))
	for i := range V {
		V[i] = rng.NormFloat64()
	}
	C := make([]float64, smax*b)
	T := make([]float64, smax*smax) // QᵀAQ, s×s used, stride smax
	s, lastRR := 0, 0
	var lp lapackgonum.Implementation
	tau := make([]float64, b)
	work := make([]float64, 1)
	lp.Dgeqrf(n, b, V, b, tau, work, -1)
	lwork := int(work[0])
	lp.Dorgqr(n, b, b, V, b, tau, work, -1)
	lwork = max(lwork, int(work[0]))
	work = make([]float64, lwork)
	for {
		// Orthogonalize V against the basis (block classical Gram–Schmidt,
		// twice), then within itself (Householder QR).
		if s > 0 {
			for pass := 0; pass < 2; pass++ {
				Dgemm(true, false, s, b, n, 1, Q, smax, V, b, 0, C, b)
				Dgemm(false, false, n, b, s, -1, Q, smax, C, b, 1, V, b)
			}
		}
		var norm0 float64
		for _, v := range V {
			norm0 = math.Max(norm0, math.Abs(v))
		}
		lp.Dgeqrf(n, b, V, b, tau, work, lwork)
		var rmax float64
		for j := 0; j < b; j++ {
			rmax = math.Max(rmax, math.Abs(V[j*b+j]))
		}
		for j := 0; j < b; j++ {
			if !(math.Abs(V[j*b+j]) > 1e-12*math.Max(rmax, norm0)) {
				// The Krylov space is (numerically) exhausted: an invariant
				// subspace was found. Give up; the dense solver handles it.
				return false
			}
		}
		lp.Dorgqr(n, b, b, V, b, tau, work, lwork)
		Dgemm(false, false, n, b, n, 1, a, lda, V, b, 0, AV, b)
		for i := 0; i < n; i++ {
			copy(Q[i*smax+s:i*smax+s+b], V[i*b:(i+1)*b])
			copy(W[i*smax+s:i*smax+s+b], AV[i*b:(i+1)*b])
		}
		// Extend the projection T = QᵀAQ by the new block's columns and
		// rows: T[:, s:s+b] = Qᵀ·(A·V), symmetrized.
		Dgemm(true, false, s+b, b, n, 1, Q, smax, AV, b, 0, C[:(s+b)*b], b)
		for i := 0; i < s+b; i++ {
			for j := 0; j < b; j++ {
				T[i*smax+s+j] = C[i*b+j]
			}
		}
		for i := s; i < s+b; i++ {
			for j := 0; j < s; j++ {
				T[i*smax+j] = T[j*smax+i]
			}
			for j := s; j < i; j++ {
				v := 0.5 * (T[i*smax+j] + T[j*smax+i])
				T[i*smax+j], T[j*smax+i] = v, v
			}
		}
		s += b
		// Rayleigh–Ritz from the second block on, then whenever the basis
		// has grown by 40%, so its cost stays a constant times the last one.
		if s >= k+b && float64(s) >= 1.4*float64(lastRR) {
			lastRR = s
			if rayleighRitz(n, s, smax, Q, W, T, k, w, z, ldz, tol) {
				return true
			}
		}
		if s+b > smax {
			return s > lastRR && rayleighRitz(n, s, smax, Q, W, T, k, w, z, ldz, tol)
		}
		copy(V, AV)
	}
}

// rayleighRitz takes the top k Ritz pairs of the projection T = QᵀAQ
// (s×s, stride ld; Q is n×s and W = A·Q) and, if all residuals are below
// tol·|θ₁|, writes them to w, z.
func rayleighRitz(n, s, ld int, Q, W, Tall []float64, k int, w, z []float64, ldz int, tol float64) bool {
	T := make([]float64, s*s)
	for i := 0; i < s; i++ {
		copy(T[i*s:(i+1)*s], Tall[i*ld:i*ld+s])
	}
	theta := make([]float64, k)
	Y := make([]float64, k*s) // rows: eigenvectors of T
	if err := DsyevTop(s, T, s, k, theta, Y, s); err != nil {
		return false
	}
	// U = Q·Yᵀ and R = W·Yᵀ − U·diag(θ), both n×k.
	U := make([]float64, n*k)
	R := make([]float64, n*k)
	Dgemm(false, true, n, k, s, 1, Q, ld, Y, s, 0, U, k)
	Dgemm(false, true, n, k, s, 1, W, ld, Y, s, 0, R, k)
	res := make([]float64, k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			r := R[i*k+j] - theta[j]*U[i*k+j]
			res[j] += r * r
		}
	}
	limit := tol * math.Abs(theta[0])
	for _, r := range res {
		if !(math.Sqrt(r) <= limit) {
			return false
		}
	}
	copy(w, theta)
	for j := 0; j < k; j++ {
		for i := 0; i < n; i++ {
			z[j*ldz+i] = U[i*k+j]
		}
	}
	return true
}
