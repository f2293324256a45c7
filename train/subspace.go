package train

import (
	"fmt"
	"math"

	"github.com/trustml/trustml/internal/linalg"
)

// Subspace is a low-dimensional subspace of weight space given by an
// orthonormal basis, kept in float64: Dim rows of length D in P
// (row-major). Training inside it is TWA (the span of checkpoints) or DLDR's
// P-SGD (the top principal directions of a trajectory).
type Subspace struct {
	Dim, D int
	P      []float64
	coef   []float64
}

// SpanBasis returns an orthonormal basis of the linear span of the
// checkpoints (raw weights, not centred; the origin is in the span), as in
// TWA (Li et al., "Trainable Weight Averaging", ICLR 2023): Gram–Schmidt in
// the given order, in float64, with a second orthogonalization pass against
// the loss of orthogonality of near-parallel checkpoints. A checkpoint
// within 1e-6 (relative: float32 rounding) of the span of the earlier ones
// adds no direction.
func SpanBasis(ckpts [][]float32) (*Subspace, error) {
	d, err := checkCkpts(ckpts)
	if err != nil {
		return nil, err
	}
	s := &Subspace{D: d}
	row := make([]float64, d)
	for _, c := range ckpts {
		var n0 float64
		for i, v := range c {
			row[i] = float64(v)
			n0 += row[i] * row[i]
		}
		n0 = math.Sqrt(n0)
		for range 2 {
			for j := 0; j < s.Dim; j++ {
				pj := s.P[j*d : (j+1)*d]
				var dot float64
				for i, v := range row {
					dot += pj[i] * v
				}
				for i := range row {
					row[i] -= dot * pj[i]
				}
			}
		}
		var n float64
		for _, v := range row {
			n += v * v
		}
		n = math.Sqrt(n)
		if n0 == 0 || n <= 1e-6*n0 {
			continue // in the span already (or zero)
		}
		for i := range row {
			row[i] /= n
		}
		s.P = append(s.P, row...)
		s.Dim++
	}
	if s.Dim == 0 {
		return nil, fmt.Errorf("train: the checkpoints span nothing (all zero)")
	}
	return s, nil
}

func checkCkpts(ckpts [][]float32) (int, error) {
	if len(ckpts) == 0 {
		return 0, fmt.Errorf("train: no checkpoints")
	}
	d := len(ckpts[0])
	for k, c := range ckpts {
		if len(c) != d || d == 0 {
			return 0, fmt.Errorf("train: checkpoint %d has %d weights, checkpoint 0 has %d", k, len(c), d)
		}
		for i, v := range c {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, fmt.Errorf("train: checkpoint %d has a non-finite weight %v at index %d", k, v, i)
			}
		}
	}
	return d, nil
}

// PCABasis returns the top dim principal directions of the checkpoints
// (rows of the t×D matrix, centred by their mean, like scikit-learn's PCA)
// as DLDR does (Li et al., "Low Dimensional Trajectory Hypothesis is True:
// DNNs Can Be Trained in Tiny Subspaces", TPAMI 2022), and the variance each
// direction explains (scikit-learn's explained_variance_: eigenvalue of the
// covariance, divisor t−1). Everything is in float64, through the t×t Gram
// matrix of the centred checkpoints, so no D×D matrix is formed; the
// directions are re-orthonormalized afterwards (two Gram–Schmidt passes)
// against the rounding of small eigenvalues, and each is signed so that its
// largest-magnitude entry is positive, which makes the basis independent of
// the eigensolver.
//
// t centred checkpoints span at most t−1 directions, so dim must be at most
// t−1 (and at most D); it is an error if fewer than dim directions have a
// variance above 1e-12 of the largest.
func PCABasis(ckpts [][]float32, dim int) (*Subspace, []float64, error) {
	d, err := checkCkpts(ckpts)
	if err != nil {
		return nil, nil, err
	}
	t := len(ckpts)
	switch {
	case dim < 1:
		return nil, nil, fmt.Errorf("train: PCA needs at least 1 principal direction, got %d", dim)
	case dim > t-1:
		return nil, nil, fmt.Errorf("train: %d principal directions asked of %d checkpoints, but %d centred checkpoints span at most %d: give at least %d checkpoints or lower the dimension",
			dim, t, t, t-1, dim+1)
	case dim > d:
		return nil, nil, fmt.Errorf("train: %d principal directions asked of checkpoints with only %d weights", dim, d)
	}
	mu := make([]float64, d)
	for _, c := range ckpts {
		for i, v := range c {
			mu[i] += float64(v)
		}
	}
	for i := range mu {
		mu[i] /= float64(t)
	}
	x := make([]float64, t*d)
	for k, c := range ckpts {
		for i, v := range c {
			x[k*d+i] = float64(v) - mu[i]
		}
	}
	gram := make([]float64, t*t)
	linalg.Dgemm(false, true, t, t, d, 1, x, d, x, d, 0, gram, t)
	lam := make([]float64, dim)
	u := make([]float64, dim*t)
	if err := linalg.DsyevTop(t, gram, t, dim, lam, u, t); err != nil {
		return nil, nil, fmt.Errorf("train: PCA eigendecomposition: %w", err)
	}
	if !(lam[0] > 0) || lam[dim-1] <= 1e-12*lam[0] {
		return nil, nil, fmt.Errorf("train: the %d checkpoints vary in fewer than %d directions (Gram eigenvalues %v): lower the dimension", t, dim, lam)
	}
	s := &Subspace{Dim: dim, D: d, P: make([]float64, dim*d)}
	linalg.Dgemm(false, false, dim, d, t, 1, u, t, x, d, 0, s.P, d)
	variance := make([]float64, dim)
	for j := 0; j < dim; j++ {
		variance[j] = lam[j] / float64(t-1)
		inv := 1 / math.Sqrt(lam[j])
		for i := range s.P[j*d : (j+1)*d] {
			s.P[j*d+i] *= inv
		}
	}
	if err := s.reorthonormalize(); err != nil {
		return nil, nil, err
	}
	return s, variance, nil
}

