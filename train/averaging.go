package train

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/registry"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
)

// AveragingMethod is a registered way to combine the weights of
// checkpoints of one architecture into one model: "swa", the TWA variants
// "twa" (ICLR), "twa-t" and "twa-v" (journal), and the soups
// "soup-uniform", "soup-greedy", "soup-mehl", "soup-mehl+".
type AveragingMethod struct {
	Summary string
	// HeldOut says that the method selects or learns on a held-out split
	// of the training data (AverageConfig.ValRatio).
	HeldOut bool
	// LR and Epochs are the method's defaults ([DefaultAverageConfig]) for
	// the methods that train; MinCheckpoints is how many it needs.
	LR             float64
	Epochs         int
	MinCheckpoints int
	// Combine sets in.Net's weights from in.Weights. It returns a detail
	// for the report and extra fields for its JSON form. Batch-norm
	// statistics are recomputed afterwards by [Average].
	Combine func(ctx context.Context, in *AverageInput) (detail string, extra map[string]any, err error)
	order   int // position in AverageMethodNames' "compare" order
}

// AverageInput is what an [AveragingMethod] combines.
type AverageInput struct {
	Net     *nn.Network   // holds the first checkpoint; Combine overwrites its weights
	Weights [][]float32   // the checkpoints' weights
	Paths   []string      // the checkpoints' names
	Train   *data.Dataset // training split
	HeldOut *data.Dataset // held-out split (nil unless the method asks for one)
	Test    *data.Dataset
	Config  *AverageConfig
}

var averagers = registry.New[AveragingMethod]("averaging method")

// RegisterAveragingMethod adds a method under name (from an init
// function); it panics if the name is taken.
func RegisterAveragingMethod(name string, m AveragingMethod) { averagers.Register(name, m) }

// LookupAveragingMethod returns the method registered under name, or an
// error matching [ErrUnknown] that lists the names.
func LookupAveragingMethod(name string) (AveragingMethod, error) { return averagers.Lookup(name) }

