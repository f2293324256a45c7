package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/trustml/trustml/internal/atomicfile"
)

// Surface is a function sampled on a rectangular grid, such as a 2-D loss
// surface: Z[i][j] is its value at (X[i], Y[j]).
type Surface struct {
	Name string    // what Z is; labels the colour bar
	X, Y []float64 // strictly increasing
	Z    [][]float64
}

// SurfaceLevels is the number of contour levels [Heatmap] draws,
// evenly spaced strictly between the minimum and the maximum.
const SurfaceLevels = 10

// Heatmap draws s into a PNG file at path, written atomically: a heat
// map (bilinearly interpolated between the grid points for display, which
// are drawn as small dots), black contour lines at [SurfaceLevels] evenly
// spaced levels, a colour bar, and the grid's minimum marked and named
// under the title. With logZ the
// colours and levels follow log10 Z, which keeps a narrow basin visible
// next to large values far from it, and the colour bar is labelled in Z on
// a log scale; Z must then be positive.
func Heatmap(path, title, xlabel, ylabel string, logZ bool, s Surface) error {
	g, err := newSurfaceGrid(s, logZ)
	if err != nil {
		return err
	}
	zlabel := s.Name
	if logZ {
		zlabel += " (log scale)"
	}
	lo, hi := g.min, g.max
	if hi == lo { // a flat surface still gets a colour bar
		lo, hi = lo-0.5, hi+0.5
	}
	cm := moreland.SmoothBlueRed()
	cm.SetMin(lo)
	cm.SetMax(hi)

	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Padding, p.Y.Padding = 0, 0
	h := plotter.NewHeatMap(g.fine(), cm.Palette(256))
	h.Min, h.Max = lo, hi
	h.Rasterized = true
	p.Add(h)
	levels := make([]float64, SurfaceLevels)
	for k := range levels {
		levels[k] = lo + (hi-lo)*float64(k+1)/float64(SurfaceLevels+1)
	}
	c := plotter.NewContour(g, levels, nil)
	c.LineStyles = []draw.LineStyle{{Color: color.Black, Width: vg.Points(0.6)}}
	p.Add(c)
	var nodes plotter.XYs
	for _, x := range g.x {
		for _, y := range g.y {
			nodes = append(nodes, plotter.XY{X: x, Y: y})
		}
	}
	dots, err := plotter.NewScatter(nodes)
	if err != nil {
		return fmt.Errorf("plot: plotting the grid: %w", err)
	}
	dots.GlyphStyle = draw.GlyphStyle{Color: color.NRGBA{A: 110}, Radius: vg.Points(0.9), Shape: draw.CircleGlyph{}}
	i, j := g.argmin()
	mx, my := g.x[i], g.y[j]
	m, err := plotter.NewScatter(plotter.XYs{{X: mx, Y: my}})
	if err != nil {
		return fmt.Errorf("plot: plotting the minimum: %w", err)
	}
	m.GlyphStyle = draw.GlyphStyle{Color: color.White, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
	ring, _ := plotter.NewScatter(plotter.XYs{{X: mx, Y: my}})
	ring.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(4.5), Shape: draw.RingGlyph{}}
	p.Add(dots, m, ring)
	p.Title.Text += fmt.Sprintf("\n○ minimum %s %.4g at (%.3g, %.3g); dots: grid points", s.Name, s.Z[i][j], mx, my)

	bar := gplot.New()
	bar.HideX()
	bar.Y.Padding = 0
	bar.Y.Label.Text = zlabel
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	if logZ {
		bar.Y.Tick.Marker = log10Ticks{}
	}

	const width, height = 6.5 * vg.Inch, 5 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	barW := 0.95 * vg.Inch
	mainC := draw.Crop(dc, 0, -barW, 0, 0)
	data := p.DataCanvas(mainC)
	barC := draw.Crop(dc, width-barW+vg.Points(6), -vg.Points(4), 0, 0)
	barC.Min.Y, barC.Max.Y = data.Min.Y, data.Max.Y
	p.Draw(mainC)
	bar.Draw(barC)
	return saveCanvas(img, path)
}

// surfaceGrid is a validated [Surface] (log10 Z with logZ) as a
// plotter.GridXYZ: column c is X[c], row r is Y[r].
type surfaceGrid struct {
	x, y     []float64
	z        [][]float64
	min, max float64
}

