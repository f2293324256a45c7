package attack

import "math"

// Projections onto the threat set {v : ‖v − x0‖ ≤ eps, 0 ≤ v ≤ 1}. They
// round inward, so that the constraint holds exactly when checked in
// float64 on the float32 results.

// boxBounds returns the float32 interval [lo, hi] of the values v with
// |v − x0| ≤ eps and 0 ≤ v ≤ 1. x0 lies in [0, 1], so lo ≤ x0 ≤ hi.
func boxBounds(x0 float32, eps float64) (lo, hi float32) {
	x := float64(x0)
	l, h := math.Max(0, x-eps), math.Min(1, x+eps)
	lo, hi = float32(l), float32(h)
	if float64(lo) < l {
		lo = math.Nextafter32(lo, 2)
	}
	if float64(hi) > h {
		hi = math.Nextafter32(hi, -1)
	}
	return lo, hi
}

// clampBox returns v clamped into the L∞ box of x0.
func clampBox(v float64, x0 float32, eps float64) float32 {
	lo, hi := boxBounds(x0, eps)
	if v < float64(lo) {
		return lo
	}
	if v > float64(hi) {
		return hi
	}
	return float32(v)
}

// project maps v onto the threat set around x0 in place: for L∞ a clamp;
// for L2 a scaling onto the ball followed by a clip to [0, 1] (as the
// reference projections do).
func project(norm Norm, eps float64, v, x0 []float32) {
	if norm == LInf {
		for j, x := range x0 {
			lo, hi := boxBounds(x, eps)
			v[j] = min(max(v[j], lo), hi)
		}
		return
	}
	if nrm := dist2(v, x0); nrm > eps {
		f := eps / nrm
		for j, x := range x0 {
			v[j] = float32(float64(x) + f*(float64(v[j])-float64(x)))
		}
	}
	for j := range v {
		v[j] = min(max(v[j], 0), 1)
	}
	fixL2(eps, v, x0)
}

// dist2 is ‖v − x0‖₂ in float64.
func dist2(v, x0 []float32) float64 {
	var s float64
	for j, x := range x0 {
		d := float64(v[j]) - float64(x)
		s += d * d
	}
	return math.Sqrt(s)
}

// fixL2 shrinks v toward x0 until ‖v − x0‖₂ ≤ eps holds in float64 (it may
// exceed eps by float32 rounding). Shrinking toward x0 keeps v in [0, 1].
func fixL2(eps float64, v, x0 []float32) {
	for it := range 10 {
		nrm := dist2(v, x0)
		if nrm <= eps {
			return
		}
		f := eps / nrm * (1 - 1e-7*math.Pow(8, float64(it)))
		for j, x := range x0 {
			v[j] = float32(float64(x) + f*(float64(v[j])-float64(x)))
		}
	}
	copy(v, x0) // unreachable in practice; x0 itself is always feasible
}
