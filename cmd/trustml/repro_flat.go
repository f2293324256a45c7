package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		cfg := repro.DefaultFlatConfig()
		cmd := libCmd("flat", "Flat-minima optimizers (SGD, SAM, F-SAM, RWP, m-ARWP, ARWP) on Fashion-MNIST, clean and with label noise", `  trustml repro flat        # the README's table (45 minutes on 2 cores)
  trustml repro flat --archs cnn-small --seeds 1 --epochs 3 --train-n 2000
  trustml repro flat --shard 0/2 --out flat-0.json
  trustml repro flat --shard 1/2 --out flat-1.json
  trustml repro flat --from flat-0.json,flat-1.json`, &cfg, byValue(repro.Flat))
		cmd.Long = `Reproduce, at small scale, the flat-minima optimizer comparison of SAM (Foret
et al., ICLR 2021), F-SAM (Li et al., CVPR 2024), RWP (Li et al.) and ARWP /
m-ARWP (Li et al., TMLR 2024), with the official defaults of "trustml train".

Every arm trains each architecture from the same initialisation per seed,
with the same SGD base (lr --lr, momentum 0.9 Nesterov, weight decay 5e-4,
cosine schedule, crop+flip augmentation, batch --batch) on the first
--train-n training images, clean and with each --noise rate of symmetric
label noise. RWP and m-ARWP use two batches per update, as in the official
code; --equal-evals gives them SGD's number of batches instead. Each model is
evaluated on the test split and by the top Hessian eigenvalue of its
training loss on --hess-n images (Lanczos). The table gives mean ± std over
seeds, updates, counted gradient evaluations and median seconds per run,
then the papers' numbers (CIFAR, ImageNet) with their sources beside ours.

--jobs runs runs concurrently, --shard i/N runs every N-th, --out saves the
runs as JSON and --from merges saved shards into one table without training.`
		return cmd
	})
}
