package protect

import (
	"fmt"
	"math"

	"github.com/trustml/trustml/data"
)

// Pixel is the one-pixel shortcut of one class found by [OPS]: every
// training image of Class gets the colour Color (one value in {0, 1} per
// channel) at row Row, column Col.
type Pixel struct {
	Class int       `json:"class"`
	Row   int       `json:"row"`
	Col   int       `json:"col"`
	Color []float32 `json:"color"`
	// Score is mean/std of |Color − x| over the class's images and the
	// channels at that position (+Inf, written as null in JSON, when the
	// change is the same nonzero amount in every image).
	Score float64 `json:"-"`
}

// OPS finds the one-pixel shortcut of every class of the image set d
// (Wu et al., "One-Pixel Shortcut", ICLR 2023; robustness.md §10) and
// returns the protected copy with, for every image, the pixel of its class
// set to the class's colour, and the pixels, one per class (a class with no
// images gets none).
//
// For class i, every position (r, c) and every corner colour v ∈ {0, 1}^C
// is scored by mean(|v − X_i[:, :, r, c]|) / std(|v − X_i[:, :, r, c]|),
// mean and population standard deviation over the class's images and the
// channels, and the best pair not taken by an earlier class is chosen. This
// fixes the official search's failure on images with constant pixels
// (robustness.md §10): a pair that changes no image (mean 0) is never
// chosen, and a change by the same nonzero amount everywhere (std 0)
// scores +Inf. Exact ties go to the smallest position index r·W + c, then
// the smallest colour index, where colour index k sets channel ch to bit
// C−1−ch of k (one channel: 0 black, 1 white).
func OPS(d *data.Dataset) (*data.Dataset, []Pixel, error) {
	if err := checkImages(d); err != nil {
		return nil, nil, err
	}
	c, h, w := d.Shape[0], d.Shape[1], d.Shape[2]
	if c > 16 {
		return nil, nil, fmt.Errorf("protect: ops: %d channels: the 2^C corner colours are too many (at most 16 channels)", c)
	}
	size, hw, ncol := c*h*w, h*w, 1<<c
	byClass := make([][]int, len(d.Classes))
	for i, y := range d.Y {
		byClass[y] = append(byClass[y], i)
	}
	used := map[[2]int]bool{} // (position, colour index) taken by an earlier class
	var pixels []Pixel
	out := d.Clone()
	out.X64 = nil
	for class, idx := range byClass {
		if len(idx) == 0 {
			continue
		}
		bestPos, bestCol, best := -1, -1, math.Inf(-1)
		for p := range hw {
			for k := range ncol {
				if used[[2]int{p, k}] {
					continue
				}
				var s, s2 float64
				for _, i := range idx {
					x := d.X[i*size:]
					for ch := range c {
						v := float64((k >> (c - 1 - ch)) & 1)
						a := math.Abs(v - float64(x[ch*hw+p]))
						s += a
						s2 += a * a
					}
				}
				m := float64(len(idx) * c)
				mean := s / m
				if mean == 0 {
					continue // changes nothing
				}
				score := math.Inf(1)
				if v := s2/m - mean*mean; v > 1e-12*mean*mean {
					score = mean / math.Sqrt(v)
				}
				if score > best {
					bestPos, bestCol, best = p, k, score
				}
			}
		}
		if bestPos < 0 {
			return nil, nil, fmt.Errorf("protect: ops: class %d: every pixel position and colour is taken or changes nothing", class)
		}
		used[[2]int{bestPos, bestCol}] = true
		px := Pixel{Class: class, Row: bestPos / w, Col: bestPos % w, Color: make([]float32, c), Score: best}
		for ch := range c {
			px.Color[ch] = float32((bestCol >> (c - 1 - ch)) & 1)
		}
		for _, i := range idx {
			x := out.X[i*size:]
			for ch := range c {
				x[ch*hw+bestPos] = px.Color[ch]
			}
		}
		pixels = append(pixels, px)
	}
	return out, pixels, nil
}

// checkImages checks that d is a labelled image set C×H×W with pixels in
// [0, 1].
func checkImages(d *data.Dataset) error {
	switch {
	case d == nil || d.Len() == 0:
		return fmt.Errorf("protect: no data")
	case d.Y == nil:
		return fmt.Errorf("protect: %s has no class labels", d.Name)
	case len(d.Shape) != 3:
		return fmt.Errorf("protect: %s has samples of shape %v, not images C×H×W", d.Name, d.Shape)
	}
	for i, v := range d.X {
		if !(v >= 0 && v <= 1) {
			s := d.SampleSize()
			return fmt.Errorf("protect: %s: image %d, value %d is %v, outside [0, 1]", d.Name, i/s, i%s, v)
		}
	}
	return nil
}
