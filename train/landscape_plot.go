package train

import (
	"fmt"
	"slices"

	"github.com/trustml/trustml/plot"
)

// LandscapePlots names the PNG files [LandscapeResult.WritePlots] draws;
// an empty name draws nothing.
type LandscapePlots struct {
	Curve      string // the 1-D loss curve
	Surface    string // the 2-D surface as a heat map (needs a surface)
	SurfaceLog bool   // colour the surface by log10 of the loss
	Line       string // the line to the second solution (needs a line)
}

// WritePlots draws the plots that p names (atomically) and records their
// files in the result's PNG fields. A surface or line plot of a result
// without one is an error.
func (r *LandscapeResult) WritePlots(p LandscapePlots) error {
	if p.Curve != "" {
		if err := plot.Lines(p.Curve, "loss along a filter-normalized direction", "α", "training loss", false,
			[]plot.Series{{Name: r.Model, X: r.Alpha, Y: r.Loss}}); err != nil {
			return err
		}
		r.PNG = p.Curve
	}
	if s := r.Surface; p.Surface != "" {
		if s == nil {
			return fmt.Errorf("landscape: %s: no surface was computed", p.Surface)
		}
		if err := plot.Heatmap(p.Surface, "loss surface around "+r.Model+" (α = β = 0)", "α (direction 1)", "β (direction 2)", p.SurfaceLog,
			plot.Surface{Name: "training loss", X: s.Alpha, Y: s.Beta, Z: s.Loss}); err != nil {
			return err
		}
		s.PNG = p.Surface
	}
	if l := r.Line; p.Line != "" {
		if l == nil || !slices.Contains(l.T, 0) || !slices.Contains(l.T, 1) {
			return fmt.Errorf("landscape: %s: no line with both solutions (t = 0 and 1) was computed", p.Line)
		}
		i0, i1 := slices.Index(l.T, 0), slices.Index(l.T, 1)
		title := "loss on the line between two solutions"
		if l.BN != "" {
			title += " (batch-norm statistics: " + l.BN + ")"
		}
		if err := plot.Lines(p.Line, title, "t (0: "+r.Model+", 1: "+l.To+")", "training loss", false, []plot.Series{
			{Name: "L((1−t)·A + t·B)", X: l.T, Y: l.Loss},
			{Name: "chord (barrier reference)", X: []float64{0, 1}, Y: []float64{l.Loss[i0], l.Loss[i1]}},
		}); err != nil {
			return err
		}
		l.PNG = p.Line
	}
	return nil
}
