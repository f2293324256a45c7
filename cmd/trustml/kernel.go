package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
)

func init() { register(newKernelCmd) }

func newKernelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kernel",
		Short: "Kernel machines: fit, predict and cross-validate KRR, LS-SVM, AsK-LS and LAB RBF",
		Long: `Fit kernel machines on tabular data (the embedded sets iris, wine,
breast-cancer, digits, diabetes; "boston" from Debian's scikit-learn; or a
.csv/.libsvm file), save them to a file, predict with a saved model, and
cross-validate hyperparameters.

Methods: krr (kernel ridge regression), lssvm (least-squares SVM, regression
or one-vs-rest classification), askls (asymmetric-kernel LS-SVM,
classification), labrbf (learned locally-adaptive-bandwidth RBF, regression).

Kernels (--kernel):
` + indent(kernel.KernelHelp(), "  "),
		Example: `  trustml kernel fit --data iris --method lssvm --kernel rbf:gamma=0.5 --out iris.model
  trustml kernel predict --model iris.model --data iris
  trustml kernel cv --data wine --method lssvm --kernel-grid gamma=0.01,0.1,1 --reg-grid 1,10,100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newKernelFitCmd(), newKernelPredictCmd(), newKernelCVCmd())
	return cmd
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

// bostonCSV is Debian's copy of the Boston housing data (python3-sklearn).
const bostonCSV = "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv"

// loadKernelData opens a data set by name for the kernel commands: the data
// package's names and files, plus "boston" (regression, from
// python3-sklearn). regression reads a file's label column as a target.
func loadKernelData(name string, regression bool) (*data.Dataset, error) {
	if name == "" {
		return nil, errors.New("no data set: pass --data (iris, wine, breast-cancer, digits, diabetes, boston, or a .csv/.libsvm file)")
	}
	if name == "boston" {
		return loadBoston(bostonCSV)
	}
	for _, n := range data.TabularNames() {
		if n == name {
			return data.Tabular(name)
		}
	}
	if _, err := os.Stat(name); err == nil {
		return data.OpenFile(name, data.FileOptions{Regression: regression})
	}
	return data.Open(name, data.Train, "")
}

// loadBoston reads scikit-learn's boston_house_prices.csv, whose first line
// holds the counts ("506,13,...") before the header.
func loadBoston(path string) (*data.Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("boston housing data: %w (install python3-sklearn)", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if _, err := br.ReadString('\n'); err != nil {
		return nil, fmt.Errorf("%s: reading the count line: %w", path, err)
	}
	d, err := data.ReadCSV(br, path, data.CSVOptions{Regression: true, Header: data.HeaderYes})
	if err != nil {
		return nil, err
	}
	d.Name = "boston"
	return d, nil
}

// prepared holds standardized float64 train/test data.
type prepared struct {
	name                string
	regression          bool
	classes             []string
	Xtr, Xte            *mat.Dense
	ytr, yte            []int
	ttr, tte            []float64
	mean, std           []float64
	nFeatures, nTr, nTe int
}

// prepare splits (testFrac > 0) and standardizes with training statistics.
func prepare(d *data.Dataset, testFrac float64, seed uint64, standardize bool) (*prepared, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if len(d.Shape) != 1 {
		return nil, fmt.Errorf("data set %s has samples of shape %v; kernel methods need tabular data (one feature vector per row)", d.Name, d.Shape)
	}
	if !d.IsLabeled() && !d.IsRegression() {
		return nil, fmt.Errorf("data set %s has no labels or targets", d.Name)
	}
	tr, te := d, (*data.Dataset)(nil)
	if testFrac > 0 {
		var err error
		tr, te, err = data.StratifiedSplit(d, testFrac, seed)
		if err != nil {
			return nil, err
		}
	}
	p := &prepared{name: d.Name, regression: d.IsRegression(), classes: d.Classes, nFeatures: d.SampleSize()}
	var err error
	if standardize {
		st, e := data.FitStandardizer(tr)
		if e != nil {
			return nil, e
		}
		p.mean, p.std = st.Mean, st.Std
	}
	if p.Xtr, err = p.matrix(tr); err != nil {
		return nil, err
	}
	p.ytr, p.ttr, p.nTr = tr.Y, tr.Target, tr.Len()
	if te != nil {
		if p.Xte, err = p.matrix(te); err != nil {
			return nil, err
		}
		p.yte, p.tte, p.nTe = te.Y, te.Target, te.Len()
	}
	return p, nil
}

// matrix returns d's samples as float64, standardized if fitted.
func (p *prepared) matrix(d *data.Dataset) (*mat.Dense, error) {
	if d.SampleSize() != p.nFeatures {
		return nil, fmt.Errorf("data set %s has %d features, the model was fitted on %d", d.Name, d.SampleSize(), p.nFeatures)
	}
	X := d.Float64()
	if p.mean != nil {
		r, _ := X.Dims()
		for i := 0; i < r; i++ {
			row := X.RawRowView(i)
			for j := range row {
				row[j] = (row[j] - p.mean[j]) / p.std[j]
			}
		}
	}
	return X, nil
}

// kernelFromText parses --kernel; "" is rbf with gamma = 1/d (scikit-learn's
// "scale" on standardized data).
func kernelFromText(text string, d int) (kernel.Kernel, string, error) {
	if text == "" || text == "rbf" {
		text = fmt.Sprintf("rbf:gamma=%g", 1/float64(d))
	}
	k, err := kernel.ParseKernel(text)
	if err != nil {
		return nil, "", fmt.Errorf("--kernel %q: %w", text, err)
	}
	return k, text, nil
}

// newEstimator builds an unfitted model; reg is γ (lssvm, askls) or λ (krr,
// labrbf). Exactly one of the results is non-nil.
func newEstimator(method string, k kernel.Kernel, reg float64, regression bool, seed uint64) (kernel.Regressor, kernel.Classifier, error) {
	if regression {
		switch method {
		case "krr":
			return &kernel.KRR{Kernel: k, Lambda: reg}, nil, nil
		case "lssvm":
			return &kernel.LSSVMRegressor{Kernel: k, Gamma: reg}, nil, nil
		case "labrbf":
			return &kernel.LABRBF{Lambda: reg, Rand: rand.New(rand.NewPCG(seed, 0x6c6162))}, nil, nil
		case "askls":
			return nil, nil, errors.New("askls is a classifier; the data set has regression targets (use krr, lssvm or labrbf)")
		}
	} else {
		switch method {
		case "lssvm":
			return nil, &kernel.LSSVMClassifier{Kernel: k, Gamma: reg}, nil
		case "askls":
			return nil, &kernel.AsKLS{Kernel: k, Gamma: reg}, nil
		case "krr", "labrbf":
			return nil, nil, fmt.Errorf("%s is a regressor; the data set has class labels (use lssvm or askls)", method)
		}
	}
	return nil, nil, fmt.Errorf("unknown method %q: want krr, lssvm, askls or labrbf", method)
}

func defaultMethod(regression bool) string {
	if regression {
		return "krr"
	}
	return "lssvm"
}

func defaultReg(method string) float64 {
	switch method {
	case "krr", "labrbf":
		return 1e-3
	}
	return 10
}

// modelFile is the file "trustml kernel fit" writes: the kernel model plus
// what prediction needs to treat new data the same way.
type modelFile struct {
	Format     string          `json:"format"`
	Version    int             `json:"version"`
	Method     string          `json:"method"`
	Kernel     string          `json:"kernel,omitempty"`
	Regression bool            `json:"regression"`
	Classes    []string        `json:"classes,omitempty"`
	Features   int             `json:"features"`
	Mean       []float64       `json:"mean,omitempty"`
	Std        []float64       `json:"std,omitempty"`
	TrainedOn  string          `json:"trained_on"`
	Model      json.RawMessage `json:"model"`
}

const modelFileFormat = "trustml-kernel-cli-model"

func saveModelFile(path string, mf modelFile, m kernel.Model) error {
	var buf bytes.Buffer
	if err := kernel.Save(&buf, m); err != nil {
		return err
	}
	mf.Format, mf.Version, mf.Model = modelFileFormat, 1, bytes.TrimSpace(buf.Bytes())
	body, err := json.Marshal(mf)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(body, '\n'))
}

func loadModelFile(path string) (*modelFile, kernel.Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("model file: %w", err)
	}
	var mf modelFile
	if err := json.Unmarshal(b, &mf); err != nil {
		return nil, nil, fmt.Errorf("model file %s: not JSON written by \"trustml kernel fit\": %v", path, err)
	}
	if mf.Format != modelFileFormat {
		return nil, nil, fmt.Errorf("model file %s: format %q, want %q (written by \"trustml kernel fit\")", path, mf.Format, modelFileFormat)
	}
	if mf.Version != 1 {
		return nil, nil, fmt.Errorf("model file %s: version %d, this build reads version 1", path, mf.Version)
	}
	if mf.Features <= 0 || (mf.Mean != nil && (len(mf.Mean) != mf.Features || len(mf.Std) != mf.Features)) {
		return nil, nil, fmt.Errorf("model file %s: inconsistent feature count or standardization", path)
	}
	m, err := kernel.Load(bytes.NewReader(mf.Model))
	if err != nil {
		return nil, nil, fmt.Errorf("model file %s: %w", path, err)
	}
	return &mf, m, nil
}

// writeFileAtomic writes to a temporary file beside path, then renames it.
func writeFileAtomic(path string, body []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(body); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// scoreName is "accuracy" or "R²".
func scoreName(regression bool) string {
	if regression {
		return "r2"
	}
	return "accuracy"
}

func fmtScore(regression bool, v float64) string {
	if regression {
		return fmt.Sprintf("%.4f", v)
	}
	return pct(v)
}

func newKernelFitCmd() *cobra.Command {
	var (
		dataName, method, ktext, out string
		reg, testFrac                float64
		seed                         uint64
		regression, noStd, asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "fit",
		Short: "Fit a kernel machine and save it to a file",
		Long: `Fit a kernel machine on a data set and save it with its preprocessing
