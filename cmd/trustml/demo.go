package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/robust"
)

func init() { register(newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var (
		asJSON bool
		outDir string
		cfg    robust.DemoConfig
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the main job on embedded defaults: the default model's accuracy and calibration, and a short robustness report",
		Long: `Load the embedded default model (a small CNN trained on Fashion-MNIST) and
the embedded test subset; report accuracy, NLL, ECE and a few predictions.
Then attack the first 200 test images with Square (L∞, ε = 0.1, 500 queries
per image) through no defense, AAA (linear), input noise (RND) and output
noise, and print clean and robust accuracy, queries needed and calibration,
with PNG plots in ./trustml-demo. About two minutes on 2 cores; no download,
no flags. "trustml attack" runs any attack against any defense.`,
		Example: "  trustml demo\n  trustml demo --n 50 --budget 200 --out-dir /tmp/demo\n  trustml demo --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.N < 1 || cfg.Budget < 2 {
				return fmt.Errorf("--n must be ≥ 1 and --budget ≥ 2")
			}
			bar := newBar(cmd.ErrOrStderr())
			cfg.Progress = bar
			res, err := robust.Demo(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			bar.Log("")
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), res) // without the per-image samples
			}
			plots, err := res.WritePlots(outDir)
			if err != nil {
				return err
			}
			return res.WriteText(cmd.OutOrStdout(), plots)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&cfg.Show, "show", 8, "number of predictions to show")
	cmd.Flags().IntVar(&cfg.N, "n", 200, "test images to attack")
	cmd.Flags().IntVar(&cfg.Budget, "budget", 500, "queries per image")
	cmd.Flags().StringVar(&outDir, "out-dir", "trustml-demo", `directory for the PNG plots ("" for none)`)
	return cmd
}