// reorthonormalize applies two passes of modified Gram–Schmidt to the rows
// of P, in order, and signs each row so that its largest-magnitude entry is
// positive.
func (s *Subspace) reorthonormalize() error {
	d := s.D
	for j := 0; j < s.Dim; j++ {
		pj := s.P[j*d : (j+1)*d]
		for range 2 {
			for k := 0; k < j; k++ {
				pk := s.P[k*d : (k+1)*d]
				var dot float64
				for i, v := range pj {
					dot += pk[i] * v
				}
				for i := range pj {
					pj[i] -= dot * pk[i]
				}
			}
		}
		var n float64
		big := 0
		for i, v := range pj {
			n += v * v
			if math.Abs(v) > math.Abs(pj[big]) {
				big = i
			}
		}
		n = math.Sqrt(n)
		if !(n > 0.5) { // a principal direction is a unit vector up to rounding
			return fmt.Errorf("train: principal direction %d lost its norm (%g) to rounding", j, n)
		}
		if pj[big] < 0 {
			n = -n
		}
		for i := range pj {
			pj[i] /= n
		}
	}
	return nil
}

// TotalVariance is the total variance of the checkpoints, the sum over
// weights of their variance across checkpoints (divisor t−1): the
// denominator of the explained-variance ratio of [PCABasis]'s directions.
// It is 0 for a single checkpoint.
func TotalVariance(ckpts [][]float32) (float64, error) {
	d, err := checkCkpts(ckpts)
	if err != nil {
		return 0, err
	}
	t := len(ckpts)
	if t < 2 {
		return 0, nil
	}
	var total float64
	for i := 0; i < d; i++ {
		var mu float64
		for _, c := range ckpts {
			mu += float64(c[i])
		}
		mu /= float64(t)
		for _, c := range ckpts {
			v := float64(c[i]) - mu
			total += v * v
		}
	}
	return total / float64(t-1), nil
}

// Project replaces g by its orthogonal projection Pᵀ(P g) onto the
// subspace. It is not safe for concurrent use.
func (s *Subspace) Project(g []float32) {
	if len(s.coef) != s.Dim {
		s.coef = make([]float64, s.Dim)
	}
	for j := range s.coef {
		pj := s.P[j*s.D : (j+1)*s.D]
		var dot float64
		for i, v := range g {
			dot += pj[i] * float64(v)
		}
		s.coef[j] = dot
	}
	for i := range g {
		var v float64
		for j, c := range s.coef {
			v += c * s.P[j*s.D+i]
		}
		g[i] = float32(v)
	}
}

// Residual is ‖w − Pᵀ(P w)‖/‖w‖: how far w lies outside the subspace.
func (s *Subspace) Residual(w []float32) float64 {
	pw := append([]float32(nil), w...)
	s.Project(pw)
	var r, n float64
	for i, v := range w {
		d := float64(v) - float64(pw[i])
		r += d * d
		n += float64(v) * float64(v)
	}
	if n == 0 {
		return 0
	}
	return math.Sqrt(r / n)
}

// Projected trains inside a [Subspace]: every gradient is projected onto
// it before the base optimizer's update (g_P = Pᵀ(P g)); the base adds its
// weight decay afterwards, in full space, as TWA's code does. Starting from
// a point of a linear span (TWA) the iterate stays in it. Around SGD in a
// [PCABasis] it is DLDR's P-SGD, which starts from the initial weights
// w₀ + span(P); the official runs use lr 1, momentum 0.9, no weight decay,
// batch 128 and a ×0.1 step schedule. With a basis of all of R^D it makes
// exactly the base optimizer's steps.
type Projected struct {
	Base  Updater
	Basis *Subspace
}

// NewProjected returns the projected optimizer.
func NewProjected(base Updater, basis *Subspace) (*Projected, error) {
	if err := checkBase("projected training", base); err != nil {
		return nil, err
	}
	if basis == nil || basis.Dim == 0 {
		return nil, fmt.Errorf("train: projected training needs a non-empty subspace")
	}
	return &Projected{Base: base, Basis: basis}, nil
}

// SetLR sets the base optimizer's learning rate.
func (o *Projected) SetLR(lr float64) { o.Base.SetLR(lr) }

// LR returns the base optimizer's learning rate.
func (o *Projected) LR() float64 { return o.Base.LR() }

// Step evaluates c, projects the gradient and updates p.
func (o *Projected) Step(p Params, c Closure) (float64, error) {
	loss, err := c()
	if err != nil {
		return loss, err
	}
	g := p.Grads()
	if len(g) != o.Basis.D {
		return loss, fmt.Errorf("train: subspace of dimension-%d vectors for %d weights", o.Basis.D, len(g))
	}
	o.Basis.Project(g)
	o.Base.Update(p.Weights(), g)
	return loss, nil
}