(standardization with training statistics, class names) to --out. By default
20% of the data (stratified, --seed) are held out and the test score is
printed: accuracy for classification, R² for regression.

--reg is the regularization: γ for lssvm and askls (default 10), λ for krr
and labrbf (default 1e-3).`,
		Example: `  trustml kernel fit --data breast-cancer --method askls --kernel sne:sigma=2 --out bc.model
  trustml kernel fit --data diabetes --method krr --kernel rbf:gamma=0.05 --reg 0.1 --out dia.model --json
  trustml kernel fit --data train.csv --regression --method labrbf --test-frac 0 --out lab.model`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out is required: the file to save the model to")
			}
			if testFrac < 0 || testFrac >= 1 {
				return fmt.Errorf("--test-frac must be in [0, 1), got %v", testFrac)
			}
			d, err := loadKernelData(dataName, regression)
			if err != nil {
				return err
			}
			p, err := prepare(d, testFrac, seed, !noStd)
			if err != nil {
				return err
			}
			if method == "" {
				method = defaultMethod(p.regression)
			}
			if !cmd.Flags().Changed("reg") {
				reg = defaultReg(method)
			}
			k, ktext, err := kernelFromText(ktext, p.nFeatures)
			if err != nil {
				return err
			}
			if method == "labrbf" {
				ktext = ""
			}
			rm, cm, err := newEstimator(method, k, reg, p.regression, seed)
			if err != nil {
				return err
			}
			t0 := time.Now()
			trainScore, testScore, err := fitScore(cmd.Context(), p, rm, cm)
			if err != nil {
				return err
			}
			elapsed := time.Since(t0)
			var m kernel.Model
			if rm != nil {
				m, _ = rm.(kernel.Model)
			} else {
				m, _ = cm.(kernel.Model)
			}
			if m == nil {
				return fmt.Errorf("method %s cannot be saved", method)
			}
			mf := modelFile{Method: method, Kernel: ktext, Regression: p.regression, Classes: p.classes,
				Features: p.nFeatures, Mean: p.mean, Std: p.std, TrainedOn: p.name}
			if err := saveModelFile(out, mf, m); err != nil {
				return fmt.Errorf("saving %s: %w", out, err)
			}
			res := map[string]any{
				"data": p.name, "method": method, "kernel": ktext, "reg": reg, "n_train": p.nTr, "n_test": p.nTe,
				"metric": scoreName(p.regression), "train_score": trainScore, "fit_seconds": elapsed.Seconds(), "model_file": out,
			}
			row := []string{p.name, method, ktext, fmt.Sprint(reg), fmt.Sprint(p.nTr), fmtScore(p.regression, trainScore)}
			if p.nTe > 0 {
				res["test_score"] = testScore
				row = append(row, fmt.Sprint(p.nTe), fmtScore(p.regression, testScore))
			} else {
				row = append(row, "0", "-")
			}
			row = append(row, fmt.Sprintf("%.2fs", elapsed.Seconds()), out)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			table(cmd.OutOrStdout(), []string{"data", "method", "kernel", "reg", "n_train", "train_" + scoreName(p.regression), "n_test", "test_" + scoreName(p.regression), "fit", "saved"}, [][]string{row})
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataName, "data", "", "data set: iris, wine, breast-cancer, digits, diabetes, boston, or a .csv/.libsvm file")
	f.StringVar(&method, "method", "", "krr, lssvm, askls or labrbf (default: lssvm for classification, krr for regression)")
	f.StringVar(&ktext, "kernel", "", `kernel, e.g. "rbf:gamma=0.1" (default: rbf with gamma = 1/features)`)
	f.Float64Var(&reg, "reg", 0, "regularization: γ for lssvm/askls (default 10), λ for krr/labrbf (default 1e-3)")
	f.Float64Var(&testFrac, "test-frac", 0.2, "fraction held out for the test score (0: train on everything)")
	f.Uint64Var(&seed, "seed", 1, "seed of the split (and of labrbf's minibatches)")
	f.BoolVar(&regression, "regression", false, "read a file's label column as a regression target")
	f.BoolVar(&noStd, "no-standardize", false, "do not standardize features (default: zero mean, unit variance from the training split)")
	f.StringVar(&out, "out", "", "file to save the model to (required)")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// fitScore fits on the training part and scores train and test.
func fitScore(ctx context.Context, p *prepared, rm kernel.Regressor, cm kernel.Classifier) (train, test float64, err error) {
	if rm != nil {
		if err := rm.Fit(ctx, p.Xtr, p.ttr); err != nil {
			return 0, 0, err
		}
		pr, err := rm.Predict(p.Xtr)
		if err != nil {
			return 0, 0, err
		}
		train = kernel.R2(p.ttr, pr)
		if p.Xte != nil {
			pt, err := rm.Predict(p.Xte)
			if err != nil {
				return 0, 0, err
			}
			test = kernel.R2(p.tte, pt)
		}
		return train, test, nil
	}
	if err := cm.Fit(ctx, p.Xtr, p.ytr); err != nil {
		return 0, 0, err
	}
	pr, err := cm.Predict(p.Xtr)
	if err != nil {
		return 0, 0, err
	}
	train = kernel.Accuracy(p.ytr, pr)
	if p.Xte != nil {
		pt, err := cm.Predict(p.Xte)
		if err != nil {
			return 0, 0, err
		}
		test = kernel.Accuracy(p.yte, pt)
	}
	return train, test, nil
}

func newKernelPredictCmd() *cobra.Command {
	var (
		modelPath, dataName, out string
		regression, asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Predict with a model saved by \"trustml kernel fit\"",
		Long: `Predict every row of a data set with a saved model. The data are
