package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/unlearn"
)

func init() {
	register(func() *cobra.Command {
		cfg := unlearn.DefaultConfig()
		cmd := libCmd("unlearn", "Machine unlearning (SFR-on, NatMU, ft, ga, rl, l1, salun, retrain): forget/retain/test accuracy, MIA, gap to retraining",
			"  trustml unlearn --method sfr-on --forget class:3 --out unlearned.ckpt\n  trustml unlearn --model m.ckpt --data fashion-mnist --method natmu --forget random:0.1 --reference none --json",
			&cfg, unlearn.Run)
		completeNames(cmd, "method", unlearn.Methods())
		return cmd
	})
	registerRepro(func() *cobra.Command {
		cfg := unlearn.DefaultReproConfig()
		cmd := libCmd("unlearn", "Machine unlearning on Fashion-MNIST: every method beside retraining on all metrics, and UG-CLU; --shard i/N --out, --from",
			"  trustml repro unlearn\n  trustml repro unlearn --shard 0/2 --out u0.json && trustml repro unlearn --shard 1/2 --out u1.json\n  trustml repro unlearn --from u0.json,u1.json",
			&cfg, unlearn.Repro)
		completeNames(cmd, "methods", unlearn.Methods())
		return cmd
	})
}
