// Package smooth is edge- and structure-preserving image smoothing: the
// generalized framework of Liu et al. ("A Generalized Framework for
// Edge-preserving and Structure-preserving Image Smoothing", AAAI 2020 /
// TPAMI 2021) built on the truncated Huber penalty, and the classic filters
// it generalizes: the bilateral filter, the guided filter and a
// weighted-least-squares (WLS) smoother. [Measure] scores a result by how
// much gradient energy it keeps on the input's edges against on its flat
// regions.
//
// Images are [Image] values: planar float64 in [0, 1], grey or RGB, read
// from PNG or JPEG by [ReadFile] and written as PNG by [WriteFile].
package smooth

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // JPEG input (scikit-learn's sample images)
	"image/png"
	"io"
	"math"
	"os"

	"github.com/trustml/trustml/internal/atomicfile"
)

// Image is a planar image with values in [0, 1]: channel c of pixel (x, y)
// is Pix[(c*H+y)*W+x]. C is 1 (grey) or 3 (RGB).
type Image struct {
	W, H, C int
	Pix     []float64
}

// NewImage returns a black w×h image with c channels.
func NewImage(w, h, c int) *Image {
	return &Image{W: w, H: h, C: c, Pix: make([]float64, w*h*c)}
}

// At returns channel c of pixel (x, y).
func (m *Image) At(x, y, c int) float64 { return m.Pix[(c*m.H+y)*m.W+x] }

// Plane returns channel c as a slice of H*W values (a view).
func (m *Image) Plane(c int) []float64 { return m.Pix[c*m.W*m.H : (c+1)*m.W*m.H] }

// Clone returns a deep copy of m.
func (m *Image) Clone() *Image {
	o := *m
	o.Pix = append([]float64(nil), m.Pix...)
	return &o
}

// Validate reports an image whose dimensions or values are unusable.
func (m *Image) Validate() error {
	if m == nil {
		return errors.New("smooth: nil image")
	}
	if m.W <= 0 || m.H <= 0 || (m.C != 1 && m.C != 3) {
		return fmt.Errorf("smooth: image is %d×%d with %d channels; need positive sizes and 1 or 3 channels", m.W, m.H, m.C)
	}
	if len(m.Pix) != m.W*m.H*m.C {
		return fmt.Errorf("smooth: image %d×%d×%d has %d values, want %d", m.W, m.H, m.C, len(m.Pix), m.W*m.H*m.C)
	}
	for i, v := range m.Pix {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("smooth: image value %d is %v", i, v)
		}
	}
	return nil
}

// Gray returns the luminance (ITU-R 601: 0.299 R + 0.587 G + 0.114 B) of m
// as a one-channel image; a grey image is copied.
func (m *Image) Gray() *Image {
	if m.C == 1 {
		return m.Clone()
	}
	g := NewImage(m.W, m.H, 1)
	r, gg, b := m.Plane(0), m.Plane(1), m.Plane(2)
	for i := range g.Pix {
		g.Pix[i] = 0.299*r[i] + 0.587*gg[i] + 0.114*b[i]
	}
	return g
}

// FromImage converts a decoded image: grey formats give one channel,
// everything else three (alpha is dropped).
func FromImage(src image.Image) *Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	switch src.ColorModel() {
	case color.GrayModel, color.Gray16Model:
		m := NewImage(w, h, 1)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g := color.Gray16Model.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.Gray16)
				m.Pix[y*w+x] = float64(g.Y) / 65535
			}
		}
		return m
	}
	m := NewImage(w, h, 3)
	n := w * h
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*w + x
			m.Pix[i], m.Pix[n+i], m.Pix[2*n+i] = float64(r)/65535, float64(g)/65535, float64(bl)/65535
		}
	}
	return m
}

// ToImage converts m to an 8-bit image (Gray or RGBA), values clamped to
// [0, 1] and rounded.
func (m *Image) ToImage() image.Image {
	q := func(v float64) uint8 { return uint8(math.Round(255 * math.Min(1, math.Max(0, v)))) }
	r := image.Rect(0, 0, m.W, m.H)
	if m.C == 1 {
		g := image.NewGray(r)
		for i, v := range m.Pix {
			g.Pix[i] = q(v)
		}
		return g
	}
	o := image.NewRGBA(r)
	n := m.W * m.H
	for i := 0; i < n; i++ {
		o.Pix[4*i], o.Pix[4*i+1], o.Pix[4*i+2], o.Pix[4*i+3] = q(m.Pix[i]), q(m.Pix[n+i]), q(m.Pix[2*n+i]), 255
	}
	return o
}

// MaxPixels is the largest image [Decode] accepts (width × height).
const MaxPixels = 1 << 26

// Decode reads a PNG or JPEG image; one larger than [MaxPixels] is
// rejected from its header, before its pixels are decoded.
func Decode(r io.Reader) (*Image, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("smooth: decode: %w", err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("smooth: decode: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels {
		return nil, fmt.Errorf("smooth: image is %d×%d; want 1 to 2^26 pixels", cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("smooth: decode: %w", err)
	}
	return FromImage(img), nil
}

// ReadFile reads a PNG or JPEG file.
func ReadFile(path string) (*Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("smooth: %w", err)
	}
	m, err := Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("smooth: %s: %w", path, err)
	}
	return m, nil
}

// WriteFile writes m as a PNG file, atomically.
func WriteFile(path string, m *Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, m.ToImage()); err != nil {
		return fmt.Errorf("smooth: encode %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

// Downscale returns m shrunk by an integer factor so that its longer side
// is at most maxSide, each output pixel the mean of its block; m itself when
// it is already small enough or maxSide ≤ 0.
func Downscale(m *Image, maxSide int) *Image {
	side := max(m.W, m.H)
	if maxSide <= 0 || side <= maxSide {
		return m
	}
	f := (side + maxSide - 1) / maxSide
	w, h := m.W/f, m.H/f
	o := NewImage(w, h, m.C)
	for c := 0; c < m.C; c++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s float64
				for dy := 0; dy < f; dy++ {
					for dx := 0; dx < f; dx++ {
						s += m.At(x*f+dx, y*f+dy, c)
					}
				}
				o.Pix[(c*h+y)*w+x] = s / float64(f*f)
			}
		}
	}
	return o
}
