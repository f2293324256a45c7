// Package fastexp computes the exponential of many float64 values at once,
// about twice as fast as calling math.Exp on each and within 2 ulp of it: the
// RBF kernel matrices of package kernel spend most of their non-BLAS time in
// exp.
package fastexp

import "math"

// table holds the bits of 2^(j/64) for j = 0…63, the table of Tang's
// method; shifter, invLn2, ln2Hi and ln2Lo are its other constants.
var table = func() (t [64]uint64) {
	for j := range t {
		t[j] = math.Float64bits(math.Exp2(float64(j) / 64))
	}
	return t
}()

// Constants of Tang's method (see table).
const (
	shifter = 0x1.8p52 // adding it rounds to an integer held in the low bits
	invLn2  = 64 / math.Ln2
	ln2Hi   = 0x1.62e42feep-7 // ln2/64 split for Cody–Waite (fdlibm): k·hi is exact
	ln2Lo   = 0x1.a39ef35793c76p-39
)

// lo, hi bound the fast path: arguments with normal results.
const lo, hi = -708.0, 709.0

// InPlace sets x[i] = exp(x[i]) for every i. Arguments in [−708, 709] use
// Tang's table method: x = (64e + j)·ln2/64 + r with |r| ≤ ln2/128 and
// eˣ = 2ᵉ·2^(j/64)·(1 + q(r)), q the degree-5 Taylor polynomial of eʳ − 1
// (truncation error below 4e−17), so the result is within 2 ulp of
// [math.Exp];
// other arguments (subnormal or infinite results, NaN) go to math.Exp.
func InPlace(x []float64) {
	for i, v := range x {
		if !(v >= lo && v <= hi) {
			x[i] = math.Exp(v)
			continue
		}
		t := v*invLn2 + shifter
		k := int64(int32(uint32(math.Float64bits(t))))
		kf := t - shifter
		r := (v - kf*ln2Hi) - kf*ln2Lo
		// q = eʳ − 1 = r + r²/2 + r³/6 + r⁴/24 + r⁵/120 (Estrin), and
		// eˣ = s + s·q with s = 2ᵉ·2^(j/64): adding the small s·q last
		// keeps the rounding error near half an ulp.
		r2 := r * r
		q := r + r2*((1.0/2+r*(1.0/6))+r2*(1.0/24+r*(1.0/120)))
		s := math.Float64frombits(table[k&63] + uint64(k>>6)<<52)
		x[i] = s + s*q
	}
}
