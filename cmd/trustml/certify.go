package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/certify"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/zoo"
)

func init() { register(newCertifyCmd) }

func newCertifyCmd() *cobra.Command {
	var df dataFlags
	var modelS, shardS, outDir string
	var asJSON bool
	c := certify.Config{Split: "test"}
	cmd := &cobra.Command{Use: "certify", Args: cobra.NoArgs,
		Short: "Randomized smoothing: certified L2 radius (or abstention) per test image, certified accuracy at radii",
		Long: `Certify the smoothed classifier argmax P(f(x + N(0, σ²I)) = c) (Cohen et al. 2019): the class of
--n0 noise samples, a Clopper–Pearson lower bound p on its probability from --n fresh ones at level
1 − α and the L2 radius σ·Φ⁻¹(p), abstaining when p < ½; certified accuracy at radii, ACR, a PNG.`,
		Example: "  trustml certify --sigma 0.25,0.5 --n 10000 --n-images 200 --out-dir /tmp/certify\n  trustml certify --model smooth.ckpt --predict --shard 0/4 --json",
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			c.ModelName, c.Progress = modelS, newBar(cmd.ErrOrStderr())
			if c.Shard, err = shard.Parse(shardS); err == nil {
				if c.Model, err = zoo.Open(cmd.Context(), modelS, oip.ClientOptions{}); err == nil {
					c.Data, err = df.load(data.Test)
				}
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
	fl := cmd.Flags()
	df.add(cmd, data.DefaultName)
	fl.StringVar(&modelS, "model", "default", modelHelp)
	fl.Float64SliceVar(&c.Sigmas, "sigma", []float64{0.25}, "noise standard deviation(s) σ on the [0, 1] pixel scale")
	fl.IntVar(&c.N0, "n0", 100, "noise samples that choose the class")
	fl.IntVar(&c.N, "n", 10000, "fresh noise samples that bound its probability (the paper: 100000)")
	fl.Float64Var(&c.Alpha, "alpha", 0.001, "failure probability α of each certificate")
	fl.IntVar(&c.NImages, "n-images", 200, "certify at most this many images (0 = all)")
	fl.IntVar(&c.Skip, "skip", 1, "certify every k-th test image")
	fl.BoolVar(&c.Predict, "predict", false, "also run Predict (n fresh samples, binomial test; abstains) and report its accuracy")
	fl.Uint64Var(&c.Seed, "seed", 1, "seed of the noise")
	fl.StringVar(&shardS, "shard", "", "certify shard i/N of the images (certify.Merge combines the --json reports)")
	fl.StringVar(&outDir, "out-dir", "", "directory for "+certify.PlotFile+", certified accuracy against radius")
	fl.BoolVar(&asJSON, "json", false, "print the report, with every image's class and radius, as JSON")
	return cmd
}
