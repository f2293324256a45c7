package smooth

import (
	"context"
	"fmt"
	"math"
)

// TruncatedHuber is the truncated Huber penalty of the generalized
// framework: x²/2a for |x| < a, |x| − a/2 for a ≤ |x| < b, and b − a/2 for
// |x| ≥ b (constant: edges larger than b cost nothing more). With b beyond
// the intensity range it is the Huber penalty (an edge-preserving ℓ1 with a
// quadratic core); with a small it is a truncated ℓ1.
func TruncatedHuber(x, a, b float64) float64 {
	x = math.Abs(x)
	switch {
	case x < a:
		return x * x / (2 * a)
	case x < b:
		return x - a/2
	default:
		return b - a/2
	}
}

// huberWeight is the half-quadratic weight h_T(x) ≤ ν x² + const, ν = h_T′(x)/2x:
// 1/2a in the quadratic core, 1/2|x| in the linear part and (almost) 0
// beyond the truncation.
func huberWeight(x, a, b float64) float64 {
	switch {
	case x < a:
		return 0.5 / a
	case x > b:
		return 1e-7
	default:
		return 0.5 / x
	}
}

// General is the generalized smoothing framework of Liu et al.: u minimizes
//
//	Σ_i Σ_{j∈N_d(i)} ω^d_ij h_T(u_i − f_j; a_d, b_d) + λ Σ_i Σ_{j∈N_s(i)} ω^s_ij ω^g_ij h_T(u_i − u_j; a_s, b_s)
//
// with h_T the [TruncatedHuber] penalty, N_d and N_s the (2r+1)² windows of
// the data and smoothness terms (N_d is {i} itself when RData is 0), ω^d and
// ω^s Gaussian spatial weights of standard deviation r and
// ω^g_ij = (|g_i − g_j| + δ)^−α guidance weights from the input g = f
// (channel differences averaged, δ = 10⁻³). Each of Iters iterations
// replaces every h_T by its quadratic upper bound at the current u (the
// weights [huberWeight]) and solves the resulting sparse SPD system per
// channel by preconditioned conjugate gradients, as the authors' code does.
// Intensities are first divided by the image's range, so a and b are in
// units of that range: b ≥ 1 means no truncation.
//
// The parameters select the smoothing nature: with RData = 0 and no
// truncation it is edge-preserving (EP, a WLS-like filter with Huber
// weights); truncating the smoothness term (b_s < 1) keeps large edges
// sharp; RData = 1 and several iterations give the structure-preserving
// (SP) texture removal of the paper. [DefaultGeneral] is SP.
type General struct {
	Lambda  float64 `flag:"lambda" help:"gsmooth: smoothness strength lambda"`
	RData   int     `flag:"r-data" help:"gsmooth: data-term neighbourhood radius (0 = the pixel itself)"`
	RSmooth int     `flag:"r-smooth" help:"gsmooth: smoothness-term neighbourhood radius"`
	AData   float64 `flag:"a-data" help:"gsmooth: truncated Huber a of the data term"`
	BData   float64 `flag:"b-data" help:"gsmooth: truncated Huber b of the data term (>= 1: no truncation)"`
	ASmooth float64 `flag:"a-smooth" help:"gsmooth: truncated Huber a of the smoothness term"`
	BSmooth float64 `flag:"b-smooth" help:"gsmooth: truncated Huber b of the smoothness term (>= 1: no truncation)"`
	Alpha   float64 `flag:"alpha" help:"gsmooth: guidance weight exponent alpha"`
	Stride  int     `flag:"stride" help:"gsmooth: neighbourhood stride of the smoothness term"`
	Iters   int     `flag:"iters" help:"gsmooth: half-quadratic iterations"`
}

// DefaultGeneral returns the structure-preserving (SP-1) setting of the
// authors' texture-removal script: λ 0.5, radii 1, a 10⁻³, b 1, α 0.5,
// stride 1, 10 iterations.
func DefaultGeneral() General {
	return General{Lambda: 0.5, RData: 1, RSmooth: 1, AData: 1e-3, BData: 1, ASmooth: 1e-3, BSmooth: 1, Alpha: 0.5, Stride: 1, Iters: 10}
}

// EdgePreserving returns the edge-preserving (EP) setting: the data term on
// the pixel alone, λ 1, α 0.2 (the authors' detail-enhancement script, EP
// mode), with the smoothness term truncated at b (1 = no truncation).
func EdgePreserving(b float64) General {
	g := DefaultGeneral()
	g.Lambda, g.RData, g.Alpha, g.BSmooth, g.Iters = 1, 0, 0.2, b, 3
	return g
}

