package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		c := repro.DefaultDefensesConfig()
		return libCmd("defenses", "Output-defense leaderboard: every score-based attack × every output defense × query budgets, beside AAA's and UniG's numbers",
			"  trustml repro defenses --out docs/leaderboard\n  trustml repro defenses --shard 0/4 --out s0.json   # ... then: trustml repro defenses --from s0.json,s1.json,s2.json,s3.json --out board", &c,
			func(ctx context.Context, c *repro.DefensesConfig, p progress.Reporter) (*repro.Leaderboard, error) {
				c.Progress = p
				return repro.Defenses(ctx, *c)
			})
	})
}
