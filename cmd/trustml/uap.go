package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/repro"
	"github.com/trustml/trustml/uap"
)

func init() {
	register(func() *cobra.Command {
		c := uap.DefaultConfig()
		return libCmd("uap", "Universal adversarial perturbations (FG-UAP, UAP, GD-UAP, dominant pattern): fooling rates, transfer, dominance, PNG and .npy",
			"  trustml uap --method fg-uap --eps 0.1 --layer penultimate --targets fashion-resnet8 --out-dir /tmp/uap\n  trustml uap --method uap --train-n 500 --data fashion-mnist", &c, uap.Run)
	})
	registerRepro(func() *cobra.Command {
		c := repro.DefaultUAPConfig()
		return libCmd("uap", "FG-UAP vs UAP and random noise: fooling rates on Fashion-MNIST, white-box and transferred across models",
			"  trustml repro uap --shard 0/3 --out uap-0.json   # ... 1/3, 2/3\n  trustml repro uap --from uap-0.json,uap-1.json,uap-2.json", &c, repro.UAP)
	})
}
