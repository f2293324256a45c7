package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
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
	cmd.AddCommand(newKernelFitCmd(), newKernelPredictCmd(), newKernelCVCmd(), newKernelPCACmd(), newKernelDeKRRCmd())
	return cmd
}

// kernelFlags are the flags of the kernel commands: the data set and its
// file options, the output and (fit, cv) the pipeline's settings.
type kernelFlags struct {
	p      kernel.Pipeline
	data   string
	file   data.FileOptions
	asJSON bool
}

func (o *kernelFlags) register(cmd *cobra.Command, pipeline bool) {
	f := cmd.Flags()
	f.StringVar(&o.data, "data", "", "data set: iris, wine, breast-cancer, digits, diabetes, boston, or a .csv/.tsv/.libsvm file (required)")
	addFileFlags(cmd, &o.file, true)
	f.BoolVar(&o.asJSON, "json", false, "print JSON instead of a table")
	cmd.MarkFlagRequired("data")
	if pipeline {
		f.StringVar(&o.p.Method, "method", "", strings.Join(kernel.MethodNames(), ", ")+" (default: lssvm for classification, krr for regression)")
		f.StringVar(&o.p.Kernel, "kernel", "", `kernel, e.g. "rbf:gamma=0.1"; cv: grid values replace its parameters (default: rbf with gamma = 1/features)`)
		f.Uint64Var(&o.p.Seed, "seed", 1, "seed of the split or folds (and of labrbf's minibatches)")
		f.BoolVar(&o.p.NoStandardize, "no-standardize", false, "do not standardize features (default: zero mean, unit variance from the training data)")
		f.StringVar(&o.p.Tasks, "tasks", "", "task column of multitask methods (tlssvm-mtl): feature name or 1-based index; one task per value")
		completeNames(cmd, "method", kernel.MethodNames())
		completeNames(cmd, "kernel", kernel.KernelNames())
	}
}

// load opens --data with the file options, CSV values in float64.
func (o *kernelFlags) load() (*data.Dataset, error) {
	o.file.Float64 = true
	return data.OpenWith(o.data, data.Train, "", o.file)
}

func newKernelFitCmd() *cobra.Command {
	var o kernelFlags
	p, out, testFrac := &o.p, "", 0.0
	cmd := &cobra.Command{
		Use:   "fit",
		Short: "Fit a kernel machine and save it to a file",
		Long: `Fit a kernel machine and save it with its preprocessing (standardization,
class names) to --out, scoring it (accuracy or R²) on a held-out --test-frac
(default 20%: the saved model is fitted on the other 80%; 0 fits on all).`,
		Example: `  trustml kernel fit --data breast-cancer --method askls --kernel sne:sigma=2 --out bc.model
  trustml kernel fit --data train.csv --label-col price --regression --method krr --reg 1 --test-frac 0 --out krr.model --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := o.load()
			if err != nil {
				return err
			}
			r, err := p.FitSave(cmd.Context(), d, testFrac, out)
			return printResult(cmd, r, err, o.asJSON)
		},
	}
	o.register(cmd, true)
	f := cmd.Flags()
	f.Float64Var(&p.Reg, "reg", 0, "regularization: γ for lssvm/askls (default 10), λ for krr/labrbf (default 1e-3; krr: scikit-learn's alpha); 0 means the default")
	f.Float64Var(&testFrac, "test-frac", 0.2, "fraction held out for the test score (0: train on everything)")
	f.StringVar(&out, "out", "", "file to save the model to (required)")
	cmd.MarkFlagRequired("out")
	return cmd
}

func newKernelPredictCmd() *cobra.Command {
	var o kernelFlags
	var modelPath, out string
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Predict with a model saved by \"trustml kernel fit\" or kernel.SaveFile",
		Long: `Predict every row of a data set with a pipeline written by "trustml kernel
fit" or a plain model saved with kernel.SaveFile; when the data carry the
truth print MSE, MAE and R² (regression) or accuracy and per-class counts;
with --out write the predictions, one per line. CSV rows with as many
columns as the model has features are read without labels.`,
		Example: `  trustml kernel predict --model iris.model --data iris
  trustml kernel predict --model dia.model --data new.csv --out pred.txt --json   # rows without a label column`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := kernel.LoadPipelineFile(modelPath)
			if err != nil {
				return err
			}
			o.file.Regression = o.file.Regression || p.Regression // the model's task and features
			o.file.Classification, o.file.Features = !o.file.Regression, p.Features
			d, err := o.load()
			if err != nil {
				return err
			}
			r, err := p.PredictReport(d, modelPath, out)
			return printResult(cmd, r, err, o.asJSON)
		},
	}
	o.register(cmd, false)
	cmd.Flags().StringVar(&modelPath, "model", "", "model file written by \"trustml kernel fit\" or kernel.SaveFile (required)")
	cmd.Flags().StringVar(&out, "out", "", "write the predictions to this file, one per line")
	cmd.MarkFlagRequired("model")
	return cmd
}

