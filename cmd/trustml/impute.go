package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/impute"
)

// newKernelImputeCmd is "trustml kernel impute".
func newKernelImputeCmd() *cobra.Command {
	c := impute.DefaultConfig()
	return libCmd("impute", "Impute missing features (mean, kNN, supervised kernel imputation) and score a downstream model",
		"  trustml kernel impute --data iris --remove 0.3 --method supervised\n  trustml kernel impute --data survey.csv --method knn --out survey-filled.csv",
		&c, byValue(impute.Run))
}
