package ood

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/trustml/trustml/internal/linalg"
)

// TestTopVarianceKrylovMatchesDense checks that the Krylov path of
// topVariance finds the same component count, eigenvalues and subspace as
// the dense eigensolver, on PSD matrices with a decaying spectrum.
func TestTopVarianceKrylovMatchesDense(t *testing.T) {
	tests := []struct {
		dim, n int
		ratio  float64
	}{
		{300, 400, 0.5}, {300, 400, 0.8}, {512, 200, 0.7}, {256, 600, 0.99},
	}
	for _, tc := range tests {
		r := rand.New(rand.NewPCG(uint64(tc.dim), uint64(tc.n)))
		x := make([]float64, tc.n*tc.dim)
		for i := range tc.n {
			for j := range tc.dim {
				x[i*tc.dim+j] = r.NormFloat64() * math.Exp(-float64(j)/12)
			}
		}
		cov := make([]float64, tc.dim*tc.dim)
		linalg.Dsyrk(true, tc.dim, tc.n, 1, x, tc.dim, 0, cov, tc.dim)
		dense := append([]float64(nil), cov...)
		s, u, q, err := topVariance(cov, tc.dim, tc.ratio)
		if err != nil {
			t.Fatal(err)
		}
		ds, du, err := symEig(dense, tc.dim, tc.dim)
		if err != nil {
			t.Fatal(err)
		}
		var tot, cum float64
		for _, v := range ds {
			tot += max(v, 0)
		}
		wantQ := tc.dim
		for i, v := range ds {
			cum += max(v, 0) / tot
			if cum >= tc.ratio {
				wantQ = i + 1
				break
			}
		}
		if q != wantQ {
			t.Errorf("dim %d ratio %v: q = %d, dense gives %d", tc.dim, tc.ratio, q, wantQ)
			continue
		}
		for i := range q {
			if math.Abs(s[i]-ds[i]) > 1e-8*ds[0] {
				t.Errorf("dim %d: eigenvalue %d = %v, dense %v", tc.dim, i, s[i], ds[i])
			}
			// Same eigenvector up to sign: |⟨u_i, du_i⟩| ≈ 1.
			var dot float64
			for j := range tc.dim {
				dot += u[i*tc.dim+j] * du[i*tc.dim+j]
			}
			if math.Abs(math.Abs(dot)-1) > 1e-6 {
				t.Errorf("dim %d: eigenvector %d: |cos| = %v", tc.dim, i, math.Abs(dot))
			}
		}
	}
}
