//go:build amd64 && !openblas && !purego

package linalg

import (
	"runtime"
	"sync"

	"golang.org/x/sys/cpu"
)

// useAsmSgemm selects the AVX2/FMA micro-kernel, as gonum selects its
// assembly: at run time, from the CPU's features.
var useAsmSgemm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// microKernel describes a register-blocked micro-kernel and its blocking.
// The kernel computes an mr×nr tile of C from an mr-row panel of A and an
// nr-column packed panel of B. B is packed in blocks of at most kc rows (a
// panel stays in the L1 cache) and about bBlock elements (a block stays in
// the L2 cache); A is read in place, with any stride, since each panel of
// mr rows is reused across the whole block of B from L1.
type microKernel[T float32 | float64] struct {
	mr, nr, kcMax, bBlock int
	// kern sets C[0:mr, 0:nr] = alpha·A·B, plus beta·C when load != 0
	// (C is not read otherwise), where A's element (r, p) is
	// a[r*rsa + p*csa] and b is a packed panel of k rows of nr. Strides
	// are in elements.
	kern func(k int, a *T, rsa, csa int, b *T, c *T, ldc int, alpha, beta T, load int)
}

// The float32 kernels: 6×16 floats in twelve ymm accumulators (AVX2/FMA)
// and 6×32 in twelve zmm (AVX-512F); sKernel is the widest the CPU runs.
var (
	sKernelAVX2   = &microKernel[float32]{mr: 6, nr: 16, kcMax: 384, bBlock: 1 << 17, kern: kern6x16}
	sKernelAVX512 = &microKernel[float32]{mr: 6, nr: 32, kcMax: 384, bBlock: 1 << 17, kern: kern6x32z}
	sKernel       = widest(sKernelAVX2, sKernelAVX512)
)

// widest returns the AVX-512 kernel where the CPU (and the OS) supports
// AVX-512F, the AVX2 one otherwise.
func widest[T float32 | float64](avx2, avx512 *microKernel[T]) *microKernel[T] {
	if cpu.X86.HasAVX512F {
		return avx512
	}
	return avx2
}

// kern6x16 and kern6x32z are the float32 micro-kernels (sgemm_amd64.s).
//
//go:noescape
func kern6x16(k int, a *float32, rsa, csa int, b *float32, c *float32, ldc int, alpha, beta float32, load int)

//go:noescape
func kern6x32z(k int, a *float32, rsa, csa int, b *float32, c *float32, ldc int, alpha, beta float32, load int)

