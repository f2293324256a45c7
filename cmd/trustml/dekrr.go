package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/dekrr"
	"github.com/trustml/trustml/repro"
)

// newKernelDeKRRCmd is "trustml kernel dekrr".
func newKernelDeKRRCmd() *cobra.Command {
	c := dekrr.DefaultConfig()
	cmd := libCmd("dekrr", "Decentralized KRR with data-dependent random features: nodes exchange model messages over NATS",
		"  trustml kernel dekrr --nodes 8 --topology ring\n  trustml kernel dekrr --nodes 8 --topology random:0.3 --procs --kill-node 3 --kill-round 50\n  trustml kernel dekrr --nats nats://host:4222 --run r1 --external   # coordinator; then on each machine:\n  trustml kernel dekrr --nats nats://host:4222 --run r1 --node 2",
		&c, byValue(dekrr.Run))
	cmd.Long = "Run dekrr.Run: shard a regression set over --nodes nodes on a connected graph, fit DeKRR-DDRF by\nmessages over NATS (an embedded server unless --nats), and compare with local-only and centralized KRR."
	return cmd
}

func init() {
	registerRepro(func() *cobra.Command {
		c := repro.DefaultDeKRRConfig()
		return libCmd("dekrr", "DeKRR-DDRF over NATS vs local-only and centralized KRR: test RSE, messages, bytes, rounds to converge",
			"  trustml repro dekrr --reps 3 --json", &c, byValue(repro.DeKRR))
	})
}
