package main

import (
	"github.com/spf13/cobra"
	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		return libCmd("hgnn", "ResMHGNN: residual multi-hypergraph network vs HGNN (one view, concatenated hyperedges), MultiHGNN, MLP; few labels", "  trustml repro hgnn --labels 5 --seeds 5 --data digits", new(repro.DefaultHGNNConfig()), byValue(repro.HGNN))
	})
}
