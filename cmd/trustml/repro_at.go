package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		c := repro.DefaultATConfig()
		return libCmd("at", "Clean and AutoAttack-lite accuracy of standard training, PGD-AT, FGSM-RS (+ CO remedy), Sub-AT and AFA; certified accuracy of smoothing and SOME",
			"  trustml repro at                     # docs/repro-at.txt\n  trustml repro at --shard 0/2 --out at-0.json\n  trustml repro at --from at-0.json,at-1.json",
			&c, byValue(repro.AT))
	})
}
