package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// soupMethods are the values of --method, in the order --compare runs them.
var soupMethods = []string{"uniform", "greedy", "mehl", "mehl+"}

type soupFlags struct {
	averageFlags
	method      string
	batchModels int
	epochs      int
	lr          float64
	batch       int
	valRatio    float64
	seed        uint64
	compare     bool
}

func newAverageSoupCmd() *cobra.Command {
	var f soupFlags
	cmd := &cobra.Command{
		Use:   "soup CHECKPOINT...",
		Short: "Model soups of fine-tuned checkpoints: uniform, greedy, MEHL-Soup(+)",
		Long: `Combine the weights of models fine-tuned from one starting point into one model
of the same size (a "model soup"):

  uniform  the mean of the weights
  greedy   models sorted by held-out accuracy, each added to the soup (the
           mean of its ingredients) if the held-out accuracy does not drop
           (Wortsman et al., "Model soups: averaging weights of multiple
           fine-tuned models improves accuracy without increasing inference
           time", ICML 2022)
  mehl     MEHL-Soup (Li et al., "Learning Scalable Model Soup on a Single
           GPU: An Efficient Subspace Training Strategy", ECCV 2024): affine
           mixing coefficients, one per model, learned on the held-out split
           with AdamW (cosine schedule, 20% warm-up), one shuffled batch of
           --batch-models models at a time: the first batch is centred at
           its mean, later ones at the soup so far
  mehl+    MEHL-Soup+: one coefficient per model and parameter tensor

The held-out split is a seeded, stratified --val-ratio fraction of the
training split (never the test split); for a clean selection the models
should not have been trained on it: train them with --holdout equal to
--val-ratio and --holdout-seed equal to --seed, as in the example. Checkpoints must share one architecture.
If the network has batch norm, its statistics are recomputed on the training
split after souping (and, for greedy, before scoring each candidate); the
learned soups keep them frozen (momentum 0) while learning coefficients.
Every ingredient is evaluated on the held-out and test splits (with its own
batch-norm statistics, so a one-ingredient greedy soup, scored with
recomputed ones, can differ slightly from its ingredient's row); --compare
also makes and evaluates every soup, saving the one of --method.`,
		Example: `  # a base model, three fine-tunes of it (learning rate, seed, label smoothing), their soups
  # (all trained without the 10% the soup holds out)
  trustml train --arch cnn-small --holdout 0.1 --epochs 4 --out /tmp/base.ckpt
  trustml train --arch cnn-small --holdout 0.1 --init /tmp/base.ckpt --epochs 2 --lr 0.01 --seed 2 --out /tmp/ft1.ckpt
  trustml train --arch cnn-small --holdout 0.1 --init /tmp/base.ckpt --epochs 2 --lr 0.02 --seed 3 --out /tmp/ft2.ckpt
  trustml train --arch cnn-small --holdout 0.1 --init /tmp/base.ckpt --epochs 2 --lr 0.005 --seed 4 --label-smoothing 0.1 --out /tmp/ft3.ckpt
  trustml average soup /tmp/ft[1-3].ckpt --compare --out /tmp/soup.ckpt`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runAverageSoup(cmd, &f, args) },
	}
	fl := cmd.Flags()
	f.data.add(cmd, data.DefaultName)
	fl.StringVar(&f.out, "out", "soup.ckpt", "checkpoint file to write")
	fl.IntVar(&f.bnBatch, "bn-batch", 128, "batch size of the batch-norm statistics update")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	fl.StringVar(&f.method, "method", "mehl+", "soup: "+strings.Join(soupMethods, ", "))
	fl.IntVar(&f.batchModels, "batch-models", 18, "MEHL: models per model batch (capped at the number of checkpoints)")
	fl.IntVar(&f.epochs, "epochs", 5, "MEHL: epochs over the held-out split per model batch")
	fl.Float64Var(&f.lr, "lr", 0.01, "MEHL: AdamW learning rate of the coefficients")
	fl.IntVar(&f.batch, "batch", 128, "MEHL: held-out mini-batch size")
	fl.Float64Var(&f.valRatio, "val-ratio", 0.1, "fraction of the training split held out for selection and coefficient learning")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the held-out split, the model order and the mini-batches")
	fl.BoolVar(&f.compare, "compare", false, "make and evaluate every soup (uniform, greedy, mehl, mehl+), saving the --method one")
	return cmd
}

