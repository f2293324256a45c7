package kernel

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/fastexp"
	"github.com/trustml/trustml/internal/linalg"
)

// Gram returns the rows(X)×rows(Z) matrix K[i][j] = k(X_i, Z_j).
//
// The block is built in parallel. An [InnerKernel] is built with one matrix
// product through the BLAS seam (SYRK when Z is the same matrix as X and the
// kernel is symmetric, which also halves the element-wise work) and an
// element-wise map; a [GramKernel] builds its own block; any other kernel
// is evaluated pair by pair. Errors report a nil or invalid kernel, empty or
// non-finite inputs and mismatched feature counts. Use [GramContext] to
// stop a large block early.
func Gram(k Kernel, X, Z *mat.Dense) (*mat.Dense, error) {
	return GramContext(context.Background(), k, X, Z)
}

// GramContext is [Gram] that checks ctx between blocks of rows (and before
// the matrix product of an [InnerKernel]) and returns ctx.Err() once it is
// cancelled.
func GramContext(ctx context.Context, k Kernel, X, Z *mat.Dense) (*mat.Dense, error) {
	if err := checkGramArgs(k, X, Z); err != nil {
		return nil, err
	}
	nx, _ := X.Dims()
	nz, _ := Z.Dims()
	dst := mat.NewDense(nx, nz, nil)
	if err := gramTo(ctx, dst, k, X, Z, false); err != nil {
		return nil, err
	}
	return dst, nil
}

// GramTo writes K[i][j] = k(X_i, Z_j) into dst, which must be
// rows(X)×rows(Z). See [Gram].
func GramTo(dst *mat.Dense, k Kernel, X, Z *mat.Dense) error {
	return GramToContext(context.Background(), dst, k, X, Z)
}

// GramToContext is [GramTo] with the cancellation of [GramContext].
func GramToContext(ctx context.Context, dst *mat.Dense, k Kernel, X, Z *mat.Dense) error {
	if err := checkGramArgs(k, X, Z); err != nil {
		return err
	}
	if dst == nil {
		return fmt.Errorf("kernel: Gram destination is nil: %w", ErrShape)
	}
	nx, _ := X.Dims()
	nz, _ := Z.Dims()
	if r, c := dst.Dims(); r != nx || c != nz {
		return fmt.Errorf("kernel: Gram destination is %d×%d, want %d×%d: %w", r, c, nx, nz, ErrShape)
	}
	return gramTo(ctx, dst, k, X, Z, false)
}

func checkGramArgs(k Kernel, X, Z *mat.Dense) error {
	if err := validateKernel(k); err != nil {
		return err
	}
	if err := checkData("X", X); err != nil {
		return err
	}
	if Z != X {
		if err := checkData("Z", Z); err != nil {
			return err
		}
	}
	_, dx := X.Dims()
	_, dz := Z.Dims()
	if dx != dz {
		return fmt.Errorf("kernel: X has %d features and Z has %d: %w", dx, dz, ErrShape)
	}
	if dk, ok := k.(dimensioned); ok && dk.Dim() > 0 && dk.Dim() != dx {
		return fmt.Errorf("kernel: %T is defined on %d features, data has %d: %w", k, dk.Dim(), dx, ErrShape)
	}
	return nil
}

// gramSym returns K(X, X) for model fitting. When lowerOnly is set and the
// kernel is symmetric only the lower triangle is written (what Cholesky,
// the eigensolver and SYRK-based code read).
func gramSym(ctx context.Context, k Kernel, X *mat.Dense, lowerOnly bool) (*mat.Dense, error) {
	if err := checkGramArgs(k, X, X); err != nil {
		return nil, err
	}
	n, _ := X.Dims()
	dst := mat.NewDense(n, n, linalg.Float64s(n*n))
	return dst, gramTo(ctx, dst, k, X, X, lowerOnly)
}

// gramCross returns K(X, Z) for prediction.
func gramCross(ctx context.Context, k Kernel, X, Z *mat.Dense) (*mat.Dense, error) {
	if err := checkGramArgs(k, X, Z); err != nil {
		return nil, err
	}
	nx, _ := X.Dims()
	nz, _ := Z.Dims()
	dst := mat.NewDense(nx, nz, nil)
	return dst, gramTo(ctx, dst, k, X, Z, false)
}

