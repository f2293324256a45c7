package attack_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/attack"
)

// The AutoAttack-lite ensemble on a differentiable model: robust accuracy
// is the worst case over APGD-CE, APGD-T and Square, and Result.By says
// which component broke each sample.
func ExampleAutoAttack() {
	m := newToyModel()
	x, y := toyData(m, 20)
	o, err := attack.NewOracle(m, attack.OracleOptions{})
	if err != nil {
		panic(err)
	}
	aa := attack.NewAutoAttack()
	aa.Eps, aa.SquareQueries = 0.05, 500
	res, err := aa.Run(context.Background(), o, x, y, attack.RunOptions{Rand: rand.New(rand.NewPCG(1, 1))})
	if err != nil {
		panic(err)
	}
	counts, names := res.ByCounts()
	fmt.Printf("robust accuracy %.2f\n", res.RobustAccuracy(0))
	for _, name := range names {
		fmt.Println(name, counts[name])
	}
	// Output:
	// robust accuracy 0.60
	// apgd-ce 7
	// apgd-t 1
}

// APGD-CE alone: 100 iterations, step size halved at checkpoints.
func ExampleAPGD() {
	m := newToyModel()
	x, y := toyData(m, 20)
	o, err := attack.NewOracle(m, attack.OracleOptions{})
	if err != nil {
		panic(err)
	}
	a := attack.NewAPGDCE()
	a.Eps = 0.05
	res, err := a.Run(context.Background(), o, x, y, attack.RunOptions{Rand: rand.New(rand.NewPCG(1, 1))})
	if err != nil {
		panic(err)
	}
	fmt.Printf("robust accuracy %.2f, %d gradient queries for sample 0\n", res.RobustAccuracy(0), res.Queries[0])
	// Output:
	// robust accuracy 0.65, 102 gradient queries for sample 0
}
