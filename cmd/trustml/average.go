package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

func init() { register(newAverageCmd) }

func newAverageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "average",
		Short: "Average the weights of checkpoints (SWA, TWA, model soups)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newAverageSWACmd(), newAverageTWACmd(), newAverageSoupCmd())
	return cmd
}

type averageFlags struct {
	data    dataFlags
	out     string
	bnBatch int
	asJSON  bool
}

func newAverageSWACmd() *cobra.Command {
	var f averageFlags
	cmd := &cobra.Command{
		Use:   "swa CHECKPOINT...",
		Short: "Stochastic weight averaging of checkpoints of one architecture",
		Long: `Average the weights of checkpoints of the same architecture with equal weights,
as stochastic weight averaging does (Izmailov et al., "Averaging Weights Leads
to Wider Optima and Better Generalization", UAI 2018): pass the checkpoints
saved at the end of each epoch from the averaging start on. If the network
has batch norm, its running statistics are then recomputed on the training
split (reset, then every batch forwarded in training mode with cumulative
averaging, as PyTorch's update_bn), since averaged weights invalidate them.
The result is evaluated on the test split and saved atomically.`,
		Example: `  trustml average swa ep12.ckpt ep13.ckpt ep14.ckpt ep15.ckpt --out swa.ckpt`,
		Args:    cobra.MinimumNArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runAverageSWA(cmd, &f, args) },
	}
	fl := cmd.Flags()
	f.data.add(cmd, data.DefaultName)
	fl.StringVar(&f.out, "out", "swa.ckpt", "checkpoint file to write")
	fl.IntVar(&f.bnBatch, "bn-batch", 128, "batch size of the batch-norm statistics update")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	return cmd
}

// loadCheckpoints loads checkpoints of one architecture and returns the
// first network and every checkpoint's weights.
func loadCheckpoints(paths []string) (*nn.Network, [][]float32, error) {
	var first *nn.Network
	var ws [][]float32
	for _, p := range paths {
		net, _, err := nn.LoadFile(p)
		if err != nil {
			return nil, nil, err
		}
		if first == nil {
			first = net
		} else if !net.Spec().Equal(first.Spec()) {
			return nil, nil, fmt.Errorf("checkpoint %s has architecture %s (%d parameters), but %s has %s (%d parameters): only checkpoints of one architecture can be averaged",
				p, net.Spec().Name, net.NumParams(), paths[0], first.Spec().Name, first.NumParams())
		}
		ws = append(ws, net.Weights())
	}
	return first, ws, nil
}

// averageCheckpoints returns a network holding the SWA average of the
// checkpoints' weights (buffers of the first one).
func averageCheckpoints(paths []string) (*nn.Network, [][]float32, error) {
	net, ws, err := loadCheckpoints(paths)
	if err != nil {
		return nil, nil, err
	}
	var avg train.SWA
	for i, w := range ws {
		if err := avg.Add(w); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", paths[i], err)
		}
	}
	if err := avg.CopyTo(net.Weights()); err != nil {
		return nil, nil, err
	}
	return net, ws, nil
}

func runAverageSWA(cmd *cobra.Command, f *averageFlags, paths []string) error {
	if f.bnBatch <= 0 {
		return fmt.Errorf("--bn-batch must be positive")
	}
	net, _, err := averageCheckpoints(paths)
	if err != nil {
		return err
	}
	trainSet, testSet, err := loadAverageData(&f.data, net)
	if err != nil {
		return err
	}
	bnUpdated := net.HasBatchNorm()
	if bnUpdated {
		if err := train.UpdateBN(cmd.Context(), net, trainSet.X, f.bnBatch); err != nil {
			return err
		}
	}
	return saveAveraged(cmd, f, net, paths, "swa", trainSet.Name, testSet, map[string]any{"bn_updated": bnUpdated})
}

// loadAverageData loads the training and test splits of --data and checks
// that both fit net.
func loadAverageData(f *dataFlags, net *nn.Network) (trainSet, testSet *data.Dataset, err error) {
	if trainSet, err = f.load(data.Train); err != nil {
		return nil, nil, err
	}
	if testSet, err = f.load(data.Test); err != nil {
		return nil, nil, err
	}
	if err := checkShapes(net, trainSet); err != nil {
		return nil, nil, err
	}
	if err := checkShapes(net, testSet); err != nil {
		return nil, nil, err
	}
	return trainSet, testSet, nil
}

