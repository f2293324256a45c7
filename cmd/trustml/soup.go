package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/train"
)

func newAverageSoupCmd() *cobra.Command {
	f := averageFlags{cfg: train.DefaultAverageConfig("soup-mehl+")}
	var method string
	names := train.SoupNames()
	cmd := &cobra.Command{
		Use:   "soup CHECKPOINT...",
		Short: "Model soups of fine-tuned checkpoints: " + strings.Join(names, ", "),
		Long: `Combine the weights of models fine-tuned from one starting point into one model
of the same size (a "model soup"):

  uniform  the mean of the weights
  greedy   models sorted by held-out accuracy, each added to the soup if the
           held-out accuracy does not drop (Wortsman et al., "Model soups",
           ICML 2022)
  mehl     MEHL-Soup (Li et al., "Learning Scalable Model Soup on a Single
           GPU: An Efficient Subspace Training Strategy", ECCV 2024): affine
           mixing coefficients, one per model, learned on the held-out split
           with AdamW, --batch-models models at a time
  mehl+    MEHL-Soup+: one coefficient per model and parameter tensor

The held-out split is a seeded, stratified --val-ratio fraction of the
training split (never the test split); train the models with --holdout equal
to --val-ratio and --holdout-seed equal to --seed. Batch-norm statistics are
recomputed on the training split after souping. Every ingredient is evaluated
on the held-out and test splits; --compare also makes and evaluates every
soup, saving the one of --method.`,
		Example: `  trustml train --arch cnn-small --holdout 0.1 --epochs 4 --out /tmp/base.ckpt
  trustml train --arch cnn-small --holdout 0.1 --init /tmp/base.ckpt --epochs 2 --lr 0.01 --seed 2 --out /tmp/ft1.ckpt
  trustml train --arch cnn-small --holdout 0.1 --init /tmp/base.ckpt --epochs 2 --lr 0.02 --seed 3 --out /tmp/ft2.ckpt
  trustml average soup /tmp/ft[1-2].ckpt --compare --out /tmp/soup.ckpt`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if f.cfg, err = train.SoupConfig(f.cfg, method); err != nil {
				return err
			}
			return runAverage(cmd, &f, args)
		},
	}
	f.add(cmd, "soup.ckpt")
	fl, c := cmd.Flags(), &f.cfg
	fl.StringVar(&method, "method", "mehl+", "soup: "+strings.Join(names, ", "))
	fl.IntVar(&c.BatchModels, "batch-models", c.BatchModels, "MEHL: models per model batch (capped at the number of checkpoints)")
	fl.IntVar(&c.Epochs, "epochs", c.Epochs, "MEHL: epochs over the held-out split per model batch")
	fl.Float64Var(&c.LR, "lr", c.LR, "MEHL: AdamW learning rate of the coefficients")
	fl.IntVar(&c.Batch, "batch", c.Batch, "MEHL: held-out mini-batch size")
	fl.Float64Var(&c.ValRatio, "val-ratio", c.ValRatio, "fraction of the training split held out for selection and coefficient learning")
	fl.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the held-out split, the model order and the mini-batches")
	fl.BoolVar(&c.Compare, "compare", false, "make and evaluate every soup, saving the --method one")
	completeNames(cmd, "method", names)
	return cmd
}
