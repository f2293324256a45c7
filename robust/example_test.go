package robust_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
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
	rep, err := robust.Run(context.Background(), net, test.X[:n*784], test.Y[:n], robust.Config{
		Attacks: []string{"square"}, Defenses: []string{"none", "aaa-linear"},
		Norm: attack.LInf, Eps: 0.1, Budget: 100, Checkpoints: []int{100}, Quantize: true,
	})
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
