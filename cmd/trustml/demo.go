package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/robust"
	"github.com/trustml/trustml/zoo"
)

func init() { register(newDemoCmd) }

// demoRobustness runs the demo's Square evaluation on the first n test
// images, with AAA calibrated on the last 1000.
func demoRobustness(cmd *cobra.Command, net *nn.Network, test *data.Dataset, n, budget int) (*robust.Report, error) {
	if n < 1 || n > test.Len()-1000 || budget < 2 {
		return nil, fmt.Errorf("--n must be in [1, %d] and --budget ≥ 2", test.Len()-1000)
	}
	size := test.SampleSize()
	lo := test.Len() - 1000
	cfg := robust.Config{
		Attacks: []string{"square"}, Defenses: []string{"none", "aaa-linear", "rnd", "outrnd"},
		Norm: attack.LInf, Eps: 0.1, Budget: budget, Checkpoints: []int{min(100, budget), budget}, Quantize: true,
		CalibrationX: test.X[lo*size:], CalibrationY: test.Y[lo:],
	}
	if cfg.Checkpoints[0] == budget {
		cfg.Checkpoints = cfg.Checkpoints[1:]
	}
	bar := newBar(cmd.ErrOrStderr())
	cfg.Progress = pairProgress(bar, "")
	rep, err := robust.Run(cmd.Context(), net, test.X[:n*size], test.Y[:n], cfg)
	if err != nil {
		return nil, err
	}
	bar.Log("")
	rep.Model, rep.Data = zoo.DefaultName, fmt.Sprintf("%s (test, first %d)", test.Name, n)
	return rep, nil
}

func newDemoCmd() *cobra.Command {
	var (
		asJSON bool
		show   int
		n      int
		budget int
		outDir string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the main job on embedded defaults: the default model's accuracy and calibration, and a short robustness report",
		Long: `Load the default model (a small CNN trained on Fashion-MNIST, embedded in the
binary) and the embedded Fashion-MNIST test subset, and report accuracy,
negative log-likelihood, expected calibration error and a few predictions.
Then attack the first 200 test images with the Square attack (L∞, ε = 0.1,
500 queries per image) through four output layers — no defense, AAA
(linear), input noise (RND) and output noise — and print clean accuracy,
robust accuracy at 100 and 500 queries, queries needed and calibration, with
PNG plots in ./trustml-demo. About two minutes on 2 cores; needs no download
and no flags. "trustml attack" runs any attack against any defense.`,
		Example: "  trustml demo\n  trustml demo --n 50 --budget 200 --out-dir /tmp/demo\n  trustml demo --json",
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
			m, logits, err := metrics.EvaluateClassifier(cmd.Context(), net, test.X, test.Y)
			if err != nil {
				return err
			}
			k := net.NumClasses()
			probs := make([]float32, len(logits))
			metrics.Softmax(probs, logits, k)
			type pred struct {
				Index      int     `json:"index"`
				True       string  `json:"true"`
				Predicted  string  `json:"predicted"`
				Confidence float64 `json:"confidence"`
			}
			var preds []pred
			for i := 0; i < min(show, test.Len()); i++ {
				row := probs[i*k : (i+1)*k]
				a := metrics.Argmax(row)
				preds = append(preds, pred{i, test.Classes[test.Y[i]], test.Classes[a], float64(row[a])})
			}
			out := cmd.OutOrStdout()
			rep, err := demoRobustness(cmd, net, test, n, budget)
			if err != nil {
				return err
			}
			if outDir != "" {
				if err := os.MkdirAll(outDir, 0o755); err != nil {
					return err
				}
			}
			if asJSON {
				for i := range rep.Pairs {
					rep.Pairs[i].Samples = nil // keep the demo's JSON short
				}
				return writeJSON(out, map[string]any{"model": zoo.DefaultName, "model_meta": meta, "data": test.Name, "metrics": m, "predictions": preds, "robustness": rep})
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
			fmt.Fprintln(out)
			fmt.Fprintln(out, "Robustness against the Square query attack (AAA temperature tuned on the last 1000 test images, disjoint from the attacked ones):")
			return printReport(out, rep, false, outDir)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&show, "show", 8, "number of predictions to show")
	cmd.Flags().IntVar(&n, "n", 200, "test images to attack")
	cmd.Flags().IntVar(&budget, "budget", 500, "queries per image")
	cmd.Flags().StringVar(&outDir, "out-dir", "trustml-demo", `directory for the PNG plots ("" for none)`)
	return cmd
}
