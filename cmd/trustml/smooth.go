package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/pwl"
	"github.com/trustml/trustml/repro"
	"github.com/trustml/trustml/smooth"
)

func init() {
	register(func() *cobra.Command {
		c := smooth.DefaultConfig()
		return libCmd("smooth", "Edge/structure-preserving image smoothing (generalized framework, bilateral, guided, WLS): PNG out, edge vs flat gradient kept",
			"  trustml smooth --method gsmooth --in a.png --out b.png\n  trustml smooth --method bilateral --sigma-s 3 --sigma-r 0.1 --in china.jpg --max-side 256 --out b.png", &c, smooth.Run)
	})
	registerRepro(func() *cobra.Command {
		c := repro.DefaultSmoothConfig()
		return libCmd("smooth", "Generalized smoothing (SP, EP, truncated) vs bilateral, guided, WLS: edge vs flat gradient energy kept on sample images and Fashion-MNIST",
			"  trustml repro smooth\n  trustml repro smooth --images china.jpg --max-side 256", &c, repro.Smooth)
	})
	registerRepro(func() *cobra.Command {
		c := repro.DefaultPWLConfig()
		return libCmd("pwl", "ReLU MLPs as piecewise-linear maps: exact linear regions along segments and in a 2-D slice (PNG), shallow vs deep at equal units",
			"  trustml repro pwl --out-dir /tmp/pwl\n  trustml repro pwl --data wine --archs 64,32-32,16-16-16-16", &c, repro.PWL)
	})
	register(func() *cobra.Command {
		c := pwl.DefaultConfig()
		return libCmd("pwl", "A ReLU MLP as a piecewise-linear map: affine form at a sample, exact linear pieces along segments, 2-D slice PNG",
			"  trustml train --arch mlp --epochs 2 --out mlp.ckpt\n  trustml pwl --model mlp.ckpt --index 0 --out /tmp/slice.png", &c, pwl.Run)
	})
}
