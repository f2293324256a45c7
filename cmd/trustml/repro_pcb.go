package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		c := repro.DefaultPCBConfig()
		return libCmd("pcb", "DeepPCB: the image-difference baseline's and the deep detector's mAP, F-score and AP per type on the test pairs beside the paper's 98.6% / 98.2%, images/s, training time",
			"  trustml repro pcb\n  trustml repro pcb --deep-model pcb-deep.ckpt   # a deep detector trained by trustml pcb train --detector deep\n  trustml repro pcb --shard 0/2 --out p0.json   # and 1/2 into p1.json, then:\n  trustml repro pcb --from p0.json,p1.json", &c, repro.PCB)
	})
}
