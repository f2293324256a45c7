package linalg

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// These tests run unchanged under both builds (go test ./internal/linalg/
// and go test -tags openblas ./internal/linalg/). References are computed
// with naive loops or gonum's mat package, independently of the seam.

func randMat(rng *rand.Rand, r, c, ld int) []float64 {
	a := make([]float64, (r-1)*ld+c)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	return a
}

// spd returns a row-major n×n SPD matrix (with ld) and its full copy.
func spd(rng *rand.Rand, n, ld int) (lower []float64, full []float64) {
	g := randMat(rng, n, n, n)
	full = make([]float64, n*n)
	naive(false, true, n, n, n, 1, g, n, g, n, 0, full, n)
	for i := 0; i < n; i++ {
		full[i*n+i] += float64(n)
	}
	lower = make([]float64, (n-1)*ld+n)
	for i := range lower {
		lower[i] = math.NaN() // the strict upper triangle must not be read
	}
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			lower[i*ld+j] = full[i*n+j]
		}
	}
	return lower, full
}

func matmul(n, m, k int, a, b []float64) []float64 {
	c := make([]float64, n*m)
	naive(false, false, n, m, k, 1, a, k, b, m, 0, c, m)
	return c
}

func maxAbsDiff(a, b []float64) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func TestDsyrk(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ n, k int }{{1, 1}, {5, 3}, {40, 70}, {129, 17}, {300, 61}} {
		for _, tr := range []bool{false, true} {
			ar, ac := tc.n, tc.k
			if tr {
				ar, ac = tc.k, tc.n
			}
			lda := ac + 1
			a := randMat(rng, ar, ac, lda)
			ldc := tc.n + 2
			c := randMat(rng, tc.n, tc.n, ldc)
			want := append([]float64(nil), c...)
			naive(tr, !tr, tc.n, tc.n, tc.k, 0.7, a, lda, a, lda, 0.3, want, ldc)
			got := append([]float64(nil), c...)
			Dsyrk(tr, tc.n, tc.k, 0.7, a, lda, 0.3, got, ldc)
			for i := 0; i < tc.n; i++ {
				for j := 0; j < tc.n; j++ {
					g, w := got[i*ldc+j], want[i*ldc+j]
					if j > i {
						w = c[i*ldc+j] // upper triangle untouched
					}
					if math.Abs(g-w) > 1e-10*(1+math.Abs(w)) {
						t.Fatalf("%s n=%d k=%d trans=%v: c[%d,%d]=%v want %v", Backend(), tc.n, tc.k, tr, i, j, g, w)
					}
				}
			}
		}
	}
}

func TestCholesky(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 7, 64, 150, 420, 700} {
		for _, nrhs := range []int{1, 3} {
			ld := n + 3
			a, full := spd(rng, n, ld)
			if err := Dpotrf(n, a, ld); err != nil {
				t.Fatalf("%s n=%d: %v", Backend(), n, err)
			}
			// L·Lᵀ reproduces A.
			l := make([]float64, n*n)
			for i := 0; i < n; i++ {
				for j := 0; j <= i; j++ {
					l[i*n+j] = a[i*ld+j]
				}
			}
			llt := make([]float64, n*n)
			naive(false, true, n, n, n, 1, l, n, l, n, 0, llt, n)
			if d := maxAbsDiff(llt, full); d > 1e-10*float64(n) {
				t.Fatalf("%s n=%d: ‖LLᵀ−A‖max = %g", Backend(), n, d)
			}
			x := randMat(rng, n, nrhs, nrhs)
			b := matmul(n, nrhs, n, full, x)
			ldb := nrhs + 1
			bb := make([]float64, (n-1)*ldb+nrhs)
			for i := 0; i < n; i++ {
				copy(bb[i*ldb:i*ldb+nrhs], b[i*nrhs:(i+1)*nrhs])
			}
			Dpotrs(n, nrhs, a, ld, bb, ldb)
			for i := 0; i < n; i++ {
				for j := 0; j < nrhs; j++ {
					if math.Abs(bb[i*ldb+j]-x[i*nrhs+j]) > 1e-9 {
						t.Fatalf("%s n=%d nrhs=%d: x[%d,%d]=%v want %v", Backend(), n, nrhs, i, j, bb[i*ldb+j], x[i*nrhs+j])
					}
				}
			}
		}
	}
}

