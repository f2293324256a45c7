package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/kernel"
)

func init() { register(newKernelCmd) }

func newKernelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kernel",
		Short: "Kernel machines: fit, predict and cross-validate KRR, LS-SVM, AsK-LS and LAB RBF",
		Long: `Fit kernel machines on tabular data (iris, wine, breast-cancer, digits,
diabetes, boston, or a .csv/.libsvm file), save, predict, cross-validate.

Methods (--method; --reg is the regularization named):
  ` + strings.ReplaceAll(kernel.MethodHelp(), "\n", "\n  ") + `

Kernels (--kernel):
  ` + strings.ReplaceAll(kernel.KernelHelp(), "\n", "\n  "),
		Example: `  trustml kernel fit --data iris --method lssvm --kernel rbf:gamma=0.5 --out iris.model
  trustml kernel predict --model iris.model --data iris
  trustml kernel cv --data wine --method lssvm --kernel-grid gamma=0.01,0.1,1 --reg-grid 1,10,100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newKernelFitCmd(), newKernelPredictCmd(), newKernelCVCmd())
	return cmd
}

// kernelFlags are the flags of the kernel commands: the data set, the
// output and (fit, cv) the pipeline's settings.
type kernelFlags struct {
	p                  kernel.Pipeline
	data               string
	regression, asJSON bool
}

func (o *kernelFlags) register(cmd *cobra.Command, pipeline bool) {
	f := cmd.Flags()
	f.StringVar(&o.data, "data", "", "data set: iris, wine, breast-cancer, digits, diabetes, boston, or a .csv/.libsvm file (required)")
	f.BoolVar(&o.regression, "regression", false, "read a file's label column as a regression target")
	f.BoolVar(&o.asJSON, "json", false, "print JSON instead of a table")
	cmd.MarkFlagRequired("data")
	if pipeline {
		f.StringVar(&o.p.Method, "method", "", strings.Join(kernel.MethodNames(), ", ")+" (default: lssvm for classification, krr for regression)")
		f.StringVar(&o.p.Kernel, "kernel", "", `kernel, e.g. "rbf:gamma=0.1"; cv: grid values replace its parameters (default: rbf with gamma = 1/features)`)
		f.Uint64Var(&o.p.Seed, "seed", 1, "seed of the split or folds (and of labrbf's minibatches)")
		f.BoolVar(&o.p.NoStandardize, "no-standardize", false, "do not standardize features (default: zero mean, unit variance from the training data)")
		completeNames(cmd, "method", kernel.MethodNames())
		completeNames(cmd, "kernel", kernel.KernelNames())
	}
}

// load opens --data by name (data.Open; "boston" is embedded there) or as
// a file whose label column is a regression target.
func (o *kernelFlags) load(regression bool) (*data.Dataset, error) {
	if regression && !slices.Contains(data.TabularNames(), o.data) {
		return data.OpenFile(o.data, data.FileOptions{Regression: true})
	}
	return data.Open(o.data, data.Train, "")
}

func fmtScore(regression bool, v float64) string {
	if regression {
		return fmt.Sprintf("%.4f", v)
	}
	return pct(v)
}

func newKernelFitCmd() *cobra.Command {
	var o kernelFlags
	p, out, testFrac := &o.p, "", 0.0
	cmd := &cobra.Command{
		Use:   "fit",
		Short: "Fit a kernel machine and save it to a file",
		Long: `Fit a kernel machine and save it with its preprocessing (standardization,
class names) to --out, scoring it (accuracy or R²) on a held-out --test-frac.`,
		Example: `  trustml kernel fit --data breast-cancer --method askls --kernel sne:sigma=2 --out bc.model
  trustml kernel fit --data train.csv --regression --method labrbf --test-frac 0 --out lab.model --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := o.load(o.regression)
			if err != nil {
				return err
			}
			h, err := p.FitHoldout(cmd.Context(), d, testFrac)
			if err != nil {
				return err
			}
			if err := kernel.SaveFile(out, p); err != nil {
				return fmt.Errorf("saving %s: %w", out, err)
			}
			res := map[string]any{
				"data": d.Name, "method": p.Method, "kernel": p.Kernel, "reg": p.Reg, "n_train": h.NTrain, "n_test": h.NTest,
				"metric": h.Metric, "train_score": h.TrainScore, "fit_seconds": h.Seconds, "model_file": out,
			}
			test := "-"
			if h.NTest > 0 {
				res["test_score"], test = h.TestScore, fmtScore(p.Regression, h.TestScore)
			}
			if o.asJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			table(cmd.OutOrStdout(), []string{"data", "method", "kernel", "reg", "n_train", "train_" + h.Metric, "n_test", "test_" + h.Metric, "fit", "saved"},
				[][]string{{d.Name, p.Method, p.Kernel, fmt.Sprint(p.Reg), fmt.Sprint(h.NTrain), fmtScore(p.Regression, h.TrainScore), fmt.Sprint(h.NTest), test, fmt.Sprintf("%.2fs", h.Seconds), out}})
			return nil
		},
	}
	o.register(cmd, true)
	f := cmd.Flags()
	f.Float64Var(&p.Reg, "reg", 0, "regularization: γ for lssvm/askls (default 10), λ for krr/labrbf (default 1e-3); 0 means the default")
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
fit" or a plain model saved with kernel.SaveFile; print the score when the
data carry the truth, and with --out write the predictions, one per line.`,
		Example: `  trustml kernel predict --model iris.model --data iris
  trustml kernel predict --model dia.model --data new.csv --regression --out pred.txt --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := kernel.LoadPipelineFile(modelPath)
			if err != nil {
				return err
			}
			d, err := o.load(o.regression || p.Regression)
			if err != nil {
				return err
			}
			pr, err := p.Predict(d)
			if err != nil {
				return err
			}
			res := map[string]any{"model_file": modelPath, "method": p.Method, "data": d.Name, "n": d.Len(), "predictions": pr.Labels}
			if p.Regression {
				res["predictions"] = pr.Values
			}
			row, lines := []string{modelPath, p.Method, d.Name, fmt.Sprint(d.Len()), "-"}, pr.Lines()
			if pr.Scored {
				res["metric"], res["score"], row[4] = kernel.Metric(p.Regression), pr.Score, fmtScore(p.Regression, pr.Score)
			}
			if out != "" {
				if err := atomicfile.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
					return fmt.Errorf("writing predictions: %w", err)
				}
				res["out"] = out
			}
			w := cmd.OutOrStdout()
			if o.asJSON {
				return writeJSON(w, res)
			}
			table(w, []string{"model", "method", "data", "n", kernel.Metric(p.Regression)}, [][]string{row})
			if out == "" && len(lines) <= 20 {
				fmt.Fprintln(w, "predictions:", strings.Join(lines, " "))
			}
			return nil
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
	cmd := &cobra.Command{
		Use:   "cv",
		Short: "Cross-validate kernel and regularization parameters on a grid",
		Long: `K-fold cross-validation (stratified for classes, shuffled with --seed) of
every combination of --kernel-grid (repeatable) and --reg-grid values on
standardized features: mean and std of the fold scores; * marks the best.`,
		Example: `  trustml kernel cv --data breast-cancer --method askls --kernel sne:sigma=1 --kernel-grid sigma=1,2,4
  trustml kernel cv --data diabetes --method krr --kernel-grid gamma=0.01,0.1 --reg-grid 0.01,0.1,1 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := o.load(o.regression)
			if err != nil {
				return err
			}
			if g.Kernel, err = kernel.ParseGrid(kgrid); err != nil {
				return fmt.Errorf("--kernel-grid: %w", err)
			}
			res, err := o.p.GridSearch(cmd.Context(), d, g)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if o.asJSON {
				return writeJSON(w, map[string]any{"data": res.Data, "method": res.Method, "kernel": res.Kernel, "folds": res.Folds,
					"metric": res.Metric, "points": res.Points, "best": res.Best, "best_params": res.BestParams()})
			}
			rows := make([][]string, len(res.Points))
			for i, pt := range res.Points {
				rows[i] = []string{kernel.FormatParams(pt.Params), fmtScore(res.Regression, pt.Mean), fmtScore(res.Regression, pt.Std), ""}
			}
			rows[res.Best][3] = "*"
			fmt.Fprintf(w, "%s, %s, base kernel %s, %d-fold CV (%s)\n", res.Data, res.Method, res.Kernel, res.Folds, res.Metric)
			table(w, []string{"params", "mean", "std", "best"}, rows)
			return nil
		},
	}
	o.register(cmd, true)
	f := cmd.Flags()
	f.StringArrayVar(&kgrid, "kernel-grid", nil, "kernel parameter grid name=v1,v2,... (repeatable)")
	f.Float64SliceVar(&g.Reg, "reg-grid", nil, "regularization values (γ for lssvm/askls, λ for krr/labrbf)")
	f.IntVar(&g.Folds, "folds", 5, "number of folds")
	return cmd
}