func runAverageSoup(cmd *cobra.Command, f *soupFlags, paths []string) error {
	switch {
	case !slices.Contains(soupMethods, f.method):
		return fmt.Errorf("--method %q: want one of %s", f.method, strings.Join(soupMethods, ", "))
	case f.batchModels < 1:
		return fmt.Errorf("--batch-models must be at least 1, got %d", f.batchModels)
	case f.epochs < 1:
		return fmt.Errorf("--epochs must be at least 1, got %d", f.epochs)
	case !(f.lr > 0) || f.lr > 1e6:
		return fmt.Errorf("--lr must be positive, got %g", f.lr)
	case f.batch < 1 || f.bnBatch < 1:
		return fmt.Errorf("--batch and --bn-batch must be positive")
	case !(f.valRatio > 0 && f.valRatio < 1):
		return fmt.Errorf("--val-ratio %g outside (0, 1)", f.valRatio)
	case len(paths) < 2:
		return fmt.Errorf("a soup needs at least 2 checkpoints, got %d", len(paths))
	}
	net, ws, err := loadCheckpoints(paths)
	if err != nil {
		return err
	}
	trainSet, testSet, err := loadAverageData(&f.data, net)
	if err != nil {
		return err
	}
	held, err := heldOutSplit(trainSet, f.valRatio, f.seed, "--val-ratio")
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	errw := cmd.ErrOrStderr()
	bar := newBar(errw)
	evaluate := func(name, detail string, m *nn.Network) (averageEval, error) {
		return evalAverage(ctx, name, detail, m, held, testSet)
	}
	var models []averageEval
	for _, p := range paths {
		m, _, err := nn.LoadFile(p) // its own batch-norm statistics
		if err != nil {
			return err
		}
		e, err := evaluate(filepath.Base(p), "", m)
		if err != nil {
			return err
		}
		models = append(models, e)
	}
	fmt.Fprintf(errw, "soup of %d %s checkpoints (%d parameters), %d held-out images of %s\n",
		len(paths), net.Spec().Name, net.NumParams(), held.Len(), trainSet.Name)

	extra := map[string]any{"val_ratio": f.valRatio, "held_out": held.Len(), "bn_updated": net.HasBatchNorm()}
	makeSoup := func(method string) (*nn.Network, string, error) {
		s := net.Copy()
		var detail string
		switch method {
		case "uniform":
			if err := train.UniformSoup(s.Weights(), ws); err != nil {
				return nil, "", err
			}
			detail = fmt.Sprintf("%d ingredients", len(ws))
		case "greedy":
			cfg := train.GreedyConfig{Progress: bar}
			if s.HasBatchNorm() {
				cfg.BNData, cfg.BNBatch = trainSet.X, f.bnBatch
			}
			res, err := train.GreedySoup(ctx, s, ws, held.X, held.Y, cfg)
			if err != nil {
				return nil, "", err
			}
			extra["greedy"] = res
			names := make([]string, len(res.Ingredients))
			for i, k := range res.Ingredients {
				names[i] = filepath.Base(paths[k])
			}
			detail = fmt.Sprintf("%d ingredients: %s", len(names), strings.Join(names, " "))
		case "mehl", "mehl+":
			cfg := train.DefaultMEHLConfig(rand.New(rand.NewPCG(f.seed, 0x50c9)))
			cfg.BatchModels, cfg.Epochs, cfg.LR, cfg.BatchSize = f.batchModels, f.epochs, f.lr, f.batch
			cfg.LayerWise = method == "mehl+"
			cfg.Progress = bar
			res, err := train.MEHLSoup(ctx, s, ws, held.X, held.Y, cfg)
			if err != nil {
				return nil, "", err
			}
			extra[method] = res
			detail = fmt.Sprintf("%d model batches, %d coefficients per model", len(res.Batches), len(res.Blocks))
		}
		if s.HasBatchNorm() {
			if err := train.UpdateBN(ctx, s, trainSet.X, f.bnBatch); err != nil {
				return nil, "", err
			}
		}
		return s, detail, nil
	}
	methods := []string{f.method}
	if f.compare {
		methods = soupMethods
	}
	var soups []averageEval
	var chosen *nn.Network
	for _, method := range methods {
		s, detail, err := makeSoup(method)
		if err != nil {
			return fmt.Errorf("%s soup: %w", method, err)
		}
		e, err := evaluate(method, detail, s)
		if err != nil {
			return err
		}
		bar.Log("%s soup: held-out %s, test %s (%s)", method, pct(e.HeldOut.Accuracy), pct(e.Test.Accuracy), detail)
		soups = append(soups, e)
		if method == f.method {
			chosen = s
		}
	}
	extra["models"] = models
	extra["soups"] = soups
	if !f.asJSON {
		out := cmd.OutOrStdout()
		var rows [][]string
		row := func(kind string, e averageEval) []string {
			return []string{kind, e.Name, pct(e.HeldOut.Accuracy), fmt.Sprintf("%.4f", e.HeldOut.NLL),
				pct(e.Test.Accuracy), fmt.Sprintf("%.4f", e.Test.NLL), e.Detail}
		}
		for _, e := range models {
			rows = append(rows, row("model", e))
		}
		for _, e := range soups {
			rows = append(rows, row("soup", e))
		}
		table(out, []string{"", "name", "held-out acc", "held-out nll", "test acc", "test nll", "detail"}, rows)
		fmt.Fprintln(out)
	}
	return saveAveraged(cmd, &f.averageFlags, chosen, paths, "soup-"+f.method, trainSet.Name, testSet, extra)
}
