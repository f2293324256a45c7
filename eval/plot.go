package eval

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Bin is one confidence bin of a reliability diagram.
type Bin struct {
	Lo         float64 `json:"lo"` // confidence interval (Lo, Hi]
	Hi         float64 `json:"hi"`
	Count      int     `json:"count"`
	Accuracy   float64 `json:"accuracy"`
	Confidence float64 `json:"confidence"` // mean confidence in the bin
}

// Reliability bins the top-class confidences conf (with hit telling whether
// each prediction was right) into [ECEBins] equal-width bins, the data of a
// reliability diagram; ECE is Σ Count/N·|Accuracy − Confidence|.
func Reliability(conf []float64, hit []bool) []Bin {
	bins := make([]Bin, ECEBins)
	for b := range bins {
		bins[b].Lo, bins[b].Hi = float64(b)/ECEBins, float64(b+1)/ECEBins
	}
	for i, c := range conf {
		if !(c > 0) {
			continue
		}
		b := min(max(int(math.Ceil(c*ECEBins))-1, 0), ECEBins-1)
		bins[b].Count++
		bins[b].Confidence += c
		if hit[i] {
			bins[b].Accuracy++
		}
	}
	for b := range bins {
		if n := float64(bins[b].Count); n > 0 {
			bins[b].Accuracy /= n
			bins[b].Confidence /= n
		}
	}
	return bins
}

// Series is one line of a line plot.
type Series struct {
	Name string
	X, Y []float64
}

// PlotLines draws series as lines with points into a PNG file at path,
// written atomically. A logarithmic x axis suits query counts.
func PlotLines(path, title, xlabel, ylabel string, logX bool, series []Series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
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
			return fmt.Errorf("eval: plotting %s: %w", s.Name, err)
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

// PlotReliability draws a reliability diagram (accuracy per confidence bin
// against the diagonal of perfect calibration) into a PNG file at path.
func PlotReliability(path, title string, bins []Bin) error {
	p := plot.New()
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

func savePNG(p *plot.Plot, path string, w, h vg.Length) error {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return fmt.Errorf("eval: rendering %s: %w", path, err)
	}
	return writeAtomic(path, wt)
}

// writeAtomic writes what wt writes to path through a temporary file in
// the same directory, renamed into place.
func writeAtomic(path string, wt io.WriterTo) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("eval: writing plot: %w", err)
	}
	if _, err := wt.WriteTo(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("eval: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("eval: writing %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("eval: writing %s: %w", path, err)
	}
	return nil
}
