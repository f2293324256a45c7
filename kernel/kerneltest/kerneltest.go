// Package kerneltest is a conformance test for implementations of
// kernel.Kernel, in the style of gonum's lapack/testlapack: every kernel's
// test calls [Check] with its kernel and the checks are the same for all.
//
// Check verifies that
//   - kernel.Gram returns rows(X)×rows(Z) blocks equal to pair-by-pair
//     evaluation (within Tol, relative), for X ≠ Z and for Z = X (the SYRK
//     path of inner-product kernels), and is deterministic;
//   - a kernel that reports Symmetric() gives symmetric Gram matrices and
//     k(x, z) = k(z, x);
//   - a kernel that reports itself positive semidefinite (kernel.IsPSD)
//     gives Gram matrices with no eigenvalue below −Tol·n·max|K|. Indefinite
//     kernels (sigmoid, Delta-Gaussian, sphere polynomial) and asymmetric
//     ones are exempt: they report PSD() false;
//   - kernel.GramTo rejects a destination of the wrong shape, and Gram
//     rejects mismatched feature counts and non-finite inputs with errors
//     (not panics);
//   - a kernel that implements kernel.Specifier survives a round trip
//     through kernel.NewKernel with an identical Gram matrix.
//
// Data-dependent kernels (kernel.Binder) are bound to the first input set.
package kerneltest

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// Options tunes [Check]. The zero value checks 4-dimensional standard
// normal inputs, 13 and 7 rows, tolerance 1e-9.
type Options struct {
	// Dim is the input dimension; 0 means 4. Kernels whose parameters fix
	// the dimension (a shift vector) must get it here.
	Dim int
	// Rows of the two input sets; 0 means 13 and 7.
	NX, NZ int
	// Tol is the relative tolerance between Gram entries and Eval; 0 means
	// 1e-9.
	Tol float64
	// Inputs draws an n×d input set; nil means i.i.d. standard normal
	// entries. Use it for kernels defined on a domain (unit sphere,
	// non-negative data).
	Inputs func(rng *rand.Rand, n, d int) *mat.Dense
	// Seed seeds the inputs.
	Seed uint64
}

func (o Options) withDefaults() Options {
	if o.Dim == 0 {
		o.Dim = 4
	}
	if o.NX == 0 {
		o.NX = 13
	}
	if o.NZ == 0 {
		o.NZ = 7
	}
	if o.Tol == 0 {
		o.Tol = 1e-9
	}
	if o.Inputs == nil {
		o.Inputs = Normal
	}
	return o
}

// Normal returns an n×d matrix of i.i.d. standard normal entries.
func Normal(rng *rand.Rand, n, d int) *mat.Dense {
	m := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			m.Set(i, j, rng.NormFloat64())
		}
	}
	return m
}

// Sphere returns n points drawn uniformly on the unit sphere in R^d.
func Sphere(rng *rand.Rand, n, d int) *mat.Dense {
	m := Normal(rng, n, d)
	for i := 0; i < n; i++ {
		row := m.RawRowView(i)
		s := math.Sqrt(mat.Dot(mat.NewVecDense(d, row), mat.NewVecDense(d, row)))
		for j := range row {
			row[j] /= s
		}
	}
	return m
}

