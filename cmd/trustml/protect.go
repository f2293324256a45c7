package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/protect"
	"github.com/trustml/trustml/repro"
)

func init() {
	register(func() *cobra.Command {
		c := protect.DefaultConfig()
		return libCmd("protect", "Make a training set unlearnable: self-ensemble protection (SEP), one-pixel shortcut (OPS) or error-minimizing noise (EM)",
			"  trustml protect --method sep --eps 0.0314 --n 2000 --epochs 6 --checkpoints 5 --steps 10 --out sep.npz --eval\n"+
				"  trustml protect --method ops --out train-images-idx3-ubyte   # + train-labels-idx1-ubyte\n"+
				"  trustml train --data sep.npz --arch cnn-small --epochs 6 --out victim.ckpt", &c, protect.Run)
	})
	registerRepro(func() *cobra.Command {
		c := repro.DefaultProtectConfig()
		return libCmd("protect", "Data protection: test accuracy of models trained on clean, SEP, OPS and EM data, with countermeasures",
			"  trustml repro protect\n  trustml repro protect --shard 0/2 --out p0.json   # and 1/2 to p1.json, then:\n  trustml repro protect --from p0.json,p1.json", &c, repro.Protect)
	})
}
