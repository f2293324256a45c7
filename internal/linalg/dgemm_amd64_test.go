//go:build amd64 && !openblas && !purego

package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"golang.org/x/sys/cpu"
	"gonum.org/v1/gonum/blas"
)

func absAll(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Abs(v)
	}
	return y
}

// checkD runs product g on the micro-kernel (parallel driver, or the serial
// one when serial is set) and compares it elementwise with gonum's Dgemm,
// within 1e-13·(k+1) of |alpha|·|A|·|B| + |beta·C|, and the padding of C
// with its sentinel.
func checkD(t testing.TB, g gemmCase[float64], rng *rand.Rand, serial bool) {
	t.Helper()
	a, lda, b, ldb, c, ldc := g.operands(rng)
	got := append([]float64(nil), c...)
	if serial {
		dgemmAsm1(g.ta, g.tb, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, got, ldc)
	} else {
		dgemmAsm(g.ta, g.tb, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, got, ldc)
	}
	want := append([]float64(nil), c...)
	mag := make([]float64, len(c))
	if g.beta != 0 {
		for i, v := range c {
			mag[i] = math.Abs(g.beta * v)
		}
	}
	if g.k > 0 {
		impl.Dgemm(transpose(g.ta), transpose(g.tb), g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, want, ldc)
		impl.Dgemm(transpose(g.ta), transpose(g.tb), g.m, g.n, g.k, math.Abs(g.alpha), absAll(a), lda, absAll(b), ldb, 1, mag, ldc)
	} else {
		scaleC(g.m, g.n, g.beta, want, ldc)
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
			tol := 1e-13*float64(g.k+1)*mag[o] + 1e-300
			if d := math.Abs(got[o] - want[o]); !(d <= tol) {
				t.Fatalf("%v: c[%d,%d] = %v, gonum %v (±%.2g)", g, i, j, got[o], want[o], tol)
			}
		}
	}
}

// kernelsOf returns the kernels of a type the CPU runs, AVX2 first.
func kernelsOf[T float32 | float64](avx2, avx512 *microKernel[T]) []*microKernel[T] {
	if cpu.X86.HasAVX512F {
		return []*microKernel[T]{avx2, avx512}
	}
	return []*microKernel[T]{avx2}
}

// eachKernel runs f as a subtest per kernel of ks, with *cur set to it.
func eachKernel[T float32 | float64](t *testing.T, cur **microKernel[T], ks []*microKernel[T], f func(t *testing.T)) {
	t.Helper()
	saved := *cur
	defer func() { *cur = saved }()
	for _, mk := range ks {
		*cur = mk
		t.Run(fmt.Sprintf("%dx%d", mk.mr, mk.nr), f)
	}
}

func needAsmD(t testing.TB) {
	if !useAsmDgemm {
		t.Skip("CPU without AVX2 and FMA: the micro-kernel does not run")
	}
}

// TestDgemmAsmEdges covers the edge sizes around the 6×8 tile and the
// 256-deep blocks, all transposes, padded leading dimensions and every
// pair of alpha ∈ {1, −1, 0.5} and beta ∈ {0, 1, 0.3} (plus alpha = 0 and
// k = 0), on one goroutine, through the serial and the parallel driver.
func TestDgemmAsmEdges(t *testing.T) {
	needAsmD(t)
	eachKernel(t, &dKernel, kernelsOf(dKernelAVX2, dKernelAVX512), func(t *testing.T) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		rng := rand.New(rand.NewPCG(3, 4))
		sizes := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 31, 33, 64, 65, 127, 300}
		var scalars [][2]float64
		for _, al := range []float64{1, -1, 0.5} {
			for _, be := range []float64{0, 1, 0.3} {
				scalars = append(scalars, [2]float64{al, be})
			}
		}
		scalars = append(scalars, [2]float64{0, 0}, [2]float64{0, 0.3})
		n := 0
		for _, m := range sizes {
			for _, nn := range sizes {
				for _, k := range append(sizes, 0, 257, 600) {
					if m*nn*k > 150_000 {
						continue
					}
					for tr := range 4 {
						s := scalars[(m+nn+k+tr+n/7)%len(scalars)]
						g := gemmCase[float64]{ta: tr&1 != 0, tb: tr&2 != 0, m: m, n: nn, k: k, pad: (m + k) % 3, alpha: s[0], beta: s[1]}
						checkD(t, g, rng, n%2 == 0)
						n++
					}
				}
			}
		}
		t.Logf("%d products", n)
	})
}

