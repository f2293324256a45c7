package defense

import (
	"math"

	"github.com/trustml/trustml/internal/fastexp"
)

// The table and constants of Tang's exponential, shared with
// internal/fastexp (whose own loop rounds differently: AAA keeps its
// formula, which its assembly kernels reproduce bit for bit).
var expBits = &fastexp.Table

const (
	expShifter = fastexp.Shifter
	expInvLn2  = fastexp.InvLn2
	expLn2Hi   = fastexp.Ln2Hi
	expLn2Lo   = fastexp.Ln2Lo
)

// expShifted sets e[j] = exp(z[j] − shift) and returns their sum; it is the
// hot loop of AAA's softmax. The exponential is Tang's table method, inlined
// by hand: x = (64e + j)·ln2/64 + r with |r| ≤ ln2/128, and
// eˣ = 2ᵉ·2^(j/64)·p(r) with p the degree-5 Taylor polynomial of eʳ
// (truncation error below 4e−17). For z[j] − shift ≤ 709 it agrees with
// math.Exp to a few ulp, except that arguments below −708 give about e^−708
// instead of a subnormal (a softmax term below 1e−307, which changes no sum).
func expShifted(e, z []float64, shift float64) float64 {
	e = e[:len(z)]
	var s float64
	for j, zj := range z {
		x := max(zj-shift, -708)
		t := x*expInvLn2 + expShifter
		k := int64(int32(uint32(math.Float64bits(t))))
		kf := t - expShifter
		r := (x - kf*expLn2Hi) - kf*expLn2Lo
		// Estrin's scheme for 1 + r + r²/2 + r³/6 + r⁴/24 + r⁵/120.
		r2 := r * r
		p := (1 + r) + r2*((1.0/2+r*(1.0/6))+r2*(1.0/24+r*(1.0/120)))
		ej := math.Float64frombits(expBits[k&63]+uint64(k>>6)<<52) * p
		e[j] = ej
		s += ej
	}
	return s
}
