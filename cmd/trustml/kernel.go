package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/progress"
)

func init() { register(newKernelCmd) }

func newKernelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kernel",
		Short: "Kernel machines: fit, predict, cross-validate KRR, LS-SVM, AsK-LS, LAB RBF; kernel PCA",
		Long: `Fit kernel machines on tabular data (iris, wine, breast-cancer, digits,
diabetes, boston, or a .csv/.tsv/.libsvm file), save, predict, cross-validate;
kernel PCA. CSV values are read in float64.

Methods (--method; --reg is the regularization named):
  ` + strings.ReplaceAll(kernel.MethodHelp(), "\n", "\n  ") + `

Kernels (--kernel):
  ` + strings.ReplaceAll(kernel.KernelHelp(), "\n", "\n  ") + "\n\n" + kernel.DefaultsHelp,
		Example: `  trustml kernel fit --data iris --method lssvm --kernel rbf:gamma=0.5 --out iris.model
  trustml kernel predict --model iris.model --data iris
  trustml kernel cv --data wine --method lssvm --kernel-grid gamma=0.01,0.1,1 --reg-grid 1,10,100 --refit --out wine.model
  trustml kernel pca --data wine --kernel rbf:gamma=0.1 --components 2 --out wine.kpca`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newKernelFitCmd(), newKernelPredictCmd(), newKernelCVCmd(), newKernelPCACmd(), newKernelDeKRRCmd(), newKernelImputeCmd())
	return cmd
}

// kernelCmd is a kernel subcommand: the library call run on cfg, with the
// flags it requires.
func kernelCmd[C any](use, short, long, example string, cfg *C, run func(context.Context, C) (*kernel.Report, error), required ...string) *cobra.Command {
	cmd := libCmd(use, short, example, cfg, func(ctx context.Context, c *C, _ progress.Reporter) (*kernel.Report, error) { return run(ctx, *c) })
	cmd.Long = long
	for _, name := range append(required, "data") {
		_ = cmd.MarkFlagRequired(name)
	}
	completeNames(cmd, "method", kernel.MethodNames())
	completeNames(cmd, "kernel", kernel.KernelNames())
	return cmd
}

func newKernelFitCmd() *cobra.Command {
	cfg := kernel.DefaultFitConfig()
	return kernelCmd("fit", "Fit a kernel machine and save it to a file",
		`Fit a kernel machine and save it with its preprocessing (standardization,
class names) to --out, scoring it (accuracy or R²) on a held-out --test-frac
(default 20%: the saved model is fitted on the other 80%; 0 fits on all).`,
		`  trustml kernel fit --data breast-cancer --method askls --kernel sne:sigma=2 --out bc.model
  trustml kernel fit --data train.csv --label-col price --regression --method krr --reg 1 --test-frac 0 --out krr.model --json`,
		&cfg, kernel.FitFile, "out")
}

func newKernelPredictCmd() *cobra.Command {
	var cfg kernel.PredictConfig
	return kernelCmd("predict", `Predict with a model saved by "trustml kernel fit" or kernel.SaveFile`,
		`Predict every row of a data set with a pipeline written by "trustml kernel
fit" or a plain model saved with kernel.SaveFile; when the data carry the
truth print MSE, MAE and R² (regression) or accuracy and per-class counts;
with --out write the predictions, one per line. CSV rows with as many
columns as the model has features are read without labels.`,
		`  trustml kernel predict --model iris.model --data iris
  trustml kernel predict --model dia.model --data new.csv --out pred.txt --json   # rows without a label column`,
		&cfg, kernel.PredictFile, "model")
}

func newKernelCVCmd() *cobra.Command {
	cfg := kernel.CVConfig{Pipeline: kernel.Pipeline{Seed: 1}}
	return kernelCmd("cv", "Cross-validate kernel and regularization parameters on a grid",
		`K-fold cross-validation (stratified for classes, shuffled with --seed) of
every combination of --kernel-grid (repeatable) and --reg-grid values on
standardized features: mean and std of the fold scores; * marks the best.
With --refit the best setting is fitted on all rows and saved to --out.`,
		`  trustml kernel cv --data breast-cancer --method askls --kernel sne:sigma=1 --kernel-grid sigma=1,2,4
  trustml kernel cv --data diabetes --method krr --kernel-grid gamma=0.01,0.1 --reg-grid 0.01,0.1,1 --refit --out dia.model`,
		&cfg, kernel.CrossValidateFile)
}

func newKernelPCACmd() *cobra.Command {
	cfg := kernel.DefaultPCAConfig()
	return kernelCmd("pca", "Kernel PCA: fit and save, or project a data set with a saved fit",
		`Fit kernel PCA on --data (standardized unless --no-standardize) and save it
to --out; or with --transform project --data with --model and write the
scores to --out (.npy, or CSV with the labels last). With 2 or more
components a scatter plot of the first two is written beside --out (.png).`,
		`  trustml kernel pca --data wine --kernel rbf:gamma=0.1 --components 2 --out wine.kpca
  trustml kernel pca --transform --model wine.kpca --data file.csv --out z.csv`,
		&cfg, kernel.PCAFile, "out")
}
