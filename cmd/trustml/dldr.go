package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/train"
)

func init() { register(newDLDRCmd) }

func newDLDRCmd() *cobra.Command {
	cfg := train.DefaultDLDRConfig()
	var df dataFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dldr [CHECKPOINT...]",
		Short: "Train in the tiny subspace of an SGD trajectory (DLDR: P-BFGS, P-SGD)",
		Long: `DLDR, from Li et al., "Low Dimensional Trajectory Hypothesis is True: DNNs Can
Be Trained in Tiny Subspaces" (TPAMI 2022): the weights that SGD visits lie
close to a space of a few dimensions, so a network can be trained in it.

  1. Sampling: the initial weights w₀ and the weights after each SGD epoch.
  2. PCA of these t samples (centred, in float64, through the t×t Gram
     matrix): the top --dim directions P (t samples span at most t−1).
  3. Training from w₀ with every update in w₀ + span(P) (--method ` + strings.Join(train.DLDRMethodNames(), ", ") + `):
       pbfgs  P-BFGS: BFGS on the d coordinates with an Armijo line search on
              the same mini-batch (batch 1024, 2 epochs by default)
       psgd   P-SGD: SGD on the projected gradient (lr 1, momentum 0.9, batch
              128, ×0.1 at 75% of 5 epochs by default)
     then batch-norm statistics are recomputed on the training split.

With checkpoint arguments (e.g. OUT-ep000.ckpt … written by "trustml train
--save-every 1"), they are the samples and the first is w₀ (--start picks
another). Without, dldr samples SGD on --arch itself for --sample-epochs
epochs, --samples-per-epoch per epoch; --sgd-epochs continues SGD further,
for the final-SGD reference. --label-noise corrupts that fraction of the
training labels in both phases. The report gives the explained variance and
the test accuracy of w₀, the last sample, SGD's final weights and the
subspace model, with gradient evaluations and seconds. The paper's repo log
(ResNet-32, CIFAR-100): SGD 68.34%, P-BFGS in 40 dimensions 69.92%.`,
		Example: `  # everything, on the embedded Fashion-MNIST subset (a few minutes on 2 cores)
  trustml dldr

  # under 40% symmetric label noise, 15 directions of 21 samples, P-SGD
  trustml dldr --label-noise 0.4 --samples-per-epoch 2 --dim 15 --method psgd

  # from the checkpoints of an existing run (w₀ and 10 epochs)
  trustml train --arch cnn-small --epochs 10 --save-every 1 --out /tmp/run.ckpt
  trustml dldr /tmp/run-ep0*.ckpt --dim 10 --out /tmp/dldr.ckpt --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c := cfg
			c.Checkpoints, c.Progress, c.Meta = args, newBar(cmd.ErrOrStderr()), commandMeta()
			err := c.CheckSet(cmd.Flags().Changed)
			if err == nil {
				err = df.loadTrainTest(&c.Train, &c.Test)
			}
			if err != nil {
				return err
			}
			res, err := train.DLDR(cmd.Context(), c)
			return printResult(cmd, res, err, asJSON)
		},
	}
	df.add(cmd, data.DefaultName)
	bindFlags(cmd.Flags(), &cfg)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	completeNames(cmd, "method", train.DLDRMethodNames())
	return cmd
}
