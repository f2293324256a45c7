package fed_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/fed"
)

// Three clients with a Dirichlet(0.5) label split of the embedded digits
// set train an MLP by FedAvg over an embedded NATS server, in one round.
func ExampleRun() {
	c := fed.DefaultConfig()
	c.Method, c.Data, c.Clients, c.Alpha, c.TrainSamples, c.TestPerClient, c.Rounds = fed.MethodFedAvg, "digits", 3, 0.5, 600, 30, 1
	r, err := fed.Run(context.Background(), c)
	if err != nil {
		fmt.Println(err)
		return
	}
	res := r.Result
	fmt.Printf("%d clients evaluated, %.0f messages and %.0f bytes per round, accuracy above chance: %v\n",
		len(res.Evaluated()), res.MessagesPerRound, res.BytesPerRound, res.MeanAccuracy() > 0.1)
	// Output: 3 clients evaluated, 6 messages and 1219956 bytes per round, accuracy above chance: true
}
