package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/onnx"
)

func init() { register(newImportCmd) }

func newImportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     "import MODEL.onnx --out MODEL.ckpt",
		Short:   "Convert an ONNX model into a checkpoint (--model also takes MODEL.onnx directly)",
		Example: "  trustml import model.onnx --out model.ckpt\n  trustml eval --model model.ckpt --data fashion-mnist",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			net, meta, err := onnx.ConvertFile(args[0], out)
			if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%s (%s, opset %s): input %v, %d classes, %d parameters -> %s\n",
					args[0], meta["onnx_producer"], meta["onnx_opset"], net.InputShape(), net.NumClasses(), net.NumParams(), out)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "checkpoint file to write (required)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
