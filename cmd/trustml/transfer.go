package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/transfer"
)

func init() {
	register(func() *cobra.Command {
		c := transfer.DefaultConfig()
		return libCmd("transfer", "Transfer attacks (PGD, MI-FGSM) between models: success matrix, the ℓ2 measure of ℓ∞ transferability, their correlation",
			"  trustml transfer --models fashion-cnn,fashion-resnet8,onnx/testdata/fashion_cnn.onnx --attack pgd,mi-fgsm --eps 0.1 --out-dir /tmp/transfer", &c,
			func(ctx context.Context, c *transfer.Config, p progress.Reporter) (*transfer.Report, error) {
				c.Progress = p
				return transfer.Run(ctx, *c)
			})
	})
}
