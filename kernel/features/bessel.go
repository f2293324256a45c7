package features

import "math"

// Bessel functions of the first kind for the integer and half-integer orders
// that the d-dimensional Fourier transform of a radial function needs
// (order d/2 + j is a half-integer for odd d; Go's math package has only
// integer orders).

// besselJ returns J_ν(x) for ν ≥ 0 an integer or half-integer and x ≥ 0.
func besselJ(nu, x float64) float64 {
	n := math.Floor(nu)
	switch {
	case nu == n:
		return math.Jn(int(n), x)
	case nu-n == 0.5:
		if x == 0 {
			return 0
		}
		return math.Sqrt(2*x/math.Pi) * sphericalJ(int(n), x)
	}
	panic("features: besselJ needs an integer or half-integer order")
}

// sphericalJ returns the spherical Bessel function j_n(x) for n ≥ 0, x ≥ 0.
// Upward recurrence is stable for x > n; below that Miller's downward
// recurrence is normalized by j_0 or j_1, whichever is larger.
func sphericalJ(n int, x float64) float64 {
	if x == 0 {
		if n == 0 {
			return 1
		}
		return 0
	}
	s, c := math.Sincos(x)
	j0 := s / x
	if n == 0 {
		return j0
	}
	j1 := s/(x*x) - c/x
	if n == 1 {
		return j1
	}
	if x > float64(n) {
		jm, j := j0, j1
		for k := 1; k < n; k++ {
			jm, j = j, float64(2*k+1)/x*j-jm
		}
		return j
	}
	// Miller: start well above n and recur down; rescale to avoid overflow.
	start := n + 20 + int(math.Sqrt(40*float64(n))) + int(x)
	jp, j := 0.0, 1e-280
	var jn, m0, m1 float64
	for k := start; k > 0; k-- {
		jm := float64(2*k+1)/x*j - jp
		jp, j = j, jm
		if k-1 == n {
			jn = j
		}
		if k-1 == 1 {
			m1 = j
		}
		if math.Abs(j) > 1e250 {
			j *= 1e-250
			jp *= 1e-250
			jn *= 1e-250
			m1 *= 1e-250
		}
	}
	m0 = j
	if math.Abs(j0) >= math.Abs(j1) {
		return jn * (j0 / m0)
	}
	return jn * (j1 / m1)
}

// besselRatio returns g_ν(w) = (2/w)^ν·J_ν(2w) for w ≥ 0, with its limit
// 2^ν/Γ(ν+1) at w = 0. For small w the power series
// 2^ν·Σ_k (−w²)^k / (k!·Γ(ν+k+1)) is used, which is accurate there.
func besselRatio(nu, w float64) float64 {
	if w*w <= nu+1 {
		lg, _ := math.Lgamma(nu + 1)
		t := math.Exp(nu*math.Ln2 - lg)
		sum := t
		w2 := w * w
		for k := 1; k < 200; k++ {
			t *= -w2 / (float64(k) * (nu + float64(k)))
			sum += t
			if math.Abs(t) < 1e-17*math.Abs(sum) {
				break
			}
		}
		return sum
	}
	return math.Exp(nu*math.Log(2/w)) * besselJ(nu, 2*w)
}