// TestCholeskyNotPDBlocked: a failure in a later panel of the blocked
// factorization is reported.
func TestCholeskyNotPDBlocked(t *testing.T) {
	n := 800
	a, _ := spd(rand.New(rand.NewPCG(1, 3)), n, n)
	a[601*n+601] = -1e6
	err := Dpotrf(n, a, n)
	var npd *NotPositiveDefiniteError
	if !errors.As(err, &npd) {
		t.Fatalf("%s: got %v, want NotPositiveDefiniteError", Backend(), err)
	}
	if npd.Minor != 0 && npd.Minor != 602 {
		t.Errorf("%s: failing minor %d, want 602", Backend(), npd.Minor)
	}
}

func TestCholeskyNotPD(t *testing.T) {
	a := []float64{
		1, 0, 0,
		2, 1, 0,
		0, 0, 1,
	}
	err := Dpotrf(3, a, 3)
	var npd *NotPositiveDefiniteError
	if !errors.As(err, &npd) {
		t.Fatalf("%s: got %v, want NotPositiveDefiniteError", Backend(), err)
	}
}

// condOne returns ‖A‖₁‖A⁻¹‖₁ computed with gonum's mat (independent of the
// seam).
func condOne(n int, full []float64) float64 {
	a := mat.NewDense(n, n, append([]float64(nil), full...))
	var inv mat.Dense
	if err := inv.Inverse(a); err != nil {
		return math.Inf(1)
	}
	return mat.Norm(a, 1) * mat.Norm(&inv, 1)
}

func TestConditionEstimates(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{3, 20, 80} {
		a, full := spd(rng, n, n)
		// Make it worse conditioned.
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				s := math.Pow(10, -3*float64(i+j)/float64(2*n))
				full[i*n+j] *= s
			}
		}
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				a[i*n+j] = full[i*n+j]
			}
		}
		want := 1 / condOne(n, full)
		anorm := SymOneNorm(n, a, n)
		if d := math.Abs(anorm - OneNorm(n, n, full, n)); d > 1e-12*anorm {
			t.Fatalf("SymOneNorm %v vs OneNorm %v", anorm, OneNorm(n, n, full, n))
		}
		if err := Dpotrf(n, a, n); err != nil {
			t.Fatal(err)
		}
		got := Dpocon(n, a, n, anorm)
		// LAPACK's estimator is a lower bound on the condition within a
		// small factor.
		if got < want/1.0001 || got > 10*want {
			t.Errorf("%s Dpocon n=%d: rcond %g, exact %g", Backend(), n, got, want)
		}
		lu := append([]float64(nil), full...)
		ipiv := make([]int, n)
		if err := Dgetrf(n, lu, n, ipiv); err != nil {
			t.Fatal(err)
		}
		got = Dgecon(n, lu, n, OneNorm(n, n, full, n))
		if got < want/1.0001 || got > 10*want {
			t.Errorf("%s Dgecon n=%d: rcond %g, exact %g", Backend(), n, got, want)
		}
	}
}

func TestLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 5, 33, 120, 330} {
		for _, nrhs := range []int{1, 4} {
			for _, tr := range []bool{false, true} {
				ld := n + 1
				full := randMat(rng, n, n, n)
				a := make([]float64, (n-1)*ld+n)
				for i := 0; i < n; i++ {
					copy(a[i*ld:i*ld+n], full[i*n:(i+1)*n])
				}
				ipiv := make([]int, n)
				if err := Dgetrf(n, a, ld, ipiv); err != nil {
					t.Fatal(err)
				}
				x := randMat(rng, n, nrhs, nrhs)
				op := full
				if tr {
					op = make([]float64, n*n)
					for i := 0; i < n; i++ {
						for j := 0; j < n; j++ {
							op[i*n+j] = full[j*n+i]
						}
					}
				}
				b := matmul(n, nrhs, n, op, x)
				Dgetrs(tr, n, nrhs, a, ld, ipiv, b, nrhs)
				cond := condOne(n, full)
				if d := maxAbsDiff(b, x); d > 1e-14*cond*float64(n) {
					t.Fatalf("%s n=%d nrhs=%d trans=%v: max error %g (cond %g)", Backend(), n, nrhs, tr, d, cond)
				}
			}
		}
	}
}

func TestLUSingular(t *testing.T) {
	a := []float64{
		1, 2, 3,
		2, 4, 6,
		0, 0, 0,
	}
	err := Dgetrf(3, a, 3, make([]int, 3))
	var s *SingularError
	if !errors.As(err, &s) {
		t.Fatalf("%s: got %v, want SingularError", Backend(), err)
	}
}

func TestDsyevTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type tcase struct {
		name string
		n, k int
		gen  func(n int) []float64
	}
	random := func(n int) []float64 {
		g := randMat(rng, n, n, n)
		s := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				s[i*n+j] = g[i*n+j] + g[j*n+i]
			}
		}
		return s
	}
	// A Gram matrix of an RBF kernel: fast-decaying spectrum with a cluster
	// of tiny eigenvalues, as kernel PCA sees.
	rbf := func(n int) []float64 {
		x := randMat(rng, n, 3, 3)
		s := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				var d float64
				for c := 0; c < 3; c++ {
					v := x[i*3+c] - x[j*3+c]
					d += v * v
				}
				s[i*n+j] = math.Exp(-0.5 * d)
			}
		}
		return s
	}
	// Repeated eigenvalues: identity plus a rank-2 update.
	repeated := func(n int) []float64 {
		s := make([]float64, n*n)
		u := randMat(rng, 2, n, n)
		for i := 0; i < n; i++ {
			s[i*n+i] = 1
			for j := 0; j < n; j++ {
				s[i*n+j] += u[i]*u[j] + u[n+i]*u[n+j]
			}
		}
		return s
	}
	for _, tc := range []tcase{
		{"random1", 1, 1, random},
		{"random2", 2, 1, random},
		{"random", 40, 5, random},
		{"randomAll", 25, 25, random},
		{"rbf", 120, 30, rbf},
		{"rbfLarge", 300, 20, rbf},
		{"repeated", 30, 6, repeated},
	} {
		full := tc.gen(tc.n)
		n, k := tc.n, tc.k
		ld := n + 2
		a := make([]float64, (n-1)*ld+n)
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				a[i*ld+j] = full[i*n+j]
			}
		}
		w := make([]float64, k)
		ldz := n + 1
		z := make([]float64, (k-1)*ldz+n)
		if err := DsyevTop(n, a, ld, k, w, z, ldz); err != nil {
			t.Fatalf("%s %s: %v", Backend(), tc.name, err)
		}
		var es mat.EigenSym
		if !es.Factorize(mat.NewSymDense(n, append([]float64(nil), full...)), false) {
			t.Fatal("reference eigen failed")
		}
		ref := es.Values(nil)
		sort.Sort(sort.Reverse(sort.Float64Slice(ref)))
		scale := math.Abs(ref[0]) + math.Abs(ref[n-1])
		for j := 0; j < k; j++ {
			if math.Abs(w[j]-ref[j]) > 1e-12*scale*float64(n) {
				t.Errorf("%s %s: w[%d]=%v want %v", Backend(), tc.name, j, w[j], ref[j])
			}
			// Residual ‖A v − λ v‖ and orthonormality.
			v := z[j*ldz : j*ldz+n]
			var res float64
			for i := 0; i < n; i++ {
				var s float64
				for c := 0; c < n; c++ {
					s += full[i*n+c] * v[c]
				}
				res = math.Max(res, math.Abs(s-w[j]*v[i]))
			}
			if res > 1e-11*scale*float64(n) {
				t.Errorf("%s %s: residual of vector %d = %g", Backend(), tc.name, j, res)
			}
			for p := 0; p <= j; p++ {
				u := z[p*ldz : p*ldz+n]
				var dot float64
				for i := range v {
					dot += u[i] * v[i]
				}
				want := 0.0
				if p == j {
					want = 1
				}
				if math.Abs(dot-want) > 1e-10 {
					t.Errorf("%s %s: <z%d,z%d> = %v", Backend(), tc.name, p, j, dot)
				}
			}
		}
	}
}

func BenchmarkDgemm1000(b *testing.B) {
	n := 1000
	x := randMat(rand.New(rand.NewPCG(1, 1)), n, n, n)
	c := make([]float64, n*n)
	b.SetBytes(int64(2 * n * n * n)) // MB/s = MFLOP/s
	for b.Loop() {
		Dgemm(false, false, n, n, n, 1, x, n, x, n, 0, c, n)
	}
}

