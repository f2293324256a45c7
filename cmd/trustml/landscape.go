package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/eval"
	"github.com/trustml/trustml/train"
)

func init() { register(newLandscapeCmd) }

type landscapeFlags struct {
	data   dataFlags
	model  string
	n      int
	points int
	span   float64
	iters  int
	tol    float64
	seed   uint64
	png    string
	asJSON bool
}

func newLandscapeCmd() *cobra.Command {
	var f landscapeFlags
	cmd := &cobra.Command{
		Use:   "landscape",
		Short: "Measure the flatness of a model's loss landscape",
		Long: `Measure how flat a trained model's minimum is on the first --n training samples
(inference mode: batch norm uses its running statistics, no dropout):

  - the top eigenvalue of the Hessian of the mean cross-entropy, by power
    iteration on Hessian-vector products (central differences of gradients);
  - the 1-D loss curve L(w + α·d), α in [−span, span], along a random
    direction d normalized filter by filter to the weights (Li et al.,
    "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018), drawn as
    a PNG with --png.

Flatter minima (SAM, F-SAM, RWP, m-ARWP, SWA) show a smaller top eigenvalue
and a wider curve.`,
		Example: `  trustml train --arch mlp --epochs 2 --optimizer sam --out /tmp/sam.ckpt
  trustml landscape --model /tmp/sam.ckpt --n 1000 --png /tmp/sam-curve.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLandscape(cmd, &f) },
	}
	fl := cmd.Flags()
	f.data.add(cmd, data.DefaultName)
	fl.StringVar(&f.model, "model", "default", modelHelp)
	fl.IntVar(&f.n, "n", 1000, "training samples used (the first n)")
	fl.IntVar(&f.points, "points", 21, "points on the loss curve")
	fl.Float64Var(&f.span, "span", 1, "the curve covers α in [−span, span]")
	fl.IntVar(&f.iters, "iters", 20, "power iterations for the top Hessian eigenvalue (0 = skip)")
	fl.Float64Var(&f.tol, "tol", 1e-3, "relative change of the eigenvalue estimate that stops the iteration")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the random direction and the power-iteration start")
	fl.StringVar(&f.png, "png", "", "write the loss curve as a PNG to this file")
	fl.BoolVar(&f.asJSON, "json", false, "print the results as JSON")
	return cmd
}

func runLandscape(cmd *cobra.Command, f *landscapeFlags) error {
	switch {
	case f.n <= 0:
		return fmt.Errorf("--n must be positive")
	case f.points < 2:
		return fmt.Errorf("--points must be at least 2")
	case !(f.span > 0):
		return fmt.Errorf("--span must be positive")
	case f.iters < 0 || f.tol < 0:
		return fmt.Errorf("--iters and --tol must be ≥ 0")
	}
	net, _, err := loadNetwork(f.model)
	if err != nil {
		return err
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
	c, err := train.FullBatch(net, d.X[:n*size], d.Y[:n], 256)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	r := rand.New(rand.NewPCG(f.seed, 0x1a7d5ca9e))
	res := map[string]any{"model": f.model, "data": d.Name, "n": n}
	if f.iters > 0 {
		lambda, _, err := train.TopEigenvalue(ctx, net, c, f.iters, f.tol, r)
		if err != nil {
			return err
		}
		res["top_eigenvalue"] = lambda
	}
	dir := make([]float32, net.NumParams())
	if err := train.FilterNormalizedDirection(net, dir, r); err != nil {
		return err
	}
	alphas := make([]float64, f.points)
	for i := range alphas {
		alphas[i] = -f.span + 2*f.span*float64(i)/float64(f.points-1)
	}
	losses, err := train.LossCurve(ctx, net, train.Loss(c), dir, alphas)
	if err != nil {
		return err
	}
	res["alpha"], res["loss"] = alphas, losses
	if f.png != "" {
		if err := eval.PlotLines(f.png, "loss along a filter-normalized direction", "α", "training loss", false,
			[]eval.Series{{Name: f.model, X: alphas, Y: losses}}); err != nil {
			return err
		}
		res["png"] = f.png
	}
	out := cmd.OutOrStdout()
	if f.asJSON {
		return writeJSON(out, res)
	}
	if l, ok := res["top_eigenvalue"]; ok {
		fmt.Fprintf(out, "top Hessian eigenvalue on %d samples: %.4g\n", n, l)
	}
	rows := make([][]string, len(alphas))
	for i := range alphas {
		rows[i] = []string{fmt.Sprintf("%+.3f", alphas[i]), fmt.Sprintf("%.4f", losses[i])}
	}
	table(out, []string{"alpha", "loss"}, rows)
	return nil
}