// Check runs the conformance checks on k; see the package documentation.
func Check(t testing.TB, k kernel.Kernel, opt Options) {
	t.Helper()
	o := opt.withDefaults()
	rng := rand.New(rand.NewPCG(o.Seed, 0x6b65726e))
	X := o.Inputs(rng, o.NX, o.Dim)
	Z := o.Inputs(rng, o.NZ, o.Dim)
	// Make a row of Z equal a row of X: exercises zero distances in the
	// cross block.
	Z.SetRow(0, X.RawRowView(1))

	if b, ok := k.(kernel.Binder); ok {
		bk, err := b.Bind(X)
		if err != nil {
			t.Fatalf("%T.Bind: %v", k, err)
		}
		k = bk
	}

	checkBlock := func(name string, A, B *mat.Dense) *mat.Dense {
		t.Helper()
		G, err := kernel.Gram(k, A, B)
		if err != nil {
			t.Fatalf("%T: Gram %s: %v", k, name, err)
		}
		ra, _ := A.Dims()
		rb, _ := B.Dims()
		if r, c := G.Dims(); r != ra || c != rb {
			t.Fatalf("%T: Gram %s is %d×%d, want %d×%d", k, name, r, c, ra, rb)
		}
		for i := 0; i < ra; i++ {
			for j := 0; j < rb; j++ {
				want := k.Eval(A.RawRowView(i), B.RawRowView(j))
				got := G.At(i, j)
				if math.IsNaN(got) || math.IsInf(got, 0) {
					t.Fatalf("%T: Gram %s[%d][%d] = %v", k, name, i, j, got)
				}
				if math.Abs(got-want) > o.Tol*(1+math.Abs(want)) {
					t.Errorf("%T: Gram %s[%d][%d] = %.17g, Eval gives %.17g", k, name, i, j, got, want)
				}
			}
		}
		G2, err := kernel.Gram(k, A, B)
		if err != nil || !mat.Equal(G, G2) {
			t.Errorf("%T: Gram %s is not deterministic (err %v)", k, name, err)
		}
		return G
	}
	checkBlock("K(X, Z)", X, Z)
	checkBlock("K(Z, X)", Z, X)
	K := checkBlock("K(X, X)", X, X)

	n := o.NX
	if k.Symmetric() {
		for i := 0; i < n; i++ {
			for j := 0; j < i; j++ {
				if K.At(i, j) != K.At(j, i) {
					t.Errorf("%T: symmetric kernel gives K[%d][%d]=%v ≠ K[%d][%d]=%v", k, i, j, K.At(i, j), j, i, K.At(j, i))
				}
				a, b := k.Eval(X.RawRowView(i), X.RawRowView(j)), k.Eval(X.RawRowView(j), X.RawRowView(i))
				if math.Abs(a-b) > o.Tol*(1+math.Abs(a)) {
					t.Errorf("%T: symmetric kernel has k(x%d, x%d)=%v ≠ k(x%d, x%d)=%v", k, i, j, a, j, i, b)
				}
			}
		}
	}
	if kernel.IsPSD(k) {
		sym := mat.NewSymDense(n, nil)
		var mx float64
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				sym.SetSym(i, j, K.At(i, j))
				mx = math.Max(mx, math.Abs(K.At(i, j)))
			}
		}
		var es mat.EigenSym
		if !es.Factorize(sym, false) {
			t.Fatalf("%T: eigen-decomposition of the Gram matrix failed", k)
		}
		vals := es.Values(nil)
		min := vals[0]
		for _, v := range vals {
			min = math.Min(min, v)
		}
		if min < -o.Tol*float64(n)*math.Max(mx, 1) {
			t.Errorf("%T: reports PSD but its Gram matrix has eigenvalue %g", k, min)
		}
	}

	// Errors, not panics.
	if err := kernel.GramTo(mat.NewDense(n+1, o.NZ, nil), k, X, Z); !errors.Is(err, kernel.ErrShape) {
		t.Errorf("%T: GramTo with a wrong-shaped destination: got %v, want ErrShape", k, err)
	}
	if err := kernel.GramTo(mat.NewDense(n, o.NZ, nil), k, X, Z); err != nil {
		t.Errorf("%T: GramTo: %v", k, err)
	}
	wide := o.Inputs(rng, 3, o.Dim+1)
	if _, err := kernel.Gram(k, X, wide); !errors.Is(err, kernel.ErrShape) {
		t.Errorf("%T: Gram with %d and %d features: got %v, want ErrShape", k, o.Dim, o.Dim+1, err)
	}
	bad := mat.DenseCopyOf(Z)
	bad.Set(1, 0, math.NaN())
	if _, err := kernel.Gram(k, X, bad); !errors.Is(err, kernel.ErrNonFinite) {
		t.Errorf("%T: Gram with a NaN input: got %v, want ErrNonFinite", k, err)
	}
	if _, err := kernel.Gram(k, X, nil); !errors.Is(err, kernel.ErrShape) {
		t.Errorf("%T: Gram with a nil input: got %v, want ErrShape", k, err)
	}

	if s, ok := k.(kernel.Specifier); ok {
		k2, err := kernel.NewKernel(s.Spec())
		if err != nil {
			t.Fatalf("%T: NewKernel(Spec()): %v", k, err)
		}
		K2, err := kernel.Gram(k2, X, X)
		if err != nil {
			t.Fatalf("%T: Gram of the rebuilt kernel: %v", k, err)
		}
		if !mat.Equal(K, K2) {
			t.Errorf("%T: kernel rebuilt from its Spec gives a different Gram matrix", k)
		}
		if k2.Symmetric() != k.Symmetric() || kernel.IsPSD(k2) != kernel.IsPSD(k) {
			t.Errorf("%T: kernel rebuilt from its Spec changes Symmetric/PSD", k)
		}
	}
}