// heldOutSplit returns the seeded, stratified fraction ratio of trainSet
// that selection and coefficient learning use: the same samples that
// "trustml train --holdout ratio --holdout-seed seed" leaves out of
// training. flag names the ratio's flag in errors.
func heldOutSplit(trainSet *data.Dataset, ratio float64, seed uint64, flag string) (*data.Dataset, error) {
	if !(ratio > 0 && ratio < 1) {
		return nil, fmt.Errorf("%s %g outside (0, 1)", flag, ratio)
	}
	_, valIdx, err := data.StratifiedSplitIndices(trainSet, ratio, seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if len(valIdx) == 0 {
		return nil, fmt.Errorf("%s %g holds out no sample of the %d in %s", flag, ratio, trainSet.Len(), trainSet.Name)
	}
	return trainSet.Subset(valIdx), nil
}

// averageEval is one row of a report: a checkpoint or an average,
// evaluated on the held-out split (when there is one) and the test split.
type averageEval struct {
	Name    string                  `json:"name"`
	HeldOut *metrics.Classification `json:"held_out,omitempty"`
	Test    metrics.Classification  `json:"test"`
	Detail  string                  `json:"detail,omitempty"`
}

// evalAverage evaluates net on held (skipped when nil) and test.
func evalAverage(ctx context.Context, name, detail string, net *nn.Network, held, test *data.Dataset) (averageEval, error) {
	e := averageEval{Name: name, Detail: detail}
	if held != nil {
		h, _, err := metrics.EvaluateClassifier(ctx, net, held.X, held.Y)
		if err != nil {
			return e, err
		}
		e.HeldOut = &h
	}
	te, _, err := metrics.EvaluateClassifier(ctx, net, test.X, test.Y)
	if err != nil {
		return e, err
	}
	e.Test = te
	return e, nil
}

// saveAveraged evaluates the averaged network on the test split, saves it
// with the metrics and prints the result.
func saveAveraged(cmd *cobra.Command, f *averageFlags, net *nn.Network, paths []string, method, trainName string, testSet *data.Dataset, extra map[string]any) error {
	m, _, err := metrics.EvaluateClassifier(cmd.Context(), net, testSet.X, testSet.Y)
	if err != nil {
		return err
	}
	meta := map[string]string{
		"command":       "trustml " + strings.Join(os.Args[1:], " "),
		"averaged":      strings.Join(paths, ","),
		"method":        method,
		"data":          trainName,
		"arch":          net.Spec().Name,
		"trained":       time.Now().UTC().Format(time.RFC3339),
		"test_data":     testSet.Name,
		"test_accuracy": fmt.Sprintf("%.4f", m.Accuracy),
		"test_ece":      fmt.Sprintf("%.4f", m.ECE),
		"test_nll":      fmt.Sprintf("%.4f", m.NLL),
	}
	if err := nn.SaveFile(f.out, net, meta); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.asJSON {
		res := map[string]any{"checkpoint": f.out, "method": method, "averaged": len(paths), "test": m}
		for k, v := range extra {
			res[k] = v
		}
		return writeJSON(out, res)
	}
	fmt.Fprintf(out, "%s of %d checkpoints saved to %s\n", method, len(paths), f.out)
	table(out, []string{"split", "n", "accuracy", "nll", "ece"}, [][]string{
		{testSet.Name + " (test)", fmt.Sprint(m.N), pct(m.Accuracy), fmt.Sprintf("%.4f", m.NLL), pct(m.ECE)},
	})
	return nil
}

// twaVariants are the values of average twa --variant.
var twaVariants = []string{"iclr", "t", "v"}

type twaFlags struct {
	averageFlags
	variant  string
	epochs   int
	batch    int
	lr, wd   float64
	momentum float64
	start    string
	valRatio float64
	seed     uint64
}

// Defaults of average twa's --lr and --epochs, which differ between the
// ICLR version and the journal variants.
const (
	twaICLRLR        = 2
	twaICLREpochs    = 2
	twaJournalLR     = 1e-3
	twaJournalEpochs = 10
)

func newAverageTWACmd() *cobra.Command {
	var f twaFlags
	cmd := &cobra.Command{
		Use:   "twa CHECKPOINT...",
		Short: "Trainable weight averaging: train inside the span of checkpoints (ICLR, TWA-t, TWA-v)",
		Long: `Trainable Weight Averaging (Li et al., "Trainable Weight Averaging: Accelerating
Training and Improving Generalization", ICLR 2023, and its journal version with
TWA-t and TWA-v): instead of the equal weights of SWA, learn the averaging
inside the subspace the checkpoints of one training run span. --variant picks:

  iclr  the ICLR version (default): an orthonormal basis of the linear span
        of the checkpoints (Gram–Schmidt in float64), a start at their mean
        (SWA, batch-norm statistics recomputed) or at the last checkpoint,
        then SGD with momentum whose gradients are projected onto the span
        (weight decay added after projection, so the iterate stays in it), a
        step schedule (×0.1 at 50% and 75%), and a final batch-norm update.
        Defaults are the official head-stage CIFAR values (lr 2, wd 1e-5)
        with 2 epochs for the small-scale setting; the tail stage used wd 5e-5.
  t, v  the journal version: the affine, layer-wise form
        w = c + Σ_i Σ_l X[i,l]·Q_{i,l}, with c the mean of the checkpoints,
        Q_{i,l} the unit direction of checkpoint i minus c in parameter
        tensor l, and X = 0 at the start (the SWA point), so coefficients may
        be negative and differ between layers. X is trained with AdamW (wd 0,
        lr 1e-3, 10 epochs unless --lr/--epochs are given, cosine schedule
        with 20% linear warm-up; batch-norm statistics frozen), on the whole
        training split (TWA-t) or on a seeded, stratified --val-ratio held-out
        fraction of it (TWA-v, which the paper finds generalises better). For
        a clean TWA-v, train without that fraction: "trustml train --holdout R
        --holdout-seed S" leaves out exactly the samples of --val-ratio R
        --seed S. This is MEHL-Soup+ with all checkpoints in one model batch.

If the network has batch norm, its statistics are recomputed on the training
split at the end (and for the SWA point). The journal variants also report
the SWA point (the mean of the checkpoints, X = 0) on the held-out (v) and
test splits beside the result. The result is evaluated on the test split and
saved atomically.`,
		Example: `  # 6 epochs keeping a checkpoint per epoch, without the 10% that TWA-v learns on
  trustml train --arch cnn-small --epochs 6 --save-every 1 --holdout 0.1 --out /tmp/run.ckpt
  trustml average swa /tmp/run-ep00[3-6].ckpt --out /tmp/swa.ckpt
  trustml average twa /tmp/run-ep00[3-6].ckpt --out /tmp/twa.ckpt               # ICLR
  trustml average twa --variant v /tmp/run-ep00[3-6].ckpt --out /tmp/twa-v.ckpt  # journal, TWA-v
  trustml average twa --variant t /tmp/run-ep00[3-6].ckpt --out /tmp/twa-t.ckpt  # journal, TWA-t`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runAverageTWA(cmd, &f, args) },
	}
	fl := cmd.Flags()
	f.data.add(cmd, data.DefaultName)
	fl.StringVar(&f.out, "out", "twa.ckpt", "checkpoint file to write")
	fl.IntVar(&f.bnBatch, "bn-batch", 128, "batch size of the batch-norm statistics update")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	fl.StringVar(&f.variant, "variant", "iclr", "iclr (projected SGD in the linear span), t or v (journal: layer-wise affine, AdamW, on the training or a held-out split)")
	fl.IntVar(&f.epochs, "epochs", 0, fmt.Sprintf("TWA epochs (default %d for iclr, %d for t and v)", twaICLREpochs, twaJournalEpochs))
	fl.IntVar(&f.batch, "batch", 128, "batch size")
	fl.Float64Var(&f.lr, "lr", 0, fmt.Sprintf("learning rate of the SGD of iclr (default %g: projected gradients are small) or of the AdamW of t and v (default %g)", float64(twaICLRLR), twaJournalLR))
	fl.Float64Var(&f.wd, "wd", 1e-5, "iclr: weight decay")
	fl.Float64Var(&f.momentum, "momentum", 0.9, "iclr: SGD momentum")
	fl.StringVar(&f.start, "start", "mean", "iclr: start point, mean (the SWA average) or last (the last checkpoint)")
	fl.Float64Var(&f.valRatio, "val-ratio", 0.1, "v: fraction of the training split held out to learn the coefficients on")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the mini-batches (and, for v, of the held-out split)")
	return cmd
}

