package kernel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
)

// Pipeline is a kernel machine with its preprocessing, fitted on a tabular
// [data.Dataset]: features standardized with training statistics, then a
// registered [Method] (krr, lssvm, askls, labrbf, ...) with a kernel given
// in the text form of [ParseKernel]. It is what "trustml kernel fit" saves
// ([SaveFile] writes it as any other [Model]) and "trustml kernel predict"
// reads; [AsPipeline] wraps a plain model for the same use.
//
// Set the settings, call [Pipeline.Fit], then [Pipeline.Predict] or
// [Pipeline.Score] on data sets with the same features.
type Pipeline struct {
	// Method is a registered method name ([MethodNames]); "" means
	// [DefaultMethod] for the data set.
	Method string `flag:"method" help:"method: krr, lssvm, askls, labrbf, tlssvm-mtl, ... (see trustml kernel --help; default: lssvm for classification, krr for regression)"`
	// Kernel is the kernel's text form; "" or "rbf" means RBF with
	// γ = 1/features (scikit-learn's "scale" on standardized data).
	// Methods that learn their kernel ignore it (Fit sets it to "").
	Kernel string `flag:"kernel" help:"kernel, e.g. rbf:gamma=0.1; cv: grid values replace its parameters (default: rbf with gamma = 1/features)"`
	// Reg is the regularization (γ for lssvm and askls, λ for krr and
	// labrbf); 0 means the method's default ([Method].DefaultReg).
	Reg float64 `flag:"reg" help:"regularization: γ for lssvm/askls (default 10), λ for krr/labrbf (default 1e-3; krr: scikit-learn's alpha); 0 means the default"`
	// Seed seeds the split of [Pipeline.FitHoldout], the folds of
	// [Pipeline.GridSearch] and randomized methods.
	Seed uint64 `flag:"seed" help:"seed of the split or folds (and of labrbf's minibatches)"`
	// NoStandardize skips the standardization.
	NoStandardize bool `flag:"no-standardize" help:"do not standardize features (default: zero mean, unit variance from the training data)"`
	// Tasks is the task column of multitask methods (tlssvm-mtl): a
	// feature name or a 1-based column index; one task per distinct value,
	// which is not standardized. "" for single-task methods.
	Tasks   string `flag:"tasks" help:"task column of multitask methods (tlssvm-mtl): feature name or 1-based index; one task per value"`
	taskCol int    // 1-based resolved Tasks; 0: none

	// Regression is set by Fit: the model predicts real values, not
	// classes.
	Regression bool
	// Classes are the class names of the training data (classification);
	// the model's label l is Classes[l].
	Classes []string
	// Features is the number of input features the model was fitted on
	// (0: unknown, checked by the model).
	Features int
	// Mean and Std standardize inputs as x' = (x − Mean)/Std; nil when not
	// standardized.
	Mean, Std []float64
	// TrainedOn names the training data set.
	TrainedOn string
	// Model is the fitted kernel machine (a [Regressor] or [Classifier]).
	Model Model
}

// DefaultsHelp lists, for help texts and documentation, the defaults of
// [Pipeline], [PCAPipeline] and "trustml kernel" that differ from
// scikit-learn's.
const DefaultsHelp = `Defaults that differ from scikit-learn:
  - features are standardized with the training rows' mean and population
    std (StandardScaler); --no-standardize feeds them as they are, as
    scikit-learn's estimators do;
  - the kernel is rbf with gamma = 1/features (KernelRidge and KernelPCA:
    linear; their rbf's gamma default is 1/features too);
  - krr's λ, scikit-learn's alpha in (K + λI)α = y, is 1e-3 (KernelRidge:
    alpha = 1);
  - fit holds out 20% of the rows (--test-frac 0.2; stratified for classes,
    seeded) to score, and saves the model fitted on the other 80%;
    --test-frac 0 fits on all rows;
  - cv runs 5 folds, stratified for classes and shuffled with --seed
    (GridSearchCV: 5 folds, not shuffled), and does not refit unless --refit;
  - pca keeps 2 components (KernelPCA: all with a positive eigenvalue);
  - a file's task is inferred: non-integer numeric labels are a regression
    target, names or integers are classes, and an integer column with many
    distinct values is an error asking for --regression or --classification.`

// Metric names the score of a regression ("r2", the coefficient of
// determination) or classification ("accuracy") pipeline.
func Metric(regression bool) string {
	if regression {
		return "r2"
	}
	return "accuracy"
}