func newKernelCVCmd() *cobra.Command {
	var o kernelFlags
	var g kernel.SearchGrid
	var kgrid []string
	var refit, out = false, ""
	cmd := &cobra.Command{
		Use:   "cv",
		Short: "Cross-validate kernel and regularization parameters on a grid",
		Long: `K-fold cross-validation (stratified for classes, shuffled with --seed) of
every combination of --kernel-grid (repeatable) and --reg-grid values on
standardized features: mean and std of the fold scores; * marks the best.
With --refit the best setting is fitted on all rows and saved to --out.`,
		Example: `  trustml kernel cv --data breast-cancer --method askls --kernel sne:sigma=1 --kernel-grid sigma=1,2,4
  trustml kernel cv --data diabetes --method krr --kernel-grid gamma=0.01,0.1 --reg-grid 0.01,0.1,1 --refit --out dia.model`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if refit != (out != "") {
				return fmt.Errorf("--refit and --out go together: --out names the file of the refitted model")
			}
			d, err := o.load()
			if err != nil {
				return err
			}
			if g.Kernel, err = kernel.ParseGrid(kgrid); err != nil {
				return fmt.Errorf("--kernel-grid: %w", err)
			}
			r, err := o.p.SearchReport(cmd.Context(), d, g, out)
			return printResult(cmd, r, err, o.asJSON)
		},
	}
	o.register(cmd, true)
	f := cmd.Flags()
	f.StringArrayVar(&kgrid, "kernel-grid", nil, "kernel parameter grid name=v1,v2,... (repeatable)")
	f.Float64SliceVar(&g.Reg, "reg-grid", nil, "regularization values (γ for lssvm/askls, λ for krr/labrbf)")
	f.IntVar(&g.Folds, "folds", 5, "number of folds")
	f.BoolVar(&refit, "refit", false, "fit the best setting on all rows and save it to --out")
	f.StringVar(&out, "out", "", "with --refit: file to save the refitted model to")
	return cmd
}

func newKernelPCACmd() *cobra.Command {
	var o kernelFlags
	var pp kernel.PCAPipeline
	var transform bool
	var modelPath, out string
	cmd := &cobra.Command{
		Use:   "pca",
		Short: "Kernel PCA: fit and save, or project a data set with a saved fit",
		Long: `Fit kernel PCA on --data (standardized unless --no-standardize) and save it
to --out; or with --transform project --data with --model and write the
scores to --out (.npy, or CSV with the labels last). With 2 or more
components a scatter plot of the first two is written beside --out (.png).`,
		Example: `  trustml kernel pca --data wine --kernel rbf:gamma=0.1 --components 2 --out wine.kpca
  trustml kernel pca --transform --model wine.kpca --data file.csv --out z.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := o.load()
			if err != nil {
				return err
			}
			fit := func() (*kernel.PCAResult, error) { return pp.FitFiles(cmd.Context(), d, out) }
			if transform {
				fit = func() (*kernel.PCAResult, error) { return kernel.TransformFiles(d, modelPath, out) }
			}
			res, err := fit()
			if err != nil {
				return err
			}
			return printResult(cmd, res.Report(), nil, o.asJSON)
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.StringVar(&pp.Kernel, "kernel", "", `kernel, e.g. "rbf:gamma=0.1" (default: rbf with gamma = 1/features)`)
	f.IntVar(&pp.Components, "components", 2, "number of components")
	f.BoolVar(&pp.NoStandardize, "no-standardize", false, "do not standardize features (scikit-learn's KernelPCA does not)")
	f.BoolVar(&transform, "transform", false, "project --data with the fit saved in --model instead of fitting")
	f.StringVar(&modelPath, "model", "", "with --transform: the file saved by a fit")
	f.StringVar(&out, "out", "", "the model file (fit) or the scores file, .csv or .npy (--transform) (required)")
	cmd.MarkFlagRequired("out")
	return cmd
}
