package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		c := repro.TMTLConfig{Reps: 3, Seed: 1}
		return libCmd("tmtl", "tLSSVM-MTL: tensorized multitask LS-SVM vs per-task and shared LS-SVM (synthetic task grid, Boston by RAD)", "  trustml repro tmtl --reps 5 --sets boston --json", &c, byValue(repro.TMTL))
	})
}

func init() {
	registerRepro(func() *cobra.Command {
		c := repro.WNTKConfig{Reps: 3, Seed: 1}
		return libCmd("wntk", "Weighted NTK: KRR with the weighted empirical NTK of an MLP vs the plain NTK and RBF", "  trustml repro wntk --reps 5 --hidden 128,128 --json", &c, byValue(repro.WNTKRepro))
	})
}
