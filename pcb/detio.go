package pcb

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"
	"strings"

	"github.com/trustml/trustml/internal/atomicfile"
)

// WriteDetections writes one "x1,y1,x2,y2,confidence,type" line per
// detection (type by name, "open" … "pin-hole"), the authors' result
// format, with no space.
func WriteDetections(w io.Writer, dets []Detection) error {
	bw := bufio.NewWriter(w)
	for _, d := range dets {
		fmt.Fprintf(bw, "%d,%d,%d,%d,%s,%s\n", d.X1, d.Y1, d.X2, d.Y2, strconv.FormatFloat(d.Confidence, 'f', 6, 64), d.Class)
	}
	return bw.Flush()
}

// ParseDetections reads what [WriteDetections] writes (type by name or
// number 1…6; blank lines skipped). name is used in errors ("file:line:
// …"); w and h, when positive, bound the boxes; a confidence must be a
// number in [0, 1].
func ParseDetections(r io.Reader, name string, w, h int) ([]Detection, error) {
	var dets []Detection
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		f := strings.Split(s, ",")
		if len(f) != 6 {
			return nil, fmt.Errorf("%w: %s:%d: %d fields in %q, want \"x1,y1,x2,y2,confidence,type\"", ErrFormat, name, line, len(f), s)
		}
		var v [4]int
		for i := range v {
			n, err := strconv.Atoi(strings.TrimSpace(f[i]))
			if err != nil {
				return nil, fmt.Errorf("%w: %s:%d: field %d (%s) is %q, not an integer", ErrFormat, name, line, i+1, [...]string{"x1", "y1", "x2", "y2"}[i], f[i])
			}
			v[i] = n
		}
		conf, err := strconv.ParseFloat(strings.TrimSpace(f[4]), 64)
		if err != nil || !(conf >= 0 && conf <= 1) {
			return nil, fmt.Errorf("%w: %s:%d: confidence %q: want a number in [0, 1]", ErrFormat, name, line, f[4])
		}
		c, err := ParseClass(strings.TrimSpace(f[5]))
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrFormat, name, line, err)
		}
		b := Box{v[0], v[1], v[2], v[3], c}
		if err := checkBox(b, w, h); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrFormat, name, line, err)
		}
		dets = append(dets, Detection{Box: b, Confidence: conf})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pcb: reading %s: %w", name, err)
	}
	return dets, nil
}

// ClassColors are the colours boxes of each type are drawn in (index by
// [Class]; 0 unused).
var ClassColors = [...]color.RGBA{
	{}, {230, 25, 75, 255}, {60, 180, 75, 255}, {0, 130, 200, 255},
	{245, 130, 48, 255}, {145, 30, 180, 255}, {240, 200, 0, 255},
}

// DrawPair writes a PNG (atomically) with the template on the left and the
// tested image on the right, each with the detections drawn as boxes in
// their type's [ClassColors] (2 pixels wide, confidence ≥ minConf) and the
// annotated boxes, when given, as thin white-and-black dashed boxes.
func DrawPair(path string, tmpl, test *image.Gray, dets []Detection, gt []Box, minConf float64) error {
	w, h := test.Rect.Dx(), test.Rect.Dy()
	const gap = 8
	out := image.NewRGBA(image.Rect(0, 0, 2*w+gap, h))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	for side, g := range []*image.Gray{tmpl, test} {
		ox := side * (w + gap)
		for y := range h {
			for x := range w {
				v := g.GrayAt(g.Rect.Min.X+x, g.Rect.Min.Y+y).Y
				out.SetRGBA(ox+x, y, color.RGBA{v, v, v, 255})
			}
		}
		for _, b := range gt {
			rect(out, ox, b, 1, func(i int) color.RGBA {
				if i/3%2 == 0 {
					return color.RGBA{255, 255, 255, 255}
				}
				return color.RGBA{0, 0, 0, 255}
			})
		}
		for _, d := range dets {
			if d.Confidence >= minConf && d.Class.Valid() {
				c := ClassColors[d.Class]
				rect(out, ox, d.Box, 2, func(int) color.RGBA { return c })
			}
		}
	}
	return atomicfile.Write(path, 0o644, func(wr io.Writer) error { return png.Encode(wr, out) })
}

// rect draws the outline of b shifted right by ox, thick pixels wide,
// inside the image of width w at offset ox, colouring the i-th outline
// pixel with col(i).
func rect(im *image.RGBA, ox int, b Box, thick int, col func(int) color.RGBA) {
	x2, y2 := b.X2-1, b.Y2-1
	i := 0
	set := func(x, y int) {
		if p := (image.Point{ox + x, y}); p.In(im.Rect) && x >= 0 {
			im.SetRGBA(p.X, p.Y, col(i))
		}
		i++
	}
	for t := range thick {
		for x := b.X1; x <= x2; x++ {
			set(x, b.Y1+t)
			set(x, y2-t)
		}
		for y := b.Y1; y <= y2; y++ {
			set(b.X1+t, y)
			set(x2-t, y)
		}
	}
}
