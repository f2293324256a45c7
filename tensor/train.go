package tensor

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Train is a tensor train (T = 1) or a semi-tensor train (T > 1): core k
// has shape rows_k × J_k × R_k with rows_1 = 1 and rows_k = R_{k-1}/T
// after it; the last core's middle size is J_N/T^(N-1) and its R_N is 1.
// The tensor is C_1 ⋉ (C_2 ⋉ (… ⋉ C_N)) with each core taken as the
// matrix (rows_k·J_k) × R_k (see the package comment).
type Train struct {
	T     int
	Cores []*Dense
	shape []int
}

// Shape is the shape of the represented tensor.
func (tr *Train) Shape() []int { return slices.Clone(tr.shape) }

// Ranks returns R_1, …, R_{N-1}.
func (tr *Train) Ranks() []int {
	var r []int
	for _, c := range tr.Cores[:len(tr.Cores)-1] {
		r = append(r, c.Shape[2])
	}
	return r
}

// NumParams is the number of values in the cores.
func (tr *Train) NumParams() int {
	n := 0
	for _, c := range tr.Cores {
		n += c.Size()
	}
	return n
}

// Reconstruct returns the full tensor.
func (tr *Train) Reconstruct() *Dense {
	n := len(tr.Cores)
	last := tr.Cores[n-1]
	b := mat.NewDense(last.Shape[0], last.Shape[1], slices.Clone(last.Data))
	for k := n - 2; k >= 0; k-- {
		c := tr.Cores[k]
		a := mat.NewDense(c.Shape[0]*c.Shape[1], c.Shape[2], c.Data)
		p := STP(a, b) // (rows_k·J_k) × (cols·T)
		pr, pc := p.Dims()
		b = mat.NewDense(c.Shape[0], pr/c.Shape[0]*pc, denseData(p))
	}
	out, _ := FromData(denseData(b), tr.shape...)
	return out
}

// trainPlan returns the core shapes of a (semi-)tensor train of a tensor
// of the given shape at uniform rank r (a multiple of t), each rank capped
// where the unfolding has a smaller one.
func trainPlan(shape []int, r, t int) ([][]int, error) {
	n := len(shape)
	if n < 2 {
		return nil, fmt.Errorf("%w: a train needs order ≥ 2, got shape %v", ErrShape, shape)
	}
	if t < 1 || r < t || r%t != 0 {
		return nil, fmt.Errorf("tensor: rank %d with STP factor %d: want t ≥ 1 and the rank a positive multiple of t", r, t)
	}
	div := 1
	for i := 1; i < n; i++ {
		div *= t
	}
	if shape[n-1]%div != 0 {
		return nil, fmt.Errorf("%w: STP factor %d needs the last mode (%d of %v) divisible by %d^%d = %d", ErrShape, t, shape[n-1], shape, t, n-1, div)
	}
	rest := 1 // columns of the matrix still to factorise
	for _, d := range shape[1:] {
		rest *= d
	}
	var plans [][]int
	rows := 1
	for k := 0; k < n-1; k++ {
		m := rows * shape[k]
		rq := min(r/t, t*m, rest/t) // the reduced rank R_k/t
		plans = append(plans, []int{rows, shape[k], rq * t})
		rows, rest = rq, rest/t/shape[k+1]
	}
	plans = append(plans, []int{rows, shape[n-1] / div, 1})
	return plans, nil
}

// STT fits a semi-tensor train with STP factor t and uniform rank r (a
// multiple of t, capped where an unfolding has smaller rank) by
// sequential truncated SVDs (STT-SVD); t = 1 is TT-SVD (Oseledets 2011).
func STT(x *Dense, r, t int) (*Train, error) {
	plans, err := trainPlan(x.Shape, r, t)
	if err != nil {
		return nil, err
	}
	n := len(x.Shape)
	tr := &Train{T: t, shape: slices.Clone(x.Shape)}
	c := mat.NewDense(x.Shape[0], x.Size()/x.Shape[0], slices.Clone(x.Data))
	for k := 0; k < n-1; k++ {
		pl := plans[k]
		m, cols := c.Dims()
		rq := pl[2] / t
		// Stack the t column classes: big[s·m+i, j] = c[i, j·t+s].
		big := mat.NewDense(t*m, cols/t, nil)
		for s := 0; s < t; s++ {
			for i := 0; i < m; i++ {
				for j := 0; j < cols/t; j++ {
					big.Set(s*m+i, j, c.At(i, j*t+s))
				}
			}
		}
		u, w, err := truncSVD(big, rq)
		if err != nil {
			return nil, err
		}
		core := New(pl...)
		for i := 0; i < m; i++ {
			for rr := 0; rr < rq; rr++ {
				for s := 0; s < t; s++ {
					core.Data[i*pl[2]+rr*t+s] = u.At(s*m+i, rr)
				}
			}
		}
		tr.Cores = append(tr.Cores, core)
		c = w
		if k < n-2 {
			_, wc := w.Dims()
			c = mat.NewDense(rq*x.Shape[k+1], wc/x.Shape[k+1], denseData(w))
		}
	}
	last, err := FromData(slices.Clone(denseData(c)), plans[n-1]...)
	if err != nil {
		return nil, err
	}
	tr.Cores = append(tr.Cores, last)
	return tr, nil
}

// TT fits a tensor train of uniform rank r by TT-SVD.
func TT(x *Dense, r int) (*Train, error) { return STT(x, r, 1) }
