package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		cfg := repro.DefaultQueryNetConfig()
		return libCmd("querynet", "QueryNet vs Square: success rate and queries to success at 100/500/2500 queries, undefended and behind AAA and RND",
			"  trustml repro querynet\n  trustml repro querynet --model http://host:8080/v2/models/fashion-cnn --n 20\n  trustml repro querynet --shard 0/2 --out q0.json; trustml repro querynet --from q0.json,q1.json",
			&cfg, repro.QueryNetRepro)
	})
}
