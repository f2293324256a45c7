package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/repro"
)

func init() { registerRepro(newReproFlatCmd) }

func newReproFlatCmd() *cobra.Command {
	cfg := repro.DefaultFlatConfig()
	var archs, arms, noise, shardSpec string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "flat",
		Short: "Flat-minima optimizers (SGD, SAM, F-SAM, RWP, m-ARWP, ARWP) on Fashion-MNIST, clean and with label noise",
		Long: `Reproduce, at small scale, the flat-minima optimizer comparison of SAM (Foret
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
runs as JSON and --from merges saved shards into one table without training.`,
		Example: `  trustml repro flat        # the README's table (45 minutes on 2 cores)
  trustml repro flat --archs cnn-small --seeds 1 --epochs 3 --train-n 2000
  trustml repro flat --shard 0/2 --out flat-0.json
  trustml repro flat --shard 1/2 --out flat-1.json
  trustml repro flat --from flat-0.json,flat-1.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.ParseFlags(archs, arms, noise, shardSpec); err != nil {
				return err
			}
			cfg.Progress = newBar(cmd.ErrOrStderr())
			res, err := repro.Flat(cmd.Context(), cfg)
			return printResult(cmd, res, err, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Data, "data", cfg.Data, `data set: "auto" (the full Fashion-MNIST when installed, else the embedded subset) or a name`)
	fl.StringVar(&cfg.DataDir, "data-dir", "", "directory with the Fashion-MNIST IDX files")
	fl.StringVar(&archs, "archs", strings.Join(cfg.Archs, ","), "architectures, comma-separated ("+strings.Join(nn.Architectures, ", ")+")")
	fl.StringVar(&arms, "arms", strings.Join(repro.FlatArms, ","), "optimizers, comma-separated")
	fl.StringVar(&noise, "noise", "0,0.4", "symmetric label-noise rates, comma-separated")
	fl.IntVar(&cfg.Seeds, "seeds", cfg.Seeds, "seeds per arm (1..seeds)")
	fl.IntVar(&cfg.TrainN, "train-n", cfg.TrainN, "training images used (the first n of the training split)")
	fl.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "epochs of SGD; every arm makes the same number of updates")
	fl.IntVar(&cfg.Batch, "batch", cfg.Batch, "batch size")
	fl.Float64Var(&cfg.LR, "lr", cfg.LR, "base learning rate of the SGD base optimizer")
	fl.IntVar(&cfg.HessN, "hess-n", cfg.HessN, "training images for the top Hessian eigenvalue (0 = skip)")
	fl.IntVar(&cfg.HessIters, "hess-iters", cfg.HessIters, "Lanczos steps for the top Hessian eigenvalue")
	fl.IntVar(&cfg.Jobs, "jobs", cfg.Jobs, "runs trained concurrently")
	fl.StringVar(&shardSpec, "shard", "", "run only shard i/N of the runs")
	fl.StringVar(&cfg.Out, "out", "", "save the runs as JSON to this file (atomic)")
	fl.StringSliceVar(&cfg.From, "from", nil, "tabulate runs saved by --out instead of training (comma-separated files)")
	fl.BoolVar(&asJSON, "json", false, "print the runs and the table as JSON")
	fl.BoolVar(&cfg.EqualEvals, "equal-evals", false, "give RWP and m-ARWP as many batches as SGD (half the updates) instead of as many updates")
	return cmd
}
