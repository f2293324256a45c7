package tensor

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// truncSVD returns u (rows×r, orthonormal columns) and w = uᵀ·c (r×cols)
// with u·w the best rank-r approximation of c; r is capped at
// min(rows, cols). The leading singular subspace comes from the
// eigenvectors of the Gram matrix of the smaller side (c·cᵀ or cᵀ·c),
// an order of magnitude faster than gonum's SVD on these shapes and as
// accurate for the approximation where the r-th and (r+1)-th singular
// values are apart.
func truncSVD(c *mat.Dense, r int) (u, w *mat.Dense, err error) {
	rows, cols := c.Dims()
	r = min(r, rows, cols)
	wide := rows <= cols
	var g mat.SymDense
	if wide {
		g.SymOuterK(1, c)
	} else {
		g.SymOuterK(1, c.T())
	}
	var e mat.EigenSym
	if !e.Factorize(&g, true) {
		return nil, nil, errors.New("tensor: eigendecomposition did not converge")
	}
	var v mat.Dense
	e.VectorsTo(&v) // ascending eigenvalues
	n, _ := v.Dims()
	lead := mat.NewDense(n, r, nil)
	for k := 0; k < r; k++ {
		for i := 0; i < n; i++ {
			lead.Set(i, k, v.At(i, n-1-k))
		}
	}
	if wide {
		u = lead
	} else {
		u = mat.NewDense(rows, r, nil)
		u.Mul(c, lead)
		orthonormalize(u)
	}
	fixSigns(u)
	w = mat.NewDense(r, cols, nil)
	w.Mul(u.T(), c)
	return u, w, nil
}

// fixSigns flips each column of u so that its entry of largest magnitude
// (the first of equals) is positive: singular vectors are defined up to
// sign, and TR-SVD's later truncations depend on it, so the convention
// keeps fits the same across linear-algebra backends (and numpy's golden).
func fixSigns(u *mat.Dense) {
	rows, r := u.Dims()
	for k := 0; k < r; k++ {
		best, at := -1.0, 0
		for i := 0; i < rows; i++ {
			if a := math.Abs(u.At(i, k)); a > best+1e-12*best {
				best, at = a, i
			}
		}
		if u.At(at, k) < 0 {
			for i := 0; i < rows; i++ {
				u.Set(i, k, -u.At(i, k))
			}
		}
	}
}

// orthonormalize makes the columns of u orthonormal by modified
// Gram-Schmidt (twice, for accuracy); a column that vanishes is zeroed.
func orthonormalize(u *mat.Dense) {
	rows, r := u.Dims()
	for pass := 0; pass < 2; pass++ {
		for k := 0; k < r; k++ {
			ck := u.ColView(k).(*mat.VecDense)
			for j := 0; j < k; j++ {
				cj := u.ColView(j)
				ck.AddScaledVec(ck, -mat.Dot(cj, ck), cj)
			}
			nrm := math.Sqrt(mat.Dot(ck, ck))
			if nrm < 1e-300 {
				for i := 0; i < rows; i++ {
					ck.SetVec(i, 0)
				}
				continue
			}
			ck.ScaleVec(1/nrm, ck)
		}
	}
}