func runAverageTWA(cmd *cobra.Command, f *twaFlags, paths []string) error {
	if !slices.Contains(twaVariants, f.variant) {
		return fmt.Errorf("--variant %q: want one of %s", f.variant, strings.Join(twaVariants, ", "))
	}
	fl := cmd.Flags()
	if f.variant == "iclr" {
		if !fl.Changed("lr") {
			f.lr = twaICLRLR
		}
		if !fl.Changed("epochs") {
			f.epochs = twaICLREpochs
		}
		if fl.Changed("val-ratio") {
			return fmt.Errorf("--val-ratio applies to --variant v only")
		}
		return runTWAICLR(cmd, f, paths)
	}
	for _, name := range []string{"wd", "momentum", "start"} {
		if fl.Changed(name) {
			return fmt.Errorf("--%s applies to --variant iclr only (the journal variants use AdamW without weight decay, starting at the mean)", name)
		}
	}
	if f.variant == "t" && fl.Changed("val-ratio") {
		return fmt.Errorf("--val-ratio applies to --variant v only (t learns on the whole training split)")
	}
	if !fl.Changed("lr") {
		f.lr = twaJournalLR
	}
	if !fl.Changed("epochs") {
		f.epochs = twaJournalEpochs
	}
	return runTWAJournal(cmd, f, paths)
}

