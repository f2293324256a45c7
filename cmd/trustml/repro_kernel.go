package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(newReproAsKLSCmd)
	registerRepro(newReproLABRBFCmd)
	registerRepro(newReproAsKRFFCmd)
	registerRepro(newReproGORFCmd)
}

// kernReproFlags are the flags every kernel repro command takes.
type kernReproFlags struct {
	reps   int
	seed   uint64
	data   []string
	asJSON bool
	bar    *Bar
}

// kernRepro completes cmd, a kernel repro command, with the common flags
// and a RunE that prints the table that run makes.
func kernRepro(cmd *cobra.Command, run func(context.Context, kernReproFlags) (*repro.Table, error)) *cobra.Command {
	var f kernReproFlags
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if f.reps < 1 {
			return fmt.Errorf("--reps must be at least 1, got %d", f.reps)
		}
		f.bar = newBar(cmd.ErrOrStderr())
		t, err := run(cmd.Context(), f)
		return printReproTable(cmd, t, err, f.asJSON)
	}
	cmd.Flags().IntVar(&f.reps, "reps", 3, "repetitions (random splits / feature draws)")
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "base seed; repetition r uses seed+r")
	cmd.Flags().StringSliceVar(&f.data, "data", nil, "data sets (default: the paper's stand-ins)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func newReproAsKLSCmd() *cobra.Command {
	var folds int
	cmd := kernRepro(&cobra.Command{
		Use:     "asksl",
		Aliases: []string{"askls"},
		Short:   "AsK-LS (He et al.): asymmetric-kernel LS-SVM vs symmetrized and RBF LS-SVM on UCI-type sets",
		Long:    "Run repro.AsKLS: AsK-LS with an SNE-type asymmetric kernel against LS-SVM on the symmetrized\nkernel and RBF LS-SVM, CV-selected, on breast-cancer, wine and iris (the paper's UCI sets are not here).",
		Example: "  trustml repro asksl --reps 10 --json",
	}, func(ctx context.Context, f kernReproFlags) (*repro.Table, error) {
		return repro.AsKLS(ctx, repro.AsKLSConfig{Reps: f.reps, Folds: folds, Seed: f.seed, Data: f.data, Progress: f.bar})
	})
	cmd.Flags().IntVar(&folds, "folds", 3, "cross-validation folds for model selection")
	return cmd
}

func newReproLABRBFCmd() *cobra.Command {
	var c repro.LABRBFConfig
	cmd := kernRepro(&cobra.Command{
		Use:     "labrbf",
		Short:   "LAB RBF kernels (He et al.): learned bandwidths vs RBF kernel ridge regression",
		Long:    "Run repro.LABRBF: LAB RBF regression (learned per-support-point bandwidths) against CV-tuned RBF KRR,\ntest R² over random 80/20 splits of diabetes and Boston housing (both embedded).",
		Example: "  trustml repro labrbf --reps 5 --iters 500,5000 --json",
	}, func(ctx context.Context, f kernReproFlags) (*repro.Table, error) {
		c.Reps, c.Seed, c.Data, c.Progress = f.reps, f.seed, f.data, f.bar
		return repro.LABRBF(ctx, c)
	})
	cmd.Flags().IntSliceVar(&c.Iters, "iters", []int{500, 2000}, "Adam steps per stage (official: 500,5000)")
	cmd.Flags().IntVar(&c.MaxSV, "max-sv", 90, "maximum support-set size (official 350, for larger sets)")
	return cmd
}

func newReproAsKRFFCmd() *cobra.Command {
	var c repro.AsKRFFConfig
	cmd := kernRepro(&cobra.Command{
		Use:     "askrff",
		Short:   "AsK-RFFs: random Fourier features for asymmetric kernels (approximation error, AsK-LS accuracy, speed)",
		Long:    "Run repro.AsKRFF on the shifted-Gaussian kernel: approximation error against D and AsK-LS on AsK-RFF\nfeatures vs the exact dual. The default quick protocol takes under a minute; --full is the long one.",
		Example: "  trustml repro askrff\n  trustml repro askrff --full --json",
	}, func(ctx context.Context, f kernReproFlags) (*repro.Table, error) {
		c.Reps, c.Seed, c.Data, c.Progress = f.reps, f.seed, f.data, f.bar
		return repro.AsKRFF(ctx, c)
	})
	cmd.Flags().IntVar(&c.N, "n", 0, "points for the approximation error (0: 300, or 500 with --full)")
	cmd.Flags().BoolVar(&c.Full, "full", false, "the long protocol (about 3 minutes on 2 cores)")
	return cmd
}

func newReproGORFCmd() *cobra.Command {
	var c repro.GORFConfig
	cmd := kernRepro(&cobra.Command{
		Use:     "gorf",
		Short:   "GORF: generalized orthogonal random features for indefinite kernels vs i.i.d. GRFF",
		Long:    "Run repro.GORF: Krein random features for the Delta-Gaussian and sphere-polynomial kernels, orthogonal\n(GORF) vs i.i.d. (GRFF): approximation error and a linear model on the features. The default quick\nprotocol takes under a minute; --full is the official code's (about 5 minutes).",
		Example: "  trustml repro gorf\n  trustml repro gorf --full --reps 10 --json",
	}, func(ctx context.Context, f kernReproFlags) (*repro.Table, error) {
		c.Reps, c.Seed, c.Data, c.Progress = f.reps, f.seed, f.data, f.bar
		return repro.GORF(ctx, c)
	})
	cmd.Flags().Float64Var(&c.RMax, "rmax", 100, "radius grid bound for the sphere-poly spectral density (official 100)")
	cmd.Flags().IntVar(&c.N, "n", 0, "points for the approximation error (0: 300, or 1,000 with --full)")
	cmd.Flags().BoolVar(&c.Full, "full", false, "the official code's long protocol (about 5 minutes on 2 cores)")
	return cmd
}