func newSurfaceGrid(s Surface, logZ bool) (*surfaceGrid, error) {
	if len(s.X) < 2 || len(s.Y) < 2 {
		return nil, fmt.Errorf("plot: surface of %d×%d points: need at least 2×2", len(s.X), len(s.Y))
	}
	for _, ax := range []struct {
		name string
		v    []float64
	}{{"X", s.X}, {"Y", s.Y}} {
		for i, v := range ax.v {
			if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && !(v > ax.v[i-1])) {
				return nil, fmt.Errorf("plot: surface %s[%d] = %g: coordinates must be finite and strictly increasing", ax.name, i, v)
			}
		}
	}
	if len(s.Z) != len(s.X) {
		return nil, fmt.Errorf("plot: surface has %d rows of Z for %d X values", len(s.Z), len(s.X))
	}
	g := &surfaceGrid{x: s.X, y: s.Y, z: make([][]float64, len(s.X)), min: math.Inf(1), max: math.Inf(-1)}
	for i, row := range s.Z {
		if len(row) != len(s.Y) {
			return nil, fmt.Errorf("plot: surface row Z[%d] has %d values for %d Y values", i, len(row), len(s.Y))
		}
		g.z[i] = make([]float64, len(row))
		for j, v := range row {
			if logZ {
				if !(v > 0) {
					return nil, fmt.Errorf("plot: surface Z[%d][%d] = %g: a logarithmic scale needs positive values", i, j, v)
				}
				v = math.Log10(v)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("plot: surface Z[%d][%d] = %g is not finite", i, j, s.Z[i][j])
			}
			g.z[i][j] = v
			g.min, g.max = math.Min(g.min, v), math.Max(g.max, v)
		}
	}
	return g, nil
}

func (g *surfaceGrid) Dims() (c, r int)   { return len(g.x), len(g.y) }
func (g *surfaceGrid) Z(c, r int) float64 { return g.z[c][r] }
func (g *surfaceGrid) X(c int) float64    { return g.x[c] }
func (g *surfaceGrid) Y(r int) float64    { return g.y[r] }

// argmin is the grid point of least Z.
func (g *surfaceGrid) argmin() (i, j int) {
	bi, bj := 0, 0
	for i, row := range g.z {
		for j, v := range row {
			if v < g.z[bi][bj] {
				bi, bj = i, j
			}
		}
	}
	return bi, bj
}

// fine is g bilinearly interpolated onto a grid of about 200 cells a side,
// for a smooth heat map; the grid points keep their values.
func (g *surfaceGrid) fine() plotter.GridXYZ {
	const cells = 200
	fx, fy := refine(g.x, cells), refine(g.y, cells)
	z := make([][]float64, len(fx))
	for c, x := range fx {
		i, u := locate(g.x, x)
		z[c] = make([]float64, len(fy))
		for r, y := range fy {
			j, v := locate(g.y, y)
			z[c][r] = (1-u)*(1-v)*g.z[i][j] + u*(1-v)*g.z[i+1][j] + (1-u)*v*g.z[i][j+1] + u*v*g.z[i+1][j+1]
		}
	}
	return &surfaceGrid{x: fx, y: fy, z: z, min: g.min, max: g.max}
}

// refine splits every interval of the increasing xs into equal parts, about
// cells in all.
func refine(xs []float64, cells int) []float64 {
	k := max(1, cells/(len(xs)-1))
	out := make([]float64, 0, (len(xs)-1)*k+1)
	for i := 0; i < len(xs)-1; i++ {
		for s := range k {
			out = append(out, xs[i]+(xs[i+1]-xs[i])*float64(s)/float64(k))
		}
	}
	return append(out, xs[len(xs)-1])
}

// locate returns i and u with x = (1−u)·xs[i] + u·xs[i+1], u in [0, 1].
func locate(xs []float64, x float64) (int, float64) {
	i := 0
	for i < len(xs)-2 && x > xs[i+1] {
		i++
	}
	return i, min(max((x-xs[i])/(xs[i+1]-xs[i]), 0), 1)
}

// saveCanvas writes an image canvas as a PNG file, atomically.
func saveCanvas(img *vgimg.Canvas, path string) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// log10Ticks labels an axis that shows log10 v with the values v at 1, 2
// and 5 times the powers of ten in its range (and the range's ends when
// fewer than two of those fall inside).
type log10Ticks struct{}

// Ticks implements gplot.Ticker.
func (log10Ticks) Ticks(lo, hi float64) []gplot.Tick {
	var ticks []gplot.Tick
	for e := math.Floor(lo) - 1; e <= math.Ceil(hi); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if l := math.Log10(v); l >= lo-1e-9 && l <= hi+1e-9 {
				ticks = append(ticks, gplot.Tick{Value: l, Label: fmt.Sprintf("%.3g", v)})
			}
		}
	}
	if len(ticks) < 2 {
		ticks = []gplot.Tick{
			{Value: lo, Label: fmt.Sprintf("%.3g", math.Pow(10, lo))},
			{Value: hi, Label: fmt.Sprintf("%.3g", math.Pow(10, hi))},
		}
	}
	return ticks
}
