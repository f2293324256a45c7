package main

import (
	"github.com/spf13/cobra"
	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		return libCmd("robustopt", "Robust OoD stochastic optimization: RKHS-ball robust newsvendor vs SAA on unseen shifted demand", "  trustml repro robustopt --reps 20 --shift 1 --level 0.8", new(repro.DefaultRobustOptConfig()), byValue(repro.RobustOpt))
	})
}
