package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/fed"
	"github.com/trustml/trustml/repro"
)

func init() {
	register(func() *cobra.Command {
		c := fed.DefaultConfig()
		return libCmd("fed", "Personalized federated learning over NATS: learn2pfed, fedavg or local training on a Dirichlet non-IID split",
			"  trustml fed --method learn2pfed --clients 10 --alpha 0.3\n  trustml fed --method fedavg --procs --kill-client 3 --kill-round 2\n  trustml fed --nats nats://host:4222 --run r1 --external   # server; then on each machine:\n  trustml fed --nats nats://host:4222 --run r1 --client 2", &c, byValue(fed.Run))
	})
	registerRepro(func() *cobra.Command {
		c := repro.DefaultPFedConfig()
		return libCmd("pfed", "Learn2pFed vs FedAvg vs local training over NATS: personalized accuracy, messages, bytes, wall time", "  trustml repro pfed --seeds 3", &c, byValue(repro.PFed))
	})
}