// tabular is a data set as standardized float64 inputs and its truth.
type tabular struct {
	X *mat.Dense
	y []int
	t []float64
}

func checkTabular(d *data.Dataset) error {
	if d == nil {
		return fmt.Errorf("kernel: nil data set: %w", ErrShape)
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("kernel: %w", err)
	}
	if len(d.Shape) != 1 {
		return fmt.Errorf("kernel: data set %s has samples of shape %v; kernel methods need tabular data (one feature vector per row): %w", d.Name, d.Shape, ErrShape)
	}
	return nil
}

// resolve fills in the defaults of the settings for data with the given
// task and feature count, and returns the kernel (nil for methods that
// learn theirs) and the method.
func (p *Pipeline) resolve(regression bool, features int) (Kernel, Method, error) {
	if p.Method == "" {
		p.Method = DefaultMethod(regression)
	}
	m, err := LookupMethod(p.Method)
	if err != nil {
		return nil, Method{}, err
	}
	if p.Reg == 0 {
		p.Reg = m.DefaultReg
	}
	if p.Kernel == "" || p.Kernel == "rbf" {
		p.Kernel = fmt.Sprintf("rbf:gamma=%g", 1/float64(features))
	}
	k, err := ParseKernel(p.Kernel)
	if err != nil {
		return nil, Method{}, fmt.Errorf("kernel %q: %w", p.Kernel, err)
	}
	return k, m, nil
}

// estimator builds the unfitted model of the settings.
func (p *Pipeline) estimator(k Kernel, reg float64, seed uint64) (Regressor, Classifier, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6c6162))
	var r Regressor
	var c Classifier
	var err error
	if p.Regression {
		r, err = NewRegressor(p.Method, k, reg, rng)
	} else {
		c, err = NewClassifier(p.Method, k, reg, rng)
	}
	if err == nil {
		err = p.setTasks(r, c)
	}
	return r, c, err
}

// Fit standardizes (unless NoStandardize) with d's statistics and fits the
// method on all of d, filling in the defaults of the settings.
func (p *Pipeline) Fit(ctx context.Context, d *data.Dataset) error {
	if err := checkTabular(d); err != nil {
		return err
	}
	_, err := p.fit(ctx, d)
	return err
}

// fit fits on d and returns d as the model saw it.
func (p *Pipeline) fit(ctx context.Context, d *data.Dataset) (*tabular, error) {
	if !d.IsLabeled() && !d.IsRegression() {
		return nil, fmt.Errorf("kernel: data set %s has no labels or targets: %w", d.Name, ErrShape)
	}
	p.Regression, p.Classes, p.Features, p.TrainedOn = d.IsRegression(), slices.Clone(d.Classes), d.SampleSize(), d.Name
	k, m, err := p.resolve(p.Regression, p.Features)
	if err != nil {
		return nil, err
	}
	p.Mean, p.Std, p.Model = nil, nil, nil
	if p.taskCol, err = taskColumn(p.Tasks, d); err != nil {
		return nil, err
	}
	if !p.NoStandardize {
		st, err := data.FitStandardizer(d)
		if err != nil {
			return nil, fmt.Errorf("kernel: %w", err)
		}
		p.Mean, p.Std = keepTaskColumn(st.Mean, st.Std, p.taskCol)
	}
	tr, err := p.tabular(d)
	if err != nil {
		return nil, err
	}
	if m.NoKernel {
		p.Kernel = ""
	}
	r, c, err := p.estimator(k, p.Reg, p.Seed)
	if err != nil {
		return nil, err
	}
	var model any = c
	if r != nil {
		model, err = r, r.Fit(ctx, tr.X, tr.t)
	} else {
		err = c.Fit(ctx, tr.X, tr.y)
	}
	if err != nil {
		return nil, err
	}
	mm, ok := model.(Model)
	if !ok {
		return nil, fmt.Errorf("kernel: method %s builds a %T, which cannot be saved: %w", p.Method, model, ErrParam)
	}
	p.Model = mm
	return tr, nil
}

// tabular returns d's samples as float64, standardized if fitted.
func (p *Pipeline) tabular(d *data.Dataset) (*tabular, error) {
	if len(d.Shape) != 1 || (p.Features > 0 && d.SampleSize() != p.Features) {
		return nil, fmt.Errorf("kernel: data set %s has samples of shape %v, the model was fitted on %d features: %w", d.Name, d.Shape, p.Features, ErrShape)
	}
	X, err := p.Transform(d.Float64())
	if err != nil {
		return nil, err
	}
	return &tabular{X: X, y: d.Y, t: d.Target}, nil
}

