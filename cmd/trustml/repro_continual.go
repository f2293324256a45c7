package main

import (
	"github.com/spf13/cobra"
	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		return libCmd("continual", "ER-LAS vs experience replay vs fine-tuning on split Fashion-MNIST (5 tasks, one pass): accuracy, forgetting", "  trustml repro continual                            # the README's table (one core)\n  trustml repro continual --shard 0/3 --out c0.json  # then --from c0.json,c1.json,c2.json", new(repro.DefaultContinualConfig()), repro.ReproContinual)
	})
}