func (g General) validate() error {
	switch {
	case !(g.Lambda > 0):
		return fmt.Errorf("smooth: gsmooth needs lambda > 0, got %g", g.Lambda)
	case g.RData < 0 || g.RSmooth < 1 || g.Stride < 1 || g.RSmooth%g.Stride != 0:
		return fmt.Errorf("smooth: gsmooth needs r-data ≥ 0, r-smooth ≥ 1 and a stride ≥ 1 dividing r-smooth (a symmetric neighbourhood), got %d, %d, %d", g.RData, g.RSmooth, g.Stride)
	case !(g.AData > 0) || !(g.ASmooth > 0) || !(g.BData >= g.AData) || !(g.BSmooth >= g.ASmooth):
		return fmt.Errorf("smooth: gsmooth needs 0 < a ≤ b for both terms, got a-data %g b-data %g a-smooth %g b-smooth %g", g.AData, g.BData, g.ASmooth, g.BSmooth)
	case !(g.Alpha >= 0) || g.Iters < 1:
		return fmt.Errorf("smooth: gsmooth needs alpha ≥ 0 and iters ≥ 1, got %g, %d", g.Alpha, g.Iters)
	}
	return nil
}

// gaussWindow returns the normalized (2r+1)² Gaussian of standard deviation
// r (1 at the centre for r = 0), indexed [(dy+r)*(2r+1)+dx+r].
func gaussWindow(r int) []float64 {
	k := make([]float64, (2*r+1)*(2*r+1))
	if r == 0 {
		k[0] = 1
		return k
	}
	var s float64
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			v := math.Exp(-float64(dx*dx+dy*dy) / float64(2*r*r))
			k[(dy+r)*(2*r+1)+dx+r] = v
			s += v
		}
	}
	for i := range k {
		k[i] /= s
	}
	return k
}

// meanAbsDiff is the mean over channels of |a_p − b_q| (planar images of n
// pixels each).
func meanAbsDiff(a, b []float64, p, q, n, c int) float64 {
	var s float64
	for k := 0; k < c; k++ {
		s += math.Abs(a[k*n+p] - b[k*n+q])
	}
	return s / float64(c)
}

// Smooth filters m.
func (g General) Smooth(ctx context.Context, m *Image) (*Image, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if err := g.validate(); err != nil {
		return nil, err
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range m.Pix {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	scale := hi - lo
	if scale == 0 {
		return m.Clone(), nil
	}
	n, C, W, H := m.W*m.H, m.C, m.W, m.H
	f := make([]float64, len(m.Pix))
	for i, v := range m.Pix {
		f[i] = v / scale
	}
	// Smoothness neighbours: half of the strided window (one per pair).
	var offs []offset
	for dy := 0; dy <= g.RSmooth; dy += g.Stride {
		for dx := -g.RSmooth; dx <= g.RSmooth; dx += g.Stride {
			if dy > 0 || dx > 0 {
				offs = append(offs, offset{dx, dy})
			}
		}
	}
	ks, kd := gaussWindow(g.RSmooth), gaussWindow(g.RData)
	st := newStencil(W, H, offs)
	guide := make([][]float64, len(offs))
	for k, o := range offs {
		guide[k] = make([]float64, n)
		st.each(k, func(p, q int) {
			guide[k][p] = math.Pow(meanAbsDiff(f, f, p, q, n, C)+1e-3, -g.Alpha) * ks[(o.dy+g.RSmooth)*(2*g.RSmooth+1)+o.dx+g.RSmooth]
		})
	}
	u := append([]float64(nil), f...)
	rhs := make([]float64, len(f))
	for it := 0; it < g.Iters; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Smoothness weights at the current u; row i of the system gets
		// 2λ Σ_j ω_ij (u_i − u_j), as in the authors' L = L_d + 2λ(D − W).
		for k := range offs {
			st.each(k, func(p, q int) {
				st.wts[k][p] = 2 * g.Lambda * guide[k][p] * huberWeight(meanAbsDiff(u, u, p, q, n, C), g.ASmooth, g.BSmooth)
			})
		}
		// Data term.
		if g.RData == 0 {
			for i := range st.diag {
				st.diag[i] = 1
			}
			copy(rhs, f)
		} else {
			clear(rhs)
			r, wd := g.RData, 2*g.RData+1
			for y := 0; y < H; y++ {
				for x := 0; x < W; x++ {
					p := y*W + x
					var d float64
					for dy := -r; dy <= r; dy++ {
						for dx := -r; dx <= r; dx++ {
							xx, yy := x+dx, y+dy
							if (dx == 0 && dy == 0) || xx < 0 || yy < 0 || xx >= W || yy >= H {
								continue
							}
							q := yy*W + xx
							w := huberWeight(meanAbsDiff(u, f, p, q, n, C), g.AData, g.BData) * kd[(dy+r)*wd+dx+r]
							d += w
							for c := 0; c < C; c++ {
								rhs[c*n+p] += w * f[c*n+q]
							}
						}
					}
					st.diag[p] = d
				}
			}
		}
		for c := 0; c < C; c++ {
			if _, err := st.solve(ctx, u[c*n:(c+1)*n], rhs[c*n:(c+1)*n], 1e-6, 300); err != nil {
				return nil, err
			}
		}
	}
	o := &Image{W: W, H: H, C: C, Pix: u}
	for i := range u {
		u[i] *= scale
	}
	return o, nil
}
