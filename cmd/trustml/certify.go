package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/certify"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/zoo"
)

func init() { register(newCertifyCmd) }

func newCertifyCmd() *cobra.Command {
	var df dataFlags
	var modelS, outDir string
	var asJSON bool
	c := certify.Config{Split: "test", Sigmas: []float64{0.25}, N0: 100, N: 10000, Alpha: 0.001, NImages: 200, Skip: 1, Seed: 1}
	cmd := &cobra.Command{Use: "certify", Args: cobra.NoArgs,
		Short: "Randomized smoothing: certified L2 radius (or abstention) per test image, certified accuracy at radii",
		Long: `Certify the smoothed classifier argmax P(f(x + N(0, σ²I)) = c) (Cohen et al. 2019): the class of
--n0 noise samples, a Clopper–Pearson lower bound p on its probability from --n fresh ones at level
1 − α and the L2 radius σ·Φ⁻¹(p), abstaining when p < ½; certified accuracy at radii, ACR, a PNG.`,
		Example: "  trustml certify --sigma 0.25,0.5 --n 10000 --n-images 200 --out-dir /tmp/certify\n  trustml certify --model smooth.ckpt --predict --shard 0/4 --json",
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			c.ModelName, c.Progress = modelS, newBar(cmd.ErrOrStderr())
			if c.Model, err = zoo.Open(cmd.Context(), modelS, oip.ClientOptions{}); err == nil {
				c.Data, err = df.load(data.Test)
			}
			var rep *certify.Report
			if err == nil {
				rep, err = certify.Run(cmd.Context(), c)
			}
			if err == nil && outDir != "" {
				_, err = rep.WritePlot(outDir)
			}
			return printResult(cmd, rep, err, asJSON)
		},
	}
	df.add(cmd, data.DefaultName)
	bindFlags(cmd.Flags(), &c)
	cmd.Flags().StringVar(&modelS, "model", "default", modelHelp)
	cmd.Flags().StringVar(&outDir, "out-dir", "", "directory for "+certify.PlotFile+", certified accuracy against radius")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report, with every image's class and radius, as JSON")
	cmd.AddCommand(newCertifyMergeCmd())
	return cmd
}
