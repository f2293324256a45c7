package tensor

import (
	"math"
	"testing"
)

// FuzzFit checks that no shape, method, rank or STP factor makes Fit or
// Params panic, that Params agrees with the fitted decomposition, and that
// reconstructions are finite and of the input's shape.
func FuzzFit(f *testing.F) {
	f.Add([]byte{4, 6, 8}, uint8(1), uint8(4), uint8(2))
	f.Add([]byte{2, 2}, uint8(3), uint8(2), uint8(2))
	f.Add([]byte{3, 1, 5, 2}, uint8(5), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, dims []byte, method, rank, st uint8) {
		if len(dims) == 0 || len(dims) > 4 {
			return
		}
		shape := make([]int, len(dims))
		for i, d := range dims {
			shape[i] = int(d%8) + 1
		}
		x := randTensor(uint64(rank), shape...)
		s := Spec{Method: Methods[int(method)%len(Methods)], Rank: int(rank % 12), T: int(st % 4), Iters: 1}
		p, perr := s.Params(shape)
		d, err := Fit(x, s)
		if (err == nil) != (perr == nil) {
			t.Fatalf("%v on %v: Params err %v, Fit err %v", s, shape, perr, err)
		}
		if err != nil {
			return
		}
		if d.NumParams() != p {
			t.Fatalf("%v on %v: Params %d, fitted %d", s, shape, p, d.NumParams())
		}
		y := d.Reconstruct()
		e, err := RelError(x, y)
		if err != nil || math.IsNaN(e) || math.IsInf(e, 0) {
			t.Fatalf("%v on %v: error %g (%v)", s, shape, e, err)
		}
	})
}
