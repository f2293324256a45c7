package pwl

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/trustml/trustml/internal/atomicfile"
)

// LineResult is the exact partition of a segment into linear regions.
type LineResult struct {
	// Breaks are the parameters t in (0, 1) of x0 + t(x1 − x0) where the
	// activation pattern changes, increasing.
	Breaks []float64
	// Regions is the number of linear pieces: len(Breaks) + 1.
	Regions int
	// Distinct is the number of distinct activation patterns among them
	// (a segment can leave a region and come back to it only through
	// another, so it is ≤ Regions).
	Distinct int
}

// tiny is the step past a breakpoint at which the next piece's pattern is
// read; pieces shorter than it are merged into their neighbour.
const tiny = 1e-9

// Line counts the linear regions crossed by the segment from x0 to x1
// exactly: inside a region every pre-activation is affine in t, so the next
// breakpoint is the smallest root after t of those that change sign; the
// walk reads the next pattern just past each root.
func (n *Net) Line(ctx context.Context, x0, x1 []float64) (*LineResult, error) {
	d := n.InputDim()
	if len(x0) != d || len(x1) != d {
		return nil, fmt.Errorf("pwl: line end points have %d and %d values, the network takes %d", len(x0), len(x1), d)
	}
	dir := make([]float64, d)
	for i := range dir {
		dir[i] = x1[i] - x0[i]
	}
	at := func(t float64) []float64 {
		x := make([]float64, d)
		for i := range x {
			x[i] = x0[i] + t*dir[i]
		}
		return x
	}
	res := &LineResult{}
	seen := map[string]bool{}
	t := 0.0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, p, err := n.Forward(at(math.Min(1, t+tiny)))
		if err != nil {
			return nil, err
		}
		res.Regions++
		seen[p.String()] = true
		pa, pb := n.preLine(p, x0, dir)
		next := 1.0
		for k, on := range p {
			a, b := pa[k], pb[k] // pre-activation a + b·t along the line
			if b == 0 {
				continue
			}
			root := -a / b
			// The unit leaves its state where it crosses 0 going the other
			// way: on units decrease through 0, off units increase.
			if (on && b < 0 || !on && b > 0) && root > t+tiny/2 && root < next {
				next = root
			}
		}
		if next >= 1 {
			break
		}
		res.Breaks = append(res.Breaks, next)
		t = next
	}
	res.Distinct = len(seen)
	return res, nil
}

// preLine returns the pre-activations of every hidden unit along
// x0 + t·dir on the region of pattern p as a + b·t: x0 goes through the
// network with p's units masked (not thresholded), dir through its linear
// part likewise. Two forward passes, where [Net.RegionOf] builds the whole
// affine map.
func (n *Net) preLine(p Pattern, x0, dir []float64) (a, b []float64) {
	ha, hb := x0, dir
	u := 0
	for li := range n.Layers[:len(n.Layers)-1] {
		l := &n.Layers[li]
		za, zb := make([]float64, l.Out), make([]float64, l.Out)
		l.apply(za, ha)
		for o := 0; o < l.Out; o++ {
			var s float64
			for j, v := range l.W[o*l.In : (o+1)*l.In] {
				s += v * hb[j]
			}
			zb[o] = s
		}
		a, b = append(a, za...), append(b, zb...)
		for o := range za {
			if !p[u+o] {
				za[o], zb[o] = 0, 0
			}
		}
		u += l.Out
		ha, hb = za, zb
	}
	return a, b
}

// SliceResult labels a grid over the 2-D slice {c + a·u + b·v : a, b in
// [−Extent, Extent]} by activation pattern.
type SliceResult struct {
	Res    int
	Extent float64
	// Label is row-major Res×Res (row 0 at b = +Extent), the index of the
	// pixel's pattern in order of first appearance.
	Label []int
	// Patterns is the number of distinct patterns on the grid: a lower
	// bound on the linear regions meeting the slice (regions smaller than
	// a pixel can be missed).
	Patterns int
}

// Slice evaluates the activation pattern on a res×res grid of the plane
// through c spanned by u and v.
func (n *Net) Slice(ctx context.Context, c, u, v []float64, extent float64, res int) (*SliceResult, error) {
	d := n.InputDim()
	if len(c) != d || len(u) != d || len(v) != d {
		return nil, fmt.Errorf("pwl: slice vectors have %d, %d, %d values, the network takes %d", len(c), len(u), len(v), d)
	}
	if res < 2 || res > 4096 || !(extent > 0) {
		return nil, fmt.Errorf("pwl: slice needs 2 ≤ res ≤ 4096 and extent > 0, got %d, %g", res, extent)
	}
	s := &SliceResult{Res: res, Extent: extent, Label: make([]int, res*res)}
	ids := map[string]int{}
	x := make([]float64, d)
	for i := 0; i < res; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := extent * (1 - 2*float64(i)/float64(res-1))
		for j := 0; j < res; j++ {
			a := extent * (2*float64(j)/float64(res-1) - 1)
			for k := range x {
				x[k] = c[k] + a*u[k] + b*v[k]
			}
			_, p, err := n.Forward(x)
			if err != nil {
				return nil, err
			}
			key := p.String()
			id, ok := ids[key]
			if !ok {
				id = len(ids)
				ids[key] = id
			}
			s.Label[i*res+j] = id
		}
	}
	s.Patterns = len(ids)
	return s, nil
}

// Image draws the slice: each region a colour from its label, region
// boundaries black.
func (s *SliceResult) Image() *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, s.Res, s.Res))
	for i := 0; i < s.Res; i++ {
		for j := 0; j < s.Res; j++ {
			l := s.Label[i*s.Res+j]
			if (j+1 < s.Res && s.Label[i*s.Res+j+1] != l) || (i+1 < s.Res && s.Label[(i+1)*s.Res+j] != l) {
				m.Set(j, i, color.RGBA{A: 255})
				continue
			}
			h := fnv.New32a()
			fmt.Fprint(h, l)
			v := h.Sum32()
			m.Set(j, i, color.RGBA{R: 96 + uint8(v)%160, G: 96 + uint8(v>>8)%160, B: 96 + uint8(v>>16)%160, A: 255})
		}
	}
	return m
}

// WritePNG writes [SliceResult.Image] to path, atomically.
func (s *SliceResult) WritePNG(path string) error {
	var b bytes.Buffer
	if err := png.Encode(&b, s.Image()); err != nil {
		return fmt.Errorf("pwl: %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, b.Bytes(), 0o644)
}
