package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/train"
)

func init() { register(newAverageCmd) }

func newAverageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "average",
		Short: "Average the weights of checkpoints (SWA, TWA, model soups)",
		Long:  "Methods: " + strings.Join(train.AveragingMethodNames(""), ", ") + ".",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAverageSWACmd(), newAverageTWACmd(), newAverageSoupCmd())
	return cmd
}

// averageFlags are the flags every average subcommand has.
type averageFlags struct {
	data   dataFlags
	cfg    train.AverageConfig
	asJSON bool
}

func (f *averageFlags) add(cmd *cobra.Command, out string) {
	f.data.add(cmd, data.DefaultName)
	cmd.Flags().StringVar(&f.cfg.Out, "out", out, "checkpoint file to write")
	cmd.Flags().IntVar(&f.cfg.BNBatch, "bn-batch", 128, "batch size of the batch-norm statistics update")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the result as JSON")
}

func newAverageSWACmd() *cobra.Command {
	f := averageFlags{cfg: train.DefaultAverageConfig("swa")}
	cmd := &cobra.Command{
		Use:   "swa CHECKPOINT...",
		Short: "Stochastic weight averaging of checkpoints of one architecture",
		Long: `Average the weights of checkpoints of the same architecture with equal weights,
as stochastic weight averaging does (Izmailov et al., "Averaging Weights Leads
to Wider Optima and Better Generalization", UAI 2018): pass the checkpoints
saved at the end of each epoch from the averaging start on. If the network
has batch norm, its running statistics are then recomputed on the training
split (as PyTorch's update_bn). The result is evaluated on the test split and
saved atomically.`,
		Example: `  trustml average swa ep12.ckpt ep13.ckpt ep14.ckpt ep15.ckpt --out swa.ckpt`,
		Args:    cobra.MinimumNArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runAverage(cmd, &f, args) },
	}
	f.add(cmd, "swa.ckpt")
	return cmd
}

func newAverageTWACmd() *cobra.Command {
	f := averageFlags{cfg: train.DefaultAverageConfig("twa")}
	var variant string
	cmd := &cobra.Command{
		Use:   "twa CHECKPOINT...",
		Short: "Trainable weight averaging: train inside the span of checkpoints (ICLR, TWA-t, TWA-v)",
		Long: `Trainable Weight Averaging (Li et al., "Trainable Weight Averaging: Accelerating
Training and Improving Generalization", ICLR 2023, and its journal version with
TWA-t and TWA-v) learns the averaging inside the subspace the checkpoints of
one training run span. --variant picks:

  iclr  the ICLR version (default): SGD with momentum whose gradients are
        projected onto the span of the checkpoints (Gram–Schmidt), from their
        mean or the last one, step schedule (×0.1 at 50% and 75%); the
        official head-stage CIFAR values (lr 2, wd 1e-5), 2 epochs.
  t, v  the journal version: w = c + Σ_i Σ_l X[i,l]·Q_{i,l} (c the mean, Q
        the unit directions of checkpoint i minus c per parameter tensor l,
        X = 0 at the start), X trained with AdamW (lr 1e-3, 10 epochs, cosine
        with 20% warm-up) on the whole training split (t) or on a seeded,
        stratified --val-ratio held-out fraction of it (v; train without it:
        "trustml train --holdout R --holdout-seed S"). The SWA point is
        reported beside the result.

Batch-norm statistics are recomputed on the training split at the end. The
result is evaluated on the test split and saved atomically.`,
		Example: `  trustml train --arch cnn-small --epochs 6 --save-every 1 --holdout 0.1 --out /tmp/run.ckpt
  trustml average twa /tmp/run-ep00[3-6].ckpt --out /tmp/twa.ckpt               # ICLR
  trustml average twa --variant v /tmp/run-ep00[3-6].ckpt --out /tmp/twa-v.ckpt  # journal, TWA-v`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if f.cfg, err = train.TWAConfig(f.cfg, variant, cmd.Flags().Changed); err != nil {
				return err
			}
			return runAverage(cmd, &f, args)
		},
	}
	f.add(cmd, "twa.ckpt")
	fl, c := cmd.Flags(), &f.cfg
	fl.StringVar(&variant, "variant", "iclr", "iclr (projected SGD in the linear span), t or v (journal: layer-wise affine, AdamW, on the training or a held-out split)")
	fl.IntVar(&c.Epochs, "epochs", 0, "TWA epochs (default 2 for iclr, 10 for t and v)")
	fl.IntVar(&c.Batch, "batch", c.Batch, "batch size")
	fl.Float64Var(&c.LR, "lr", 0, "learning rate of the SGD of iclr (default 2: projected gradients are small) or of the AdamW of t and v (default 0.001)")
	fl.Float64Var(&c.WeightDecay, "wd", c.WeightDecay, "iclr: weight decay")
	fl.Float64Var(&c.Momentum, "momentum", c.Momentum, "iclr: SGD momentum")
	fl.StringVar(&c.Start, "start", c.Start, "iclr: start point, mean (the SWA average) or last (the last checkpoint)")
	fl.Float64Var(&c.ValRatio, "val-ratio", c.ValRatio, "v: fraction of the training split held out to learn the coefficients on")
	fl.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the mini-batches (and, for v, of the held-out split)")
	completeNames(cmd, "variant", train.TWAVariants)
	return cmd
}

// runAverage makes the average of f.cfg.Method and prints it.
func runAverage(cmd *cobra.Command, f *averageFlags, paths []string) error {
	c := f.cfg
	if err := f.data.loadTrainTest(&c.Train, &c.Test); err != nil {
		return err
	}
	c.Checkpoints, c.Progress, c.Meta = paths, newBar(cmd.ErrOrStderr()), commandMeta()
	res, err := train.Average(cmd.Context(), c)
	return printResult(cmd, res, err, f.asJSON)
}

// loadTrainTest loads the training and the test split of the data set.
func (f *dataFlags) loadTrainTest(tr, te **data.Dataset) (err error) {
	if *tr, err = f.load(data.Train); err == nil {
		*te, err = f.load(data.Test)
	}
	return err
}
