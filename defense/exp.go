package defense

import (
	"math"
	"math/big"
)

// expTable holds the bits of 2^(j/16) for j = 0…15, correctly rounded (from
// 2^j's fourth square root in 128-bit arithmetic), minus j<<48: the table
// of the exponential of AAA's softmax, which its assembly kernels read with
// one two-register permute. 2^(k/16) for an integer k is 2^(k>>4)·2^((k&15)/16),
// whose bits are those of the table's entry k&15 plus (k>>4)<<52; with j<<48
// taken off the entries, that is entry k&15 plus k<<48 (mod 2⁶⁴), one shift
// of k instead of two.
var expTable = func() (t [16]uint64) {
	for j := range t {
		x := new(big.Float).SetPrec(128).SetInt64(1 << j)
		for range 4 {
			x.Sqrt(x)
		}
		f, _ := x.Float64()
		t[j] = math.Float64bits(f) - uint64(j)<<48
	}
	return t
}()

// Constants of the exponential (see [expShifted]).
const (
	expShifter = 0x1.8p52 // adding it rounds to an integer held in the low bits
	expInvLn2  = 16 / math.Ln2
	expMin     = -708 // arguments below are clamped: e^−708 is still normal
)

// expLn2Hi + expLn2Lo is ln2/16 to about 106 bits: the float64 nearest
// ln2/16 and the float64 nearest the rest.
var expLn2Hi, expLn2Lo = func() (hi, lo float64) {
	ln2, _ := new(big.Float).SetPrec(256).SetString("0.693147180559945309417232121458176568075500134360255254120680009493393621969694715605863326996418687542001481021")
	x := new(big.Float).SetPrec(256).Quo(ln2, big.NewFloat(16))
	hi, _ = x.Float64()
	lo, _ = x.Sub(x, big.NewFloat(hi)).Float64()
	return hi, lo
}()

// expCoef holds the coefficients of degrees 6 to 2 (Horner's order) of
// the polynomial 1 + r + c₂r² + … + c₆r⁶ nearest eʳ in relative error on
// |r| ≤ ln2/32 (Chebyshev fit in 60-digit arithmetic,
// testdata/exp_coef.py; its output, testdata/exp_coef.txt, is checked by
// TestExpCoef): relative error 2.8e−17 with these float64 coefficients,
// against 1.2e−18 for the degree-7 Taylor polynomial it replaced, at one
// fused multiply-add less per exponential.
var expCoef = [5]float64{0.0013889034377693012, 0.008333449724528355, 0.041666666664959766, 0.16666666665301144, 0.5}

// expShifted sets e[j] = exp(z[j] − shift) and returns their sum; it is the
// hot loop of AAA's softmax. The exponential is Tang's table method with
// fused multiply-adds, written out so that the assembly kernels can repeat
// it operation for operation: x = (16e + j)·ln2/16 + r with |r| ≤ ln2/32,
// and eˣ = 2ᵉ·2^(j/16)·p(r) with p a degree-6 polynomial of eʳ (expCoef)
// by Horner's rule (relative error 2.8e−17). For z[j] − shift ≤ 709 it
// agrees with math.Exp to 3 ulp, except that arguments below −708 give
// about e^−708 instead of a subnormal (a softmax term below 1e−307, which
// changes no sum).
func expShifted(e, z []float64, shift float64) float64 {
	e = e[:len(z)]
	var s float64
	for j, zj := range z {
		x := max(zj-shift, expMin)
		t := math.FMA(x, expInvLn2, expShifter)
		k := int64(int32(uint32(math.Float64bits(t))))
		kf := t - expShifter
		r := math.FMA(-kf, expLn2Hi, x)
		r = math.FMA(-kf, expLn2Lo, r)
		q := math.FMA(expCoef[0], r, expCoef[1])
		q = math.FMA(q, r, expCoef[2])
		q = math.FMA(q, r, expCoef[3])
		q = math.FMA(q, r, expCoef[4])
		q = math.FMA(q, r, 1)
		ej := math.Float64frombits(expTable[k&15]+uint64(k)<<48) * math.FMA(q, r, 1)
		e[j] = ej
		s += ej
	}
	return s
}
