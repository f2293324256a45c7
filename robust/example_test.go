package robust_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/robust"
	"github.com/trustml/trustml/zoo"
)

// Attack the default model's first 20 test images with Square, once
// undefended and once behind AAA, and compare robust accuracy.
func Example() {
	net, _, err := zoo.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	test, _ := data.EmbeddedFashion(data.Test)
	n := 20
	cfg, err := robust.NamedConfig([]string{"square"}, []string{"none", "aaa-linear"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg.Norm, cfg.Eps, cfg.Budget, cfg.Checkpoints, cfg.Quantize = attack.LInf, 0.1, 100, []int{100}, true
	rep, err := robust.Run(context.Background(), net, test.X[:n*784], test.Y[:n], cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	none, aaa := rep.Pairs[0].Summary, rep.Pairs[1].Summary
	fmt.Println("same clean accuracy:", none.CleanAccuracy == aaa.CleanAccuracy)
	fmt.Println("AAA more robust:", aaa.RobustAccuracy[0] > none.RobustAccuracy[0])
	// Output:
	// same clean accuracy: true
	// AAA more robust: true
}

// Configured values instead of names: a Square attack with its own
// settings (and threat model, since Config.Eps is 0) against a defense
// built by a factory.
func ExampleRun_values() {
	net, _, err := zoo.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	test, _ := data.EmbeddedFashion(data.Test)
	sq := attack.NewSquare()
	sq.Eps, sq.PInit = 0.1, 0.1
	aaa := defense.DefaultAAAConfig(defense.Linear)
	aaa.Tau = 4
	cfg := robust.Config{
		Attacks: []attack.Attack{sq},
		Defenses: []robust.Defense{{Name: "aaa-tau4", New: func(uint64) (defense.Defense, error) {
			return defense.NewAAA(aaa)
		}}},
		Budget: 50,
	}
	rep, err := robust.Run(context.Background(), net, test.X[:10*784], test.Y[:10], cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := rep.Pairs[0]
	fmt.Println(p.Attack, "vs", p.Defense, p.Threat.Eps)
	// Output:
	// square vs aaa-tau4 0.1
}

// Demo is "trustml demo": the default model's metrics, a few predictions and
// the Square attack against four output layers (here on 5 images with 20
// queries each).
func ExampleDemo() {
	res, err := robust.Demo(context.Background(), robust.DemoConfig{N: 5, Budget: 20, Show: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Metrics.N, len(res.Predictions), len(res.Robustness.Pairs))
	// Output: 2000 2 4
}
