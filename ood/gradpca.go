package ood

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/internal/linalg"
)

// principalSubspace returns an orthonormal basis (k rows of length dim,
// row-major) of the top-k principal subspace of the vectors streamed by
// pass, that is the top-k eigenvectors of Σ z zᵀ, with the eigenvalues
// divided by the number of vectors (the variances along the rows, for
// centred z), in descending order.
//
// It is randomized subspace iteration in parameter space (training.md
// §16; the reference code iterates in sample space with jvp/vjp, which
// spans the same subspace): V ← orth(random k×dim), then iters times
// V ← orth(Σ z (zᵀV)), then a Rayleigh–Ritz step on span V. Every
// iteration is one call of pass, which calls fn with blocks of rows×dim
// vectors (row-major); nothing of size n×dim is stored. All arithmetic is
// in float64.
func principalSubspace(ctx context.Context, dim, k, iters int, rng *rand.Rand, pass func(fn func(z []float64, rows int)) error) ([]float64, []float64, error) {
	if k < 1 || k > dim {
		return nil, nil, fmt.Errorf("ood: %d principal components of %d-dimensional vectors", k, dim)
	}
	v := make([]float64, k*dim)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	orthonormalizeRows(v, k, dim, rng)
	w := make([]float64, k*dim)
	var c []float64
	n := 0
	apply := func() error {
		clear(w)
		n = 0
		return pass(func(z []float64, rows int) {
			n += rows
			if len(c) < rows*k {
				c = make([]float64, rows*k)
			}
			// c = Z Vᵀ (rows×k); W += cᵀ Z (k×dim).
			linalg.Dgemm(false, true, rows, k, dim, 1, z, dim, v, dim, 0, c, k)
			linalg.Dgemm(true, false, k, dim, rows, 1, c, k, z, dim, 1, w, dim)
		})
	}
	for range iters {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if err := apply(); err != nil {
			return nil, nil, err
		}
		copy(v, w)
		orthonormalizeRows(v, k, dim, rng)
	}
	if err := apply(); err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("ood: principal subspace of no vectors")
	}
	// Rayleigh–Ritz: S = V (Σ z zᵀ) Vᵀ = V Wᵀ (k×k); V ← Q V.
	s := make([]float64, k*k)
	linalg.Dgemm(false, true, k, k, dim, 1, v, dim, w, dim, 0, s, k)
	for i := range k {
		for j := range i {
			a := (s[i*k+j] + s[j*k+i]) / 2
			s[i*k+j], s[j*k+i] = a, a
		}
	}
	vals := make([]float64, k)
	q := make([]float64, k*k)
	if err := linalg.DsyevTop(k, s, k, k, vals, q, k); err != nil {
		return nil, nil, fmt.Errorf("ood: principal subspace: %w", err)
	}
	out := make([]float64, k*dim)
	linalg.Dgemm(false, false, k, dim, k, 1, q, k, v, dim, 0, out, dim)
	for i := range vals {
		vals[i] = max(0, vals[i]) / float64(n)
	}
	return out, vals, nil
}

// orthonormalizeRows makes the k rows of a (k×dim) orthonormal by modified
// Gram–Schmidt, applied twice; a row that vanishes (a rank-deficient
// input) is replaced by a random vector orthogonal to the others.
func orthonormalizeRows(a []float64, k, dim int, rng *rand.Rand) {
	for r := range k {
		row := a[r*dim : (r+1)*dim]
		orig := math.Sqrt(dot64(row, row))
		for try := 0; ; try++ {
			for range 2 {
				for p := range r {
					prev := a[p*dim : (p+1)*dim]
					d := dot64(prev, row)
					for j := range row {
						row[j] -= d * prev[j]
					}
				}
			}
			nrm := math.Sqrt(dot64(row, row))
			if nrm > 1e-10*orig && nrm > 0 || try > 10 {
				for j := range row {
					row[j] /= nrm
				}
				break
			}
			for j := range row {
				row[j] = rng.NormFloat64()
			}
			orig = math.Sqrt(dot64(row, row))
		}
	}
}

func dot64(a, b []float64) float64 {
	var s float64
	for i, x := range a {
		s += x * b[i]
	}
	return s
}
