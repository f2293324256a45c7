package train

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

// Streams of the seeded sources of [Landscape]: the eigenvalue iteration's
// start and the random directions draw from separate streams, so the
// directions do not depend on the number of iterations.
const (
	eigenStream     = 0x1a7d5ca9e
	directionStream = 0xd12ec7
)

// Limits of [LandscapeConfig] that keep a typo from asking for hours of
// work or gigabytes.
const (
	MaxGrid       = 201
	MaxLinePoints = 1001
	MaxExtend     = 10

	landscapeChunk = 256 // inputs per forward pass
	bnUpdateBatch  = 128 // batch of the recomputed batch-norm statistics (the training default)
)

// LandscapeConfig configures [Landscape]; [DefaultLandscapeConfig] gives
// the defaults of "trustml landscape".
type LandscapeConfig struct {
	Model     *nn.Network   // required
	ModelName string        // for the report
	Data      *data.Dataset // the first N samples are used (inference mode)
	N         int           `flag:"n" help:"training samples used (the first n)"`
	// Iters Hessian-vector products give the top Hessian eigenvalue (0:
	// skip) by EigMethod "lanczos" (the largest eigenvalue) or "power"
	// (the largest in magnitude), stopping at relative change Tol.
	Iters     int     `flag:"iters" help:"Hessian-vector products for the top Hessian eigenvalue (0 = skip)"`
	EigMethod string  `flag:"eig-method" help:"top-eigenvalue method: lanczos (the largest eigenvalue) or power (the largest in magnitude)"`
	Tol       float64 `flag:"tol" help:"relative change of the eigenvalue estimate that stops the iteration"`
	// Points on the 1-D curve over α in [−Span, Span] along a
	// filter-normalized direction, whose width is where the loss stays
	// within WidthDelta of L(w).
	Points     int     `flag:"points" help:"points on the 1-D loss curve"`
	Span       float64 `flag:"span" help:"the curve and the surface cover α (and β) in [−span, span]"`
	WidthDelta float64 `flag:"width-delta" help:"the curve's width is where the loss stays within this of L(w)"`
	// Surface adds the 2-D surface on a Grid × Grid grid (odd).
	Surface bool `flag:"surface" help:"also compute the 2-D loss surface"`
	Grid    int  `flag:"grid" help:"surface points per axis (odd, so the grid contains the model)"`
	// To, if set, adds the line from Model (t = 0) to To (t = 1) on
	// LinePoints points of [0, 1] extended by Extend on both sides, with
	// batch-norm statistics LineBN "interpolate" or "recompute".
	To         *nn.Network
	ToName     string
	LinePoints int     `flag:"line-points" help:"points of the line on t in [0, 1] (both ends included)"`
	Extend     float64 `flag:"extend" help:"the line extends this far beyond both ends (rounded to its step)"`
	LineBN     string  `flag:"line-bn" help:"batch-norm statistics on the line: interpolate or recompute"`
	// Seed seeds the directions and the eigenvalue iteration's start.
	Seed uint64 `flag:"seed" help:"seed of the random directions and the eigenvalue iteration's start"`
}

// DefaultLandscapeConfig returns the defaults of "trustml landscape".
func DefaultLandscapeConfig() LandscapeConfig {
	return LandscapeConfig{N: 1000, Iters: 20, EigMethod: "lanczos", Tol: 1e-3, Points: 21, Span: 1, WidthDelta: 0.1,
		Grid: 11, LinePoints: 21, Extend: 0.25, LineBN: "interpolate", Seed: 1}
}

// CurveWidth is the flat interval of the 1-D curve.
type CurveWidth struct {
	Delta   float64 `json:"delta"`
	Lo      float64 `json:"lo"`
	Hi      float64 `json:"hi"`
	Width   float64 `json:"width"`
	Clipped bool    `json:"clipped"` // reaches the end of the span: a lower bound
}

// SurfaceResult is the 2-D loss surface.
type SurfaceResult struct {
	Alpha []float64   `json:"alpha"`
	Beta  []float64   `json:"beta"`
	Loss  [][]float64 `json:"loss"` // loss[i][j] at (alpha[i], beta[j])
	Min   float64     `json:"min"`
	PNG   string      `json:"png,omitempty"` // set by whoever draws it
}

// LineResult is the loss on the line between two solutions.
type LineResult struct {
	To      string    `json:"to"`
	BN      string    `json:"bn,omitempty"` // batch-norm handling; empty without batch norm
	T       []float64 `json:"t"`
	Loss    []float64 `json:"loss"`
	Barrier float64   `json:"barrier"`
	PNG     string    `json:"png,omitempty"`
}

