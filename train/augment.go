package train

import "math/rand/v2"

// Augment describes the random augmentation of image batches (C×H×W).
type Augment struct {
	CropPad int  // random crop of the original size after zero-padding by CropPad pixels (0 = none)
	FlipH   bool // random horizontal flip with probability ½
	// NoiseSigma adds Gaussian noise N(0, σ²) to every pixel after the
	// crop and flip, without clipping: the training of randomized
	// smoothing's base classifier (package certify) with the σ it is
	// certified at. 0 = none.
	NoiseSigma float64
}

// Enabled reports whether any augmentation is configured.
func (a Augment) Enabled() bool { return a.CropPad > 0 || a.FlipH || a.NoiseSigma != 0 }

// Apply augments n images of shape (c, h, w) from src into dst (distinct
// slices of equal length), drawing from r.
func (a Augment) Apply(dst, src []float32, n, c, h, w int, r *rand.Rand) {
	size := c * h * w
	for i := 0; i < n; i++ {
		s, d := src[i*size:(i+1)*size], dst[i*size:(i+1)*size]
		dy, dx := 0, 0
		if a.CropPad > 0 {
			dy = r.IntN(2*a.CropPad+1) - a.CropPad
			dx = r.IntN(2*a.CropPad+1) - a.CropPad
		}
		flip := a.FlipH && r.IntN(2) == 1
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				sy := y + dy
				row := d[(ch*h+y)*w : (ch*h+y+1)*w]
				if sy < 0 || sy >= h {
					clear(row)
					continue
				}
				srow := s[(ch*h+sy)*w : (ch*h+sy+1)*w]
				for x := 0; x < w; x++ {
					xx := x
					if flip {
						xx = w - 1 - x
					}
					sx := xx + dx
					if sx < 0 || sx >= w {
						row[x] = 0
					} else {
						row[x] = srow[sx]
					}
				}
			}
		}
		if a.NoiseSigma != 0 {
			for j := range d {
				d[j] += float32(r.NormFloat64() * a.NoiseSigma)
			}
		}
	}
}