// TestDgemmAsmParallel covers the goroutine splits (by rows, by columns and
// by the inner dimension) and the transposed product for wide results, with
// an odd number of workers.
func TestDgemmAsmParallel(t *testing.T) {
	needAsmD(t)
	eachKernel(t, &dKernel, kernelsOf(dKernelAVX2, dKernelAVX512), func(t *testing.T) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
		rng := rand.New(rand.NewPCG(5, 6))
		for _, g := range parallelCases[float64]() {
			checkD(t, g, rng, false)
		}
	})
}

// TestSyrkAsm compares the blocked SYRK, float64 and float32, with gonum's
// Dsyrk and Ssyrk on the lower triangle, both layouts, around the diagonal
// block size; the strict upper triangle (a sentinel) must stay untouched
// and, with beta 0, NaNs in C must not reach the result.
func TestSyrkAsm(t *testing.T) {
	needAsmD(t)
	t.Run("float64", func(t *testing.T) {
		eachKernel(t, &dKernel, kernelsOf(dKernelAVX2, dKernelAVX512), func(t *testing.T) {
			testSyrk(t, dsyrkAsm1, func(tr blas.Transpose, n, k int, alpha float64, a []float64, lda int, beta float64, c []float64, ldc int) {
				impl.Dsyrk(blas.Lower, tr, n, k, alpha, a, lda, beta, c, ldc)
			}, 1e-13)
		})
	})
	t.Run("float32", func(t *testing.T) {
		eachKernel(t, &sKernel, kernelsOf(sKernelAVX2, sKernelAVX512), func(t *testing.T) {
			testSyrk(t, ssyrkAsm1, func(tr blas.Transpose, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
				impl.Ssyrk(blas.Lower, tr, n, k, alpha, a, lda, beta, c, ldc)
			}, 4*0x1p-24)
		})
	})
}

// testSyrk checks syrk against ref within eps·(k+1) of
// |alpha|·|op(A)|·|op(A)|ᵀ + |beta·C|, elementwise.
func testSyrk[T float32 | float64](t *testing.T, syrk func(bool, int, int, T, []T, int, T, []T, int),
	ref func(blas.Transpose, int, int, T, []T, int, T, []T, int), eps float64) {
	rng := rand.New(rand.NewPCG(7, 8))
	abs := func(x []T) []T {
		y := make([]T, len(x))
		for i, v := range x {
			y[i] = T(math.Abs(float64(v)))
		}
		return y
	}
	for _, n := range []int{1, 5, 47, 48, 49, 97, 150} {
		for _, k := range []int{0, 1, 7, 300} {
			for _, trans := range []bool{false, true} {
				for _, s := range [][2]T{{1, 0}, {-1, 1}, {0.5, 0.3}, {0, 0.3}} {
					ar, ac := n, k
					if trans {
						ar, ac = k, n
					}
					lda, ldc := ac+1, n+2
					a := make([]T, max(1, ar*lda))
					for i := range a {
						a[i] = T(rng.NormFloat64())
					}
					c := make([]T, n*ldc)
					for i := range c {
						switch {
						case i%ldc > i/ldc:
							c[i] = sentinel
						case s[1] == 0:
							c[i] = T(math.NaN())
						default:
							c[i] = T(rng.NormFloat64())
						}
					}
					got := append([]T(nil), c...)
					syrk(trans, n, k, s[0], a, lda, s[1], got, ldc)
					want := append([]T(nil), c...)
					mag := make([]T, len(c))
					for i, v := range c {
						if s[1] != 0 && i%ldc <= i/ldc {
							mag[i] = T(math.Abs(float64(s[1] * v)))
						}
					}
					if s[1] == 0 {
						// gonum's SYRK multiplies C by a zero beta when
						// op(A) = Aᵀ (NaNs stay NaN); BLAS does not read C.
						for i := range n {
							clear(want[i*ldc : i*ldc+i+1])
						}
					}
					ref(transpose(trans), n, k, s[0], a, lda, s[1], want, ldc)
					ref(transpose(trans), n, k, T(math.Abs(float64(s[0]))), abs(a), lda, 1, mag, ldc)
					for i := range n {
						for j := range ldc {
							o := i*ldc + j
							if j > i {
								if got[o] != c[o] {
									t.Fatalf("n=%d k=%d trans=%v %v: upper c[%d,%d] written: %v", n, k, trans, s, i, j, got[o])
								}
								continue
							}
							tol := eps*float64(k+1)*float64(mag[o]) + 1e-30
							if d := math.Abs(float64(got[o] - want[o])); !(d <= tol) {
								t.Fatalf("n=%d k=%d trans=%v %v: c[%d,%d] = %v, gonum %v", n, k, trans, s, i, j, got[o], want[o])
							}
						}
					}
				}
			}
		}
	}
}

