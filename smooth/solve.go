package smooth

import (
	"context"
	"math"
)

// offset is a neighbour displacement.
type offset struct{ dx, dy int }

// stencil is the symmetric positive-definite operator
// (A u)_p = diag_p u_p + Σ_k w_k[p](u_p − u_{p+off_k}) + Σ_k w_k[p−off_k](u_p − u_{p−off_k})
// over a w×h grid: each undirected neighbour pair (p, p+off_k) carries one
// weight w_k[p], stored at its first pixel (0 where p+off_k is outside).
type stencil struct {
	w, h int
	offs []offset
	wts  [][]float64 // per offset, per pixel: w_k
	diag []float64
}

func newStencil(w, h int, offs []offset) *stencil {
	s := &stencil{w: w, h: h, offs: offs, diag: make([]float64, w*h)}
	for range offs {
		s.wts = append(s.wts, make([]float64, w*h))
	}
	return s
}

// each calls f(p, q) for every pair (p, q = p+off_k) inside the image.
func (s *stencil) each(k int, f func(p, q int)) {
	o := s.offs[k]
	for y := max(0, -o.dy); y < min(s.h, s.h-o.dy); y++ {
		for x := max(0, -o.dx); x < min(s.w, s.w-o.dx); x++ {
			p := y*s.w + x
			f(p, p+o.dy*s.w+o.dx)
		}
	}
}

func (s *stencil) apply(dst, u []float64) {
	for i := range dst {
		dst[i] = s.diag[i] * u[i]
	}
	for k := range s.offs {
		wk := s.wts[k]
		s.each(k, func(p, q int) {
			d := wk[p] * (u[p] - u[q])
			dst[p] += d
			dst[q] -= d
		})
	}
}

func (s *stencil) diagonal() []float64 {
	d := append([]float64(nil), s.diag...)
	for k := range s.offs {
		wk := s.wts[k]
		s.each(k, func(p, q int) { d[p] += wk[p]; d[q] += wk[p] })
	}
	return d
}

// solve runs Jacobi-preconditioned conjugate gradients on A u = b from the
// initial u until ‖r‖ ≤ tol·‖b‖ or maxIter iterations; it returns the
// iterations run.
func (s *stencil) solve(ctx context.Context, u, b []float64, tol float64, maxIter int) (int, error) {
	n := len(u)
	d := s.diagonal()
	r, z, p, ap := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	s.apply(ap, u)
	var bn float64
	for i := range r {
		r[i] = b[i] - ap[i]
		bn += b[i] * b[i]
	}
	bn = math.Sqrt(bn)
	if bn == 0 {
		bn = 1
	}
	var rz float64
	for i := range z {
		z[i] = r[i] / d[i]
		p[i] = z[i]
		rz += r[i] * z[i]
	}
	for it := 0; it < maxIter; it++ {
		var rn float64
		for _, v := range r {
			rn += v * v
		}
		if math.Sqrt(rn) <= tol*bn {
			return it, nil
		}
		if it%16 == 0 {
			if err := ctx.Err(); err != nil {
				return it, err
			}
		}
		s.apply(ap, p)
		var pap float64
		for i := range p {
			pap += p[i] * ap[i]
		}
		if pap <= 0 {
			return it, nil
		}
		alpha := rz / pap
		var rz2 float64
		for i := range u {
			u[i] += alpha * p[i]
			r[i] -= alpha * ap[i]
			z[i] = r[i] / d[i]
			rz2 += r[i] * z[i]
		}
		beta := rz2 / rz
		rz = rz2
		for i := range p {
			p[i] = z[i] + beta*p[i]
		}
	}
	return maxIter, nil
}
