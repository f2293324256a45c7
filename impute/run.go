package impute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/progress"
)

// Methods of [Config].Method.
const (
	MethodMean       = "mean"
	MethodKNN        = "knn"
	MethodSupervised = "supervised"
	MethodBandwidth  = "bandwidth"
)

// Config configures [Run], "trustml kernel impute".
type Config struct {
	// Data is the data file to impute (.csv or .tsv, whose empty, NA, NaN,
	// N/A or ? feature fields are missing; .libsvm; .npz) or an embedded
	// tabular set; the label column must be complete.
	Data string `flag:"data" help:"data file (.csv/.tsv: empty, NA, NaN, N/A or ? fields are missing; .libsvm, .npz) or an embedded set (iris, wine, diabetes, ...)"`
	// Method is mean, knn, supervised (methods/kernels.md §9, [Supervised])
	// or bandwidth (its reduced form, [Bandwidth]).
	Method string `flag:"method" help:"mean, knn, supervised (kernel learned for the task, kernels.md §9) or bandwidth (only its bandwidth learned)"`
	// K is the number of neighbours of knn.
	K int `flag:"k" help:"neighbours of knn"`
	// Remove, if > 0, first removes this fraction of the entries at random
	// (MCAR) so that the imputation RMSE can be measured.
	Remove float64 `flag:"remove" help:"first remove this fraction of the entries at random (MCAR) and report the imputation RMSE"`
	// Test is the held-out fraction of rows scored by the downstream model;
	// their labels do not guide the supervised methods.
	Test float64 `flag:"test" help:"held-out fraction for the downstream score (its labels do not guide the imputation)"`
	// Out, if set, receives the completed data set (.csv, .libsvm or
	// .npz), written atomically.
	Out string `flag:"out" help:"write the completed data set here (.csv, .libsvm or .npz)"`
	// Force lets Out replace an existing file.
	Force bool `flag:"force" help:"overwrite --out if it exists"`
	// Seed seeds the split, the removal and the supervised methods' folds.
	Seed uint64 `flag:"seed" help:"seed of the split, the removal and the folds"`
	// Supervised configures the supervised method (zero: its defaults).
	Supervised SupervisedConfig
	// Progress, if set, hears when the imputation starts and ends.
	Progress progress.Reporter
}

// DefaultConfig is the configuration of "trustml kernel impute".
func DefaultConfig() Config {
	return Config{Method: MethodSupervised, K: 5, Test: 0.3, Seed: 1}
}

// Report is what [Run] measured.
type Report struct {
	Data     string `json:"data"`
	Method   string `json:"method"`
	Rows     int    `json:"rows"`
	Features int    `json:"features"`
	// Missing is the number of missing entries imputed (given plus
	// removed), Removed those removed by Config.Remove.
	Missing int `json:"missing"`
	Removed int `json:"removed"`
	// RMSE is the imputation RMSE over the removed entries (standardized
	// by each column's standard deviation); null when none was removed.
	RMSE *float64 `json:"rmse"`
	// Metric names Score: "test accuracy" or "test R²" of the downstream
	// model (RBF LS-SVM or kernel ridge, γ = 1/features, on features
	// standardized with the training rows) on TestRows held-out rows.
	Metric   string  `json:"metric"`
	Score    float64 `json:"score"`
	TestRows int     `json:"test_rows"`
	Seconds  float64 `json:"seconds"`
	Out      string  `json:"out,omitempty"`
}

// WriteText prints the report as a table.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rmse := "n/a (nothing removed)"
	if r.RMSE != nil {
		rmse = fmt.Sprintf("%.4g", *r.RMSE)
	}
	fmt.Fprintf(tw, "data\tmethod\trows\tfeatures\tmissing\tremoved\timputation RMSE\t%s\ttest rows\tseconds\n", r.Metric)
	score := fmt.Sprintf("%.4g", r.Score)
	if r.Metric == "test accuracy" {
		score = fmt.Sprintf("%.2f%%", 100*r.Score)
	}
	fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%.3g\n", r.Data, r.Method, r.Rows, r.Features, r.Missing, r.Removed, rmse, score, r.TestRows, r.Seconds)
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Out != "" {
		_, err := fmt.Fprintf(w, "completed data written to %s\n", r.Out)
		return err
	}
	return nil
}

