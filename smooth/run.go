package smooth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/trustml/trustml/progress"
)

// Smoother is an image smoothing method.
type Smoother interface {
	Smooth(ctx context.Context, m *Image) (*Image, error)
}

var (
	_ Smoother = General{}
	_ Smoother = Bilateral{}
	_ Smoother = Guided{}
	_ Smoother = WLS{}
)

// Methods are the names [Config.Smoother] accepts.
var Methods = []string{"gsmooth", "bilateral", "guided", "wls"}

// ErrUnknownMethod is returned (wrapped) for a method name not in [Methods].
var ErrUnknownMethod = errors.New("smooth: unknown method")

// Config is one smoothing of one image file: what "trustml smooth" runs.
type Config struct {
	Method string `flag:"method" help:"gsmooth (generalized framework), bilateral, guided or wls"`
	In     string `flag:"in" help:"input image (PNG or JPEG; grey or RGB)"`
	Out    string `flag:"out" help:"output PNG (empty: measure only)"`
	// MaxSide shrinks the input by block averaging first so that its
	// longer side is at most this many pixels (0: keep).
	MaxSide   int `flag:"max-side" help:"shrink the input so its longer side is at most this (0 = keep)"`
	General   General
	Bilateral Bilateral
	Guided    Guided
	WLS       WLS
}

// DefaultConfig returns gsmooth in its structure-preserving setting and
// the baselines' defaults: bilateral σs 3, σr 0.1; guided radius 4,
// ε 0.01; WLS λ 1, α 1.2.
func DefaultConfig() Config {
	return Config{Method: "gsmooth", General: DefaultGeneral(),
		Bilateral: Bilateral{SigmaS: 3, SigmaR: 0.1}, Guided: Guided{Radius: 4, Eps: 0.01}, WLS: WLS{Lambda: 1, Alpha: 1.2}}
}

// Smoother returns the configured method.
func (c *Config) Smoother() (Smoother, error) {
	switch c.Method {
	case "gsmooth":
		return c.General, nil
	case "bilateral":
		return c.Bilateral, nil
	case "guided":
		return c.Guided, nil
	case "wls":
		return c.WLS, nil
	}
	return nil, fmt.Errorf("%w %q (valid: %s)", ErrUnknownMethod, c.Method, strings.Join(Methods, ", "))
}

// Result is what [Run] returns.
type Result struct {
	Method  string  `json:"method"`
	In      string  `json:"in"`
	Out     string  `json:"out,omitempty"`
	W       int     `json:"width"`
	H       int     `json:"height"`
	C       int     `json:"channels"`
	Seconds float64 `json:"seconds"`
	Measure Measure `json:"measure"`
}

// WriteText prints the result in a few lines.
func (r *Result) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%s on %s (%d×%d, %d channels) in %.2fs\nedge kept %.3f  flat kept %.3f  selectivity %.2f  MAE %.4f  (%d edge, %d flat pixels)\n",
		r.Method, r.In, r.W, r.H, r.C, r.Seconds, r.Measure.EdgeKept, r.Measure.FlatKept, r.Measure.Selectivity, r.Measure.MAE, r.Measure.EdgePixels, r.Measure.FlatPixels)
	if err == nil && r.Out != "" {
		_, err = fmt.Fprintf(w, "wrote %s\n", r.Out)
	}
	return err
}

// Run reads cfg.In, smooths it, measures the result against the input and
// writes cfg.Out as PNG when set.
func Run(ctx context.Context, cfg *Config, pr progress.Reporter) (*Result, error) {
	pr = progress.Or(pr)
	if cfg.In == "" {
		return nil, errors.New("smooth: no input image (--in)")
	}
	s, err := cfg.Smoother()
	if err != nil {
		return nil, err
	}
	in, err := ReadFile(cfg.In)
	if err != nil {
		return nil, err
	}
	in = Downscale(in, cfg.MaxSide)
	pr.Update(cfg.Method, 0, 1, cfg.In)
	t0 := time.Now()
	out, err := s.Smooth(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("smooth: %s on %s: %w", cfg.Method, cfg.In, err)
	}
	r := &Result{Method: cfg.Method, In: cfg.In, Out: cfg.Out, W: in.W, H: in.H, C: in.C, Seconds: time.Since(t0).Seconds()}
	pr.Update(cfg.Method, 1, 1, cfg.In)
	if r.Measure, err = Evaluate(in, out); err != nil {
		return nil, err
	}
	if cfg.Out != "" {
		if err := WriteFile(cfg.Out, out); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// SampleImages lists the scikit-learn sample images that Debian's
// python3-sklearn ships, in the order looked for.
var SampleImages = []string{"china.jpg", "flower.jpg"}

// SampleImageDirs are the directories searched for [SampleImages].
var SampleImageDirs = []string{"/usr/lib/python3/dist-packages/sklearn/datasets/images", "/usr/local/lib/python3/dist-packages/sklearn/datasets/images"}

// FindSample returns the path of a scikit-learn sample image ("china.jpg").
func FindSample(name string) (string, error) {
	if !slices.Contains(SampleImages, name) {
		return "", fmt.Errorf("smooth: %q is not a scikit-learn sample image (%s)", name, strings.Join(SampleImages, ", "))
	}
	for _, d := range SampleImageDirs {
		p := d + "/" + name
		if _, err := ReadFile(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("smooth: sample image %s not found in %s (apt-get install python3-sklearn)", name, strings.Join(SampleImageDirs, ", "))
}
