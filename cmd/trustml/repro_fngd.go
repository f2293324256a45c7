package main

import (
	"github.com/spf13/cobra"
	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		return libCmd("fngd", "SGD, Adam, K-FAC, NGD and FNGD on Fashion-MNIST: time per update, accuracy, accuracy per second", "  trustml repro fngd --plot fngd.png            # the README's table (one core)\n  trustml repro fngd --shard 0/3 --out f0.json  # then --from f0.json,f1.json,f2.json", new(repro.DefaultFNGDConfig()), repro.ReproFNGD)
	})
}