// LandscapeResult is what [Landscape] measures.
type LandscapeResult struct {
	Model   string         `json:"model"`
	Data    string         `json:"data"`
	N       int            `json:"n"`
	Seed    uint64         `json:"seed"`
	Top     *float64       `json:"top_eigenvalue,omitempty"`
	Alpha   []float64      `json:"alpha"`
	Loss    []float64      `json:"loss"`
	Width   *CurveWidth    `json:"width,omitempty"` // absent when α = 0 is not sampled (even Points)
	PNG     string         `json:"png,omitempty"`
	Surface *SurfaceResult `json:"surface,omitempty"`
	Line    *LineResult    `json:"line,omitempty"`
}

func (cfg *LandscapeConfig) check() error {
	switch {
	case cfg.Model == nil || cfg.Data == nil:
		return fmt.Errorf("needs a model and data")
	case cfg.N <= 0:
		return fmt.Errorf("--n must be positive")
	case cfg.Points < 2:
		return fmt.Errorf("--points must be at least 2")
	case !(cfg.Span > 0) || cfg.Span > 1e6:
		return fmt.Errorf("--span must be positive (got %g)", cfg.Span)
	case cfg.Iters < 0 || cfg.Tol < 0:
		return fmt.Errorf("--iters and --tol must be ≥ 0")
	case cfg.EigMethod != "lanczos" && cfg.EigMethod != "power":
		return fmt.Errorf("--eig-method %q: want lanczos or power", cfg.EigMethod)
	case !(cfg.WidthDelta > 0):
		return fmt.Errorf("--width-delta must be positive (got %g)", cfg.WidthDelta)
	case cfg.Surface && (cfg.Grid < 3 || cfg.Grid%2 == 0 || cfg.Grid > MaxGrid):
		return fmt.Errorf("--grid %d: want an odd number from 3 to %d, so that the grid contains the model (α = β = 0)", cfg.Grid, MaxGrid)
	case cfg.To != nil && (cfg.LinePoints < 2 || cfg.LinePoints > MaxLinePoints):
		return fmt.Errorf("--line-points %d: want 2 to %d", cfg.LinePoints, MaxLinePoints)
	case cfg.To != nil && !(cfg.Extend >= 0 && cfg.Extend <= MaxExtend):
		return fmt.Errorf("--extend %g: want 0 to %d", cfg.Extend, MaxExtend)
	case cfg.LineBN != "interpolate" && cfg.LineBN != "recompute":
		return fmt.Errorf("--line-bn %q: want interpolate or recompute", cfg.LineBN)
	}
	if cfg.To != nil {
		a, b := cfg.Model, cfg.To
		if !a.Spec().Equal(b.Spec()) || a.NumParams() != b.NumParams() || len(a.BufferData()) != len(b.BufferData()) {
			return fmt.Errorf("--to %s and --model %s: architectures differ (%s with %d parameters vs %s with %d): a line needs two solutions of one architecture",
				cfg.ToName, cfg.ModelName, b.Spec().Name, b.NumParams(), a.Spec().Name, a.NumParams())
		}
	}
	return checkData(cfg.Model, cfg.Data)
}

// Landscape measures how flat a model's minimum is on the first N samples
// (inference mode): the top Hessian eigenvalue, the 1-D loss curve along a
// filter-normalized random direction (Li et al., NeurIPS 2018) and its
// width, optionally the 2-D surface and the line to a second solution with
// its barrier (Frankle et al., ICML 2020). The model's weights are
// restored on return.
func Landscape(ctx context.Context, cfg LandscapeConfig) (*LandscapeResult, error) {
	res, err := landscape(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("landscape: %w", err)
	}
	return res, nil
}