// Run reads cfg.Data (missing CSV fields as NaN), optionally removes
// entries at random, splits the rows (stratified for classes), imputes
// all of them with cfg.Method (the supervised methods see only the
// training rows' labels), scores the downstream model and writes the
// completed set to cfg.Out. A file at Out is an error unless Force.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	switch cfg.Method {
	case MethodMean, MethodKNN, MethodSupervised, MethodBandwidth:
	default:
		return nil, fmt.Errorf("impute: unknown method %q (mean, knn, supervised, bandwidth)", cfg.Method)
	}
	if cfg.Data == "" {
		return nil, errors.New("impute: no data set (--data)")
	}
	if !(cfg.Remove >= 0 && cfg.Remove < 1) || !(cfg.Test > 0 && cfg.Test < 1) {
		return nil, fmt.Errorf("impute: --remove %g must be in [0, 1) and --test %g in (0, 1)", cfg.Remove, cfg.Test)
	}
	if cfg.Out != "" {
		switch strings.ToLower(filepath.Ext(cfg.Out)) {
		case ".csv", ".libsvm", ".npz":
		default:
			return nil, fmt.Errorf("impute: --out %s: want a .csv, .libsvm or .npz file", cfg.Out)
		}
		if _, err := os.Stat(cfg.Out); err == nil && !cfg.Force {
			return nil, fmt.Errorf("impute: %s exists; --force overwrites it", cfg.Out)
		}
	}
	d, err := data.OpenWith(cfg.Data, data.Train, "", data.FileOptions{Missing: true, Float64: true})
	if err != nil {
		return nil, err
	}
	if !d.IsLabeled() && !d.IsRegression() {
		return nil, fmt.Errorf("impute: %s has no labels or targets: the downstream score (and the supervised methods) need them", cfg.Data)
	}
	X := d.Float64()
	n, nf := X.Dims()
	truth := mat.DenseCopyOf(X)
	miss := X
	removed := 0
	if cfg.Remove > 0 {
		given := countNaN(X)
		if miss, err = MCAR(X, cfg.Remove, rand.NewPCG(cfg.Seed, 0x72)); err != nil {
			return nil, err
		}
		removed = countNaN(miss) - given
	}
	tr, te, err := data.StratifiedSplitIndices(d, cfg.Test, cfg.Seed)
	if err != nil {
		return nil, err
	}
	order := append(append([]int(nil), tr...), te...)
	Xo := rowsOf(miss, order)
	var labels Labels
	if d.IsRegression() {
		labels.Target = pick(d.Target, tr)
	} else {
		labels.Class = pick(d.Y, tr)
	}
	rep := progress.Or(cfg.Progress)
	rep.Update("impute "+cfg.Method, 0, 1, "")
	start := time.Now()
	var filled *mat.Dense
	switch cfg.Method {
	case MethodMean:
		filled, err = Mean(Xo)
	case MethodKNN:
		filled, err = KNN(Xo, cfg.K)
	case MethodSupervised:
		var res *SupervisedResult
		sc := cfg.Supervised
		if sc.Seed == 0 {
			sc.Seed = cfg.Seed
		}
		if res, err = Supervised(ctx, Xo, labels, sc); err == nil {
			filled = res.X
		}
	case MethodBandwidth:
		var res *BandwidthResult
		if res, err = Bandwidth(ctx, Xo, labels, BandwidthConfig{Seed: cfg.Seed}); err == nil {
			filled = res.X
		}
	}
	if err != nil {
		return nil, fmt.Errorf("impute: %s on %s: %w", cfg.Method, cfg.Data, err)
	}
	secs := time.Since(start).Seconds()
	rep.Update("impute "+cfg.Method, 1, 1, "")
	// Back to the file's row order.
	out := mat.NewDense(n, nf, nil)
	for a, i := range order {
		out.SetRow(i, filled.RawRowView(a))
	}
	r := &Report{Data: cfg.Data, Method: cfg.Method, Rows: n, Features: nf, Missing: countNaN(miss), Removed: removed, TestRows: len(te), Seconds: secs}
	if removed > 0 {
		v := standardizedRMSE(out, truth, miss, X)
		r.RMSE = &v
	}
	if r.Score, r.Metric, err = Downstream(ctx, rowsOf(out, tr), rowsOf(out, te), d, tr, te); err != nil {
		return nil, fmt.Errorf("impute: downstream model: %w", err)
	}
	if cfg.Out != "" {
		c := d.Clone()
		c.X64 = append([]float64(nil), out.RawMatrix().Data...)
		c.X = make([]float32, len(c.X64))
		for i, v := range c.X64 {
			c.X[i] = float32(v)
		}
		if err := atomicfile.Write(cfg.Out, 0o644, func(w io.Writer) error {
			switch strings.ToLower(filepath.Ext(cfg.Out)) {
			case ".libsvm":
				return data.WriteLIBSVM(w, c)
			case ".npz":
				return data.WriteNPZ(w, c)
			}
			return data.WriteCSV(w, c)
		}); err != nil {
			return nil, fmt.Errorf("impute: writing %s: %w", cfg.Out, err)
		}
		r.Out = cfg.Out
	}
	return r, nil
}

