package smooth

import (
	"context"
	"fmt"
	"math"
)

// Bilateral is the bilateral filter (Tomasi and Manduchi 1998): each output
// pixel is the mean of the pixels in a (2R+1)² window weighted by
// exp(−d²/2σs²)·exp(−‖I(p)−I(q)‖²/2σr²), d the spatial distance and ‖·‖ the
// Euclidean distance over the channels (a joint colour range kernel).
// Pixels outside the image are left out of the window.
type Bilateral struct {
	SigmaS float64 `flag:"sigma-s" help:"bilateral: spatial standard deviation in pixels"`
	SigmaR float64 `flag:"sigma-r" help:"bilateral: range standard deviation in intensity units [0,1]"`
	// Radius is the window radius; 0 means ⌈2σs⌉.
	Radius int `flag:"radius" help:"bilateral: window radius (0 = ceil(2 sigma-s))"`
}

// Smooth filters m.
func (b Bilateral) Smooth(ctx context.Context, m *Image) (*Image, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if !(b.SigmaS > 0) || !(b.SigmaR > 0) || b.Radius < 0 {
		return nil, fmt.Errorf("smooth: bilateral needs sigma-s > 0, sigma-r > 0 and radius ≥ 0, got %g, %g, %d", b.SigmaS, b.SigmaR, b.Radius)
	}
	r := b.Radius
	if r == 0 {
		r = int(math.Ceil(2 * b.SigmaS))
	}
	o := NewImage(m.W, m.H, m.C)
	n := m.W * m.H
	is, ir := -0.5/(b.SigmaS*b.SigmaS), -0.5/(b.SigmaR*b.SigmaR)
	acc := make([]float64, m.C)
	for y := 0; y < m.H; y++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for x := 0; x < m.W; x++ {
			p := y*m.W + x
			var ws float64
			clear(acc)
			for dy := -r; dy <= r; dy++ {
				yy := y + dy
				if yy < 0 || yy >= m.H {
					continue
				}
				for dx := -r; dx <= r; dx++ {
					xx := x + dx
					if xx < 0 || xx >= m.W {
						continue
					}
					q := yy*m.W + xx
					var d2 float64
					for c := 0; c < m.C; c++ {
						d := m.Pix[c*n+p] - m.Pix[c*n+q]
						d2 += d * d
					}
					w := math.Exp(float64(dx*dx+dy*dy)*is + d2*ir)
					ws += w
					for c := 0; c < m.C; c++ {
						acc[c] += w * m.Pix[c*n+q]
					}
				}
			}
			for c := 0; c < m.C; c++ {
				o.Pix[c*n+p] = acc[c] / ws
			}
		}
	}
	return o, nil
}

// Guided is the guided filter (He, Sun and Tang 2013) with each channel as
// its own guide: in every (2R+1)² window the output is the linear function
// a·I + b of the input fitting it with ridge ε on a, a = cov/(var+ε), and
// the output at a pixel averages the a and b of the windows covering it.
// Windows are clipped at the border (box means over the pixels inside).
type Guided struct {
	Radius int     `flag:"gf-radius" help:"guided: window radius"`
	Eps    float64 `flag:"eps" help:"guided: regularization epsilon (intensity units squared)"`
}

// Smooth filters m.
func (g Guided) Smooth(ctx context.Context, m *Image) (*Image, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if g.Radius < 1 || !(g.Eps > 0) {
		return nil, fmt.Errorf("smooth: guided filter needs gf-radius ≥ 1 and eps > 0, got %d, %g", g.Radius, g.Eps)
	}
	o := NewImage(m.W, m.H, m.C)
	n := m.W * m.H
	ii, a, b := make([]float64, n), make([]float64, n), make([]float64, n)
	for c := 0; c < m.C; c++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		I := m.Plane(c)
		for i, v := range I {
			ii[i] = v * v
		}
		mean, corr := boxMean(I, m.W, m.H, g.Radius), boxMean(ii, m.W, m.H, g.Radius)
		for i := range a {
			v := corr[i] - mean[i]*mean[i]
			a[i] = v / (v + g.Eps)
			b[i] = mean[i] - a[i]*mean[i]
		}
		ma, mb := boxMean(a, m.W, m.H, g.Radius), boxMean(b, m.W, m.H, g.Radius)
		out := o.Plane(c)
		for i := range out {
			out[i] = ma[i]*I[i] + mb[i]
		}
	}
	return o, nil
}

// boxMean returns the mean of v over the (2r+1)² window around each pixel,
// clipped to the image, with summed-area tables.
func boxMean(v []float64, w, h, r int) []float64 {
	s := make([]float64, (w+1)*(h+1))
	for y := 0; y < h; y++ {
		var row float64
		for x := 0; x < w; x++ {
			row += v[y*w+x]
			s[(y+1)*(w+1)+x+1] = s[y*(w+1)+x+1] + row
		}
	}
	o := make([]float64, w*h)
	for y := 0; y < h; y++ {
		y0, y1 := max(0, y-r), min(h, y+r+1)
		for x := 0; x < w; x++ {
			x0, x1 := max(0, x-r), min(w, x+r+1)
			sum := s[y1*(w+1)+x1] - s[y0*(w+1)+x1] - s[y1*(w+1)+x0] + s[y0*(w+1)+x0]
			o[y*w+x] = sum / float64((y1-y0)*(x1-x0))
		}
	}
	return o
}

// WLS is the weighted-least-squares smoother of Farbman et al. (2008):
// u minimizes Σp (u−f)² + λ Σ over 4-neighbour pairs of w·(u_p − u_q)² with
// w = 1/(|l_p − l_q|^α + ε), l the log luminance of the input; one sparse
// symmetric positive-definite system per channel, solved by conjugate
// gradients.
type WLS struct {
	Lambda float64 `flag:"wls-lambda" help:"wls: smoothness weight lambda"`
	Alpha  float64 `flag:"wls-alpha" help:"wls: gradient exponent alpha (1.2-2: sharper edges)"`
}

// Smooth filters m.
func (s WLS) Smooth(ctx context.Context, m *Image) (*Image, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if !(s.Lambda > 0) || !(s.Alpha > 0) {
		return nil, fmt.Errorf("smooth: wls needs wls-lambda > 0 and wls-alpha > 0, got %g, %g", s.Lambda, s.Alpha)
	}
	const eps = 1e-4
	g := m.Gray()
	for i, v := range g.Pix {
		g.Pix[i] = math.Log(v + eps)
	}
	st := newStencil(m.W, m.H, []offset{{1, 0}, {0, 1}})
	for k := range st.offs {
		st.each(k, func(p, q int) {
			st.wts[k][p] = s.Lambda / (math.Pow(math.Abs(g.Pix[p]-g.Pix[q]), s.Alpha) + eps)
		})
	}
	for i := range st.diag {
		st.diag[i] = 1
	}
	o := m.Clone()
	for c := 0; c < m.C; c++ {
		if _, err := st.solve(ctx, o.Plane(c), m.Plane(c), 1e-5, 5000); err != nil {
			return nil, err
		}
	}
	return o, nil
}