standardized as the training data were. When the data carry labels or
targets the score is printed (accuracy or R²); with --out the predictions
(class names or values, one per line) are written to a file.`,
		Example: `  trustml kernel predict --model iris.model --data iris
  trustml kernel predict --model dia.model --data new.csv --regression --out pred.txt --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelPath == "" {
				return errors.New("--model is required: a file written by \"trustml kernel fit\"")
			}
			mf, m, err := loadModelFile(modelPath)
			if err != nil {
				return err
			}
			d, err := loadKernelData(dataName, regression || mf.Regression)
			if err != nil {
				return err
			}
			if len(d.Shape) != 1 || d.SampleSize() != mf.Features {
				return fmt.Errorf("data set %s has samples of shape %v, the model was fitted on %d features", d.Name, d.Shape, mf.Features)
			}
			p := &prepared{nFeatures: mf.Features, mean: mf.Mean, std: mf.Std}
			X, err := p.matrix(d)
			if err != nil {
				return err
			}
			res := map[string]any{"model_file": modelPath, "method": mf.Method, "data": d.Name, "n": d.Len()}
			var lines []string
			scored := false
			var score float64
			if mf.Regression {
				r, ok := m.(kernel.Regressor)
				if !ok {
					return fmt.Errorf("model file %s: a %s model is not a regressor", modelPath, m.ModelKind())
				}
				pred, err := r.Predict(X)
				if err != nil {
					return err
				}
				for _, v := range pred {
					lines = append(lines, strconv.FormatFloat(v, 'g', -1, 64))
				}
				if d.Target != nil {
					score, scored = kernel.R2(d.Target, pred), true
				}
				res["predictions"] = pred
			} else {
				c, ok := m.(kernel.Classifier)
				if !ok {
					return fmt.Errorf("model file %s: a %s model is not a classifier", modelPath, m.ModelKind())
				}
				pred, err := c.Predict(X)
				if err != nil {
					return err
				}
				names := make([]string, len(pred))
				for i, v := range pred {
					if v < 0 || v >= len(mf.Classes) {
						return fmt.Errorf("model file %s: predicted class %d outside its %d class names", modelPath, v, len(mf.Classes))
					}
					names[i] = mf.Classes[v]
				}
				lines = names
				if d.Y != nil {
					correct := 0
					for i, y := range d.Y {
						if d.Classes[y] == names[i] {
							correct++
						}
					}
					score, scored = float64(correct)/float64(len(names)), true
				}
				res["predictions"] = names
			}
			if scored {
				res["metric"], res["score"] = scoreName(mf.Regression), score
			}
			if out != "" {
				if err := writeFileAtomic(out, []byte(strings.Join(lines, "\n")+"\n")); err != nil {
					return fmt.Errorf("writing predictions: %w", err)
				}
				res["out"] = out
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(w, res)
			}
			row := []string{modelPath, mf.Method, d.Name, fmt.Sprint(d.Len()), "-"}
			if scored {
				row[4] = fmtScore(mf.Regression, score)
			}
			table(w, []string{"model", "method", "data", "n", scoreName(mf.Regression)}, [][]string{row})
			if out == "" && len(lines) <= 20 {
				fmt.Fprintln(w, "predictions:", strings.Join(lines, " "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelPath, "model", "", "model file written by \"trustml kernel fit\" (required)")
	f.StringVar(&dataName, "data", "", "data set: a tabular name, boston, or a .csv/.libsvm file")
	f.BoolVar(&regression, "regression", false, "read a file's label column as a regression target")
	f.StringVar(&out, "out", "", "write the predictions to this file, one per line")
	f.BoolVar(&asJSON, "json", false, "print JSON (with all predictions) instead of a table")
	return cmd
}

// gridFlag parses "name=v1,v2,..." values.
func parseGridFlag(s string) (string, []float64, error) {
	name, vals, ok := strings.Cut(s, "=")
	if !ok || name == "" || vals == "" {
		return "", nil, fmt.Errorf("--kernel-grid %q: want name=v1,v2,...", s)
	}
	var out []float64
	for _, v := range strings.Split(vals, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return "", nil, fmt.Errorf("--kernel-grid %q: value %q is not a number", s, v)
		}
		out = append(out, x)
	}
	return name, out, nil
}