// TestDgemmDispatch checks that Dgemm and the serial kernels of the
// blocked algorithms take the micro-kernel: unlike gonum, which skips zero
// multipliers, it gives 0·∞ = NaN.
func TestDgemmDispatch(t *testing.T) {
	needAsmD(t)
	a := []float64{0}
	b := []float64{math.Inf(1)}
	for name, f := range map[string]func(c []float64){
		"Dgemm":  func(c []float64) { Dgemm(false, false, 1, 1, 1, 1, a, 1, b, 1, 0, c, 1) },
		"dgemm1": func(c []float64) { dgemm1(false, false, 1, 1, 1, 1, a, 1, b, 1, 0, c, 1) },
		"dsyrk1": func(c []float64) { dsyrk1(false, 1, 1, 1, b, 1, 0, c, 1) },
	} {
		c := []float64{0}
		f(c)
		if name == "dsyrk1" {
			if !math.IsInf(c[0], 1) {
				t.Fatalf("%s = %v, want +Inf", name, c[0])
			}
			continue
		}
		if !math.IsNaN(c[0]) {
			t.Fatalf("%s: 0·∞ = %v: gonum's path ran, not the micro-kernel", name, c[0])
		}
	}
}

// TestDgemmShortSlice checks that a slice too short for its shape panics
// before the kernel reads past it, as gonum does.
func TestDgemmShortSlice(t *testing.T) {
	for name, f := range map[string]func(){
		"gemm": func() {
			dgemmAsm(false, false, 6, 8, 8, 1, make([]float64, 6*8-1), 8, make([]float64, 64), 8, 0, make([]float64, 48), 8)
		},
		"syrk": func() { dsyrkAsm1(false, 6, 8, 1, make([]float64, 6*8-1), 8, 0, make([]float64, 36), 6) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("%s: no panic for a short slice", name)
				}
			}()
			f()
		}()
	}
}

// FuzzDgemm compares the micro-kernel with gonum on fuzzed shapes.
func FuzzDgemm(f *testing.F) {
	if !useAsmDgemm {
		f.Skip("CPU without AVX2 and FMA")
	}
	f.Add(uint8(7), uint8(17), uint8(5), uint8(0), uint8(1), uint64(1))
	f.Add(uint8(6), uint8(8), uint8(200), uint8(3), uint8(2), uint64(2))
	f.Fuzz(func(t *testing.T, m, n, k, flags, pad uint8, seed uint64) {
		if m == 0 || n == 0 {
			return
		}
		g := gemmCase[float64]{ta: flags&1 != 0, tb: flags&2 != 0, m: int(m), n: int(n), k: int(k) * (1 + int(flags>>4)), pad: int(pad % 8), alpha: 1, beta: 0}
		if flags&4 != 0 {
			g.beta = 0.3
		}
		if flags&8 != 0 {
			g.alpha = -0.5
		}
		checkD(t, g, rand.New(rand.NewPCG(seed, 7)), flags&64 != 0)
	})
}

// BenchmarkDgemmPortable is BenchmarkDgemm on gonum's portable path, the
// pure-Go build's DGEMM before the micro-kernel.
func BenchmarkDgemmPortable(b *testing.B) {
	defer func(u bool) { useAsmDgemm = u }(useAsmDgemm)
	useAsmDgemm = false
	benchDgemm(b)
}