func gramTo(ctx context.Context, dst *mat.Dense, k Kernel, X, Z *mat.Dense, lowerOnly bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nx, d := X.Dims()
	nz, _ := Z.Dims()
	sym := X == Z && k.Symmetric()
	xr, zr, cr := X.RawMatrix(), Z.RawMatrix(), dst.RawMatrix()
	switch kk := k.(type) {
	case GramKernel:
		if err := kk.GramTo(dst, X, Z); err != nil {
			return err
		}
		return ctx.Err()
	case InnerKernel:
		if sym {
			linalg.Dsyrk(false, nx, d, 1, xr.Data, xr.Stride, 0, cr.Data, cr.Stride)
			norms := make([]float64, nx)
			for i := range norms {
				norms[i] = cr.Data[i*cr.Stride+i]
			}
			err := parallelRows(ctx, nx, 32, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					applyInner(kk, cr.Data[i*cr.Stride:i*cr.Stride+i+1], norms[i], norms[:i+1])
				}
			})
			if err != nil {
				return err
			}
		} else {
			linalg.Dgemm(false, true, nx, nz, d, 1, xr.Data, xr.Stride, zr.Data, zr.Stride, 0, cr.Data, cr.Stride)
			xn, zn := rowSqNorms(X), rowSqNorms(Z)
			return parallelRows(ctx, nx, 32, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					applyInner(kk, cr.Data[i*cr.Stride:i*cr.Stride+nz], xn[i], zn)
				}
			})
		}
	default:
		err := parallelRows(ctx, nx, 16, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				x := xr.Data[i*xr.Stride : i*xr.Stride+d]
				row := cr.Data[i*cr.Stride : i*cr.Stride+nz]
				m := nz
				if sym {
					m = i + 1
				}
				for j := 0; j < m; j++ {
					row[j] = k.Eval(x, zr.Data[j*zr.Stride:j*zr.Stride+d])
				}
			}
		})
		if err != nil || !sym {
			return err
		}
	}
	if !lowerOnly {
		mirrorLower(cr.Data, cr.Stride, nx)
	}
	return nil
}

// applyInner maps the inner products in row (in place) to kernel values,
// with xx = ‖x‖² and zn[j] = ‖z_j‖². The RBF kernel, the common case, is
// specialized.
func applyInner(k InnerKernel, row []float64, xx float64, zn []float64) {
	zn = zn[:len(row)]
	switch kk := k.(type) {
	case RBF:
		g := -kk.Gamma
		for j, v := range row {
			row[j] = g * math.Max(xx+zn[j]-2*v, 0)
		}
		fastexp.InPlace(row) // within 2 ulp of math.Exp, twice as fast
	default:
		for j, v := range row {
			row[j] = k.FromInner(v, xx, zn[j])
		}
	}
}

func rowSqNorms(X *mat.Dense) []float64 {
	r, c := X.Dims()
	raw := X.RawMatrix()
	out := make([]float64, r)
	for i := range out {
		row := raw.Data[i*raw.Stride : i*raw.Stride+c]
		out[i] = dot(row, row)
	}
	return out
}

// mirrorLower copies the strict lower triangle of the n×n matrix a to the
// upper triangle, in cache-friendly tiles and in parallel.
func mirrorLower(a []float64, lda, n int) {
	const tile = 64
	nt := (n + tile - 1) / tile
	_ = parallelRows(context.Background(), nt, 1, func(lo, hi int) {
		for bi := lo; bi < hi; bi++ {
			for bj := 0; bj <= bi; bj++ {
				i0, j0 := bi*tile, bj*tile
				i1, j1 := min(i0+tile, n), min(j0+tile, n)
				for i := i0; i < i1; i++ {
					je := j1
					if bi == bj {
						je = i
					}
					for j := j0; j < je; j++ {
						a[j*lda+i] = a[i*lda+j]
					}
				}
			}
		}
	})
}

// parallelRows calls fn on consecutive row ranges [lo, hi) of length block
// from GOMAXPROCS goroutines, handing out ranges dynamically so triangular
// work balances. It stops handing out work when ctx is cancelled and then
// returns ctx.Err().
func parallelRows(ctx context.Context, n, block int, fn func(lo, hi int)) error {
	if n == 0 {
		return ctx.Err()
	}
	if block < 1 {
		block = 1
	}
	nb := (n + block - 1) / block
	workers := min(runtime.GOMAXPROCS(0), nb)
	if workers <= 1 {
		for b := 0; b < nb; b++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			fn(b*block, min((b+1)*block, n))
		}
		return nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1) - 1)
				if b >= nb || ctx.Err() != nil {
					return
				}
				fn(b*block, min((b+1)*block, n))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}
