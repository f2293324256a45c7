package uap

import "math"

// cosGrad returns cos(a, b) and adds s·∂cos/∂a to ga and s·∂cos/∂b to gb
// (either may be nil). A zero vector has cosine 0 and gradient 0.
func cosGrad(a, b, ga, gb []float32, s float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	na, nb := math.Sqrt(aa), math.Sqrt(bb)
	c := ab / (na * nb)
	if ga != nil {
		for i := range a {
			ga[i] += float32(s * (float64(b[i])/(na*nb) - c*float64(a[i])/aa))
		}
	}
	if gb != nil {
		for i := range a {
			gb[i] += float32(s * (float64(a[i])/(na*nb) - c*float64(b[i])/bb))
		}
	}
	return c
}

// FGObjective is FG-UAP's loss (§11), to be minimised: the mean over the n
// images of cos(φ(x_i + v), φ(x_i)), with adv and clean the n×dim features
// of the perturbed and the clean images. It adds ∂loss/∂adv into g (n×dim)
// when g is not nil.
func FGObjective(adv, clean, g []float32, n, dim int) float64 {
	var l float64
	for i := range n {
		a, c := adv[i*dim:(i+1)*dim], clean[i*dim:(i+1)*dim]
		var ga []float32
		if g != nil {
			ga = g[i*dim : (i+1)*dim]
		}
		l += cosGrad(a, c, ga, nil, 1/float64(n))
	}
	return l / float64(n)
}

// DominantObjective is the dominant-pattern loss (§12), to be minimised:
// the mean over the n images of 1 − cos(φ(x_i + v), φ(v)), label-free.
// feat holds n+1 rows: the perturbed images, then v alone. It adds the
// gradient with respect to every row into g when g is not nil.
func DominantObjective(feat, g []float32, n, dim int) float64 {
	p := feat[n*dim : (n+1)*dim]
	var gp []float32
	if g != nil {
		gp = g[n*dim : (n+1)*dim]
	}
	var l float64
	for i := range n {
		var ga []float32
		if g != nil {
			ga = g[i*dim : (i+1)*dim]
		}
		l += 1 - cosGrad(feat[i*dim:(i+1)*dim], p, ga, gp, -1/float64(n))
	}
	return l / float64(n)
}

// GDObjective is the data-free GD-UAP loss (Mopuri et al. 2018) at one
// layer, to be minimised: −log ‖φ(v)‖₂ of the features of v alone. It adds
// its gradient into g when g is not nil.
func GDObjective(feat, g []float32) float64 {
	var s float64
	for _, x := range feat {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return math.Inf(1)
	}
	if g != nil {
		for i, x := range feat {
			g[i] += float32(-float64(x) / s)
		}
	}
	return -0.5 * math.Log(s)
}
