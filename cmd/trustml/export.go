package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/onnx"
	"github.com/trustml/trustml/zoo"
)

func init() { register(newExportCmd) }

func newExportCmd() *cobra.Command {
	o, model, out := onnx.ExportOptions{}, "", ""
	cmd := &cobra.Command{
		Use:     "export --onnx FILE",
		Short:   "Export a model to ONNX (opset 13, NCHW, dynamic batch) for Triton, KServe or ONNX Runtime",
		Example: "  trustml export --onnx fashion-cnn.onnx\n  trustml export --model my.ckpt --onnx my.onnx --probabilities --features",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			net, meta, err := zoo.OpenNetwork(model)
			if o.Metadata = meta; err == nil { // the checkpoint's training command, data, metrics
				if err = onnx.ExportFile(out, net, o); err == nil {
					cmd.Printf("wrote %s: %s\n", out, onnx.ExportSignature(net, o))
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&out, "onnx", "", "ONNX file to write (required)")
	cmd.Flags().StringVar(&model, "model", "default", modelHelp)
	cmd.Flags().BoolVar(&o.Probabilities, "probabilities", false, `add the output "probabilities" (softmax of the logits)`)
	cmd.Flags().BoolVar(&o.Features, "features", false, `add the output "features" (the penultimate layer, which feature-based OoD detectors use)`)
	cmd.MarkFlagRequired("onnx")
	return cmd
}