// AveragingMethodNames lists the registered methods whose names start
// with prefix ("" for all, "soup-" for the soups), in the order the
// soups are compared (uniform, greedy, mehl, mehl+) and otherwise sorted.
func AveragingMethodNames(prefix string) []string {
	var names []string
	for _, n := range averagers.Names() {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	slices.SortStableFunc(names, func(a, b string) int {
		ma, _ := averagers.Lookup(a)
		mb, _ := averagers.Lookup(b)
		return ma.order - mb.order
	})
	return names
}

// AverageConfig configures [Average]. [DefaultAverageConfig] gives the
// defaults of a method.
type AverageConfig struct {
	Method      string   // AveragingMethodNames
	Checkpoints []string // of one architecture
	Train, Test *data.Dataset
	BNBatch     int // batch of the batch-norm statistics update

	// Training methods (TWA, MEHL soups); 0 LR or Epochs: the method's
	// default.
	Epochs, Batch int
	LR            float64
	WeightDecay   float64 // twa: SGD weight decay
	Momentum      float64 // twa: SGD momentum
	Start         string  // twa: "mean" (the SWA average) or "last"
	BatchModels   int     // MEHL soups: models per model batch
	// ValRatio is the seeded, stratified fraction of Train held out for
	// selection and coefficient learning (twa-v, soups).
	ValRatio float64
	Seed     uint64
	// Compare also makes and evaluates every soup (with a soup Method),
	// saving the Method one.
	Compare bool

	Out      string            // checkpoint to write (atomically); empty writes none
	Meta     map[string]string // added to the checkpoint's metadata
	Progress progress.Reporter
}

// DefaultAverageConfig returns the defaults of "trustml average".
func DefaultAverageConfig(method string) AverageConfig {
	m, _ := LookupAveragingMethod(method)
	return AverageConfig{Method: method, BNBatch: 128, Batch: 128, WeightDecay: 1e-5, Momentum: 0.9, Start: "mean",
		ValRatio: 0.1, Seed: 1, BatchModels: 18, LR: m.LR, Epochs: m.Epochs}
}

// AverageEval is one row of a report: a checkpoint or an average,
// evaluated on the held-out split (when there is one) and the test split.
type AverageEval struct {
	Name    string                  `json:"name"`
	HeldOut *metrics.Classification `json:"held_out,omitempty"`
	Test    metrics.Classification  `json:"test"`
	Detail  string                  `json:"detail,omitempty"`
}

// AverageResult is what [Average] returns. Its JSON form holds
// checkpoint, method, averaged and test, and the method's extra fields.
type AverageResult struct {
	Checkpoint string
	Method     string
	Averaged   int // checkpoints
	Test       metrics.Classification
	TestData   string
	// Models are the ingredients (soups), Results the averages made, with
	// the reference the method reports (the SWA point of TWA-t and v).
	Models, Results []AverageEval
	Extra           map[string]any
	Net             *nn.Network // the saved average
}

// MarshalJSON writes the result's fields and its extras in one object.
func (r *AverageResult) MarshalJSON() ([]byte, error) {
	m := map[string]any{"checkpoint": r.Checkpoint, "method": r.Method, "averaged": r.Averaged, "test": r.Test}
	for k, v := range r.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// Average combines checkpoints with a registered method (SWA, TWA, model
// soups), recomputes batch-norm statistics on the training split, evaluates
// the result on the test split and saves it.
func Average(ctx context.Context, cfg AverageConfig) (*AverageResult, error) {
	res, err := average(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("average %s: %w", cfg.Method, err)
	}
	return res, nil
}

func average(ctx context.Context, cfg AverageConfig) (*AverageResult, error) {
	m, err := LookupAveragingMethod(cfg.Method)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Train == nil || cfg.Test == nil:
		return nil, fmt.Errorf("needs a training and a test set")
	case cfg.BNBatch < 1 || cfg.Batch < 1:
		return nil, fmt.Errorf("--batch and --bn-batch must be positive")
	case m.Epochs > 0 && cfg.Epochs < 1:
		return nil, fmt.Errorf("--epochs must be at least 1, got %d", cfg.Epochs)
	case m.LR > 0 && (!(cfg.LR > 0) || cfg.LR > 1e6):
		return nil, fmt.Errorf("--lr must be positive, got %g", cfg.LR)
	case m.HeldOut && !(cfg.ValRatio > 0 && cfg.ValRatio < 1):
		return nil, fmt.Errorf("--val-ratio %g outside (0, 1)", cfg.ValRatio)
	case strings.HasPrefix(cfg.Method, "soup-") && cfg.BatchModels < 1:
		return nil, fmt.Errorf("--batch-models must be at least 1, got %d", cfg.BatchModels)
	case len(cfg.Checkpoints) < max(m.MinCheckpoints, 1):
		return nil, fmt.Errorf("%s needs at least %d checkpoints, got %d", cfg.Method, max(m.MinCheckpoints, 1), len(cfg.Checkpoints))
	}
	net, ws, err := loadCheckpoints(cfg.Checkpoints)
	if err != nil {
		return nil, err
	}
	for _, d := range []*data.Dataset{cfg.Train, cfg.Test} {
		if err := checkData(net, d); err != nil {
			return nil, err
		}
	}
	in := &AverageInput{Net: net, Weights: ws, Paths: cfg.Checkpoints, Train: cfg.Train, Test: cfg.Test, Config: &cfg}
	if m.HeldOut {
		if in.HeldOut, err = heldOutSplit(cfg.Train, cfg.ValRatio, cfg.Seed); err != nil {
			return nil, err
		}
	}
	res := &AverageResult{Checkpoint: cfg.Out, Method: cfg.Method, Averaged: len(ws), TestData: cfg.Test.Name, Extra: map[string]any{}}
	soup := strings.HasPrefix(cfg.Method, "soup-")
	rep := progress.Or(cfg.Progress)
	if soup {
		for _, p := range cfg.Checkpoints {
			mn, _, err := nn.LoadFile(p) // its own batch-norm statistics
			if err != nil {
				return nil, err
			}
			e, err := evalAverage(ctx, filepath.Base(p), "", mn, in.HeldOut, cfg.Test)
			if err != nil {
				return nil, err
			}
			res.Models = append(res.Models, e)
		}
		rep.Log("soup of %d %s checkpoints (%d parameters), %d held-out images of %s",
			len(ws), net.Spec().Name, net.NumParams(), in.HeldOut.Len(), cfg.Train.Name)
		res.Extra["val_ratio"], res.Extra["held_out"], res.Extra["bn_updated"] = cfg.ValRatio, in.HeldOut.Len(), net.HasBatchNorm()
	}
	methods := []string{cfg.Method}
	if soup && cfg.Compare {
		methods = AveragingMethodNames("soup-")
	}
	for _, name := range methods {
		mm, _ := LookupAveragingMethod(name)
		run := *in
		run.Net = net.Copy()
		detail, extra, err := mm.Combine(ctx, &run)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := UpdateBN(ctx, run.Net, cfg.Train.X, cfg.BNBatch); err != nil {
			return nil, err
		}
		for k, v := range extra {
			res.Extra[k] = v
		}
		if soup || run.HeldOut != nil || strings.HasPrefix(name, "twa-") {
			short := strings.TrimPrefix(name, "soup-")
			e, err := evalAverage(ctx, short, detail, run.Net, run.HeldOut, cfg.Test)
			if err != nil {
				return nil, err
			}
			if sw, ok := res.Extra["swa"].(AverageEval); ok && strings.HasPrefix(name, "twa-") {
				res.Results = append(res.Results, sw)
				res.Extra["twa"], res.Extra["gain_over_swa"] = e, e.Test.Accuracy-sw.Test.Accuracy
			}
			if soup {
				rep.Log("%s soup: held-out %.2f%%, test %.2f%% (%s)", short, 100*e.HeldOut.Accuracy, 100*e.Test.Accuracy, detail)
			}
			res.Results = append(res.Results, e)
		}
		if name == cfg.Method {
			res.Net = run.Net
		}
	}
	if soup {
		res.Extra["models"], res.Extra["soups"] = res.Models, res.Results
	}
	mt, _, err := metrics.EvaluateClassifier(ctx, res.Net, cfg.Test.X, cfg.Test.Y)
	if err != nil {
		return nil, err
	}
	res.Test = mt
	if cfg.Out == "" {
		return res, nil
	}
	meta := map[string]string{
		"averaged":      strings.Join(cfg.Checkpoints, ","),
		"method":        cfg.Method,
		"data":          cfg.Train.Name,
		"arch":          net.Spec().Name,
		"trained":       time.Now().UTC().Format(time.RFC3339),
		"test_data":     cfg.Test.Name,
		"test_accuracy": fmt.Sprintf("%.4f", mt.Accuracy),
		"test_ece":      fmt.Sprintf("%.4f", mt.ECE),
		"test_nll":      fmt.Sprintf("%.4f", mt.NLL),
	}
	for k, v := range cfg.Meta {
		meta[k] = v
	}
	if err := nn.SaveFile(cfg.Out, res.Net, meta); err != nil {
		return nil, err
	}
	return res, nil
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

// heldOutSplit returns the seeded, stratified fraction ratio of trainSet
// that selection and coefficient learning use: the same samples that
// "trustml train --holdout ratio --holdout-seed seed" leaves out.
func heldOutSplit(trainSet *data.Dataset, ratio float64, seed uint64) (*data.Dataset, error) {
	_, valIdx, err := data.StratifiedSplitIndices(trainSet, ratio, seed)
	if err != nil {
		return nil, fmt.Errorf("--val-ratio: %w", err)
	}
	if len(valIdx) == 0 {
		return nil, fmt.Errorf("--val-ratio %g holds out no sample of the %d in %s", ratio, trainSet.Len(), trainSet.Name)
	}
	return trainSet.Subset(valIdx), nil
}

// evalAverage evaluates net on held (skipped when nil) and test.
func evalAverage(ctx context.Context, name, detail string, net *nn.Network, held, test *data.Dataset) (AverageEval, error) {
	e := AverageEval{Name: name, Detail: detail}
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

func combineSWA(_ context.Context, in *AverageInput) (string, map[string]any, error) {
	var avg SWA
	for i, w := range in.Weights {
		if err := avg.Add(w); err != nil {
			return "", nil, fmt.Errorf("%s: %w", in.Paths[i], err)
		}
	}
	if err := avg.CopyTo(in.Net.Weights()); err != nil {
		return "", nil, err
	}
	return "", map[string]any{"bn_updated": in.Net.HasBatchNorm()}, nil
}

// combineTWAICLR trains, from the mean (or the last checkpoint), inside
// the span of the checkpoints with projected SGD.
func combineTWAICLR(ctx context.Context, in *AverageInput) (string, map[string]any, error) {
	cfg, net := in.Config, in.Net
	if cfg.Start != "mean" && cfg.Start != "last" {
		return "", nil, fmt.Errorf("--start %q: want mean or last", cfg.Start)
	}
	if _, _, err := combineSWA(ctx, in); err != nil {
		return "", nil, err
	}
	if cfg.Start == "last" {
		copy(net.Weights(), in.Weights[len(in.Weights)-1])
	}
	basis, err := SpanBasis(in.Weights)
	if err != nil {
		return "", nil, err
	}
	if err := UpdateBN(ctx, net, in.Train.X, cfg.BNBatch); err != nil {
		return "", nil, err
	}
	sgd, err := NewSGD(cfg.LR, cfg.Momentum, cfg.WeightDecay, false)
	if err != nil {
		return "", nil, err
	}
	opt, err := NewProjected(sgd, basis)
	if err != nil {
		return "", nil, err
	}
	sched, _ := ParseSchedule("step", cfg.LR)
	progress.Or(cfg.Progress).Log("TWA in the %d-dimensional span of %d checkpoints, %d epochs, lr %g", basis.Dim, len(in.Weights), cfg.Epochs, cfg.LR)
	hist, err := Fit(ctx, net, in.Train.X, in.Train.Y, Config{
		Epochs: cfg.Epochs, BatchSize: cfg.Batch, Seed: cfg.Seed, Optimizer: opt, Schedule: sched, Progress: cfg.Progress,
	})
	if err != nil {
		return "", nil, err
	}
	return "", map[string]any{"dim": basis.Dim, "history": hist, "span_residual": basis.Residual(net.Weights())}, nil
}

// combineTWAJournal runs TWA-t or TWA-v: MEHL-Soup+ with every checkpoint
// in one model batch (TWAJournalConfig), reporting the SWA point beside.
func combineTWAJournal(variant string) func(context.Context, *AverageInput) (string, map[string]any, error) {
	return func(ctx context.Context, in *AverageInput) (string, map[string]any, error) {
		cfg, net := in.Config, in.Net
		bn := net.HasBatchNorm()
		swa := net.Copy() // the start, X = 0: the SWA point
		if err := UniformSoup(swa.Weights(), in.Weights); err != nil {
			return "", nil, err
		}
		if err := UpdateBN(ctx, swa, in.Train.X, cfg.BNBatch); err != nil {
			return "", nil, err
		}
		swaEval, err := evalAverage(ctx, "swa", "mean of the checkpoints (X = 0)", swa, in.HeldOut, in.Test)
		if err != nil {
			return "", nil, err
		}
		fitSet, split := in.Train, "training"
		if in.HeldOut != nil {
			fitSet, split = in.HeldOut, "held-out"
		}
		mc := TWAJournalConfig(rand.New(rand.NewPCG(cfg.Seed, 0x7a6a)))
		mc.Epochs, mc.LR, mc.BatchSize, mc.Progress = cfg.Epochs, cfg.LR, cfg.Batch, cfg.Progress
		progress.Or(cfg.Progress).Log("TWA-%s of %d %s checkpoints (%d parameters): %d epochs over %d %s images, AdamW lr %g",
			variant, len(in.Weights), net.Spec().Name, net.NumParams(), cfg.Epochs, fitSet.Len(), split, cfg.LR)
		res, err := MEHLSoup(ctx, net, in.Weights, fitSet.X, fitSet.Y, mc)
		if err != nil {
			return "", nil, fmt.Errorf("TWA-%s: %w", variant, err)
		}
		extra := map[string]any{
			"variant": variant, "bn_updated": bn, "epochs": cfg.Epochs, "lr": cfg.LR, "swa": swaEval,
			"blocks": res.Blocks, "coef": res.Batches[0].Coef, "order": res.Order, "loss": res.Batches[0].Loss,
		}
		if in.HeldOut != nil {
			extra["val_ratio"], extra["held_out"] = cfg.ValRatio, in.HeldOut.Len()
		}
		return fmt.Sprintf("%d coefficients per checkpoint", len(res.Blocks)), extra, nil
	}
}

func combineSoup(method string) func(context.Context, *AverageInput) (string, map[string]any, error) {
	return func(ctx context.Context, in *AverageInput) (string, map[string]any, error) {
		cfg, s, held := in.Config, in.Net, in.HeldOut
		switch method {
		case "uniform":
			if err := UniformSoup(s.Weights(), in.Weights); err != nil {
				return "", nil, err
			}
			return fmt.Sprintf("%d ingredients", len(in.Weights)), nil, nil
		case "greedy":
			gc := GreedyConfig{Progress: cfg.Progress}
			if s.HasBatchNorm() {
				gc.BNData, gc.BNBatch = in.Train.X, cfg.BNBatch
			}
			res, err := GreedySoup(ctx, s, in.Weights, held.X, held.Y, gc)
			if err != nil {
				return "", nil, err
			}
			names := make([]string, len(res.Ingredients))
			for i, k := range res.Ingredients {
				names[i] = filepath.Base(in.Paths[k])
			}
			return fmt.Sprintf("%d ingredients: %s", len(names), strings.Join(names, " ")), map[string]any{"greedy": res}, nil
		}
		mc := DefaultMEHLConfig(rand.New(rand.NewPCG(cfg.Seed, 0x50c9)))
		mc.BatchModels, mc.Epochs, mc.LR, mc.BatchSize = cfg.BatchModels, cfg.Epochs, cfg.LR, cfg.Batch
		mc.LayerWise, mc.Progress = method == "mehl+", cfg.Progress
		res, err := MEHLSoup(ctx, s, in.Weights, held.X, held.Y, mc)
		if err != nil {
			return "", nil, err
		}
		return fmt.Sprintf("%d model batches, %d coefficients per model", len(res.Batches), len(res.Blocks)), map[string]any{method: res}, nil
	}
}

func init() {
	RegisterAveragingMethod("swa", AveragingMethod{Combine: combineSWA,
		Summary: "stochastic weight averaging: the mean of the weights (Izmailov et al., UAI 2018)"})
	RegisterAveragingMethod("twa", AveragingMethod{Combine: combineTWAICLR, LR: 2, Epochs: 2,
		Summary: "TWA (Li et al., ICLR 2023): projected SGD in the span of the checkpoints"})
	for _, v := range []string{"t", "v"} {
		RegisterAveragingMethod("twa-"+v, AveragingMethod{Combine: combineTWAJournal(v), LR: 1e-3, Epochs: 10, HeldOut: v == "v", MinCheckpoints: 2,
			Summary: "TWA journal version: layer-wise affine coefficients with AdamW, on the training (t) or a held-out (v) split"})
	}
	for i, s := range []string{"uniform", "greedy", "mehl", "mehl+"} {
		m := AveragingMethod{Combine: combineSoup(s), HeldOut: true, MinCheckpoints: 2, order: i + 1,
			Summary: "model soup: " + s}
		m.LR, m.Epochs = 0.01, 5 // used by the MEHL soups (the defaults of a comparison)
		RegisterAveragingMethod("soup-"+s, m)
	}
}

// WriteText prints the report for a terminal: the ingredients and averages
// evaluated on the held-out and test splits (soups, TWA-t and v), then the
// saved average on the test split.
func (r *AverageResult) WriteText(out io.Writer) error {
	pct := func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
	if len(r.Results) > 0 {
		var rows [][]string
		row := func(kind string, e AverageEval) {
			h := []string{"-", "-"}
			if e.HeldOut != nil {
				h = []string{pct(e.HeldOut.Accuracy), fmt.Sprintf("%.4f", e.HeldOut.NLL)}
			}
			cells := append(append([]string{e.Name}, h...), pct(e.Test.Accuracy), fmt.Sprintf("%.4f", e.Test.NLL), e.Detail)
			if len(r.Models) > 0 {
				cells = append([]string{kind}, cells...)
			}
			rows = append(rows, cells)
		}
		for _, e := range r.Models {
			row("model", e)
		}
		for _, e := range r.Results {
			row("soup", e)
		}
		header := []string{"", "held-out acc", "held-out nll", "test acc", "test nll", "detail"}
		if len(r.Models) > 0 {
			header = append([]string{"", "name"}, header[1:]...)
		}
		writeTable(out, header, rows)
		fmt.Fprintln(out)
	}
	m := r.Test
	fmt.Fprintf(out, "%s of %d checkpoints saved to %s\n", r.Method, r.Averaged, r.Checkpoint)
	writeTable(out, []string{"split", "n", "accuracy", "nll", "ece"}, [][]string{
		{r.TestData + " (test)", fmt.Sprint(m.N), pct(m.Accuracy), fmt.Sprintf("%.4f", m.NLL), pct(m.ECE)},
	})
	return nil
}
