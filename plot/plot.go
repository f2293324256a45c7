// Package plot draws the PNG figures trustml's commands write: line plots
// (robust accuracy against queries, training curves), reliability diagrams
// and loss-surface heat maps with contours. It is kept apart from package
// metrics so that code which only computes numbers (the protocol, attacks,
// defenses) does not pull in a plotting library and its fonts.
package plot

import (
	"fmt"
	"image/color"
	"io"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/metrics"
)

// Series is one line of a line plot.
type Series struct {
	Name string
	X, Y []float64
}

// Lines draws series as lines with points into a PNG file at path,
// written atomically. A logarithmic x axis suits query counts.
func Lines(path, title, xlabel, ylabel string, logX bool, series []Series) error {
	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	if logX {
		p.X.Scale = gplot.LogScale{}
		p.X.Tick.Marker = gplot.LogTicks{Prec: -1}
	}
	for i, s := range series {
		pts := make(plotter.XYs, 0, len(s.X))
		for j := range s.X {
			if logX && s.X[j] <= 0 {
				continue
			}
			pts = append(pts, plotter.XY{X: s.X[j], Y: s.Y[j]})
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("plot: plotting %s: %w", s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		sc.Color = plotutil.Color(i)
		sc.Shape = plotutil.Shape(i)
		p.Add(l, sc)
		p.Legend.Add(s.Name, l, sc)
	}
	p.Add(plotter.NewGrid())
	return savePNG(p, path, 6*vg.Inch, 4*vg.Inch)
}

// Reliability draws a reliability diagram (accuracy per confidence bin
// against the diagonal of perfect calibration) into a PNG file at path.
func Reliability(path, title string, bins []metrics.Bin) error {
	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = "confidence"
	p.Y.Label.Text = "accuracy"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	var acc, gap plotter.XYs
	for _, b := range bins {
		if b.Count == 0 {
			continue
		}
		mid := (b.Lo + b.Hi) / 2
		acc = append(acc, plotter.XY{X: mid, Y: b.Accuracy})
		gap = append(gap, plotter.XY{X: mid, Y: b.Confidence})
	}
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return err
	}
	diag.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	diag.Color = color.Gray{Y: 128}
	p.Add(diag)
	p.Legend.Add("perfect calibration", diag)
	p.Legend.Top = true
	p.Legend.Left = true
	if len(acc) > 0 {
		l, sc, err := plotter.NewLinePoints(acc)
		if err != nil {
			return err
		}
		l.Color, sc.Color = plotutil.Color(0), plotutil.Color(0)
		p.Add(l, sc)
		p.Legend.Add("accuracy", l, sc)
		m, err := plotter.NewScatter(gap)
		if err != nil {
			return err
		}
		m.Color = plotutil.Color(1)
		m.Shape = plotutil.Shape(1)
		p.Add(m)
		p.Legend.Add("mean confidence", m)
	}
	p.Add(plotter.NewGrid())
	return savePNG(p, path, 4*vg.Inch, 4*vg.Inch)
}

func savePNG(p *gplot.Plot, path string, w, h vg.Length) error {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return fmt.Errorf("plot: rendering %s: %w", path, err)
	}
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}