// sgemmAsm is sgemm on the float32 micro-kernel; see gemmAsm.
func sgemmAsm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmAsm(sKernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmAsm is a GEMM on the micro-kernel mk: the shape is checked (the
// kernel reads raw memory), then the product runs serially or is split over
// goroutines by rows, columns or, for a long inner dimension with a small
// result, by the inner dimension with the partial products summed.
// alpha and beta act as in gonum: with alpha or k zero, A and B are not
// read; with beta zero, C is not read. Unlike gonum (and like OpenBLAS), a
// zero in A times an infinity in B gives NaN.
func gemmAsm[T float32 | float64](mk *microKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if n >= 2*m && m*n <= maxTransposed && k*(n-m) > 2*m*n {
		// B is packed and A read in place: when op(B) has many more
		// columns than op(A) rows (weight gradients Aᵀ·B), pack the
		// smaller one by computing Cᵀ = op(B)ᵀ·op(A)ᵀ, then transpose.
		p := getBuf[T](m * n)
		t := *p
		gemmAsm(mk, !transB, !transA, n, m, k, alpha, b, ldb, a, lda, 0, t, m)
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				if beta == 0 {
					row[j] = t[j*m+i]
				} else {
					row[j] = beta*row[j] + t[j*m+i]
				}
			}
		}
		putBuf(p)
		return
	}
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || m*n*k < splitFlops {
		gemmSerial(mk, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if k >= 4*max(m, n) && m*n <= 1<<16 {
		gemmSplitK(mk, workers, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// Splitting by rows packs B once per worker, splitting by columns
	// reads A once per worker: pick the cheaper, given enough panels.
	byRows := 2*n < m
	if byRows && m < 2*workers*mk.mr {
		byRows = false
	} else if !byRows && n < 2*workers*mk.nr {
		byRows = true
	}
	size, align := n, mk.nr
	if byRows {
		size, align = m, mk.mr
	}
	chunk := (size + workers - 1) / workers
	chunk = (chunk + align - 1) / align * align
	var wg sync.WaitGroup
	for lo := 0; lo < size; lo += chunk {
		hi := min(lo+chunk, size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if byRows {
				gemmSerial(mk, transA, transB, hi-lo, n, k, alpha, a[offA(transA, lo, lda, k):], lda, b, ldb, beta, c[lo*ldc:], ldc)
			} else {
				gemmSerial(mk, transA, transB, m, hi-lo, k, alpha, a, lda, b[offB(transB, lo, ldb, k):], ldb, beta, c[lo:], ldc)
			}
		}()
	}
	wg.Wait()
}

// gemmSplitK splits the inner dimension over the workers: the first adds
// its part to beta·C, the others write theirs to pooled buffers, summed
// into C in worker order (the result depends on GOMAXPROCS only through
// the order of that sum).
func gemmSplitK[T float32 | float64](mk *microKernel[T], workers int, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	chunk := (k + workers - 1) / workers
	parts := (k + chunk - 1) / chunk
	bufs := make([]*[]T, parts)
	var wg sync.WaitGroup
	for w := range parts {
		lo := w * chunk
		hi := min(lo+chunk, k)
		// op(A)'s columns lo:hi and op(B)'s rows lo:hi.
		oa, ob := lo, lo*ldb
		if transA {
			oa = lo * lda
		}
		if transB {
			ob = lo
		}
		dst, ldd, bt := c, ldc, beta
		if w > 0 {
			bufs[w] = getBuf[T](m * n)
			dst, ldd, bt = *bufs[w], n, 0
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			gemmSerial(mk, transA, transB, m, n, hi-lo, alpha, a[oa:], lda, b[ob:], ldb, bt, dst, ldd)
		}()
	}
	wg.Wait()
	for _, p := range bufs[1:] {
		t := *p
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			for j, v := range t[i*n : i*n+n] {
				row[j] += v
			}
		}
		putBuf(p)
	}
}

// gemmSerial is the blocked product on one goroutine (k > 0).
func gemmSerial[T float32 | float64](mk *microKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	mr, nr := mk.mr, mk.nr
	rsa, csa := lda, 1
	if transA {
		rsa, csa = 1, lda
	}
	kc := (k + mk.kcMax - 1) / mk.kcMax
	kc = (k + kc - 1) / kc
	ncMax := max(256, min(4096, mk.bBlock/kc/nr*nr))
	nc := (n + ncMax - 1) / ncMax
	nc = ((n+nc-1)/nc + nr - 1) / nr * nr

	bp := getBuf[T](kc * nc)
	ap := getBuf[T](mr * kc)
	// The edge tile is pooled too: passed to the kernel through a func
	// value, an array on the stack would escape and be allocated per call.
	tp := getBuf[T](mr * nr)
	defer putBuf(bp)
	defer putBuf(ap)
	defer putBuf(tp)
	tile := *tp
	for jc := 0; jc < n; jc += nc {
		ncc := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kcc := min(kc, k-pc)
			packB(*bp, nr, transB, b, ldb, pc, kcc, jc, ncc)
			bt := beta
			if pc > 0 {
				bt = 1
			}
			load := 0
			if bt != 0 {
				load = 1
			}
			for ir := 0; ir < m; ir += mr {
				mrr := min(mr, m-ir)
				pa, ra, ca := &a[ir*rsa+pc*csa], rsa, csa
				if mrr < mr || (transA && lda >= 512 && ncc >= 8*nr) {
					// A partial panel, padded, or one of Aᵀ with a long
					// stride reused over many panels of B: its columns,
					// lda ≥ 2 KiB apart, would share L1 cache sets
					// (packing measured 29.6 → 34.6 GFLOP/s on float64
					// 1024×2048×2048 Aᵀ·B, and 5% slower for float32
					// at lda = 128).
					packA(*ap, mr, a, rsa, csa, ir, mrr, pc, kcc)
					pa, ra, ca = &(*ap)[0], 1, mr
				}
				for jr := 0; jr < ncc; jr += nr {
					nrr := min(nr, ncc-jr)
					pb := &(*bp)[jr*kcc]
					if mrr == mr && nrr == nr {
						mk.kern(kcc, pa, ra, ca, pb, &c[ir*ldc+jc+jr], ldc, alpha, bt, load)
						continue
					}
					mk.kern(kcc, pa, ra, ca, pb, &tile[0], nr, alpha, 0, 0)
					for i := range mrr {
						row := c[(ir+i)*ldc+jc+jr : (ir+i)*ldc+jc+jr+nrr]
						t := tile[i*nr : i*nr+nrr]
						if load == 0 {
							copy(row, t)
							continue
						}
						for j, v := range t {
							row[j] = bt*row[j] + v
						}
					}
				}
			}
		}
	}
}

// packB copies op(B)'s rows pc:pc+kc, columns jc:jc+nc into dst as panels
// of nr columns, each kc rows of nr elements, the last padded with zeros.
func packB[T float32 | float64](dst []T, nr int, transB bool, b []T, ldb, pc, kc, jc, nc int) {
	for jr := 0; jr < nc; jr += nr {
		w := min(nr, nc-jr)
		d := dst[jr*kc : jr*kc+kc*nr]
		if !transB {
			for p := range kc {
				src := b[(pc+p)*ldb+jc+jr:]
				row := d[p*nr : p*nr+nr]
				copy(row, src[:w])
				clear(row[w:])
			}
			continue
		}
		for j := range w {
			o := (jc+jr+j)*ldb + pc
			for p, v := range b[o : o+kc] {
				d[p*nr+j] = v
			}
		}
		for j := w; j < nr; j++ {
			for p := range kc {
				d[p*nr+j] = 0
			}
		}
	}
}

// packA copies a panel of op(A) (rows ir:ir+mrr ≤ mr, columns pc:pc+kc)
// into dst as kc columns of mr elements, padded with zeros.
func packA[T float32 | float64](dst []T, mr int, a []T, rsa, csa, ir, mrr, pc, kc int) {
	for p := range kc {
		col := dst[p*mr : p*mr+mr]
		for r := range mr {
			if r < mrr {
				col[r] = a[(ir+r)*rsa+(pc+p)*csa]
			} else {
				col[r] = 0
			}
		}
	}
}

// getBuf returns a pooled buffer of at least n elements (pool32 or pool64).
func getBuf[T float32 | float64](n int) *[]T {
	p := poolOf[T]().Get().(*[]T)
	if cap(*p) < n {
		*p = make([]T, n)
	}
	*p = (*p)[:n]
	return p
}

// putBuf returns a buffer from getBuf to its pool.
func putBuf[T float32 | float64](p *[]T) { poolOf[T]().Put(p) }

func poolOf[T float32 | float64]() *sync.Pool {
	var z T
	if _, ok := any(z).(float32); ok {
		return &pool32
	}
	return &pool64
}

// scaleC sets C = beta·C, zeroing C (NaNs included) when beta is 0, as
// gonum does when alpha or k is 0.
func scaleC[T float32 | float64](m, n int, beta T, c []T, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