// setKernelParam returns the kernel text with parameter name set to v.
func setKernelParam(text, name string, v float64) string {
	base, params, _ := strings.Cut(text, ":")
	var kept []string
	if params != "" {
		for _, kv := range strings.Split(params, ",") {
			if k, _, _ := strings.Cut(kv, "="); k != name {
				kept = append(kept, kv)
			}
		}
	}
	kept = append(kept, name+"="+strconv.FormatFloat(v, 'g', -1, 64))
	return base + ":" + strings.Join(kept, ",")
}

func newKernelCVCmd() *cobra.Command {
	var (
		dataName, method, ktext string
		kgrid                   []string
		rgrid                   []float64
		folds                   int
		seed                    uint64
		regression, noStd       bool
		asJSON                  bool
	)
	cmd := &cobra.Command{
		Use:   "cv",
		Short: "Cross-validate kernel and regularization parameters on a grid",
		Long: `K-fold cross-validation (stratified for classification, shuffled with --seed)
over every combination of the kernel-parameter grids (--kernel-grid, repeatable)
and the regularization grid (--reg-grid: γ for lssvm/askls, λ for krr/labrbf).
Features are standardized on the whole set first. Prints the mean and
standard deviation of the fold scores (accuracy or R²) per combination and
marks the best.`,
		Example: `  trustml kernel cv --data wine --method lssvm --kernel-grid gamma=0.01,0.1,1 --reg-grid 1,10,100
  trustml kernel cv --data breast-cancer --method askls --kernel sne:sigma=1 --kernel-grid sigma=1,2,4 --json
  trustml kernel cv --data diabetes --method krr --kernel-grid gamma=0.01,0.1 --reg-grid 0.01,0.1,1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := loadKernelData(dataName, regression)
			if err != nil {
				return err
			}
			p, err := prepare(d, 0, seed, !noStd)
			if err != nil {
				return err
			}
			if method == "" {
				method = defaultMethod(p.regression)
			}
			_, base, err := kernelFromText(ktext, p.nFeatures)
			if err != nil {
				return err
			}
			grid := kernel.Grid{}
			for _, g := range kgrid {
				name, vals, err := parseGridFlag(g)
				if err != nil {
					return err
				}
				if name == "reg" {
					return errors.New(`--kernel-grid: "reg" is reserved; use --reg-grid`)
				}
				grid["k:"+name] = vals
			}
			if len(rgrid) == 0 {
				rgrid = []float64{defaultReg(method)}
			}
			grid["reg"] = rgrid
			build := func(params map[string]float64) (kernel.Kernel, float64, error) {
				text := base
				names := make([]string, 0, len(params))
				for n := range params {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					if kn, ok := strings.CutPrefix(n, "k:"); ok {
						text = setKernelParam(text, kn, params[n])
					}
				}
				k, err := kernel.ParseKernel(text)
				if err != nil {
					return nil, 0, fmt.Errorf("kernel %q: %w", text, err)
				}
				return k, params["reg"], nil
			}
			// Check the first combination builds before running the grid.
			if _, _, err := newEstimatorFromParams(method, build, map[string]float64{"reg": rgrid[0]}, p.regression, seed); err != nil {
				return err
			}
			cv := kernel.CV{Folds: folds, Rand: rand.New(rand.NewPCG(seed, 0x6376)), Stratify: !p.regression}
			var res *kernel.GridResult
			if p.regression {
				res, err = kernel.GridSearch(cmd.Context(), cv, p.Xtr, p.ttr, grid, func(params map[string]float64, fold int) (kernel.Estimator[float64], error) {
					r, _, err := newEstimatorFromParams(method, build, params, true, seed+uint64(fold))
					return r, err
				}, kernel.R2)
			} else {
				res, err = kernel.GridSearch(cmd.Context(), cv, p.Xtr, p.ytr, grid, func(params map[string]float64, fold int) (kernel.Estimator[int], error) {
					_, c, err := newEstimatorFromParams(method, build, params, false, seed+uint64(fold))
					return c, err
				}, kernel.Accuracy)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(w, map[string]any{"data": p.name, "method": method, "kernel": base, "folds": cvFolds(folds),
					"metric": scoreName(p.regression), "points": res.Points, "best": res.Best, "best_params": res.BestParams()})
			}
			rows := make([][]string, len(res.Points))
			for i, pt := range res.Points {
				mark := ""
				if i == res.Best {
					mark = "*"
				}
				rows[i] = []string{formatGridParams(pt.Params), fmtScore(p.regression, pt.Mean), fmtScore(p.regression, pt.Std), mark}
			}
			fmt.Fprintf(w, "%s, %s, base kernel %s, %d-fold CV (%s)\n", p.name, method, base, cvFolds(folds), scoreName(p.regression))
			table(w, []string{"params", "mean", "std", "best"}, rows)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataName, "data", "", "data set: a tabular name, boston, or a .csv/.libsvm file")
	f.StringVar(&method, "method", "", "krr, lssvm, askls or labrbf (default: lssvm for classification, krr for regression)")
	f.StringVar(&ktext, "kernel", "", "base kernel; grid values replace its parameters (default: rbf with gamma = 1/features)")
	f.StringArrayVar(&kgrid, "kernel-grid", nil, "kernel parameter grid name=v1,v2,... (repeatable)")
	f.Float64SliceVar(&rgrid, "reg-grid", nil, "regularization values (γ for lssvm/askls, λ for krr/labrbf)")
	f.IntVar(&folds, "folds", 5, "number of folds")
	f.Uint64Var(&seed, "seed", 1, "seed of the fold shuffle")
	f.BoolVar(&regression, "regression", false, "read a file's label column as a regression target")
	f.BoolVar(&noStd, "no-standardize", false, "do not standardize features")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func cvFolds(f int) int {
	if f == 0 {
		return 5
	}
	return f
}

func newEstimatorFromParams(method string, build func(map[string]float64) (kernel.Kernel, float64, error),
	params map[string]float64, regression bool, seed uint64) (kernel.Regressor, kernel.Classifier, error) {
	k, reg, err := build(params)
	if err != nil {
		return nil, nil, err
	}
	return newEstimator(method, k, reg, regression, seed)
}

func formatGridParams(p map[string]float64) string {
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = strings.TrimPrefix(n, "k:") + "=" + strconv.FormatFloat(p[n], 'g', -1, 64)
	}
	return strings.Join(parts, " ")
}
