package tensor

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// ErrShape is returned (wrapped) for shapes that do not fit an operation.
var ErrShape = errors.New("tensor: bad shape")

// Dense is an N-way tensor of float64 values stored row-major: the element
// at index (i_1, …, i_N) is Data[((i_1·I_2 + i_2)·I_3 + …)·I_N + i_N].
type Dense struct {
	Shape []int
	Data  []float64
}

// New returns a zero tensor of the given shape; every dimension must be
// positive (New panics otherwise: it is for shapes the program computes).
func New(shape ...int) *Dense {
	n, err := size(shape)
	if err != nil {
		panic(err)
	}
	return &Dense{Shape: slices.Clone(shape), Data: make([]float64, n)}
}

// FromData returns a tensor of the given shape viewing data (not copied).
// It is an error when a dimension is not positive or len(data) is not
// the product of shape.
func FromData(data []float64, shape ...int) (*Dense, error) {
	n, err := size(shape)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("%w: shape %v holds %d values, data has %d", ErrShape, shape, n, len(data))
	}
	return &Dense{Shape: slices.Clone(shape), Data: data}, nil
}

func size(shape []int) (int, error) {
	if len(shape) == 0 {
		return 0, fmt.Errorf("%w: empty shape", ErrShape)
	}
	n := 1
	for i, d := range shape {
		if d <= 0 {
			return 0, fmt.Errorf("%w: dimension %d of %v is %d, want > 0", ErrShape, i, shape, d)
		}
		if n > math.MaxInt32/d {
			return 0, fmt.Errorf("%w: %v has too many elements", ErrShape, shape)
		}
		n *= d
	}
	return n, nil
}

// Size is the number of elements.
func (t *Dense) Size() int { return len(t.Data) }

// Order is the number of modes.
func (t *Dense) Order() int { return len(t.Shape) }

