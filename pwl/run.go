package pwl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/zoo"
)

// Config is what "trustml pwl" runs: convert a trained ReLU MLP and count
// its linear regions around test samples.
type Config struct {
	Model string `flag:"model" help:"ReLU MLP checkpoint (e.g. from trustml train --arch mlp)"`
	Data  string `flag:"data" help:"data set whose test samples are the points"`
	// Index is the test sample at which the region is read; the slice is
	// the plane through it and samples Index+1 and Index+2.
	Index int    `flag:"index" help:"test sample at which the region is read (slice through it, index+1, index+2)"`
	Lines int    `flag:"lines" help:"segments between random test samples counted exactly"`
	Res   int    `flag:"res" help:"2-D slice resolution (0 = no slice)"`
	Out   string `flag:"out" help:"slice PNG (empty: none)"`
	Seed  uint64 `flag:"seed" help:"seed of the segments' end points"`
}

// DefaultConfig returns the embedded Fashion-MNIST subset, sample 0, 20
// segments, a 128-pixel slice and seed 1.
func DefaultConfig() Config {
	return Config{Data: data.DefaultName, Lines: 20, Res: 128, Seed: 1}
}

// Report is what [Run] returns.
type Report struct {
	Model  string `json:"model"`
	Hidden int    `json:"hidden_units"`
	// Active is the number of units on at the sample.
	Active int `json:"active_units"`
	// MaxDiff is max |A·x + C − network(x)| at the sample (float32
	// network outputs).
	MaxDiff float64 `json:"max_diff"`
	// Pieces is the mean number of linear pieces per segment.
	Pieces float64 `json:"pieces_per_segment"`
	// Patterns is the number of distinct activation patterns in the slice.
	Patterns int    `json:"slice_patterns"`
	Out      string `json:"out,omitempty"`
}

// WriteText prints the report.
func (r *Report) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%s: %d ReLU units, %d on at the sample; |affine map − network| ≤ %.2g\nlinear pieces per segment %.2f; slice patterns %d\n", r.Model, r.Hidden, r.Active, r.MaxDiff, r.Pieces, r.Patterns)
	if err == nil && r.Out != "" {
		_, err = fmt.Fprintf(w, "wrote %s\n", r.Out)
	}
	return err
}

// Run opens cfg.Model, converts it, reads the region at test sample
// cfg.Index (checking the affine map against the network there), counts
// pieces along cfg.Lines segments between random test samples and labels
// the slice through three samples.
func Run(ctx context.Context, cfg *Config, pr progress.Reporter) (*Report, error) {
	pr = progress.Or(pr)
	if cfg.Model == "" {
		return nil, errors.New("pwl: no model (--model): a ReLU MLP checkpoint, e.g. trustml train --arch mlp --out mlp.ckpt")
	}
	net, _, err := zoo.OpenNetwork(cfg.Model)
	if err != nil {
		return nil, err
	}
	n, err := FromNetwork(net)
	if err != nil {
		return nil, fmt.Errorf("pwl: model %s: %w", cfg.Model, err)
	}
	te, err := data.Open(cfg.Data, data.Test, "")
	if err != nil {
		return nil, err
	}
	if te.SampleSize() != n.InputDim() {
		return nil, fmt.Errorf("pwl: data %s has %d values per sample, model %s takes %d", cfg.Data, te.SampleSize(), cfg.Model, n.InputDim())
	}
	if cfg.Index < 0 || cfg.Index+2 >= te.Len() || cfg.Lines < 0 || cfg.Res < 0 || cfg.Res == 1 {
		return nil, fmt.Errorf("pwl: --index %d must be in [0, %d), --lines ≥ 0, --res 0 or ≥ 2", cfg.Index, te.Len()-2)
	}
	row := func(i int) []float64 {
		x := make([]float64, te.SampleSize())
		for j, v := range te.Row(i) {
			x[j] = float64(v)
		}
		return x
	}
	x := row(cfg.Index)
	reg, err := n.Region(x)
	if err != nil {
		return nil, err
	}
	rep := &Report{Model: cfg.Model, Hidden: n.Hidden()}
	for _, on := range reg.P {
		if on {
			rep.Active++
		}
	}
	logits := make([]float32, n.OutputDim())
	if err := net.Logits(ctx, logits, te.Row(cfg.Index)); err != nil {
		return nil, err
	}
	for o, v := range reg.Eval(x) {
		rep.MaxDiff = math.Max(rep.MaxDiff, math.Abs(v-float64(logits[o])))
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	for i := 0; i < cfg.Lines; i++ {
		pr.Update("pwl lines", i, cfg.Lines, "")
		l, err := n.Line(ctx, row(rng.IntN(te.Len())), row(rng.IntN(te.Len())))
		if err != nil {
			return nil, err
		}
		rep.Pieces += float64(l.Regions) / float64(cfg.Lines)
	}
	if cfg.Res > 0 {
		a, b := row(cfg.Index+1), row(cfg.Index+2)
		for j := range a {
			a[j], b[j] = a[j]-x[j], b[j]-x[j]
		}
		s, err := n.Slice(ctx, x, a, b, 1.5, cfg.Res)
		if err != nil {
			return nil, err
		}
		rep.Patterns = s.Patterns
		if cfg.Out != "" {
			if err := s.WritePNG(cfg.Out); err != nil {
				return nil, err
			}
			rep.Out = cfg.Out
		}
	}
	return rep, nil
}
