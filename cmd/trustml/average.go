package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/eval"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
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
	trainSet, err := f.data.load(data.Train)
	if err != nil {
		return err
	}
	testSet, err := f.data.load(data.Test)
	if err != nil {
		return err
	}
	if err := checkShapes(net, testSet); err != nil {
		return err
	}
	bnUpdated := net.HasBatchNorm()
	if bnUpdated {
		if err := checkShapes(net, trainSet); err != nil {
			return err
		}
		if err := train.UpdateBN(cmd.Context(), net, trainSet.X, f.bnBatch); err != nil {
			return err
		}
	}
	return saveAveraged(cmd, f, net, paths, "swa", trainSet.Name, testSet, map[string]any{"bn_updated": bnUpdated})
}

// saveAveraged evaluates the averaged network on the test split, saves it
// with the metrics and prints the result.
func saveAveraged(cmd *cobra.Command, f *averageFlags, net *nn.Network, paths []string, method, trainName string, testSet *data.Dataset, extra map[string]any) error {
	m, _, err := eval.Classifier(cmd.Context(), net, testSet.X, testSet.Y)
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

type twaFlags struct {
	averageFlags
	epochs   int
	batch    int
	lr, wd   float64
	momentum float64
	start    string
	seed     uint64
}

func newAverageTWACmd() *cobra.Command {
	var f twaFlags
	cmd := &cobra.Command{
		Use:   "twa CHECKPOINT...",
		Short: "Trainable weight averaging: train inside the span of checkpoints",
		Long: `Trainable Weight Averaging (Li et al., "Trainable Weight Averaging: Accelerating
Training and Improving Generalization", ICLR 2023), the ICLR version: an
orthonormal basis of the linear span of the checkpoints (Gram–Schmidt in
float64), a start at their mean (SWA, batch-norm statistics recomputed) or at
the last checkpoint, then SGD with momentum whose gradients are projected
onto the span (weight decay added after projection, so the iterate stays in
it), a step schedule (×0.1 at 50% and 75%), and a final batch-norm update.
Defaults are the official head-stage CIFAR values (lr 2, wd 1e-5) with 2
epochs for the small-scale setting; the tail stage used wd 5e-5.`,
		Example: `  trustml average twa ep0.ckpt ep1.ckpt ep2.ckpt ep3.ckpt ep4.ckpt --epochs 2 --out twa.ckpt`,
		Args:    cobra.MinimumNArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runAverageTWA(cmd, &f, args) },
	}
	fl := cmd.Flags()
	f.data.add(cmd, data.DefaultName)
	fl.StringVar(&f.out, "out", "twa.ckpt", "checkpoint file to write")
	fl.IntVar(&f.bnBatch, "bn-batch", 128, "batch size of the batch-norm statistics update")
	fl.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	fl.IntVar(&f.epochs, "epochs", 2, "TWA epochs")
	fl.IntVar(&f.batch, "batch", 128, "batch size")
	fl.Float64Var(&f.lr, "lr", 2, "learning rate (large: projected gradients are small)")
	fl.Float64Var(&f.wd, "wd", 1e-5, "weight decay")
	fl.Float64Var(&f.momentum, "momentum", 0.9, "SGD momentum")
	fl.StringVar(&f.start, "start", "mean", "start point: mean (the SWA average) or last (the last checkpoint)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed for shuffling")
	return cmd
}

func runAverageTWA(cmd *cobra.Command, f *twaFlags, paths []string) error {
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
	trainSet, err := f.data.load(data.Train)
	if err != nil {
		return err
	}
	testSet, err := f.data.load(data.Test)
	if err != nil {
		return err
	}
	if err := checkShapes(net, trainSet); err != nil {
		return err
	}
	if err := checkShapes(net, testSet); err != nil {
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
		Progress: progress.New(errw),
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