func BenchmarkDpotrf1000(b *testing.B) {
	n := 1000
	_, full := spd(rand.New(rand.NewPCG(1, 1)), n, n)
	a := make([]float64, n*n)
	b.SetBytes(int64(n * n * n / 3))
	for b.Loop() {
		copy(a, full)
		if err := Dpotrf(n, a, n); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSymEigTopKrylov(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	rbfGram := func(n, d int, gamma float64) []float64 {
		x := randMat(rng, n, d, d)
		s := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				var q float64
				for c := 0; c < d; c++ {
					v := x[i*d+c] - x[j*d+c]
					q += v * v
				}
				s[i*n+j] = math.Exp(-gamma * q)
			}
		}
		return s
	}
	for _, tc := range []struct {
		name     string
		n, d, k  int
		gamma    float64
		converge bool
	}{
		{"rbf-d5", 600, 5, 20, 0.1, true},
		{"rbf-d20-slow-decay", 500, 20, 10, 0.02, true},
		{"too-small", 60, 3, 20, 0.5, false},
	} {
		full := rbfGram(tc.n, tc.d, tc.gamma)
		n, k := tc.n, tc.k
		orig := append([]float64(nil), full...)
		w := make([]float64, k)
		z := make([]float64, k*n)
		ok := SymEigTopKrylov(n, full, n, k, w, z, n, 1e-11)
		if ok != tc.converge {
			t.Fatalf("%s %s: converged = %v, want %v", Backend(), tc.name, ok, tc.converge)
		}
		if maxAbsDiff(orig, full) != 0 {
			t.Fatalf("%s: A was modified", tc.name)
		}
		if !ok {
			continue
		}
		lower := append([]float64(nil), full...)
		wd := make([]float64, k)
		zd := make([]float64, k*n)
		if err := DsyevTop(n, lower, n, k, wd, zd, n); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < k; j++ {
			if math.Abs(w[j]-wd[j]) > 1e-10*wd[0] {
				t.Errorf("%s %s: eigenvalue %d: krylov %v dense %v", Backend(), tc.name, j, w[j], wd[j])
			}
			var res, dot float64
			for i := 0; i < n; i++ {
				var s float64
				for c := 0; c < n; c++ {
					s += orig[i*n+c] * z[j*n+c]
				}
				res = math.Max(res, math.Abs(s-w[j]*z[j*n+i]))
				dot += z[j*n+i] * zd[j*n+i]
			}
			if res > 1e-10*w[0] {
				t.Errorf("%s %s: residual of vector %d = %g", Backend(), tc.name, j, res)
			}
			if j < k-1 && math.Abs(math.Abs(dot)-1) > 1e-6 {
				t.Errorf("%s %s: vector %d differs from the dense one: |<v, v_dense>| = %v", Backend(), tc.name, j, math.Abs(dot))
			}
		}
	}
}

// TestCholeskyIllConditionedBackwardError: the blocked factorization (which
// applies explicit inverses of the diagonal blocks to the panels) stays
// backward stable on an ill-conditioned RBF Gram matrix.
func TestCholeskyIllConditionedBackwardError(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	n, d := 900, 3
	x := randMat(rng, n, d, d)
	full := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var q float64
			for c := 0; c < d; c++ {
				v := x[i*d+c] - x[j*d+c]
				q += v * v
			}
			full[i*n+j] = math.Exp(-0.5 * q)
		}
		full[i*n+i] += 1e-7
	}
	a := append([]float64(nil), full...)
	if err := Dpotrf(n, a, n); err != nil {
		t.Fatal(err)
	}
	rc := Dpocon(n, a, n, OneNorm(n, n, full, n))
	if rc > 1e-8 {
		t.Fatalf("rcond %g: the test matrix is not ill-conditioned", rc)
	}
	b := randMat(rng, n, 1, 1)
	xs := append([]float64(nil), b...)
	Dpotrs(n, 1, a, n, xs, 1)
	var rmax, xmax float64
	for i := 0; i < n; i++ {
		var s float64
		for j := 0; j < n; j++ {
			s += full[i*n+j] * xs[j]
		}
		rmax = math.Max(rmax, math.Abs(s-b[i]))
		xmax = math.Max(xmax, math.Abs(xs[i]))
	}
	berr := rmax / (OneNorm(n, n, full, n) * xmax)
	if berr > 1e-14 {
		t.Errorf("%s: backward error %g (rcond %g)", Backend(), berr, rc)
	}
	t.Logf("%s: backward error %.2g at rcond %.2g", Backend(), berr, rc)
}

