package defense_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/nn"
)

// UniG is built into a network (it needs the penultimate features and the
// linear head): every call fits its multipliers on the batch.
func ExampleUniG() {
	net, err := nn.New(nn.MLP([]int{1, 4, 4}, []int{8}, 3), 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := defense.DefaultUniGConfig()
	cfg.Delta = 0.3
	d, err := defense.NewUniG(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	x := make([]float32, 4*16) // four grey images
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	defended := defense.Wrap(net, d)
	z := make([]float32, 4*3)
	if err := defended.Logits(context.Background(), z, x); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("defended logits:", len(z), defended.Output())

	// A model that hides its features cannot be defended.
	_, err = d.WrapModel(defense.Wrap(net, defense.Identity{}))
	fmt.Println(errors.Is(err, defense.ErrNoHead))
	// Output:
	// defended logits: 12 logits
	// true
}
