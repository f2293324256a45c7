package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/eval"
	"github.com/trustml/trustml/zoo"
)

func init() { register(newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var (
		asJSON bool
		show   int
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the main job on embedded defaults: the default model's accuracy, calibration and predictions",
		Long: `Load the default model (a small CNN trained on Fashion-MNIST, embedded in the
binary) and the embedded Fashion-MNIST test subset, and report accuracy,
negative log-likelihood, expected calibration error and a few predictions.
Needs no download and no flags.`,
		Example: "  trustml demo\n  trustml demo --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			net, meta, err := zoo.Default()
			if err != nil {
				return err
			}
			test, err := data.EmbeddedFashion(data.Test)
			if err != nil {
				return err
			}
			m, logits, err := eval.Classifier(cmd.Context(), net, test.X, test.Y)
			if err != nil {
				return err
			}
			k := net.NumClasses()
			probs := make([]float32, len(logits))
			eval.Softmax(probs, logits, k)
			type pred struct {
				Index      int     `json:"index"`
				True       string  `json:"true"`
				Predicted  string  `json:"predicted"`
				Confidence float64 `json:"confidence"`
			}
			var preds []pred
			for i := 0; i < min(show, test.Len()); i++ {
				row := probs[i*k : (i+1)*k]
				a := eval.Argmax(row)
				preds = append(preds, pred{i, test.Classes[test.Y[i]], test.Classes[a], float64(row[a])})
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, map[string]any{"model": zoo.DefaultName, "model_meta": meta, "data": test.Name, "metrics": m, "predictions": preds})
			}
			fmt.Fprintf(out, "Default model %q (%s, %d parameters), trained with:\n  %s\n\n", zoo.DefaultName, net.Spec().Name, net.NumParams(), meta["command"])
			table(out, []string{"data", "n", "accuracy", "nll", "ece"}, [][]string{
				{test.Name + " (test)", fmt.Sprint(m.N), pct(m.Accuracy), fmt.Sprintf("%.4f", m.NLL), pct(m.ECE)},
			})
			fmt.Fprintln(out)
			var rows [][]string
			for _, p := range preds {
				mark := "ok"
				if p.True != p.Predicted {
					mark = "WRONG"
				}
				rows = append(rows, []string{fmt.Sprint(p.Index), p.True, p.Predicted, pct(p.Confidence), mark})
			}
			table(out, []string{"#", "true", "predicted", "confidence", ""}, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&show, "show", 8, "number of predictions to show")
	return cmd
}
