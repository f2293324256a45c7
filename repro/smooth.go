package repro

import (
	"context"
	"fmt"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/smooth"
)

// Generalized smoothing: W. Liu, P. Zhang, Y. Lei, X. Huang, J. Yang,
// I. Reid / M. Ng, "A Generalized Framework for Edge-preserving and
// Structure-preserving Image Smoothing" (AAAI 2020, TPAMI 2021); code
// github.com/wliusjtu/Generalized-Smoothing-Framework.
const (
	smoothPaper  = "A Generalized Framework for Edge-preserving and Structure-preserving Image Smoothing (Liu, Zhang, Lei, Huang, Yang et al.)"
	smoothSource = "TPAMI 2021: figures, no such measure"
	smoothProto  = "detail enhancement, clip-art artifact removal, guided depth upsampling, texture removal on the authors' images; visual comparison"
)

// SmoothConfig configures [Smooth].
type SmoothConfig struct {
	// Images are scikit-learn sample image names ([smooth.SampleImages]) and
	// "fashion" for Fashion-MNIST test images.
	Images []string `flag:"images" help:"china.jpg, flower.jpg (scikit-learn samples) and/or fashion (Fashion-MNIST test images)"`
	// MaxSide shrinks the sample images so that their longer side is at
	// most this many pixels.
	MaxSide int `flag:"max-side" help:"shrink the sample images to this longer side (pixels)"`
	// FashionN is the number of Fashion-MNIST test images averaged.
	FashionN int `flag:"fashion-n" help:"Fashion-MNIST test images (28x28) measured and averaged"`
	// The methods' parameters, the flags of trustml smooth.
	General   smooth.General
	Bilateral smooth.Bilateral
	Guided    smooth.Guided
	WLS       smooth.WLS
}

// DefaultSmoothConfig returns both sample images at 128 pixels and 8
// Fashion-MNIST images, with the defaults of [smooth.DefaultConfig].
func DefaultSmoothConfig() SmoothConfig {
	d := smooth.DefaultConfig()
	return SmoothConfig{Images: []string{"china.jpg", "flower.jpg", "fashion"}, MaxSide: 128, FashionN: 8,
		General: d.General, Bilateral: d.Bilateral, Guided: d.Guided, WLS: d.WLS}
}

type smoothMethod struct {
	name string
	s    smooth.Smoother
}

func (c *SmoothConfig) methods() []smoothMethod {
	return []smoothMethod{
		{"gsmooth SP (r_d 1, 10 it)", c.General},
		{"gsmooth EP (r_d 0, b 1)", smooth.EdgePreserving(1)},
		{"gsmooth EP truncated (b_s 0.1)", smooth.EdgePreserving(0.1)},
		{"bilateral", c.Bilateral},
		{"guided filter", c.Guided},
		{"WLS (Farbman)", c.WLS},
	}
}

// loadImages returns the named images (several for "fashion").
func (c *SmoothConfig) loadImages(name string) ([]*smooth.Image, error) {
	if name == "fashion" {
		d, err := data.Open(data.DefaultName, data.Test, "")
		if err != nil {
			return nil, err
		}
		if c.FashionN < 1 || c.FashionN > d.Len() {
			return nil, fmt.Errorf("repro: --fashion-n %d, want 1..%d", c.FashionN, d.Len())
		}
		var out []*smooth.Image
		for i := 0; i < c.FashionN; i++ {
			m := smooth.NewImage(28, 28, 1)
			for j, v := range d.Row(i) {
				m.Pix[j] = float64(v)
			}
			out = append(out, m)
		}
		return out, nil
	}
	p, err := smooth.FindSample(name)
	if err != nil {
		return nil, err
	}
	m, err := smooth.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return []*smooth.Image{smooth.Downscale(m, c.MaxSide)}, nil
}

// Smooth measures edge preservation against flattening ([smooth.Measure]:
// gradient energy kept on the input's Sobel edges and on its flat regions)
// of the generalized framework in its structure-preserving and
// edge-preserving settings, truncated and not, beside the bilateral and
// guided filters and WLS, on scikit-learn's sample images and Fashion-MNIST.
// An image set that cannot be read is listed in Table.Failed.
func Smooth(ctx context.Context, cfg *SmoothConfig, pr progress.Reporter) (*Table, error) {
	pr = progress.Or(pr)
	t0 := time.Now()
	if cfg.MaxSide < 8 {
		return nil, fmt.Errorf("repro: --max-side %d, want ≥ 8", cfg.MaxSide)
	}
	t := &Table{Paper: smoothPaper,
		Protocol: fmt.Sprintf("images shrunk to ≤ %d px (sample images), %d Fashion-MNIST test images; edge set = Sobel magnitude of the input ≥ its 90th percentile, flat set ≤ its median (non-zero pixels); edge/flat kept = gradient energy after / before", cfg.MaxSide, cfg.FashionN),
		Claim:    "one framework gives contradictive smoothing natures: structure-preserving (texture flattened, large structures kept) and edge-preserving, and the truncated Huber penalty keeps edges sharper than a non-truncated one; no numbers in this measure",
		Notes: []string{
			"higher selectivity = edge kept / flat kept: more edge-preserving; low flat kept = flatter",
			fmt.Sprintf("bilateral σs %g σr %g; guided r %d ε %g; WLS λ %g α %g; gsmooth SP λ %g α %g", cfg.Bilateral.SigmaS, cfg.Bilateral.SigmaR, cfg.Guided.Radius, cfg.Guided.Eps, cfg.WLS.Lambda, cfg.WLS.Alpha, cfg.General.Lambda, cfg.General.Alpha),
		}}
	ms := cfg.methods()
	for ii, name := range cfg.Images {
		imgs, err := cfg.loadImages(name)
		if err != nil {
			t.Failed = append(t.Failed, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		for _, m := range ms {
			if err := ctx.Err(); err != nil {
				return t, err
			}
			pr.Update("repro smooth", ii, len(cfg.Images), name+" "+m.name)
			var ek, fk, sel []float64
			var ferr error
			for _, in := range imgs {
				out, err := m.s.Smooth(ctx, in)
				var r smooth.Measure
				if err == nil {
					r, err = smooth.Evaluate(in, out)
				}
				if err != nil {
					ferr = err
					break
				}
				ek, fk, sel = append(ek, r.EdgeKept), append(fk, r.FlatKept), append(sel, r.Selectivity)
			}
			if ferr != nil {
				t.Failed = append(t.Failed, fmt.Sprintf("%s %s: %v", name, m.name, ferr))
				continue
			}
			setting := fmt.Sprintf("%s (%d×%d)", name, imgs[0].W, imgs[0].H)
			if len(imgs) > 1 {
				setting = fmt.Sprintf("%s ×%d (%d×%d)", name, len(imgs), imgs[0].W, imgs[0].H)
			}
			paper := NotPublic(smoothSource, smoothProto)
			for _, mt := range []struct {
				metric string
				v      []float64
			}{{"edge kept", ek}, {"flat kept", fk}, {"selectivity", sel}} {
				t.Rows = append(t.Rows, Row{Setting: setting, Method: m.name, Metric: mt.metric, Paper: paper, Ours: NewStat(mt.v),
					Differs: "own images and measure"})
			}
		}
	}
	t.Seconds = time.Since(t0).Seconds()
	if !t.Complete() {
		return t, fmt.Errorf("repro smooth: %d settings failed", len(t.Failed))
	}
	return t, nil
}
