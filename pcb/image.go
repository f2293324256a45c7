package pcb

import "image"

// mask is a binary image, one byte (0 or 1) per pixel, row-major.
type mask struct {
	w, h int
	px   []uint8
}

func newMask(w, h int) *mask { return &mask{w, h, make([]uint8, w*h)} }

// binarize returns the pixels of g brighter than thr.
func binarize(g *image.Gray, thr int) *mask {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	m := newMask(w, h)
	for y := range h {
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		for x, v := range row {
			if int(v) > thr {
				m.px[y*w+x] = 1
			}
		}
	}
	return m
}

// at returns the pixel at (x, y) of m shifted by (dx, dy) (m's pixel at
// (x−dx, y−dy)), 0 outside.
func (m *mask) at(x, y, dx, dy int) uint8 {
	x, y = x-dx, y-dy
	if x < 0 || y < 0 || x >= m.w || y >= m.h {
		return 0
	}
	return m.px[y*m.w+x]
}

// shifted returns m moved by (dx, dy), zeros entering.
func (m *mask) shifted(dx, dy int) *mask {
	if dx == 0 && dy == 0 {
		return m
	}
	o := newMask(m.w, m.h)
	for y := range m.h {
		for x := range m.w {
			o.px[y*m.w+x] = m.at(x, y, dx, dy)
		}
	}
	return o
}

// align returns the shift (dx, dy), |dx|,|dy| ≤ s, of test that minimises
// the pixels differing from tmpl (counted on every other row and column,
// away from the border), and the differing fractions at that shift and at
// no shift.
func align(tmpl, test *mask, s int) (dx, dy int, best, none float64) {
	bestN, noneN, n := -1, 0, 0
	for sy := -s; sy <= s; sy++ {
		for sx := -s; sx <= s; sx++ {
			c, k := 0, 0
			for y := s; y < tmpl.h-s; y += 2 {
				for x := s; x < tmpl.w-s; x += 2 {
					k++
					if tmpl.px[y*tmpl.w+x] != test.px[(y-sy)*test.w+x-sx] {
						c++
					}
				}
			}
			n = k
			if sx == 0 && sy == 0 {
				noneN = c
			}
			if bestN < 0 || c < bestN || (c == bestN && sx == 0 && sy == 0) {
				bestN, dx, dy = c, sx, sy
			}
		}
	}
	if n == 0 {
		return 0, 0, 0, 0
	}
	return dx, dy, float64(bestN) / float64(n), float64(noneN) / float64(n)
}

// morph dilates (erode false) or erodes (erode true) m with a
// (2r+1)×(2r+1) square, separably; pixels outside the image count as unset
// for dilation and are ignored for erosion.
func morph(m *mask, r int, erode bool) *mask {
	if r <= 0 {
		return m
	}
	tmp, out := newMask(m.w, m.h), newMask(m.w, m.h)
	pass := func(src, dst []uint8, n, stride, lines, lineStride int) {
		pre := make([]int, n+1)
		for l := range lines {
			base := l * lineStride
			for i := range n {
				pre[i+1] = pre[i] + int(src[base+i*stride])
			}
			for i := range n {
				lo, hi := max(0, i-r), min(n-1, i+r)
				c := pre[hi+1] - pre[lo]
				if (erode && c == hi-lo+1) || (!erode && c > 0) {
					dst[base+i*stride] = 1
				}
			}
		}
	}
	pass(m.px, tmp.px, m.w, 1, m.h, m.w)   // rows
	pass(tmp.px, out.px, m.h, m.w, m.w, 1) // columns
	return out
}

// opening is erosion then dilation; closing is dilation then erosion.
func opening(m *mask, r int) *mask { return morph(morph(m, r, true), r, false) }
func closing(m *mask, r int) *mask { return morph(morph(m, r, false), r, true) }

// component is a connected region of a mask.
type component struct {
	x1, y1, x2, y2 int // bounding box, x2 and y2 exclusive
	pixels         []int
}

// components labels the 8-connected (four false: 4-connected) regions of
// the set pixels of m.
func components(m *mask, four bool) []component {
	lab := make([]int32, len(m.px))
	var out []component
	var stack []int
	for start, v := range m.px {
		if v == 0 || lab[start] != 0 {
			continue
		}
		id := int32(len(out) + 1)
		c := component{x1: m.w, y1: m.h}
		lab[start] = id
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			c.pixels = append(c.pixels, p)
			x, y := p%m.w, p/m.w
			c.x1, c.y1, c.x2, c.y2 = min(c.x1, x), min(c.y1, y), max(c.x2, x+1), max(c.y2, y+1)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if (dx == 0 && dy == 0) || (four && dx != 0 && dy != 0) {
						continue
					}
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= m.w || ny >= m.h {
						continue
					}
					q := ny*m.w + nx
					if m.px[q] != 0 && lab[q] == 0 {
						lab[q] = id
						stack = append(stack, q)
					}
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// topology returns the number of 8-connected copper regions and of holes
// (4-connected background regions not touching the window's border) of m
// inside the window [x1,x2)×[y1,y2).
func topology(m *mask, x1, y1, x2, y2 int) (regions, holes int) {
	w, h := x2-x1, y2-y1
	win, inv := newMask(w, h), newMask(w, h)
	for y := range h {
		for x := range w {
			v := m.px[(y+y1)*m.w+x+x1]
			win.px[y*w+x], inv.px[y*w+x] = v, 1-v
		}
	}
	regions = len(components(win, false))
	for _, c := range components(inv, true) {
		if c.x1 > 0 && c.y1 > 0 && c.x2 < w && c.y2 < h {
			holes++
		}
	}
	return regions, holes
}
