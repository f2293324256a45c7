package tensor

import (
	"fmt"
	"slices"
)

// Factor splits n into d factors as even as possible (prime factors given
// in turn, largest first, to the smallest product so far), ascending: 3136
// into 3 is [14 14 16].
func Factor(n, d int) ([]int, error) {
	if n < 1 || d < 1 {
		return nil, fmt.Errorf("tensor: factoring %d into %d factors", n, d)
	}
	var primes []int
	m := n
	for p := 2; p*p <= m; p++ {
		for m%p == 0 {
			primes = append(primes, p)
			m /= p
		}
	}
	if m > 1 {
		primes = append(primes, m)
	}
	slices.Reverse(primes)
	f := make([]int, d)
	for i := range f {
		f[i] = 1
	}
	for _, p := range primes {
		i := 0
		for j := range f {
			if f[j] < f[i] {
				i = j
			}
		}
		f[i] *= p
	}
	slices.Sort(f)
	return f, nil
}

// pairing returns the shapes and permutation of the paired layout.
func pairing(of, inf []int) (shape, perm, paired []int, err error) {
	if len(of) != len(inf) || len(of) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: %d row factors and %d column factors", ErrShape, len(of), len(inf))
	}
	d := len(of)
	shape = append(slices.Clone(of), inf...)
	for k := range d {
		perm = append(perm, k, d+k)
		paired = append(paired, of[k]*inf[k])
	}
	return shape, perm, paired, nil
}

// FromMatrix returns the d-way tensor of the rows×cols matrix w (row-major,
// rows = ∏ of, cols = ∏ inf) in the layout of tensor-train layers: with
// row o = (o_1, …, o_d) and column i = (i_1, …, i_d) (row-major digits),
// element (o, i) is at (o_1·inf_1 + i_1, …, o_d·inf_d + i_d).
func FromMatrix(w []float64, of, inf []int) (*Dense, error) {
	shape, perm, paired, err := pairing(of, inf)
	if err != nil {
		return nil, err
	}
	x, err := FromData(w, shape...)
	if err != nil {
		return nil, err
	}
	p, err := x.Permute(perm...)
	if err != nil {
		return nil, err
	}
	return p.Reshape(paired...)
}

// ToMatrix inverts [FromMatrix]: it returns the matrix's values row-major.
func ToMatrix(x *Dense, of, inf []int) ([]float64, error) {
	_, perm, _, err := pairing(of, inf)
	if err != nil {
		return nil, err
	}
	var split []int
	for k := range of {
		split = append(split, of[k], inf[k])
	}
	y, err := x.Reshape(split...)
	if err != nil {
		return nil, err
	}
	inv := make([]int, len(perm))
	for k, p := range perm {
		inv[p] = k
	}
	z, err := y.Permute(inv...)
	if err != nil {
		return nil, err
	}
	return z.Data, nil
}
