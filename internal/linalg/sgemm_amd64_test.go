//go:build amd64 && !openblas && !purego

package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// gemmCase is one product with its layout: op(A) is m×k, op(B) k×n, and
// each leading dimension is padded past its minimum.
type gemmCase[T float32 | float64] struct {
	ta, tb      bool
	m, n, k     int
	pad         int
	alpha, beta T
}

func (g gemmCase[T]) String() string {
	return fmt.Sprintf("ta=%v tb=%v m=%d n=%d k=%d pad=%d alpha=%v beta=%v", g.ta, g.tb, g.m, g.n, g.k, g.pad, g.alpha, g.beta)
}

// parallelCases are the products of the parallel GEMM tests (float32 and
// float64): shapes that split over goroutines by rows, by columns and by
// the inner dimension, and wide results computed transposed.
func parallelCases[T float32 | float64]() []gemmCase[T] {
	return []gemmCase[T]{
		{m: 1001, n: 40, k: 100, alpha: 1, beta: 1},                   // rows
		{ta: true, m: 700, n: 33, k: 97, alpha: 1.5, beta: 0},         // rows, Aᵀ
		{m: 64, n: 517, k: 70, pad: 2, alpha: 1, beta: 0},             // columns
		{tb: true, m: 100, n: 300, k: 90, alpha: -1, beta: 0.25},      // columns, Bᵀ
		{ta: true, m: 32, n: 9, k: 9000, alpha: 1, beta: 1},           // inner
		{tb: true, m: 17, n: 128, k: 1100, pad: 1, alpha: 2, beta: 0}, // Cᵀ = B·Aᵀ, inner
		{ta: true, m: 40, n: 300, k: 600, alpha: 1, beta: 1},          // Cᵀ = Bᵀ·A, rows
	}
}

// sentinel marks the padding of C, which no product may write.
const sentinel = 12345

// operands returns random A, B and C for g with their leading dimensions
// (at least 1, with A and B at least one element long, as gonum wants);
// C's padding holds sentinel and, when beta is 0, C holds NaNs, which
// must not reach the result.
func (g gemmCase[T]) operands(rng *rand.Rand) (a []T, lda int, b []T, ldb int, c []T, ldc int) {
	ar, ac := g.m, g.k
	if g.ta {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.tb {
		br, bc = g.n, g.k
	}
	lda, ldb, ldc = max(ac+g.pad, 1), max(bc+g.pad, 1), g.n+g.pad
	a = make([]T, max(1, (ar-1)*lda+ac))
	b = make([]T, max(1, (br-1)*ldb+bc))
	c = make([]T, (g.m-1)*ldc+g.n)
	for i := range a {
		a[i] = T(rng.NormFloat64())
	}
	for i := range b {
		b[i] = T(rng.NormFloat64())
	}
	for i := range c {
		switch {
		case i%ldc >= g.n:
			c[i] = sentinel
		case g.beta == 0:
			c[i] = T(math.NaN())
		default:
			c[i] = T(rng.NormFloat64())
		}
	}
	return a, lda, b, ldb, c, ldc
}

// check runs the micro-kernel path on g and compares it with a float64
// triple loop, elementwise within a float32 bound on the rounding error,
// and the padding of C with its sentinel.
func check(t testing.TB, g gemmCase[float32], rng *rand.Rand, portable bool) {
	t.Helper()
	a, lda, b, ldb, c, ldc := g.operands(rng)
	got := append([]float32(nil), c...)
	sgemmAsm(g.ta, g.tb, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, got, ldc)
	var port []float32
	if portable && g.k > 0 { // gonum wants room for k=1 in A and B
		port = append([]float32(nil), c...)
		sgemmGonum(g.ta, g.tb, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, port, ldc)
	}
	at := func(x []float32, ld int, tr bool, i, j int) float64 {
		if tr {
			return float64(x[j*ld+i])
		}
		return float64(x[i*ld+j])
	}
	for i := range g.m {
		for j := 0; j < ldc && i*ldc+j < len(c); j++ {
			o := i*ldc + j
			if j >= g.n {
				if got[o] != sentinel {
					t.Fatalf("%v: padding c[%d,%d] written: %v", g, i, j, got[o])
				}
				continue
			}
			var s, mag float64
			for p := range g.k {
				v := at(a, lda, g.ta, i, p) * at(b, ldb, g.tb, p, j)
				s += v
				mag += math.Abs(v)
			}
			want := float64(g.alpha) * s
			mag *= math.Abs(float64(g.alpha))
			if g.beta != 0 {
				want += float64(g.beta) * float64(c[o])
				mag += math.Abs(float64(g.beta) * float64(c[o]))
			}
			tol := 4*float64(g.k+2)*0x1p-24*mag + 1e-30
			if d := math.Abs(float64(got[o]) - want); !(d <= tol) {
				t.Fatalf("%v: c[%d,%d] = %v, want %v (±%.2g)", g, i, j, got[o], want, tol)
			}
			if port != nil {
				if d := math.Abs(float64(got[o]) - float64(port[o])); !(d <= 2*tol) {
					t.Fatalf("%v: c[%d,%d] = %v, portable path %v", g, i, j, got[o], port[o])
				}
			}
		}
	}
}

func needAsm(t testing.TB) {
	if !useAsmSgemm {
		t.Skip("CPU without AVX2 and FMA: the micro-kernel does not run")
	}
}

// TestSgemmAsmEdges covers the edge sizes around the 6×16 tile and the
// 384-deep blocks, all transposes, padded leading dimensions and the
// special values of alpha and beta, on one goroutine.
func TestSgemmAsmEdges(t *testing.T) {
	needAsm(t)
	eachKernel(t, &sKernel, kernelsOf(sKernelAVX2, sKernelAVX512), func(t *testing.T) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		rng := rand.New(rand.NewPCG(3, 4))
		sizes := []int{1, 2, 3, 5, 7, 15, 16, 17, 31, 32, 33, 64, 65, 100, 257}
		scalars := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {0, 0}, {0, 0.5}, {2, 0}}
		n := 0
		for _, m := range sizes {
			for _, nn := range sizes {
				for _, k := range append(sizes, 0, 385, 800) {
					if m*nn*k > 100_000 {
						continue
					}
					for tr := range 4 {
						s := scalars[(m+nn+k+tr)%len(scalars)]
						g := gemmCase[float32]{ta: tr&1 != 0, tb: tr&2 != 0, m: m, n: nn, k: k, pad: (m + k) % 3, alpha: s[0], beta: s[1]}
						check(t, g, rng, n%7 == 0)
						n++
					}
				}
			}
		}
		t.Logf("%d products", n)
	})
}

