package tensor

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Tucker is a Tucker decomposition (T = 1) or a semi-tensor Tucker
// decomposition (T > 1): the tensor is Core ⋉_1 U_1 ⋉_2 … ⋉_N U_N where
// the semi-tensor mode-n product replaces the mode-n unfolding G_(n) by
// U_n ⋉ G_(n) = (U_n ⊗ I_T) G_(n). Factor n is (I_n/T) × (R_n/T) with
// orthonormal columns; the core is R_1 × … × R_N.
type Tucker struct {
	T       int
	Core    *Dense
	Factors []*mat.Dense
	shape   []int
}

// Shape is the shape of the represented tensor.
func (tk *Tucker) Shape() []int { return slices.Clone(tk.shape) }

// NumParams is the number of values in the core and the factors.
func (tk *Tucker) NumParams() int {
	n := tk.Core.Size()
	for _, u := range tk.Factors {
		r, c := u.Dims()
		n += r * c
	}
	return n
}

// Reconstruct returns the full tensor.
func (tk *Tucker) Reconstruct() *Dense {
	y := tk.Core
	for n, u := range tk.Factors {
		y = stModeProduct(y, n, u)
	}
	return y
}

// stModeProduct returns the tensor whose mode-n unfolding is u ⋉ y_(n).
func stModeProduct(y *Dense, n int, u mat.Matrix) *Dense {
	p := STP(u, y.Unfold(n))
	r, _ := p.Dims()
	shape := slices.Clone(y.Shape)
	shape[n] = r
	out, err := Fold(p, n, shape)
	if err != nil {
		panic(err) // sizes are checked by tuckerPlan
	}
	return out
}

// tuckerPlan returns the reduced ranks R_n/t of a uniform rank r.
func tuckerPlan(shape []int, r, t int) ([]int, error) {
	if t < 1 || r < t || r%t != 0 {
		return nil, fmt.Errorf("tensor: rank %d with STP factor %d: want t ≥ 1 and the rank a positive multiple of t", r, t)
	}
	rq := make([]int, len(shape))
	sz, err := size(shape)
	if err != nil {
		return nil, err
	}
	for n, d := range shape {
		if d%t != 0 {
			return nil, fmt.Errorf("%w: STP factor %d needs every mode divisible by it; mode %d of %v is %d", ErrShape, t, n, shape, d)
		}
		rq[n] = min(r/t, d/t, t*(sz/d)) // the rank of the stacked unfolding
	}
	return rq, nil
}

// stFactor returns the leading rq left singular vectors of y's mode-n
// unfolding with its rows split as (i, s), s = row mod t, and the t row
// classes laid side by side: the best factor U with (U ⊗ I_t) of rank
// rq·t spanning y_(n).
func stFactor(y *Dense, n, rq, t int) (*mat.Dense, error) {
	yn := y.Unfold(n)
	rows, cols := yn.Dims()
	w := mat.NewDense(rows/t, t*cols, nil)
	for i := 0; i < rows/t; i++ {
		for s := 0; s < t; s++ {
			for j := 0; j < cols; j++ {
				w.Set(i, s*cols+j, yn.At(i*t+s, j))
			}
		}
	}
	u, _, err := truncSVD(w, rq)
	return u, err
}

// STTu fits a semi-tensor Tucker decomposition with STP factor t and
// uniform rank r (a multiple of t, capped at each mode's size) by the
// semi-tensor HOSVD, then iters HOOI sweeps; t = 1 is Tucker by
// HOSVD/HOOI (De Lathauwer et al. 2000).
func STTu(x *Dense, r, t, iters int) (*Tucker, error) {
	rq, err := tuckerPlan(x.Shape, r, t)
	if err != nil {
		return nil, err
	}
	if iters < 0 {
		return nil, fmt.Errorf("tensor: %d HOOI iterations", iters)
	}
	n := len(x.Shape)
	us := make([]*mat.Dense, n)
	for k := range n {
		if us[k], err = stFactor(x, k, rq[k], t); err != nil {
			return nil, err
		}
	}
	project := func(skip int) *Dense {
		y := x
		for k := range n {
			if k != skip {
				y = stModeProduct(y, k, us[k].T())
			}
		}
		return y
	}
	for range iters {
		for k := range n {
			if us[k], err = stFactor(project(k), k, rq[k], t); err != nil {
				return nil, err
			}
		}
	}
	return &Tucker{T: t, Core: project(-1), Factors: us, shape: slices.Clone(x.Shape)}, nil
}

// HOOI fits a Tucker decomposition of uniform rank r (capped at each
// mode's size): HOSVD followed by iters HOOI sweeps.
func HOOI(x *Dense, r, iters int) (*Tucker, error) { return STTu(x, r, 1, iters) }
