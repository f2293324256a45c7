package smooth

import (
	"fmt"
	"math"
	"slices"
)

// Measure is how a smoothed image keeps the input's edges and flattens its
// flat regions. With S(u) the Sobel gradient magnitude of the luminance of u
// at the interior pixels (the one-pixel border is left out), and the
// quantiles of S(input) taken over the pixels where it is not 0 (a constant
// patch cannot get flatter), the edge set E is the pixels where S(input) is
// at or above its EdgeQuantile (0.9: the strongest 10 %) and the flat set F
// those with 0 < S(input) ≤ its FlatQuantile (0.5); G(u, X) is the sum of
// S(u)² over X. Then
//
//	EdgeKept = G(out, E) / G(in, E)    (1: edges as strong as in the input)
//	FlatKept = G(out, F) / G(in, F)    (0: flat regions perfectly flat)
//	Selectivity = EdgeKept / FlatKept  (higher: more edge-preserving)
//
// and MAE is the mean absolute difference to the input over all values.
type Measure struct {
	EdgeKept    float64 `json:"edge_kept"`
	FlatKept    float64 `json:"flat_kept"`
	Selectivity float64 `json:"selectivity"`
	MAE         float64 `json:"mae"`
	EdgePixels  int     `json:"edge_pixels"`
	FlatPixels  int     `json:"flat_pixels"`
}

// Quantiles of the input's Sobel magnitude that define the edge and flat
// sets of [Evaluate].
const (
	EdgeQuantile = 0.9
	FlatQuantile = 0.5
)

// sobel2 returns the squared Sobel gradient magnitude of the luminance of m
// at the interior pixels, in row-major order.
func sobel2(m *Image) []float64 {
	g := m.Gray()
	W, H := m.W, m.H
	out := make([]float64, 0, (W-2)*(H-2))
	at := func(x, y int) float64 { return g.Pix[y*W+x] }
	for y := 1; y < H-1; y++ {
		for x := 1; x < W-1; x++ {
			gx := at(x+1, y-1) + 2*at(x+1, y) + at(x+1, y+1) - at(x-1, y-1) - 2*at(x-1, y) - at(x-1, y+1)
			gy := at(x-1, y+1) + 2*at(x, y+1) + at(x+1, y+1) - at(x-1, y-1) - 2*at(x, y-1) - at(x+1, y-1)
			out = append(out, gx*gx+gy*gy)
		}
	}
	return out
}

// Evaluate measures out, a smoothing of in (see [Measure]).
func Evaluate(in, out *Image) (Measure, error) {
	if err := in.Validate(); err != nil {
		return Measure{}, err
	}
	if err := out.Validate(); err != nil {
		return Measure{}, err
	}
	if in.W != out.W || in.H != out.H || in.C != out.C {
		return Measure{}, fmt.Errorf("smooth: measure: input is %d×%d×%d, output %d×%d×%d", in.W, in.H, in.C, out.W, out.H, out.C)
	}
	if in.W < 3 || in.H < 3 {
		return Measure{}, fmt.Errorf("smooth: measure needs at least 3×3 pixels, got %d×%d", in.W, in.H)
	}
	si, so := sobel2(in), sobel2(out)
	var sorted []float64
	for _, v := range si {
		if v > 0 {
			sorted = append(sorted, v)
		}
	}
	if len(sorted) == 0 {
		return Measure{}, fmt.Errorf("smooth: measure: the input is constant; it has no edges to score")
	}
	slices.Sort(sorted)
	q := func(p float64) float64 { return sorted[int(p*float64(len(sorted)-1))] }
	te, tf := q(EdgeQuantile), q(FlatQuantile)
	var ei, eo, fi, fo float64
	var m Measure
	for i, v := range si {
		if v >= te && v > 0 {
			ei, eo = ei+v, eo+so[i]
			m.EdgePixels++
		}
		if v <= tf && v > 0 {
			fi, fo = fi+v, fo+so[i]
			m.FlatPixels++
		}
	}
	if m.EdgePixels == 0 || ei == 0 || fi == 0 {
		return Measure{}, fmt.Errorf("smooth: measure: the input has no gradient on its edge or flat set (%d edge pixels); a constant region cannot be scored", m.EdgePixels)
	}
	m.EdgeKept, m.FlatKept = eo/ei, fo/fi
	m.Selectivity = m.EdgeKept / m.FlatKept
	for i, v := range in.Pix {
		m.MAE += math.Abs(v - out.Pix[i])
	}
	m.MAE /= float64(len(in.Pix))
	return m, nil
}
