package ood

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/trustml/trustml/internal/linalg"
)

// TestPrincipalSubspace checks on synthetic low-rank data that the basis
// is orthonormal, captures the variance and has the exact top eigenvalues.
func TestPrincipalSubspace(t *testing.T) {
	const n, dim, rank = 300, 60, 4
	rng := rand.New(rand.NewPCG(5, 6))
	basis := make([]float64, rank*dim)
	for i := range basis {
		basis[i] = rng.NormFloat64()
	}
	scales := []float64{10, 5, 3, 2}
	z := make([]float64, n*dim)
	for i := range n {
		for r, s := range scales {
			c := s * rng.NormFloat64()
			for j := range dim {
				z[i*dim+j] += c * basis[r*dim+j]
			}
		}
		for j := range dim {
			z[i*dim+j] += 0.01 * rng.NormFloat64()
		}
	}
	pass := func(fn func([]float64, int)) error {
		for lo := 0; lo < n; lo += 7 { // uneven blocks
			hi := min(n, lo+7)
			fn(z[lo*dim:hi*dim], hi-lo)
		}
		return nil
	}
	// Reference: eigen-decomposition of the full dim×dim second-moment matrix.
	cov := make([]float64, dim*dim)
	linalg.Dgemm(true, false, dim, dim, n, 1/float64(n), z, dim, z, dim, 0, cov, dim)
	wantVals := make([]float64, rank)
	if err := linalg.DsyevTop(dim, cov, dim, rank, wantVals, make([]float64, rank*dim), dim); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ k, iters int }{{rank, 3}, {2, 40}, {8, 2}} {
		v, vals, err := principalSubspace(context.Background(), dim, tc.k, tc.iters, rand.New(rand.NewPCG(1, 2)), pass)
		if err != nil {
			t.Fatal(err)
		}
		for a := range tc.k {
			for b := range tc.k {
				want := 0.0
				if a == b {
					want = 1
				}
				if d := dot64(v[a*dim:(a+1)*dim], v[b*dim:(b+1)*dim]); math.Abs(d-want) > 1e-10 {
					t.Fatalf("k=%d: row %d · row %d = %v, want %v", tc.k, a, b, d, want)
				}
			}
		}
		var total, captured float64
		for i := range n {
			zi := z[i*dim : (i+1)*dim]
			total += dot64(zi, zi)
			for r := range tc.k {
				p := dot64(v[r*dim:(r+1)*dim], zi)
				captured += p * p
			}
		}
		var wantFrac float64
		for r := range min(tc.k, rank) {
			wantFrac += wantVals[r]
		}
		frac := captured / total
		t.Logf("k=%d iters=%d: captured %.6f of the variance; eigenvalues %v (reference %v)", tc.k, tc.iters, frac, vals[:min(tc.k, rank)], wantVals[:min(tc.k, rank)])
		if wantFrac = wantFrac * n / total; frac < wantFrac-1e-6 {
			t.Errorf("k=%d: captured %.6f of the variance, the top-%d eigenvectors capture %.6f", tc.k, frac, tc.k, wantFrac)
		}
		for r := range min(tc.k, rank) {
			if math.Abs(vals[r]-wantVals[r]) > 1e-6*wantVals[r] {
				t.Errorf("k=%d: eigenvalue %d = %v, want %v", tc.k, r, vals[r], wantVals[r])
			}
		}
		if tc.k >= rank && frac < 0.9999 {
			t.Errorf("k=%d ≥ rank %d: captured only %.6f", tc.k, rank, frac)
		}
	}
	if _, _, err := principalSubspace(context.Background(), 3, 4, 1, rng, pass); err == nil {
		t.Error("k > dim: no error")
	}
}