func runTWAICLR(cmd *cobra.Command, f *twaFlags, paths []string) error {
	switch {
	case f.bnBatch <= 0 || f.batch <= 0 || f.epochs <= 0:
		return fmt.Errorf("--epochs, --batch and --bn-batch must be positive")
	case f.start != "mean" && f.start != "last":
		return fmt.Errorf("--start %q: want mean or last", f.start)
	}
	net, ws, err := averageCheckpoints(paths)
	if err != nil {
		return err
	}
	if f.start == "last" {
		copy(net.Weights(), ws[len(ws)-1])
	}
	basis, err := train.SpanBasis(ws)
	if err != nil {
		return err
	}
	trainSet, testSet, err := loadAverageData(&f.data, net)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if err := train.UpdateBN(ctx, net, trainSet.X, f.bnBatch); err != nil {
		return err
	}
	sgd, err := train.NewSGD(f.lr, f.momentum, f.wd, false)
	if err != nil {
		return err
	}
	opt, err := train.NewProjected(sgd, basis)
	if err != nil {
		return err
	}
	sched, _ := train.ParseSchedule("step", f.lr)
	errw := cmd.ErrOrStderr()
	fmt.Fprintf(errw, "TWA in the %d-dimensional span of %d checkpoints, %d epochs, lr %g\n", basis.Dim, len(paths), f.epochs, f.lr)
	hist, err := train.Fit(ctx, net, trainSet.X, trainSet.Y, train.Config{
		Epochs: f.epochs, BatchSize: f.batch, Seed: f.seed, Optimizer: opt, Schedule: sched,
		Progress: newBar(errw),
	})
	if err != nil {
		return err
	}
	if err := train.UpdateBN(ctx, net, trainSet.X, f.bnBatch); err != nil {
		return err
	}
	return saveAveraged(cmd, &f.averageFlags, net, paths, "twa", trainSet.Name, testSet,
		map[string]any{"dim": basis.Dim, "history": hist, "span_residual": basis.Residual(net.Weights())})
}

