package uap

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/plot"
)

// Files written by [Run] into Config.OutDir.
const (
	NPYFile     = "uap.npy"              // the perturbation, float32, shape C×H×W
	PNGFile     = "uap.png"              // the perturbation scaled to grey levels, with an example
	ClassesFile = "dominant-classes.png" // class shares clean, perturbed and softmax f(δ)
	CosineFile  = "dominant-cosine.png"  // per-image feature cosines, sorted
)

// WriteNPY writes v as a little-endian float32 NumPy array of the given
// shape (version 1.0 header) to w.
func WriteNPY(w io.Writer, shape []int, v []float32) error {
	n := 1
	dims := make([]string, len(shape))
	for i, s := range shape {
		n *= s
		dims[i] = fmt.Sprint(s)
	}
	if n != len(v) {
		return fmt.Errorf("uap: %d values for shape %v", len(v), shape)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", sh)
	h += strings.Repeat(" ", (64-(10+len(h)+1)%64)%64) + "\n"
	buf := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	buf = append(buf, h...)
	for _, x := range v {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	_, err := w.Write(buf)
	return err
}

// pngScale is the size in pixels of one image pixel in [WritePNG]'s output.
const pngScale = 6

// WritePNG writes, atomically, three panels side by side: v scaled for
// visibility (grey level 0.5 + v/(2ε), so −ε is black, 0 mid-grey and +ε
// white), an example image x and x + v clipped to [0, 1]. Multi-channel
// images show their first three channels as RGB (one channel: grey).
// Each image pixel is a pngScale×pngScale block.
func WritePNG(path string, shape []int, v []float32, eps float64, x []float32) error {
	if len(shape) != 3 {
		return fmt.Errorf("uap: a PNG needs images (C×H×W), not shape %v", shape)
	}
	c, h, w := shape[0], shape[1], shape[2]
	panels := [][]float64{make([]float64, len(v)), make([]float64, len(v)), make([]float64, len(v))}
	for i := range v {
		panels[0][i] = 0.5 + float64(v[i])/(2*eps)
		panels[1][i] = float64(x[i])
		panels[2][i] = min(max(float64(x[i]+v[i]), 0), 1)
	}
	const gap = 2
	img := image.NewRGBA(image.Rect(0, 0, (3*w+2*gap)*pngScale, h*pngScale))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for p, vals := range panels {
		for y := range h {
			for xx := range w {
				at := func(ch int) uint8 {
					ch = min(ch, c-1)
					return uint8(math.Round(255 * min(max(vals[ch*h*w+y*w+xx], 0), 1)))
				}
				col := color.RGBA{at(0), at(1), at(2), 255}
				for dy := range pngScale {
					for dx := range pngScale {
						img.SetRGBA((p*(w+gap)+xx)*pngScale+dx, y*pngScale+dy, col)
					}
				}
			}
		}
	}
	return atomicfile.Write(path, 0o644, func(wr io.Writer) error { return png.Encode(wr, img) })
}

// WritePlots draws the dominance of d into dir: [ClassesFile] and
// [CosineFile]. It returns the paths written.
func (d *Dominance) WritePlots(dir, title string) ([]string, error) {
	k := len(d.Probs)
	xs := make([]float64, k)
	for j := range xs {
		xs[j] = float64(j)
	}
	classes := filepath.Join(dir, ClassesFile)
	if err := plot.Lines(classes, title+": predicted class shares", "class", "fraction", false, []plot.Series{
		{Name: "clean images", X: xs, Y: d.CleanShare},
		{Name: "images + δ", X: xs, Y: d.PerturbedShare},
		{Name: "softmax f(δ) alone", X: xs, Y: d.Probs},
	}); err != nil {
		return nil, err
	}
	cos := filepath.Join(dir, CosineFile)
	sorted := func(v []float64) plot.Series {
		s := append([]float64(nil), v...)
		slices.Sort(s)
		// At most plotPoints points, evenly spaced in rank.
		step := max(1, (len(s)+plotPoints-1)/plotPoints)
		var q, y []float64
		for i := 0; i < len(s); i += step {
			q = append(q, float64(i)/float64(max(len(s)-1, 1)))
			y = append(y, s[i])
		}
		return plot.Series{X: q, Y: y}
	}
	pd, pc, cd := sorted(d.PerImagePD), sorted(d.PerImagePC), sorted(d.PerImageCD)
	pd.Name, pc.Name, cd.Name = "cos(φ(x+δ), φ(δ))", "cos(φ(x+δ), φ(x))", "cos(φ(x), φ(δ))"
	if err := plot.Lines(cos, title+": feature cosines at "+d.Layer+" (sorted)", "fraction of images", "cosine", false, []plot.Series{pd, pc, cd}); err != nil {
		return nil, err
	}
	return []string{classes, cos}, nil
}

// plotPoints bounds the points of each curve of [CosineFile].
const plotPoints = 200

// checkFree returns an error when path exists and force is not set.
func checkFree(path string, force bool) error {
	if force {
		return nil
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("uap: %s exists; pass --force to overwrite it", path)
	}
	return nil
}
