package main

import (
	"github.com/spf13/cobra"
	"github.com/trustml/trustml/continual"
	"github.com/trustml/trustml/data"
)

func init() { register(newContinualCmd) }

func newContinualCmd() *cobra.Command {
	cfg, df, asJSON := continual.DefaultConfig(), dataFlags{}, false
	cmd := &cobra.Command{
		Use:   "continual",
		Short: "Online class-incremental learning (5 tasks of 2 classes, one pass): ER-LAS, experience replay (er), fine-tuning (ft)",
		Long:  "Stream and replay batches of 32, SGD lr 0.03, an MLP. las: ER with τ·log(label counts of the last --window batches) added to the logits in training only (TMLR 2024); er: experience replay; ft: fine-tuning. Prints the accuracy matrix, final average accuracy and average forgetting.\n\n  trustml continual --method las --buffer 500 --tau 1 --window 1 --seed 1",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.Progress = newBar(cmd.ErrOrStderr())
			if err := df.loadTrainTest(&cfg.Train, &cfg.Test); err != nil {
				return err
			}
			res, err := continual.Run(cmd.Context(), cfg)
			return printResult(cmd, res, err, asJSON)
		},
	}
	df.add(cmd, data.DefaultName)
	bindFlags(cmd.Flags(), &cfg)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	completeNames(cmd, "method", continual.Methods)
	return cmd
}
