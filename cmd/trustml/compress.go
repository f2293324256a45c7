package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/compress"
	"github.com/trustml/trustml/repro"
)

func init() {
	register(func() *cobra.Command {
		c := compress.DefaultConfig()
		return libCmd("compress", "Compress a network's dense layers by SVD, TT/TR/Tucker or their semi-tensor-product forms STT/STR/STTu: values stored, accuracy before/after",
			"  trustml compress --method stt --ratio 10\n  trustml compress --model net.ckpt --method tucker --ratio 20 --out small.ckpt", &c, compress.Run)
	})
	registerRepro(func() *cobra.Command {
		c := repro.DefaultSTTConfig()
		return libCmd("stt", "STT/STR/STTu vs TT/TR/Tucker: reconstruction error at equal storage on real tensors, accuracy vs compression of the CNN's dense layers",
			"  trustml repro stt --out-dir /tmp/stt\n  trustml repro stt --images 0 --sample '' --ratios 5,10", &c, repro.STT)
	})
}