// Transform standardizes the rows of X in place as the training data were
// and returns X.
func (p *Pipeline) Transform(X *mat.Dense) (*mat.Dense, error) {
	if p.Mean == nil {
		return X, nil
	}
	r, c := X.Dims()
	if c != len(p.Mean) || len(p.Std) != c {
		return nil, fmt.Errorf("kernel: data have %d features, the standardizer was fitted on %d: %w", c, len(p.Mean), ErrShape)
	}
	for i := 0; i < r; i++ {
		row := X.RawRowView(i)
		for j := range row {
			row[j] = (row[j] - p.Mean[j]) / p.Std[j]
		}
	}
	return X, nil
}

// Prediction is the output of [Pipeline.Predict].
type Prediction struct {
	// Values are the predicted values (regression).
	Values []float64
	// Labels are the predicted class names (classification).
	Labels []string
	// Scored reports whether the data carried the truth; Score is then
	// the [Metric] of the predictions.
	Scored bool
	Score  float64
	// Regression holds MSE, MAE and R² when regression targets were
	// scored.
	Regression *metrics.Regression
	// PerClass counts, per class of the model, the true, predicted and
	// correctly predicted samples when labels were scored (a data set
	// class the model does not know is added at the end).
	PerClass []metrics.ClassCount
}

// Metrics returns the names and values of the scores: mse, mae and r2
// (regression) or accuracy; none when nothing was scored.
func (pr *Prediction) Metrics() ([]string, []float64) {
	switch {
	case pr.Regression != nil:
		return []string{"mse", "mae", "r2"}, []float64{pr.Regression.MSE, pr.Regression.MAE, pr.Regression.R2}
	case pr.Scored:
		return []string{"accuracy"}, []float64{pr.Score}
	}
	return nil, nil
}