// Downstream fits the downstream model of [Run] on the rows Xtr (labels
// or targets of d's rows tr) and scores it on Xte (rows te): an RBF LS-SVM
// classifier (γ_reg 1) or kernel ridge (λ 1e-2·n), kernel γ = 1/features,
// features standardized with the training rows' statistics. It returns
// the score and its name.
func Downstream(ctx context.Context, Xtr, Xte *mat.Dense, d *data.Dataset, tr, te []int) (float64, string, error) {
	ntr, nf := Xtr.Dims()
	Xtr, Xte = mat.DenseCopyOf(Xtr), mat.DenseCopyOf(Xte)
	for j := range nf {
		var m, s float64
		for i := range ntr {
			m += Xtr.At(i, j) / float64(ntr)
		}
		for i := range ntr {
			s += (Xtr.At(i, j) - m) * (Xtr.At(i, j) - m) / float64(ntr)
		}
		if s = math.Sqrt(s); s == 0 {
			s = 1
		}
		for _, A := range []*mat.Dense{Xtr, Xte} {
			r, _ := A.Dims()
			for i := range r {
				A.Set(i, j, (A.At(i, j)-m)/s)
			}
		}
	}
	k := kernel.RBF{Gamma: 1 / float64(nf)}
	if d.IsRegression() {
		m := &kernel.KRR{Kernel: k, Lambda: 1e-2, ScaleByN: true}
		if err := m.Fit(ctx, Xtr, pick(d.Target, tr)); err != nil {
			return 0, "", err
		}
		p, err := m.Predict(Xte)
		if err != nil {
			return 0, "", err
		}
		return kernel.R2(pick(d.Target, te), p), "test R²", nil
	}
	m := &kernel.LSSVMClassifier{Kernel: k, Gamma: 1}
	if err := m.Fit(ctx, Xtr, pick(d.Y, tr)); err != nil {
		return 0, "", err
	}
	p, err := m.Predict(Xte)
	if err != nil {
		return 0, "", err
	}
	return kernel.Accuracy(pick(d.Y, te), p), "test accuracy", nil
}

func countNaN(X *mat.Dense) int {
	var c int
	for _, v := range X.RawMatrix().Data {
		if math.IsNaN(v) {
			c++
		}
	}
	return c
}

func rowsOf(X *mat.Dense, idx []int) *mat.Dense {
	_, d := X.Dims()
	out := mat.NewDense(len(idx), d, nil)
	for a, i := range idx {
		out.SetRow(a, X.RawRowView(i))
	}
	return out
}

// standardizedRMSE is [RMSE] over the entries missing in masked, each
// error divided by its column's standard deviation in the observed
// entries of ref.
func standardizedRMSE(filled, truth, masked, ref *mat.Dense) float64 {
	n, d := masked.Dims()
	sd := make([]float64, d)
	for j := range d {
		var m, s float64
		var c int
		for i := range n {
			if v := ref.At(i, j); !math.IsNaN(v) {
				m += v
				c++
			}
		}
		m /= float64(max(c, 1))
		for i := range n {
			if v := ref.At(i, j); !math.IsNaN(v) {
				s += (v - m) * (v - m)
			}
		}
		if sd[j] = math.Sqrt(s / float64(max(c, 1))); sd[j] == 0 {
			sd[j] = 1
		}
	}
	var s float64
	var c int
	for i := range n {
		for j := range d {
			if math.IsNaN(masked.At(i, j)) && !math.IsNaN(truth.At(i, j)) {
				t := (filled.At(i, j) - truth.At(i, j)) / sd[j]
				s += t * t
				c++
			}
		}
	}
	if c == 0 {
		return math.NaN()
	}
	return math.Sqrt(s / float64(c))
}
