package tensor

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Ring is a tensor ring (T = 1) or a semi-tensor ring (T > 1): the first
// core (R_0 × I_1 × R_1) is joined to the rest by an ordinary product over
// both of its rank indices, as in TR-SVD; the rest is the (semi-)tensor
// train of the tensor (R_1·I_2) × I_3 × … × (I_N·R_0).
type Ring struct {
	T     int
	First *Dense
	Rest  *Train
	shape []int
}

// Shape is the shape of the represented tensor.
func (r *Ring) Shape() []int { return slices.Clone(r.shape) }

// Cores returns the ring's cores: First, then Rest's.
func (r *Ring) Cores() []*Dense { return append([]*Dense{r.First}, r.Rest.Cores...) }

// NumParams is the number of values in the cores.
func (r *Ring) NumParams() int { return r.First.Size() + r.Rest.NumParams() }

// Reconstruct returns the full tensor.
func (r *Ring) Reconstruct() *Dense {
	r0, i1, r1 := r.First.Shape[0], r.First.Shape[1], r.First.Shape[2]
	z := r.Rest.Reconstruct()
	zs := append([]int{r1}, r.shape[1:]...)
	zs = append(zs, r0)
	z, _ = z.Reshape(zs...)
	n := len(zs)
	perm := []int{n - 1}
	for k := 0; k < n-1; k++ {
		perm = append(perm, k)
	}
	z, _ = z.Permute(perm...) // R0 × R1 × I2 × … × IN
	g, _ := r.First.Permute(1, 0, 2)
	var x mat.Dense
	x.Mul(mat.NewDense(i1, r0*r1, g.Data), mat.NewDense(r0*r1, z.Size()/(r0*r1), z.Data))
	out, _ := FromData(denseData(&x), r.shape...)
	return out
}

// ringPlan returns R_0, R_1 and the shape of the train that follows the
// first core, for uniform rank r.
func ringPlan(shape []int, r, t int) (r0, r1 int, zshape []int, err error) {
	n := len(shape)
	if n < 3 {
		return 0, 0, nil, fmt.Errorf("%w: a ring needs order ≥ 3, got shape %v", ErrShape, shape)
	}
	if t < 1 || r < t || r%t != 0 {
		return 0, 0, nil, fmt.Errorf("tensor: rank %d with STP factor %d: want t ≥ 1 and the rank a positive multiple of t", r, t)
	}
	sz, err := size(shape)
	if err != nil {
		return 0, 0, nil, err
	}
	m := min(shape[0], sz/shape[0])
	r0 = min(r, m)
	if t > 1 && r0%t != 0 { // keep I_N·R_0 divisible by the STP factors
		r0 = r0 / t * t
		if r0 == 0 {
			r0 = t
		}
	}
	if r0 > m {
		return 0, 0, nil, fmt.Errorf("%w: STP factor %d exceeds the rank %d of the first unfolding of %v", ErrShape, t, m, shape)
	}
	r1 = max(1, min(r, m/r0))
	zshape = []int{r1 * shape[1]}
	zshape = append(zshape, shape[2:n-1]...)
	zshape = append(zshape, shape[n-1]*r0)
	return r0, r1, zshape, nil
}

// STR fits a semi-tensor ring with STP factor t and uniform rank r (a
// multiple of t): TR-SVD's first split (rank R_0·R_1 by one truncated
// SVD), then STT-SVD of the remaining train; t = 1 is TR-SVD (Zhao et
// al. 2016).
func STR(x *Dense, r, t int) (*Ring, error) {
	r0, r1, zshape, err := ringPlan(x.Shape, r, t)
	if err != nil {
		return nil, err
	}
	if _, err := trainPlan(zshape, r, t); err != nil {
		return nil, fmt.Errorf("tensor: ring of %v: %w", x.Shape, err)
	}
	i1 := x.Shape[0]
	u, w, err := truncSVD(mat.NewDense(i1, x.Size()/i1, x.Data), r0*r1)
	if err != nil {
		return nil, err
	}
	// The SVD may return fewer than r0·r1 columns only when the rank
	// exceeds min(I1, rest), which ringPlan prevents.
	first := New(r0, i1, r1)
	for a := 0; a < r0; a++ {
		for i := 0; i < i1; i++ {
			for b := 0; b < r1; b++ {
				first.Data[(a*i1+i)*r1+b] = u.At(i, a*r1+b)
			}
		}
	}
	ws := append([]int{r0, r1}, x.Shape[1:]...)
	wt, err := FromData(denseData(w), ws...)
	if err != nil {
		return nil, err
	}
	perm := []int{}
	for k := 1; k < len(ws); k++ {
		perm = append(perm, k)
	}
	perm = append(perm, 0) // R1 × I2 × … × IN × R0
	z, err := wt.Permute(perm...)
	if err != nil {
		return nil, err
	}
	z, err = z.Reshape(zshape...)
	if err != nil {
		return nil, err
	}
	rest, err := STT(z, r, t)
	if err != nil {
		return nil, err
	}
	return &Ring{T: t, First: first, Rest: rest, shape: slices.Clone(x.Shape)}, nil
}

// TR fits a tensor ring of uniform rank r by TR-SVD.
func TR(x *Dense, r int) (*Ring, error) { return STR(x, r, 1) }
