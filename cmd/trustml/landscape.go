package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/plot"
	"github.com/trustml/trustml/train"
)

func init() { register(newLandscapeCmd) }

// Streams of the seeded sources: the eigenvalue iteration's start and the
// random directions draw from separate streams, so the directions do not
// depend on --iters.
const (
	eigenStream     = 0x1a7d5ca9e
	directionStream = 0xd12ec7
)

// Limits that keep a typo from asking for hours of work or gigabytes.
const (
	maxGrid       = 201
	maxLinePoints = 1001
	maxExtend     = 10

	landscapeChunk = 256 // inputs per forward pass
	bnUpdateBatch  = 128 // batch of the recomputed batch-norm statistics (the training default)
)

type landscapeFlags struct {
	data       dataFlags
	model      string
	n          int
	points     int
	span       float64
	iters      int
	eigMethod  string
	tol        float64
	seed       uint64
	png        string
	widthDelta float64
	surface    bool
	grid       int
	surfacePNG string
	surfaceLog bool
	to         string
	linePoints int
	extend     float64
	lineBN     string
	linePNG    string
	asJSON     bool
}

func newLandscapeCmd() *cobra.Command {
	var f landscapeFlags
	cmd := &cobra.Command{
		Use:   "landscape",
		Short: "Measure the flatness of a model's loss landscape",
		Long: `Measure how flat a trained model's minimum is on the first --n training samples
(inference mode: batch norm uses its running statistics, no dropout):

  - the top eigenvalue of the Hessian of the mean cross-entropy from
    Hessian-vector products (central differences of gradients): by default
    the largest eigenvalue by the Lanczos method, which needs few products
    and is not drawn to a negative eigenvalue of larger magnitude; with
    --eig-method power, power iteration (the largest in magnitude);
  - the 1-D loss curve L(w + α·d), α in [−span, span], along a random
    direction d normalized filter by filter to the weights (Li et al.,
    "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018: each
    output channel or unit of d is scaled to the norm of the same filter of
    w; biases and batch-norm parameters stay put), drawn as a PNG with
    --png, and its
    width: the α interval around 0 where the loss stays within --width-delta
    of L(w) ("clipped" when it reaches the end of the span, a lower bound);
  - with --surface, the 2-D surface L(w + α·d1 + β·d2) on a --grid × --grid
    grid over [−span, span]², d1 the 1-D curve's direction and d2 a second,
    independent one, drawn as a heat map with contours with --surface-png
    (colours on a log scale unless --surface-log=false); its β = 0 column is
    the 1-D curve when --grid equals --points, and its centre is L(w);
  - with --to, the line L((1−t)·w_A + t·w_B) from --model (t = 0) to a
    second solution of the same architecture (t = 1), t in
    [−extend, 1+extend], drawn with --line-png, and its barrier: the largest
    excess over t in [0, 1] of the loss above the straight line between the
    two end losses (≈ 0: one basin; Frankle et al., ICML 2020).

Batch norm on the line: the running statistics belong to the two end points.
--line-bn interpolate (default) interpolates them like the weights, so the
ends are exactly the two models' losses, but the interior points use mixed
statistics that are not those of the mixed weights and can show a spurious
barrier; --line-bn recompute recomputes them at every t from the --n samples
(as after weight averaging), which is right in between, but then even the
ends differ from the models' own losses. Networks without batch norm are
unaffected.

Flatter minima (SAM, F-SAM, RWP, m-ARWP, SWA) show a smaller top eigenvalue
and a wider curve. The directions are seeded by --seed: the same seed gives
the same directions for every model of one architecture, up to the filter
norms.`,
		Example: `  # two solutions on the embedded Fashion-MNIST subset: SGD and SAM
  trustml train --arch cnn-small --epochs 3 --out /tmp/sgd.ckpt
  trustml train --arch cnn-small --epochs 3 --optimizer sam --out /tmp/sam.ckpt

  # top eigenvalue, 1-D curve and its width
  trustml landscape --model /tmp/sgd.ckpt --png /tmp/sgd-curve.png
  trustml landscape --model /tmp/sam.ckpt --png /tmp/sam-curve.png

  # 2-D surface (11×11 grid over [−1, 1]², eigenvalue skipped)
  trustml landscape --model /tmp/sam.ckpt --iters 0 --surface --grid 11 --surface-png /tmp/sam-surface.png

  # the line from the SGD to the SAM solution, t in [−0.25, 1.25]
  trustml landscape --model /tmp/sgd.ckpt --to /tmp/sam.ckpt --iters 0 --line-png /tmp/sgd-sam-line.png --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLandscape(cmd, &f) },
	}
	fl := cmd.Flags()
	f.data.add(cmd, data.DefaultName)
	fl.StringVar(&f.model, "model", "default", modelHelp)
	fl.IntVar(&f.n, "n", 1000, "training samples used (the first n)")
	fl.IntVar(&f.points, "points", 21, "points on the 1-D loss curve")
	fl.Float64Var(&f.span, "span", 1, "the curve and the surface cover α (and β) in [−span, span]")
	fl.IntVar(&f.iters, "iters", 20, "Hessian-vector products (Lanczos steps or power iterations) for the top Hessian eigenvalue (0 = skip)")
	fl.StringVar(&f.eigMethod, "eig-method", "lanczos", "top-eigenvalue method: lanczos (the largest eigenvalue, fast) or power (power iteration: the largest in magnitude)")
	fl.Float64Var(&f.tol, "tol", 1e-3, "relative change of the eigenvalue estimate that stops the iteration")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the random directions and the power-iteration start")
	fl.StringVar(&f.png, "png", "", "write the 1-D loss curve as a PNG to this file")
	fl.Float64Var(&f.widthDelta, "width-delta", 0.1, "the curve's width is where the loss stays within this of L(w)")
	fl.BoolVar(&f.surface, "surface", false, "also compute the 2-D loss surface")
	fl.IntVar(&f.grid, "grid", 11, "surface points per axis (odd, so the grid contains the model)")
	fl.StringVar(&f.surfacePNG, "surface-png", "", "write the 2-D surface as a PNG to this file (implies --surface)")
	fl.BoolVar(&f.surfaceLog, "surface-log", true, "colour the surface by log10 of the loss")
	fl.StringVar(&f.to, "to", "", "checkpoint of a second solution of the same architecture: compute the line from --model to it")
	fl.IntVar(&f.linePoints, "line-points", 21, "points of the line on t in [0, 1] (both ends included)")
	fl.Float64Var(&f.extend, "extend", 0.25, "the line extends this far beyond both ends (rounded to its step)")
	fl.StringVar(&f.lineBN, "line-bn", "interpolate", "batch-norm statistics on the line: interpolate or recompute")
	fl.StringVar(&f.linePNG, "line-png", "", "write the line as a PNG to this file (needs --to)")
	fl.BoolVar(&f.asJSON, "json", false, "print the results as JSON")
	return cmd
}

// curveWidth is the flat interval of the 1-D curve.
type curveWidth struct {
	Delta   float64 `json:"delta"`
	Lo      float64 `json:"lo"`
	Hi      float64 `json:"hi"`
	Width   float64 `json:"width"`
	Clipped bool    `json:"clipped"` // reaches the end of the span: a lower bound
}

type surfaceResult struct {
	Alpha []float64   `json:"alpha"`
	Beta  []float64   `json:"beta"`
	Loss  [][]float64 `json:"loss"` // loss[i][j] at (alpha[i], beta[j])
	Min   float64     `json:"min"`
	PNG   string      `json:"png,omitempty"`
}

type lineResult struct {
	To      string    `json:"to"`
	BN      string    `json:"bn,omitempty"` // batch-norm handling; empty without batch norm
	T       []float64 `json:"t"`
	Loss    []float64 `json:"loss"`
	Barrier float64   `json:"barrier"`
	PNG     string    `json:"png,omitempty"`
}

type landscapeResult struct {
	Model   string         `json:"model"`
	Data    string         `json:"data"`
	N       int            `json:"n"`
	Seed    uint64         `json:"seed"`
	Top     *float64       `json:"top_eigenvalue,omitempty"`
	Alpha   []float64      `json:"alpha"`
	Loss    []float64      `json:"loss"`
	Width   *curveWidth    `json:"width,omitempty"` // absent when α = 0 is not sampled (even --points)
	PNG     string         `json:"png,omitempty"`
	Surface *surfaceResult `json:"surface,omitempty"`
	Line    *lineResult    `json:"line,omitempty"`
}

func (f *landscapeFlags) check() error {
	if f.surfacePNG != "" {
		f.surface = true
	}
	switch {
	case f.n <= 0:
		return fmt.Errorf("--n must be positive")
	case f.points < 2:
		return fmt.Errorf("--points must be at least 2")
	case !(f.span > 0) || f.span > 1e6:
		return fmt.Errorf("--span must be positive (got %g)", f.span)
	case f.iters < 0 || f.tol < 0:
		return fmt.Errorf("--iters and --tol must be ≥ 0")
	case !(f.widthDelta > 0):
		return fmt.Errorf("--width-delta must be positive (got %g)", f.widthDelta)
	case f.surface && (f.grid < 3 || f.grid%2 == 0 || f.grid > maxGrid):
		return fmt.Errorf("--grid %d: want an odd number from 3 to %d, so that the grid contains the model (α = β = 0)", f.grid, maxGrid)
	case f.linePNG != "" && f.to == "":
		return fmt.Errorf("--line-png needs --to, the second solution")
	case f.to != "" && (f.linePoints < 2 || f.linePoints > maxLinePoints):
		return fmt.Errorf("--line-points %d: want 2 to %d", f.linePoints, maxLinePoints)
	case f.to != "" && !(f.extend >= 0 && f.extend <= maxExtend):
		return fmt.Errorf("--extend %g: want 0 to %d", f.extend, maxExtend)
	case f.lineBN != "interpolate" && f.lineBN != "recompute":
		return fmt.Errorf("--line-bn %q: want interpolate or recompute", f.lineBN)
	}
	return nil
}

func runLandscape(cmd *cobra.Command, f *landscapeFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	net, _, err := loadNetwork(f.model)
	if err != nil {
		return err
	}
	var to *nn.Network
	if f.to != "" {
		if to, _, err = loadNetwork(f.to); err != nil {
			return err
		}
		if err := sameArchitecture(net, to); err != nil {
			return fmt.Errorf("--to %s and --model %s: %w", f.to, f.model, err)
		}
	}
	d, err := f.data.load(data.Train)
	if err != nil {
		return err
	}
	if err := checkShapes(net, d); err != nil {
		return err
	}
	n := min(f.n, d.Len())
	size := len(d.X) / d.Len()
	x, y := d.X[:n*size], d.Y[:n]
	loss, err := train.FullBatchLoss(net, x, y, landscapeChunk)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	res := landscapeResult{Model: f.model, Data: d.Name, N: n, Seed: f.seed}
	if f.iters > 0 {
		c, err := train.FullBatch(net, x, y, landscapeChunk)
		if err != nil {
			return err
		}
		top := train.LanczosTopEigenvalue
		switch f.eigMethod {
		case "power":
			top = train.TopEigenvalue
		case "lanczos":
		default:
			return fmt.Errorf("--eig-method %q: want lanczos or power", f.eigMethod)
		}
		lambda, _, err := top(ctx, net, c, f.iters, f.tol, rand.New(rand.NewPCG(f.seed, eigenStream)))
		if err != nil {
			return err
		}
		res.Top = &lambda
	}

	r := rand.New(rand.NewPCG(f.seed, directionStream))
	d1 := make([]float32, net.NumParams())
	if err := train.FilterNormalizedDirection(net, d1, r); err != nil {
		return err
	}
	if res.Alpha, err = train.CenteredGrid(f.span, f.points); err != nil {
		return err
	}
	if res.Loss, err = train.LossCurve(ctx, net, loss, d1, res.Alpha); err != nil {
		return err
	}
	if err := res.measureWidth(f.widthDelta); err != nil {
		return err
	}
	if f.png != "" {
		if err := plot.Lines(f.png, "loss along a filter-normalized direction", "α", "training loss", false,
			[]plot.Series{{Name: f.model, X: res.Alpha, Y: res.Loss}}); err != nil {
			return err
		}
		res.PNG = f.png
	}

	if f.surface {
		d2 := make([]float32, net.NumParams())
		if err := train.FilterNormalizedDirection(net, d2, r); err != nil {
			return err
		}
		if res.Surface, err = landscapeSurface(ctx, f, net, loss, d1, d2); err != nil {
			return err
		}
	}
	if to != nil {
		if res.Line, err = landscapeLine(ctx, f, net, to, loss, x); err != nil {
			return err
		}
	}

	out := cmd.OutOrStdout()
	if f.asJSON {
		return writeJSON(out, res)
	}
	res.print(out)
	return nil
}

// sameArchitecture reports whether two networks have one architecture, so
// that their weights can be combined.
func sameArchitecture(a, b *nn.Network) error {
	if !a.Spec().Equal(b.Spec()) || a.NumParams() != b.NumParams() || len(a.BufferData()) != len(b.BufferData()) {
		return fmt.Errorf("architectures differ (%s with %d parameters vs %s with %d): a line needs two solutions of one architecture",
			b.Spec().Name, b.NumParams(), a.Spec().Name, a.NumParams())
	}
	return nil
}

func (res *landscapeResult) measureWidth(delta float64) error {
	if !slices.Contains(res.Alpha, 0) {
		return nil // an even --points misses α = 0
	}
	lo, hi, clipped, err := train.FlatWidth(res.Alpha, res.Loss, delta)
	if err != nil {
		return err
	}
	res.Width = &curveWidth{Delta: delta, Lo: lo, Hi: hi, Width: hi - lo, Clipped: clipped}
	return nil
}

func landscapeSurface(ctx context.Context, f *landscapeFlags, net *nn.Network, loss train.Loss, d1, d2 []float32) (*surfaceResult, error) {
	grid, err := train.CenteredGrid(f.span, f.grid)
	if err != nil {
		return nil, err
	}
	z, err := train.LossSurface(ctx, net, loss, d1, d2, grid, grid)
	if err != nil {
		return nil, err
	}
	s := &surfaceResult{Alpha: grid, Beta: grid, Loss: z, Min: z[0][0]}
	for _, row := range z {
		s.Min = min(s.Min, slices.Min(row))
	}
	if f.surfacePNG != "" {
		if err := plot.Heatmap(f.surfacePNG, "loss surface around "+f.model+" (α = β = 0)", "α (direction 1)", "β (direction 2)", f.surfaceLog,
			plot.Surface{Name: "training loss", X: grid, Y: grid, Z: z}); err != nil {
			return nil, err
		}
		s.PNG = f.surfacePNG
	}
	return s, nil
}

func landscapeLine(ctx context.Context, f *landscapeFlags, net, to *nn.Network, loss train.Loss, x []float32) (*lineResult, error) {
	ts, err := train.LineGrid(f.linePoints, f.extend)
	if err != nil {
		return nil, err
	}
	a := train.Endpoint{Weights: slices.Clone(net.Weights()), Buffers: slices.Clone(net.BufferData())}
	b := train.Endpoint{Weights: to.Weights(), Buffers: to.BufferData()}
	line := &lineResult{To: f.to, T: ts}
	var refresh func(context.Context) error
	if net.HasBatchNorm() {
		line.BN = f.lineBN
		if f.lineBN == "recompute" {
			refresh = func(ctx context.Context) error { return train.UpdateBN(ctx, net, x, bnUpdateBatch) }
		}
	}
	if line.Loss, err = train.LossLine(ctx, net, loss, a, b, ts, refresh); err != nil {
		return nil, err
	}
	if line.Barrier, err = train.Barrier(ts, line.Loss); err != nil {
		return nil, err
	}
	if f.linePNG != "" {
		i0, i1 := slices.Index(ts, 0), slices.Index(ts, 1)
		title := "loss on the line between two solutions"
		if line.BN != "" {
			title += " (batch-norm statistics: " + line.BN + ")"
		}
		if err := plot.Lines(f.linePNG, title, "t (0: "+f.model+", 1: "+f.to+")", "training loss", false,
			[]plot.Series{
				{Name: "L((1−t)·A + t·B)", X: ts, Y: line.Loss},
				{Name: "chord (barrier reference)", X: []float64{0, 1}, Y: []float64{line.Loss[i0], line.Loss[i1]}},
			}); err != nil {
			return nil, err
		}
		line.PNG = f.linePNG
	}
	return line, nil
}

func (res *landscapeResult) print(out io.Writer) {
	if res.Top != nil {
		fmt.Fprintf(out, "top Hessian eigenvalue on %d samples: %.4g\n", res.N, *res.Top)
	}
	rows := make([][]string, len(res.Alpha))
	for i := range res.Alpha {
		rows[i] = []string{fmt.Sprintf("%+.3f", res.Alpha[i]), fmt.Sprintf("%.4f", res.Loss[i])}
	}
	table(out, []string{"alpha", "loss"}, rows)
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
		table(out, header, rows)
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
		table(out, []string{"t", "loss"}, rows)
		fmt.Fprintf(out, "barrier on [0, 1]: %.4f\n", l.Barrier)
	}
}
