package main

import (
	"github.com/spf13/cobra"
	"github.com/trustml/trustml/repro"
)

func init() { registerRepro(newReproImputeCmd) }
func newReproImputeCmd() *cobra.Command {
	c := repro.DefaultImputeConfig()
	return libCmd("impute", "supervised kernel imputation vs mean and kNN imputation: downstream accuracy/R², RMSE, seconds", "  trustml repro impute --rates 0.1,0.3,0.6 --reps 5", &c, byValue(repro.Impute))
}