// Lines returns the predictions as text, one per row: class names, or
// values in Go's shortest round-trip form.
func (pr *Prediction) Lines() []string {
	if pr.Labels != nil {
		return pr.Labels
	}
	out := make([]string, len(pr.Values))
	for i, v := range pr.Values {
		out[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return out
}

// Predict predicts every row of d and scores the predictions when d has
// labels (compared by class name) or targets.
func (p *Pipeline) Predict(d *data.Dataset) (*Prediction, error) {
	if err := checkTabular(d); err != nil {
		return nil, err
	}
	if p.Model == nil {
		return nil, ErrNotFitted
	}
	tb, err := p.tabular(d)
	if err != nil {
		return nil, err
	}
	out := &Prediction{}
	if p.Regression {
		r, ok := p.Model.(Regressor)
		if !ok {
			return nil, fmt.Errorf("kernel: a %s model is not a regressor: %w", p.Model.ModelKind(), ErrParam)
		}
		if out.Values, err = r.Predict(tb.X); err != nil {
			return nil, err
		}
		if d.Target != nil {
			reg, err := metrics.EvaluateRegression(d.Target, out.Values)
			if err != nil {
				return nil, fmt.Errorf("kernel: %w", err)
			}
			out.Scored, out.Score, out.Regression = true, reg.R2, &reg
		}
		return out, nil
	}
	c, ok := p.Model.(Classifier)
	if !ok {
		return nil, fmt.Errorf("kernel: a %s model is not a classifier: %w", p.Model.ModelKind(), ErrParam)
	}
	pred, err := c.Predict(tb.X)
	if err != nil {
		return nil, err
	}
	names := p.Classes
	if names == nil { // a plain model: its labels index the data set's classes
		names = d.Classes
	}
	out.Labels = make([]string, len(pred))
	for i, v := range pred {
		switch {
		case v >= 0 && v < len(names):
			out.Labels[i] = names[v]
		case p.Classes == nil:
			out.Labels[i] = strconv.Itoa(v)
		default:
			return nil, fmt.Errorf("kernel: predicted class %d outside the model's %d class names: %w", v, len(names), ErrFormat)
		}
	}
	if d.Y != nil {
		// Compare by class name: the data set's classes may be numbered
		// differently from the model's.
		classes := slices.Clone(names)
		index := map[string]int{}
		for i, c := range classes {
			index[c] = i
		}
		idx := func(name string) int {
			i, ok := index[name]
			if !ok {
				i, index[name], classes = len(classes), len(classes), append(classes, name)
			}
			return i
		}
		truth, got := make([]int, len(d.Y)), make([]int, len(d.Y))
		correct := 0
		for i, y := range d.Y {
			tn := strconv.Itoa(y)
			if d.Classes != nil {
				tn = d.Classes[y]
			}
			truth[i], got[i] = idx(tn), idx(out.Labels[i])
			if truth[i] == got[i] {
				correct++
			}
		}
		if out.PerClass, err = metrics.CountClasses(truth, got, classes); err != nil {
			return nil, fmt.Errorf("kernel: %w", err)
		}
		out.Scored, out.Score = true, float64(correct)/float64(len(pred))
	}
	return out, nil
}

// Score returns the [Metric] of the predictions on d (NaN when d carries
// no truth).
func (p *Pipeline) Score(d *data.Dataset) (float64, error) {
	pr, err := p.Predict(d)
	if err != nil {
		return 0, err
	}
	if !pr.Scored {
		return math.NaN(), nil
	}
	return pr.Score, nil
}

// Holdout is the result of [Pipeline.FitHoldout].
type Holdout struct {
	Metric        string  // "accuracy" or "r2"
	NTrain, NTest int     // rows fitted on and held out
	TrainScore    float64 // the metric on the training rows
	TestScore     float64 // the metric on the held-out rows; NaN when NTest is 0
	Seconds       float64 // fit and scoring time
}

// FitHoldout holds out a fraction testFrac ∈ [0, 1) of d (stratified for
// classification, seeded by Seed), fits the pipeline on the rest as [Fit]
// and scores both parts.
func (p *Pipeline) FitHoldout(ctx context.Context, d *data.Dataset, testFrac float64) (*Holdout, error) {
	if !(testFrac >= 0 && testFrac < 1) {
		return nil, fmt.Errorf("kernel: test fraction must be in [0, 1), got %v: %w", testFrac, ErrParam)
	}
	if err := checkTabular(d); err != nil {
		return nil, err
	}
	tr, te := d, (*data.Dataset)(nil)
	if testFrac > 0 {
		var err error
		if tr, te, err = data.StratifiedSplit(d, testFrac, p.Seed); err != nil {
			return nil, fmt.Errorf("kernel: %w", err)
		}
	}
	t0 := time.Now()
	trX, err := p.fit(ctx, tr)
	if err != nil {
		return nil, err
	}
	h := &Holdout{Metric: Metric(p.Regression), NTrain: tr.Len(), TestScore: math.NaN()}
	if h.TrainScore, err = p.score(trX); err != nil {
		return nil, err
	}
	if te != nil {
		teX, err := p.tabular(te)
		if err != nil {
			return nil, err
		}
		if h.TestScore, err = p.score(teX); err != nil {
			return nil, err
		}
		h.NTest = te.Len()
	}
	h.Seconds = time.Since(t0).Seconds()
	return h, nil
}

// score predicts prepared data and scores by label index or R².
func (p *Pipeline) score(tb *tabular) (float64, error) {
	if p.Regression {
		pr, err := p.Model.(Regressor).Predict(tb.X)
		if err != nil {
			return 0, err
		}
		return R2(tb.t, pr), nil
	}
	pr, err := p.Model.(Classifier).Predict(tb.X)
	if err != nil {
		return 0, err
	}
	return Accuracy(tb.y, pr), nil
}

// AsPipeline returns m as a pipeline without preprocessing, so that a
// model saved with [SaveFile] predicts data sets as a fitted pipeline
// does; a *Pipeline is returned unchanged. The labels of a plain
// classifier are read as indices of the data set's classes.
func AsPipeline(m Model) (*Pipeline, error) {
	switch v := m.(type) {
	case nil:
		return nil, fmt.Errorf("kernel: nil model: %w", ErrParam)
	case *Pipeline:
		return v, nil
	case Regressor:
		return &Pipeline{Method: m.ModelKind(), Regression: true, Model: m}, nil
	case Classifier:
		return &Pipeline{Method: m.ModelKind(), Model: m}, nil
	}
	return nil, fmt.Errorf("kernel: a %s model does not predict labels or values: %w", m.ModelKind(), ErrParam)
}

// LoadPipelineFile reads a pipeline or a plain model saved with
// [SaveFile] and returns it as a [Pipeline] ([AsPipeline]).
func LoadPipelineFile(path string) (*Pipeline, error) {
	m, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := AsPipeline(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// SearchGrid is the grid of [Pipeline.GridSearch].
type SearchGrid struct {
	// Kernel maps kernel parameter names to values; each value replaces
	// the parameter in the pipeline's kernel text.
	Kernel Grid
	// Reg are the regularization values; empty means the method's default.
	Reg []float64 `flag:"reg-grid" help:"regularization values (γ for lssvm/askls, λ for krr/labrbf)"`
	// Folds is the number of folds; 0 means 5.
	Folds int `flag:"folds" help:"number of folds (0 = 5)"`
}

// Search is the result of [Pipeline.GridSearch]. The parameters of each
// point are "reg" and "k:NAME" for kernel parameter NAME.
type Search struct {
	*GridResult
	Data       string // the data set's name
	Method     string // the method's name
	Kernel     string // the base kernel's text
	Folds      int
	Regression bool   // whether the data set has regression targets
	Metric     string // "accuracy" or "r2"
}

// ParseGrid reads grid parameters, each "name=v1,v2,..." (a name given
// twice keeps its last values).
func ParseGrid(specs []string) (Grid, error) {
	g := Grid{}
	for _, s := range specs {
		name, vals, ok := strings.Cut(s, "=")
		if !ok || name == "" || vals == "" {
			return nil, fmt.Errorf("kernel: grid %q: want name=v1,v2,...: %w", s, ErrParam)
		}
		g[name] = nil
		for _, v := range strings.Split(vals, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, fmt.Errorf("kernel: grid %q: value %q is not a number: %w", s, v, ErrParam)
			}
			g[name] = append(g[name], x)
		}
	}
	return g, nil
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

// kernelWith returns the kernel text with the "k:NAME" parameters of a
// grid point set.
func kernelWith(text string, params map[string]float64) string {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if kn, ok := strings.CutPrefix(n, "k:"); ok {
			text = setKernelParam(text, kn, params[n])
		}
	}
	return text
}

// Refit sets the pipeline's method, kernel and regularization to the best
// point of a search on d ([Pipeline.GridSearch]) and fits it on all of d,
// as scikit-learn's GridSearchCV(refit=True) does.
func (p *Pipeline) Refit(ctx context.Context, d *data.Dataset, s *Search) error {
	if s == nil || s.GridResult == nil || s.Best < 0 || s.Best >= len(s.Points) {
		return fmt.Errorf("kernel: refit without a search result: %w", ErrParam)
	}
	best := s.BestParams()
	p.Method, p.Kernel, p.Reg = s.Method, kernelWith(s.Kernel, best), best["reg"]
	if m, _ := LookupMethod(s.Method); m.NoKernel {
		p.Kernel = ""
	}
	return p.Fit(ctx, d)
}

// GridSearch standardizes all of d (unless NoStandardize) and
// cross-validates the pipeline's method over every combination of the
// grid's kernel parameters and regularization values, with k folds
// (stratified for classification) shuffled by Seed. It does not fit the
// pipeline.
func (p *Pipeline) GridSearch(ctx context.Context, d *data.Dataset, g SearchGrid) (*Search, error) {
	if err := checkTabular(d); err != nil {
		return nil, err
	}
	if !d.IsLabeled() && !d.IsRegression() {
		return nil, fmt.Errorf("kernel: data set %s has no labels or targets: %w", d.Name, ErrShape)
	}
	q := *p
	q.Regression, q.Features = d.IsRegression(), d.SampleSize()
	q.Mean, q.Std = nil, nil
	if _, _, err := q.resolve(q.Regression, q.Features); err != nil {
		return nil, err
	}
	var err error
	if q.taskCol, err = taskColumn(q.Tasks, d); err != nil {
		return nil, err
	}
	if !q.NoStandardize {
		st, err := data.FitStandardizer(d)
		if err != nil {
			return nil, fmt.Errorf("kernel: %w", err)
		}
		q.Mean, q.Std = keepTaskColumn(st.Mean, st.Std, q.taskCol)
	}
	tb, err := q.tabular(d)
	if err != nil {
		return nil, err
	}
	grid := Grid{}
	for name, vals := range g.Kernel {
		if name == "reg" {
			return nil, fmt.Errorf(`kernel: grid: "reg" is a kernel parameter name; give regularization values as Reg: %w`, ErrParam)
		}
		grid["k:"+name] = vals
	}
	grid["reg"] = g.Reg
	if len(g.Reg) == 0 {
		m, _ := LookupMethod(q.Method)
		grid["reg"] = []float64{m.DefaultReg}
	}
	build := func(params map[string]float64, seed uint64) (Regressor, Classifier, error) {
		text := kernelWith(q.Kernel, params)
		k, err := ParseKernel(text)
		if err != nil {
			return nil, nil, fmt.Errorf("kernel %q: %w", text, err)
		}
		return q.estimator(k, params["reg"], seed)
	}
	// Check the first combination builds before running the grid.
	if _, _, err := build(map[string]float64{"reg": grid["reg"][0]}, q.Seed); err != nil {
		return nil, err
	}
	cv := CV{Folds: g.Folds, Rand: rand.New(rand.NewPCG(q.Seed, 0x6376)), Stratify: !q.Regression}
	folds, err := cv.folds()
	if err != nil {
		return nil, err
	}
	var res *GridResult
	if q.Regression {
		res, err = GridSearch(ctx, cv, tb.X, tb.t, grid, func(params map[string]float64, fold int) (Estimator[float64], error) {
			r, _, err := build(params, q.Seed+uint64(fold))
			return r, err
		}, R2)
	} else {
		res, err = GridSearch(ctx, cv, tb.X, tb.y, grid, func(params map[string]float64, fold int) (Estimator[int], error) {
			_, c, err := build(params, q.Seed+uint64(fold))
			return c, err
		}, Accuracy)
	}
	if err != nil {
		return nil, err
	}
	return &Search{GridResult: res, Data: d.Name, Method: q.Method, Kernel: q.Kernel, Folds: folds, Regression: q.Regression, Metric: Metric(q.Regression)}, nil
}

// FormatParams writes grid parameters as "name=value ..." in name order,
// without the "k:" prefix of kernel parameters.
func FormatParams(p map[string]float64) string {
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = strings.TrimPrefix(n, "k:") + "=" + strconv.FormatFloat(p[n], 'g', -1, 64)
	}
	return strings.Join(parts, " ")
}

// Prepared is a tabular data set as float64 matrices, split into training
// and test rows and standardized with training statistics (see [Prepare]).
type Prepared struct {
	Name       string
	Regression bool
	Classes    []string
	Xtr, Xte   *mat.Dense // Xte is nil without a test split
	Ytr, Yte   []int      // class labels (classification)
	Ttr, Tte   []float64  // targets (regression)
	Mean, Std  []float64  // nil when not standardized
}

// Prepare holds out a fraction testFrac ∈ [0, 1) of d (stratified for
// classification, seeded; 0: no test rows) and, when standardize is set,
// standardizes both parts with the training part's statistics, as
// [Pipeline.FitHoldout] does.
func Prepare(d *data.Dataset, testFrac float64, seed uint64, standardize bool) (*Prepared, error) {
	if !(testFrac >= 0 && testFrac < 1) {
		return nil, fmt.Errorf("kernel: test fraction must be in [0, 1), got %v: %w", testFrac, ErrParam)
	}
	if err := checkTabular(d); err != nil {
		return nil, err
	}
	if !d.IsLabeled() && !d.IsRegression() {
		return nil, fmt.Errorf("kernel: data set %s has no labels or targets: %w", d.Name, ErrShape)
	}
	tr, te := d, (*data.Dataset)(nil)
	if testFrac > 0 {
		var err error
		if tr, te, err = data.StratifiedSplit(d, testFrac, seed); err != nil {
			return nil, fmt.Errorf("kernel: %w", err)
		}
	}
	p := Pipeline{Features: d.SampleSize()}
	if standardize {
		st, err := data.FitStandardizer(tr)
		if err != nil {
			return nil, fmt.Errorf("kernel: %w", err)
		}
		p.Mean, p.Std = st.Mean, st.Std
	}
	out := &Prepared{Name: d.Name, Regression: d.IsRegression(), Classes: d.Classes, Mean: p.Mean, Std: p.Std}
	a, err := p.tabular(tr)
	if err != nil {
		return nil, err
	}
	out.Xtr, out.Ytr, out.Ttr = a.X, a.y, a.t
	if te != nil {
		b, err := p.tabular(te)
		if err != nil {
			return nil, err
		}
		out.Xte, out.Yte, out.Tte = b.X, b.y, b.t
	}
	return out, nil
}
