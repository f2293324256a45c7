package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/train"
	"github.com/trustml/trustml/zoo"
)

func init() { register(newLandscapeCmd) }

func newLandscapeCmd() *cobra.Command {
	cfg := train.DefaultLandscapeConfig()
	var df dataFlags
	var model, to, png, surfacePNG, linePNG string
	var surfaceLog, asJSON bool
	cmd := &cobra.Command{
		Use:   "landscape",
		Short: "Measure the flatness of a model's loss landscape",
		Long: `Measure how flat a trained model's minimum is on the first --n training samples
(inference mode: batch norm uses its running statistics, no dropout):

  - the top Hessian eigenvalue from Hessian-vector products: the largest by
    the Lanczos method, or with --eig-method power the largest in magnitude;
  - the 1-D loss curve L(w + α·d), α in [−span, span], along a random
    direction normalized filter by filter to the weights (Li et al.,
    "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018), drawn
    with --png, and its width: the α interval around 0 where the loss stays
    within --width-delta of L(w) ("clipped": a lower bound);
  - with --surface, the 2-D surface L(w + α·d1 + β·d2) on a --grid × --grid
    grid, drawn as a heat map with --surface-png;
  - with --to, the line L((1−t)·w_A + t·w_B) to a second solution of the same
    architecture, t in [−extend, 1+extend], drawn with --line-png, and its
    barrier over [0, 1] above the chord (≈ 0: one basin; Frankle et al.,
    ICML 2020). --line-bn interpolate (default) mixes the batch-norm
    statistics like the weights; recompute recomputes them at every t.

Flatter minima (SAM, F-SAM, RWP, m-ARWP, SWA) show a smaller top eigenvalue
and a wider curve. The directions are seeded by --seed.`,
		Example: `  trustml train --arch cnn-small --epochs 3 --out /tmp/sgd.ckpt
  trustml train --arch cnn-small --epochs 3 --optimizer sam --out /tmp/sam.ckpt
  trustml landscape --model /tmp/sam.ckpt --png /tmp/sam-curve.png
  trustml landscape --model /tmp/sam.ckpt --iters 0 --surface --grid 11 --surface-png /tmp/sam-surface.png
  trustml landscape --model /tmp/sgd.ckpt --to /tmp/sam.ckpt --iters 0 --line-png /tmp/line.png --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := cfg
			c.Surface = c.Surface || surfacePNG != ""
			if linePNG != "" && to == "" {
				return fmt.Errorf("--line-png needs --to, the second solution")
			}
			var err error
			if c.Model, _, err = zoo.OpenNetwork(model); err == nil && to != "" {
				c.To, _, err = zoo.OpenNetwork(to)
			}
			if err == nil {
				c.Data, err = df.load(data.Train)
			}
			if err != nil {
				return err
			}
			c.ModelName, c.ToName = model, to
			res, err := train.Landscape(cmd.Context(), c)
			if err == nil {
				err = res.WritePlots(train.LandscapePlots{Curve: png, Surface: surfacePNG, SurfaceLog: surfaceLog, Line: linePNG})
			}
			return printResult(cmd, res, err, asJSON)
		},
	}
	fl := cmd.Flags()
	df.add(cmd, data.DefaultName)
	fl.StringVar(&model, "model", "default", modelHelp)
	bindFlags(fl, &cfg)
	fl.StringVar(&png, "png", "", "write the 1-D loss curve as a PNG to this file")
	fl.StringVar(&surfacePNG, "surface-png", "", "write the 2-D surface as a PNG to this file (implies --surface)")
	fl.BoolVar(&surfaceLog, "surface-log", true, "colour the surface by log10 of the loss")
	fl.StringVar(&to, "to", "", "checkpoint of a second solution of the same architecture: compute the line from --model to it")
	fl.StringVar(&linePNG, "line-png", "", "write the line as a PNG to this file (needs --to)")
	fl.BoolVar(&asJSON, "json", false, "print the results as JSON")
	return cmd
}