// TestSgemmAsmParallel covers the goroutine splits (by rows, by columns and
// by the inner dimension) and the transposed product for wide results, with
// an odd number of workers.
func TestSgemmAsmParallel(t *testing.T) {
	needAsm(t)
	eachKernel(t, &sKernel, kernelsOf(sKernelAVX2, sKernelAVX512), func(t *testing.T) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
		rng := rand.New(rand.NewPCG(5, 6))
		for _, g := range parallelCases[float32]() {
			check(t, g, rng, true)
		}
	})
}

// TestSgemmDispatch checks that Sgemm itself takes the micro-kernel.
func TestSgemmDispatch(t *testing.T) {
	needAsm(t)
	a := []float32{1, 2, 3, 4}
	c := []float32{float32(math.NaN()), 0, 0, 0}
	Sgemm(false, false, 2, 2, 2, 1, a, 2, a, 2, 0, c, 2)
	want := []float32{7, 10, 15, 22}
	for i := range c {
		if c[i] != want[i] {
			t.Fatalf("Sgemm = %v, want %v", c, want)
		}
	}
}

// TestSgemmShortSlice checks that a slice too short for its shape panics
// before the kernel reads past it, as gonum does.
func TestSgemmShortSlice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a short slice")
		}
	}()
	a := make([]float32, 6*16-1)
	sgemmAsm(false, false, 6, 16, 16, 1, a, 16, make([]float32, 256), 16, 0, make([]float32, 96), 16)
}

// FuzzSgemm compares the micro-kernel with the triple loop on fuzzed shapes.
func FuzzSgemm(f *testing.F) {
	if !useAsmSgemm {
		f.Skip("CPU without AVX2 and FMA")
	}
	f.Add(uint8(7), uint8(17), uint8(5), uint8(0), uint8(1), uint64(1))
	f.Add(uint8(6), uint8(16), uint8(200), uint8(3), uint8(2), uint64(2))
	f.Fuzz(func(t *testing.T, m, n, k, flags, pad uint8, seed uint64) {
		if m == 0 || n == 0 {
			return
		}
		g := gemmCase[float32]{ta: flags&1 != 0, tb: flags&2 != 0, m: int(m), n: int(n), k: int(k) * (1 + int(flags>>4)), pad: int(pad % 8), alpha: 1, beta: 0}
		if flags&4 != 0 {
			g.beta = 1
		}
		if flags&8 != 0 {
			g.alpha = -0.75
		}
		check(t, g, rand.New(rand.NewPCG(seed, 7)), false)
	})
}

// BenchmarkCNNShapesPortable is BenchmarkCNNShapes on gonum's portable
// path, the pure-Go build's SGEMM before the micro-kernel.
func BenchmarkCNNShapesPortable(b *testing.B) {
	defer func(u bool) { useAsmSgemm = u }(useAsmSgemm)
	useAsmSgemm = false
	benchCNNShapes(b)
}