func landscape(ctx context.Context, cfg LandscapeConfig) (*LandscapeResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	net, d := cfg.Model, cfg.Data
	n := min(cfg.N, d.Len())
	size := len(d.X) / d.Len()
	x, y := d.X[:n*size], d.Y[:n]
	loss, err := FullBatchLoss(net, x, y, landscapeChunk)
	if err != nil {
		return nil, err
	}
	res := &LandscapeResult{Model: cfg.ModelName, Data: d.Name, N: n, Seed: cfg.Seed}
	if cfg.Iters > 0 {
		c, err := FullBatch(net, x, y, landscapeChunk)
		if err != nil {
			return nil, err
		}
		top := LanczosTopEigenvalue
		if cfg.EigMethod == "power" {
			top = TopEigenvalue
		}
		lambda, _, err := top(ctx, net, c, cfg.Iters, cfg.Tol, rand.New(rand.NewPCG(cfg.Seed, eigenStream)))
		if err != nil {
			return nil, err
		}
		res.Top = &lambda
	}
	r := rand.New(rand.NewPCG(cfg.Seed, directionStream))
	d1 := make([]float32, net.NumParams())
	if err := FilterNormalizedDirection(net, d1, r); err != nil {
		return nil, err
	}
	if res.Alpha, err = CenteredGrid(cfg.Span, cfg.Points); err != nil {
		return nil, err
	}
	if res.Loss, err = LossCurve(ctx, net, loss, d1, res.Alpha); err != nil {
		return nil, err
	}
	if slices.Contains(res.Alpha, 0) { // an even number of points misses α = 0
		lo, hi, clipped, err := FlatWidth(res.Alpha, res.Loss, cfg.WidthDelta)
		if err != nil {
			return nil, err
		}
		res.Width = &CurveWidth{Delta: cfg.WidthDelta, Lo: lo, Hi: hi, Width: hi - lo, Clipped: clipped}
	}
	if cfg.Surface {
		d2 := make([]float32, net.NumParams())
		if err := FilterNormalizedDirection(net, d2, r); err != nil {
			return nil, err
		}
		grid, err := CenteredGrid(cfg.Span, cfg.Grid)
		if err != nil {
			return nil, err
		}
		z, err := LossSurface(ctx, net, loss, d1, d2, grid, grid)
		if err != nil {
			return nil, err
		}
		s := &SurfaceResult{Alpha: grid, Beta: grid, Loss: z, Min: z[0][0]}
		for _, row := range z {
			s.Min = min(s.Min, slices.Min(row))
		}
		res.Surface = s
	}
	if cfg.To != nil {
		if res.Line, err = landscapeLine(ctx, &cfg, loss, x); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func landscapeLine(ctx context.Context, cfg *LandscapeConfig, loss Loss, x []float32) (*LineResult, error) {
	net, to := cfg.Model, cfg.To
	ts, err := LineGrid(cfg.LinePoints, cfg.Extend)
	if err != nil {
		return nil, err
	}
	a := Endpoint{Weights: slices.Clone(net.Weights()), Buffers: slices.Clone(net.BufferData())}
	b := Endpoint{Weights: to.Weights(), Buffers: to.BufferData()}
	line := &LineResult{To: cfg.ToName, T: ts}
	var refresh func(context.Context) error
	if net.HasBatchNorm() {
		line.BN = cfg.LineBN
		if cfg.LineBN == "recompute" {
			refresh = func(ctx context.Context) error { return UpdateBN(ctx, net, x, bnUpdateBatch) }
		}
	}
	if line.Loss, err = LossLine(ctx, net, loss, a, b, ts, refresh); err != nil {
		return nil, err
	}
	if line.Barrier, err = Barrier(ts, line.Loss); err != nil {
		return nil, err
	}
	return line, nil
}

// WriteText prints the result for a terminal.
func (res *LandscapeResult) WriteText(out io.Writer) error {
	tw := func(header []string, rows [][]string) error {
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, strings.Join(header, "\t"))
		for _, r := range rows {
			fmt.Fprintln(w, strings.Join(r, "\t"))
		}
		return w.Flush()
	}
	if res.Top != nil {
		fmt.Fprintf(out, "top Hessian eigenvalue on %d samples: %.4g\n", res.N, *res.Top)
	}
	rows := make([][]string, len(res.Alpha))
	for i := range res.Alpha {
		rows[i] = []string{fmt.Sprintf("%+.3f", res.Alpha[i]), fmt.Sprintf("%.4f", res.Loss[i])}
	}
	if err := tw([]string{"alpha", "loss"}, rows); err != nil {
		return err
	}
	if w := res.Width; w != nil {
		bound := ""
		if w.Clipped {
			bound = " (reaches the end of the span: a lower bound)"
		}
		fmt.Fprintf(out, "width within %g of L(w): α in [%.3f, %.3f], %.3f%s\n", w.Delta, w.Lo, w.Hi, w.Width, bound)
	}
	if s := res.Surface; s != nil {
		fmt.Fprintln(out, "\nloss surface (rows α, columns β):")
		header := []string{"α \\ β"}
		for _, b := range s.Beta {
			header = append(header, fmt.Sprintf("%+.2f", b))
		}
		rows := make([][]string, len(s.Alpha))
		for i, a := range s.Alpha {
			rows[i] = []string{fmt.Sprintf("%+.2f", a)}
			for _, v := range s.Loss[i] {
				rows[i] = append(rows[i], fmt.Sprintf("%.3f", v))
			}
		}
		if err := tw(header, rows); err != nil {
			return err
		}
		fmt.Fprintf(out, "minimum on the grid: %.4f\n", s.Min)
	}
	if l := res.Line; l != nil {
		fmt.Fprintf(out, "\nline from %s (t = 0) to %s (t = 1)", res.Model, l.To)
		if l.BN != "" {
			fmt.Fprintf(out, ", batch-norm statistics: %s", l.BN)
		}
		fmt.Fprintln(out, ":")
		rows := make([][]string, len(l.T))
		for i := range l.T {
			rows[i] = []string{fmt.Sprintf("%+.3f", l.T[i]), fmt.Sprintf("%.4f", l.Loss[i])}
		}
		if err := tw([]string{"t", "loss"}, rows); err != nil {
			return err
		}
		fmt.Fprintf(out, "barrier on [0, 1]: %.4f\n", l.Barrier)
	}
	return nil
}
