package transfer_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/transfer"
)

// Example crafts 10-step MI-FGSM perturbations on each embedded model and
// evaluates them on both: the ℓ2 measure of every surrogate's
// perturbations and its transfer success.
func Example() {
	cfg := transfer.DefaultConfig() // the embedded models, ε = 0.1
	cfg.N, cfg.Attacks, cfg.Steps = 10, []string{"mi-fgsm"}, []int{10}
	rep, err := transfer.Run(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("surrogates:", rep.Surrogates)
	for _, p := range rep.Pairs {
		fmt.Printf("%s → %s: ℓ∞ within ε %v, ℓ2 ratio in (0.5, 1] %v\n", p.Surrogate, p.Target, p.LInf <= cfg.Eps+1e-6, p.Ratio > 0.5 && p.Ratio <= 1)
	}
	// Output:
	// surrogates: [fashion-cnn fashion-resnet8]
	// fashion-cnn → fashion-cnn: ℓ∞ within ε true, ℓ2 ratio in (0.5, 1] true
	// fashion-cnn → fashion-resnet8: ℓ∞ within ε true, ℓ2 ratio in (0.5, 1] true
	// fashion-resnet8 → fashion-cnn: ℓ∞ within ε true, ℓ2 ratio in (0.5, 1] true
	// fashion-resnet8 → fashion-resnet8: ℓ∞ within ε true, ℓ2 ratio in (0.5, 1] true
}