// runTWAJournal runs TWA-t or TWA-v: MEHL-Soup+ with every checkpoint in
// one model batch (train.TWAJournalConfig).
func runTWAJournal(cmd *cobra.Command, f *twaFlags, paths []string) error {
	switch {
	case f.epochs < 1:
		return fmt.Errorf("--epochs must be at least 1, got %d", f.epochs)
	case !(f.lr > 0) || f.lr > 1e6:
		return fmt.Errorf("--lr must be positive, got %g", f.lr)
	case f.batch < 1 || f.bnBatch < 1:
		return fmt.Errorf("--batch and --bn-batch must be positive")
	case f.variant == "v" && !(f.valRatio > 0 && f.valRatio < 1):
		return fmt.Errorf("--val-ratio %g outside (0, 1)", f.valRatio)
	case len(paths) < 2:
		return fmt.Errorf("TWA-%s needs at least 2 checkpoints, got %d", f.variant, len(paths))
	}
	net, ws, err := loadCheckpoints(paths)
	if err != nil {
		return err
	}
	trainSet, testSet, err := loadAverageData(&f.data, net)
	if err != nil {
		return err
	}
	fitSet, held := trainSet, (*data.Dataset)(nil)
	if f.variant == "v" {
		if held, err = heldOutSplit(trainSet, f.valRatio, f.seed, "--val-ratio"); err != nil {
			return err
		}
		fitSet = held
	}
	ctx := cmd.Context()
	errw := cmd.ErrOrStderr()
	bar := newBar(errw)
	bn := net.HasBatchNorm()

	// The start, X = 0: the SWA point.
	swa := net.Copy()
	if err := train.UniformSoup(swa.Weights(), ws); err != nil {
		return err
	}
	if bn {
		if err := train.UpdateBN(ctx, swa, trainSet.X, f.bnBatch); err != nil {
			return err
		}
	}
	swaEval, err := evalAverage(ctx, "swa", "mean of the checkpoints (X = 0)", swa, held, testSet)
	if err != nil {
		return err
	}

	cfg := train.TWAJournalConfig(rand.New(rand.NewPCG(f.seed, 0x7a6a)))
	cfg.Epochs, cfg.LR, cfg.BatchSize = f.epochs, f.lr, f.batch
	cfg.Progress = bar
	split := "training"
	if held != nil {
		split = "held-out"
	}
	fmt.Fprintf(errw, "TWA-%s of %d %s checkpoints (%d parameters): %d epochs over %d %s images, AdamW lr %g\n",
		f.variant, len(paths), net.Spec().Name, net.NumParams(), f.epochs, fitSet.Len(), split, f.lr)
	res, err := train.MEHLSoup(ctx, net, ws, fitSet.X, fitSet.Y, cfg)
	if err != nil {
		return fmt.Errorf("TWA-%s: %w", f.variant, err)
	}
	if bn {
		if err := train.UpdateBN(ctx, net, trainSet.X, f.bnBatch); err != nil {
			return err
		}
	}
	name := "twa-" + f.variant
	twaEval, err := evalAverage(ctx, name, fmt.Sprintf("%d coefficients per checkpoint", len(res.Blocks)), net, held, testSet)
	if err != nil {
		return err
	}
	extra := map[string]any{
		"variant": f.variant, "bn_updated": bn, "epochs": f.epochs, "lr": f.lr,
		"swa": swaEval, "twa": twaEval, "gain_over_swa": twaEval.Test.Accuracy - swaEval.Test.Accuracy,
		"blocks": res.Blocks, "coef": res.Batches[0].Coef, "order": res.Order, "loss": res.Batches[0].Loss,
	}
	if held != nil {
		extra["val_ratio"], extra["held_out"] = f.valRatio, held.Len()
	}
	if !f.asJSON {
		out := cmd.OutOrStdout()
		var rows [][]string
		for _, e := range []averageEval{swaEval, twaEval} {
			h := []string{"-", "-"}
			if e.HeldOut != nil {
				h = []string{pct(e.HeldOut.Accuracy), fmt.Sprintf("%.4f", e.HeldOut.NLL)}
			}
			rows = append(rows, append(append([]string{e.Name}, h...), pct(e.Test.Accuracy), fmt.Sprintf("%.4f", e.Test.NLL), e.Detail))
		}
		table(out, []string{"", "held-out acc", "held-out nll", "test acc", "test nll", "detail"}, rows)
		fmt.Fprintln(out)
	}
	return saveAveraged(cmd, &f.averageFlags, net, paths, name, trainSet.Name, testSet, extra)
}
