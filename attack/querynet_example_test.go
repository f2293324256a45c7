package attack_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/zoo"
)

// QueryNet against the embedded Fashion-MNIST model: three test images,
// ℓ∞ ε = 0.1, at most 30 queries each; the oracle counts every query.
func ExampleQueryNet() {
	net, _, err := zoo.Default()
	if err != nil {
		panic(err)
	}
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		panic(err)
	}
	x, y := test.X[:3*test.SampleSize()], test.Y[:3]
	a := attack.NewQueryNet()
	a.Eps = 0.1
	a.InitSteps = 20 // a short first training, for the example
	o, err := attack.NewOracle(net, attack.OracleOptions{Budget: 30})
	if err != nil {
		panic(err)
	}
	res, err := a.Run(context.Background(), o, x, y, attack.RunOptions{Rand: rand.New(rand.NewPCG(1, 0))})
	if err != nil {
		panic(err)
	}
	within := true
	for i := range y {
		within = within && res.Queries[i] <= 30 && res.Queries[i] == o.Count(i)
	}
	fmt.Println(a.Name(), a.Surrogates, "queries within budget:", within)
	// Output:
	// querynet [conv2 conv1 mlp] queries within budget: true
}
