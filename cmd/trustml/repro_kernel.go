package main

import (
	"github.com/spf13/cobra"

	"github.com/trustml/trustml/repro"
)

func init() {
	registerRepro(func() *cobra.Command {
		c := repro.AsKLSConfig{Reps: 3, Seed: 1}
		cmd := libCmd("asksl", "AsK-LS (He et al.): asymmetric-kernel LS-SVM vs symmetrized and RBF LS-SVM on UCI-type sets", "  trustml repro asksl --reps 10 --json", &c, byValue(repro.AsKLS))
		cmd.Aliases = []string{"askls"}
		cmd.Long = "Run repro.AsKLS: AsK-LS with an SNE-type asymmetric kernel against LS-SVM on the symmetrized\nkernel and RBF LS-SVM, CV-selected, on breast-cancer, wine and iris (the paper's UCI sets are not here)."
		return cmd
	})
	registerRepro(func() *cobra.Command {
		c := repro.LABRBFConfig{Reps: 3, Seed: 1, Iters: []int{500, 2000}, MaxSV: 90}
		cmd := libCmd("labrbf", "LAB RBF kernels (He et al.): learned bandwidths vs RBF kernel ridge regression", "  trustml repro labrbf --reps 5 --iters 500,5000 --json", &c, byValue(repro.LABRBF))
		cmd.Long = "Run repro.LABRBF: LAB RBF regression (learned per-support-point bandwidths) against CV-tuned RBF KRR,\ntest R² over random 80/20 splits of diabetes and Boston housing (both embedded)."
		return cmd
	})
	registerRepro(func() *cobra.Command {
		c := repro.AsKRFFConfig{Reps: 3, Seed: 1}
		cmd := libCmd("askrff", "AsK-RFFs: random Fourier features for asymmetric kernels (approximation error, AsK-LS accuracy, speed)", "  trustml repro askrff\n  trustml repro askrff --full --json", &c, byValue(repro.AsKRFF))
		cmd.Long = "Run repro.AsKRFF on the shifted-Gaussian kernel: approximation error against D and AsK-LS on AsK-RFF\nfeatures vs the exact dual. The default quick protocol takes under a minute; --full is the long one."
		return cmd
	})
	registerRepro(func() *cobra.Command {
		c := repro.GORFConfig{Reps: 3, Seed: 1, RMax: 100}
		cmd := libCmd("gorf", "GORF: generalized orthogonal random features for indefinite kernels vs i.i.d. GRFF", "  trustml repro gorf\n  trustml repro gorf --full --reps 10 --json", &c, byValue(repro.GORF))
		cmd.Long = "Run repro.GORF: Krein random features for the Delta-Gaussian and sphere-polynomial kernels, orthogonal\n(GORF) vs i.i.d. (GRFF): approximation error and a linear model on the features. The default quick\nprotocol takes under a minute; --full is the official code's (about 5 minutes)."
		return cmd
	})
	registerRepro(func() *cobra.Command {
		c := repro.TMTLConfig{Reps: 3, Seed: 1}
		return libCmd("tmtl", "tLSSVM-MTL: tensorized multitask LS-SVM vs per-task and shared LS-SVM (synthetic task grid, Boston by RAD)", "  trustml repro tmtl --reps 5 --sets boston --json", &c, byValue(repro.TMTL))
	})
	registerRepro(func() *cobra.Command {
		c := repro.WNTKConfig{Reps: 3, Seed: 1}
		return libCmd("wntk", "Weighted NTK: KRR with the weighted empirical NTK of an MLP vs the plain NTK and RBF", "  trustml repro wntk --reps 5 --hidden 128,128 --json", &c, byValue(repro.WNTKRepro))
	})
	registerRepro(func() *cobra.Command {
		c := repro.DefaultImputeConfig()
		return libCmd("impute", "Supervised kernel imputation vs mean and kNN imputation: downstream accuracy/R², RMSE, seconds", "  trustml repro impute --rates 0.1,0.3,0.6 --reps 5", &c, byValue(repro.Impute))
	})
	registerRepro(func() *cobra.Command {
		c := repro.DefaultRobustOptConfig()
		return libCmd("robustopt", "Robust OoD stochastic optimization: RKHS-ball robust newsvendor vs SAA on unseen shifted demand", "  trustml repro robustopt --reps 20 --shift 1 --level 0.8", &c, byValue(repro.RobustOpt))
	})
}
