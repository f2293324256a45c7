package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/pcb"
)

func init() {
	register(func() *cobra.Command {
		t, d, e := pcb.DefaultTrainConfig(), pcb.DefaultDetectConfig(), pcb.DefaultEvalConfig()
		cmd := &cobra.Command{Use: "pcb", Short: "PCB defect detection on DeepPCB template/tested pairs: fit the image-difference baseline or train the two-input CNN, detect, evaluate"}
		cmd.AddCommand(libCmd("train", "Fit the baseline's defect-type classifier (or train the deep detector) on DeepPCB pairs and save it", "  trustml pcb train --out pcb-baseline.json\n  trustml pcb train --detector deep --out pcb-deep.ckpt", &t, pcb.RunTrain),
			libCmd("detect", "Detect defects (x1,y1,x2,y2,confidence,type files, PNGs) and evaluate them: AP per type, mAP, F-score, images/s",
				"  trustml pcb detect --model pcb-baseline.json --out pcb-dets --png pcb-png --limit 20", &d, pcb.RunDetect),
			libCmd("eval", "Evaluate any detector's x1,y1,x2,y2,confidence,type files with the DeepPCB authors' protocol",
				"  trustml pcb eval --dets pcb-dets --split test", &e, pcb.RunEval))
		return cmd
	})
}