// Clone returns a deep copy.
func (t *Dense) Clone() *Dense {
	return &Dense{Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
}

// At returns the element at idx (one index per mode).
func (t *Dense) At(idx ...int) float64 {
	if len(idx) != len(t.Shape) {
		panic(fmt.Sprintf("tensor: %d indices for order %d", len(idx), len(t.Shape)))
	}
	o := 0
	for k, i := range idx {
		if i < 0 || i >= t.Shape[k] {
			panic(fmt.Sprintf("tensor: index %d out of range [0,%d) in mode %d", i, t.Shape[k], k))
		}
		o = o*t.Shape[k] + i
	}
	return t.Data[o]
}

// Reshape returns a view of the same data with another shape of the same
// size.
func (t *Dense) Reshape(shape ...int) (*Dense, error) { return FromData(t.Data, shape...) }

// Permute returns a copy with the modes reordered: mode k of the result
// is mode perm[k] of t.
func (t *Dense) Permute(perm ...int) (*Dense, error) {
	n := len(t.Shape)
	if len(perm) != n {
		return nil, fmt.Errorf("%w: permutation %v of an order-%d tensor", ErrShape, perm, n)
	}
	seen := make([]bool, n)
	for _, p := range perm {
		if p < 0 || p >= n || seen[p] {
			return nil, fmt.Errorf("%w: %v is not a permutation of 0..%d", ErrShape, perm, n-1)
		}
		seen[p] = true
	}
	stride := make([]int, n) // strides of t
	s := 1
	for k := n - 1; k >= 0; k-- {
		stride[k] = s
		s *= t.Shape[k]
	}
	shape := make([]int, n)
	pst := make([]int, n) // source stride of each result mode
	for k, p := range perm {
		shape[k], pst[k] = t.Shape[p], stride[p]
	}
	out := New(shape...)
	idx := make([]int, n)
	src := 0
	for o := range out.Data {
		out.Data[o] = t.Data[src]
		for k := n - 1; k >= 0; k-- { // odometer over the result's index
			idx[k]++
			src += pst[k]
			if idx[k] < shape[k] {
				break
			}
			src -= idx[k] * pst[k]
			idx[k] = 0
		}
	}
	return out, nil
}

// Unfold returns the mode-n unfolding: an I_n × (∏_{k≠n} I_k) matrix whose
// columns run over the other modes in order, row-major.
func (t *Dense) Unfold(n int) *mat.Dense {
	if n < 0 || n >= len(t.Shape) {
		panic(fmt.Sprintf("tensor: mode %d of an order-%d tensor", n, len(t.Shape)))
	}
	perm := []int{n}
	for k := range t.Shape {
		if k != n {
			perm = append(perm, k)
		}
	}
	p, _ := t.Permute(perm...)
	return mat.NewDense(t.Shape[n], len(t.Data)/t.Shape[n], p.Data)
}

// Fold is the inverse of [Dense.Unfold]: it returns the tensor of the
// given shape whose mode-n unfolding is m.
func Fold(m *mat.Dense, n int, shape []int) (*Dense, error) {
	if n < 0 || n >= len(shape) {
		return nil, fmt.Errorf("%w: mode %d of shape %v", ErrShape, n, shape)
	}
	r, c := m.Dims()
	sz, err := size(shape)
	if err != nil {
		return nil, err
	}
	if r != shape[n] || r*c != sz {
		return nil, fmt.Errorf("%w: a %d×%d matrix is not a mode-%d unfolding of %v", ErrShape, r, c, n, shape)
	}
	ps := []int{shape[n]}
	for k := range shape {
		if k != n {
			ps = append(ps, shape[k])
		}
	}
	p := &Dense{Shape: ps, Data: denseData(m)}
	inv := make([]int, len(shape)) // mode k of the result is mode inv[k] of p
	inv[n] = 0
	j := 1
	for k := range shape {
		if k != n {
			inv[k] = j
			j++
		}
	}
	return p.Permute(inv...)
}

// denseData returns m's values row-major (m's own slice when contiguous).
func denseData(m *mat.Dense) []float64 {
	raw := m.RawMatrix()
	if raw.Stride == raw.Cols {
		return raw.Data[:raw.Rows*raw.Cols]
	}
	out := make([]float64, 0, raw.Rows*raw.Cols)
	for i := 0; i < raw.Rows; i++ {
		out = append(out, raw.Data[i*raw.Stride:i*raw.Stride+raw.Cols]...)
	}
	return out
}

// ModeProduct returns t ×_n u: mode n of size I_n becomes J for u of size
// J × I_n.
func (t *Dense) ModeProduct(n int, u mat.Matrix) (*Dense, error) {
	if n < 0 || n >= len(t.Shape) {
		return nil, fmt.Errorf("%w: mode %d of an order-%d tensor", ErrShape, n, len(t.Shape))
	}
	j, i := u.Dims()
	if i != t.Shape[n] {
		return nil, fmt.Errorf("%w: a %d×%d matrix times mode %d of size %d", ErrShape, j, i, n, t.Shape[n])
	}
	var p mat.Dense
	p.Mul(u, t.Unfold(n))
	shape := slices.Clone(t.Shape)
	shape[n] = j
	return Fold(&p, n, shape)
}

// Norm is the Frobenius norm.
func (t *Dense) Norm() float64 {
	var s float64
	for _, v := range t.Data {
		s += v * v
	}
	return math.Sqrt(s)
}

// RelError returns ‖ref − approx‖_F / ‖ref‖_F (the absolute error when ref
// is zero). The shapes must be equal.
func RelError(ref, approx *Dense) (float64, error) {
	if !slices.Equal(ref.Shape, approx.Shape) {
		return 0, fmt.Errorf("%w: comparing %v with %v", ErrShape, ref.Shape, approx.Shape)
	}
	var d, r float64
	for i, v := range ref.Data {
		e := v - approx.Data[i]
		d += e * e
		r += v * v
	}
	if r == 0 {
		return math.Sqrt(d), nil
	}
	return math.Sqrt(d / r), nil
}
