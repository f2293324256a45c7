package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/zoo"
)

func init() { register(newEvalCmd) }

func newEvalCmd() *cobra.Command {
	var (
		df     dataFlags
		modelS string
		split  string
		asJSON bool
		co     oip.ClientOptions
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate a classifier: accuracy, negative log-likelihood and calibration error",
		Long: `Evaluate a model on a labelled data set and print its accuracy, mean negative
log-likelihood (NLL) and expected calibration error (ECE, 15 equal-width
confidence bins). The model may be a checkpoint, an embedded name or a model
served over the Open Inference Protocol (http://host:port/v2/models/NAME).`,
		Example: `  trustml eval                                   # default model, embedded test subset
  trustml eval --data fashion-mnist              # full 10,000-image test set (Debian package)
  trustml eval --model my.ckpt --split train --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sp, err := parseSplit(split)
			if err != nil {
				return err
			}
			net, err := zoo.Open(cmd.Context(), modelS, co)
			if err != nil {
				return err
			}
			d, err := df.load(sp)
			if err != nil {
				return err
			}
			if err := checkShapes(net, d); err != nil {
				return err
			}
			m, _, err := metrics.EvaluateClassifier(cmd.Context(), net, d.X, d.Y)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, map[string]any{"model": modelS, "data": d.Name, "split": split, "metrics": m})
			}
			table(out, []string{"model", "data", "split", "n", "accuracy", "nll", "ece"}, [][]string{
				{modelS, d.Name, split, fmt.Sprint(m.N), pct(m.Accuracy), fmt.Sprintf("%.4f", m.NLL), pct(m.ECE)},
			})
			return nil
		},
	}
	df.add(cmd, data.DefaultName)
	cmd.Flags().StringVar(&modelS, "model", "default", modelHelp)
	cmd.Flags().StringVar(&split, "split", "test", "split: train or test")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&co.FeaturesOutput, "features-output", "", zoo.FeaturesHelp)
	cmd.Flags().BoolVar(&co.Binary, "binary", false, "served model over HTTP: send and receive tensors as binary data (the v2 binary tensor extension)")
	return cmd
}