func TestDsposv(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	rbf := func(n int, ridge float64) []float64 {
		x := randMat(rng, n, 3, 3)
		s := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				var q float64
				for c := 0; c < 3; c++ {
					v := x[i*3+c] - x[j*3+c]
					q += v * v
				}
				s[i*n+j] = math.Exp(-0.5 * q)
			}
			s[i*n+i] += ridge
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		n      int
		ridge  float64
		wantOK bool
	}{
		{"serial", 150, 1e-2, true},
		{"blocked", 700, 1e-2, true},
		{"ill-conditioned", 700, 1e-9, false},
	} {
		full := rbf(tc.n, tc.ridge)
		n, nrhs := tc.n, 2
		// Only the lower triangle may be read.
		a := append([]float64(nil), full...)
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				a[i*n+j] = math.NaN()
			}
		}
		orig := append([]float64(nil), a...)
		b := randMat(rng, n, nrhs, nrhs)
		x := make([]float64, n*nrhs)
		iter, ok := Dsposv(n, nrhs, a, n, b, nrhs, x, nrhs)
		if ok != tc.wantOK {
			t.Fatalf("%s %s: ok = %v after %d steps, want %v", Backend(), tc.name, ok, iter, tc.wantOK)
		}
		for i := range a {
			if a[i] != orig[i] && !(math.IsNaN(a[i]) && math.IsNaN(orig[i])) {
				t.Fatalf("%s: A modified", tc.name)
			}
		}
		if !ok {
			continue
		}
		// Same answer as the float64 Cholesky solve.
		l := append([]float64(nil), full...)
		if err := Dpotrf(n, l, n); err != nil {
			t.Fatal(err)
		}
		xd := append([]float64(nil), b...)
		Dpotrs(n, nrhs, l, n, xd, nrhs)
		rc := Dpocon(n, l, n, OneNorm(n, n, full, n))
		var d, xm float64
		for i := range x {
			d = math.Max(d, math.Abs(x[i]-xd[i]))
			xm = math.Max(xm, math.Abs(xd[i]))
		}
		if d > 100*2.2e-16/rc*xm {
			t.Errorf("%s %s: mixed vs float64 solution differ by %g (‖x‖ %g, rcond %g)", Backend(), tc.name, d, xm, rc)
		}
		t.Logf("%s %s: %d refinement steps, rcond %.2g, |Δ| %.2g", Backend(), tc.name, iter, rc, d/xm)
	}
	// Not positive definite, and out of float32 range.
	big := rbf(1300, 0.5)
	if got, want := SymOneNorm(1300, big, 1300), OneNorm(1300, 1300, big, 1300); math.Abs(got-want) > 1e-10*want {
		t.Errorf("parallel SymOneNorm %v, OneNorm %v", got, want)
	}
	a := []float64{1, 2, 2, 1}
	if _, ok := Dsposv(2, 1, a, 2, []float64{1, 1}, 1, make([]float64, 2), 1); ok {
		t.Error("indefinite matrix accepted")
	}
	a = []float64{1e39, 0, 0, 1e39}
	if _, ok := Dsposv(2, 1, a, 2, []float64{1, 1}, 1, make([]float64, 2), 1); ok {
		t.Error("matrix out of float32 range accepted")
	}
}

// TestLookAheadBounds checks the row blocks of the Cholesky's trailing
// update: the first block is the next diagonal block, the blocks cover
// [0, m) in order, and those after the first have about equal area (the
// rows of a lower triangle, hi² − lo² each, within a row of the ideal).
func TestLookAheadBounds(t *testing.T) {
	tests := []struct{ m, first, parts int }{
		{100, 256, 8}, {256, 256, 8}, {257, 256, 8}, {3744, 256, 8}, {1000, 100, 3}, {40, 16, 8},
	}
	for _, tt := range tests {
		b := lookAheadBounds(tt.m, tt.first, tt.parts)
		if b[0] != 0 || b[len(b)-1] != tt.m || b[1] != min(tt.first, tt.m) {
			t.Errorf("m=%d first=%d: bounds %v", tt.m, tt.first, b)
			continue
		}
		if tt.first >= tt.m {
			if len(b) != 2 {
				t.Errorf("m=%d first=%d: bounds %v, want one block", tt.m, tt.first, b)
			}
			continue
		}
		if len(b) != tt.parts+2 {
			t.Errorf("m=%d: %d bounds, want %d", tt.m, len(b), tt.parts+2)
		}
		f, m := float64(tt.first), float64(tt.m)
		ideal := (m*m - f*f) / float64(tt.parts)
		for p := 1; p < len(b)-1; p++ {
			if b[p+1] < b[p] {
				t.Fatalf("m=%d: bounds %v not in order", tt.m, b)
			}
			lo, hi := float64(b[p]), float64(b[p+1])
			if math.Abs(hi*hi-lo*lo-ideal) > 2*m+1 {
				t.Errorf("m=%d first=%d: block %d of rows [%v, %v) has area %v, want about %v", tt.m, tt.first, p, lo, hi, hi*hi-lo*lo, ideal)
			}
		}
	}
}
