package repro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/uap"
	"github.com/trustml/trustml/zoo"
)

// UAPConfig is the small-scale reproduction of FG-UAP's comparison
// ([UAP]): every method crafted on every model, evaluated on every model.
type UAPConfig struct {
	// Models are the sources and the targets (zoo.OpenNetwork specs).
	Models []string `flag:"models" help:"source and target models: embedded names, checkpoints, .onnx files (comma-separated)"`
	// Methods are uap method names crafted on every model.
	Methods []string `flag:"methods" help:"methods crafted on every model: fg-uap, uap, gd-uap, dominant, random"`
	Eps     float64  `flag:"eps" help:"ℓ∞ radius on the [0, 1] pixel scale, in (0, 1]"`
	Layer   string   `flag:"layer" help:"feature layer of the feature methods (penultimate, a name or an index)"`
	// Data is "auto" (the full Fashion-MNIST when installed, else the
	// embedded subset) or a data set name.
	Data    string `flag:"data" help:"auto (full Fashion-MNIST when installed, else the embedded subset) or a data set"`
	DataDir string `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files"`
	TrainN  int    `flag:"train-n" help:"crafting images (the first n of the training split)"`
	TestN   int    `flag:"test-n" help:"evaluation images (the first n of the test split; 0 = all)"`
	Epochs  int    `flag:"epochs" help:"Adam epochs of the feature methods"`
	// UAPPasses bounds the passes of the DeepFool-style uap.
	UAPPasses int    `flag:"uap-passes" help:"passes of uap over the crafting images (at most; ART stops at 80% fooling)"`
	Seed      uint64 `flag:"seed" help:"seed of every method"`
	// Shard runs the runs (source × method) with index i mod N; Out saves
	// them as JSON and From tabulates saved shards without crafting.
	Shard shard.Spec `flag:"shard" help:"run shard i/N of the runs (source × method)"`
	Out   string     `flag:"out" help:"save the runs as JSON to this file (atomic)"`
	From  []string   `flag:"from" help:"tabulate runs saved by --out instead of crafting (comma-separated files)"`
}

// UAPONNXModel is the imported ONNX model the reproduction adds to its
// defaults when it exists (run from the repository root).
const UAPONNXModel = "onnx/testdata/fashion_cnn.onnx"

// DefaultUAPConfig returns the README's run: FG-UAP, UAP and the random
// baseline at ε = 0.1 on the two embedded models (and the imported ONNX
// CNN when its file is here), crafted on 500 training images and
// evaluated on the full Fashion-MNIST test set.
func DefaultUAPConfig() UAPConfig {
	models := []string{"fashion-cnn", "fashion-resnet8"}
	if _, err := os.Stat(UAPONNXModel); err == nil {
		models = append(models, UAPONNXModel)
	}
	return UAPConfig{Models: models, Methods: []string{"fg-uap", "uap", "random"}, Eps: 0.1, Layer: uap.Penultimate,
		Data: "auto", TrainN: 500, Epochs: 4, UAPPasses: 2, Seed: 1}
}

// UAPEval is one model's numbers under one run's perturbation.
type UAPEval struct {
	Model         string      `json:"model"`
	CleanAccuracy float64     `json:"clean_accuracy"`
	Unclipped     uap.Outcome `json:"unclipped"`
	Clipped       uap.Outcome `json:"clipped"`
}

// UAPRun is one perturbation (a method crafted on a source model) and its
// evaluation on every model.
type UAPRun struct {
	Index     int       `json:"index"`
	Source    string    `json:"source"`
	Method    string    `json:"method"`
	Layer     string    `json:"layer,omitempty"`
	Steps     int       `json:"steps"`
	MaxAbs    float64   `json:"max_abs"`
	Seconds   float64   `json:"seconds"`
	Evals     []UAPEval `json:"evals"`
	Dominance struct {
		Class     int     `json:"class"`
		ToClass   float64 `json:"to_class"`
		Top3Share float64 `json:"top3_share"`
		CosPD     float64 `json:"cos_perturbed_delta"`
		CosPC     float64 `json:"cos_perturbed_clean"`
	} `json:"dominance"`
	Error string `json:"error,omitempty"`
}

// UAPRunFile is what --out writes: the setup, the shard and its runs.
type UAPRunFile struct {
	Setup string     `json:"setup"`
	Spec  shard.Spec `json:"shard"`
	Runs  []UAPRun   `json:"runs"`
}

// UAPResult is what [UAP] returns: the runs and the paper-vs-ours table.
type UAPResult struct {
	Runs  []UAPRun `json:"runs"`
	Table *Table   `json:"table"`
}

// WriteText prints the table and then fails when a run failed, so that a
// command printing it exits non-zero.
func (r *UAPResult) WriteText(w io.Writer) error {
	if err := r.Table.WriteText(w); err != nil {
		return err
	}
	if !r.Table.Complete() {
		return fmt.Errorf("repro uap: %d run(s) failed: %s", len(r.Table.Failed), strings.Join(r.Table.Failed, "; "))
	}
	return nil
}

// setup names everything that must agree between shards.
func (c *UAPConfig) setup() string {
	return fmt.Sprintf("models=%s methods=%s eps=%g layer=%s data=%s train=%d test=%d epochs=%d passes=%d seed=%d",
		strings.Join(c.Models, ","), strings.Join(c.Methods, ","), c.Eps, c.Layer, c.Data, c.TrainN, c.TestN, c.Epochs, c.UAPPasses, c.Seed)
}

// UAP crafts every method on every model of cfg (its shard of the runs),
// evaluates each perturbation on every model (fooling rates unclipped, as
// the paper, and clipped to [0, 1]) and tabulates them beside FG-UAP's
// claim; with cfg.From it tabulates saved runs instead.
func UAP(ctx context.Context, cfg *UAPConfig, pr progress.Reporter) (*UAPResult, error) {
	start := time.Now()
	pr = progress.Or(pr)
	var runs []UAPRun
	setup := cfg.setup()
	if len(cfg.From) > 0 {
		var err error
		if runs, setup, err = ReadUAPRuns(cfg.From...); err != nil {
			return nil, err
		}
	} else {
		if err := cfg.validate(); err != nil {
			return nil, err
		}
		var err error
		if runs, err = cfg.run(ctx, pr); err != nil {
			return nil, err
		}
		if cfg.Out != "" {
			b, err := json.MarshalIndent(UAPRunFile{Setup: cfg.setup(), Spec: cfg.Shard, Runs: runs}, "", " ")
			if err != nil {
				return nil, err
			}
			if err := atomicfile.WriteFile(cfg.Out, append(b, '\n'), 0o644); err != nil {
				return nil, fmt.Errorf("repro uap: %w", err)
			}
		}
	}
	t := uapTable(runs, setup)
	t.Seconds = time.Since(start).Seconds()
	return &UAPResult{Runs: runs, Table: t}, nil
}

func (c *UAPConfig) validate() error {
	o := uap.DefaultOptions()
	o.Eps = c.Eps
	switch {
	case len(c.Models) == 0 || len(c.Methods) == 0:
		return fmt.Errorf("repro uap: no models or no methods")
	case c.TrainN < 1 || c.TestN < 0 || c.Epochs < 1 || c.UAPPasses < 1:
		return fmt.Errorf("repro uap: --train-n, --epochs and --uap-passes must be ≥ 1 and --test-n ≥ 0")
	}
	for _, m := range c.Methods {
		o.Method = m
		if err := o.Validate(); err != nil {
			return fmt.Errorf("repro %w", err)
		}
	}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("repro %w", err)
	}
	return c.Shard.Validate()
}

// uapData loads the crafting images and the evaluation images.
func (c *UAPConfig) uapData(pr progress.Reporter) (*data.Dataset, *data.Dataset, error) {
	name := c.Data
	if name == "auto" || name == "" {
		name = "fashion-mnist"
		if _, err := data.FindFashionMNIST(c.DataDir); err != nil {
			pr.Log("full Fashion-MNIST not found (apt-get install dataset-fashion-mnist, or --data-dir); using the embedded subset")
			name = data.DefaultName
		}
	}
	tr, err := data.Open(name, data.Train, c.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("repro uap: %w", err)
	}
	te, err := data.Open(name, data.Test, c.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("repro uap: %w", err)
	}
	if !te.IsLabeled() {
		return nil, nil, fmt.Errorf("repro uap: %s has no labels", name)
	}
	if c.TestN > 0 {
		te = te.Head(min(c.TestN, te.Len()))
	}
	return tr.Head(min(c.TrainN, tr.Len())), te, nil
}

// run crafts and evaluates the runs of the shard.
func (c *UAPConfig) run(ctx context.Context, pr progress.Reporter) ([]UAPRun, error) {
	tr, te, err := c.uapData(pr)
	if err != nil {
		return nil, err
	}
	nets := make([]*nn.Network, len(c.Models))
	clean := make([][]int, len(c.Models))
	for i, m := range c.Models {
		if nets[i], _, err = zoo.OpenNetwork(m); err != nil {
			return nil, fmt.Errorf("repro uap: model %s: %w", m, err)
		}
	}
	var runs []UAPRun
	for r := range len(c.Models) * len(c.Methods) {
		if !c.Shard.Contains(r) {
			continue
		}
		si, method := r/len(c.Methods), c.Methods[r%len(c.Methods)]
		run := UAPRun{Index: r, Source: c.Models[si], Method: method}
		err := c.oneRun(ctx, &run, nets, clean, si, tr, te, pr)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			run.Error = err.Error()
			pr.Log("run %d (%s on %s) failed: %v", r, method, run.Source, err)
		} else {
			pr.Log("run %d: %s on %s: white-box fooling rate %.2f%% (clipped %.2f%%), %.0fs", r, method, run.Source,
				100*run.Evals[si].Unclipped.FoolingRate, 100*run.Evals[si].Clipped.FoolingRate, run.Seconds)
		}
		runs = append(runs, run)
	}
	return runs, nil
}

func (c *UAPConfig) oneRun(ctx context.Context, run *UAPRun, nets []*nn.Network, clean [][]int, si int, tr, te *data.Dataset, pr progress.Reporter) error {
	start := time.Now()
	o := uap.DefaultOptions()
	o.Method, o.Eps, o.Layer, o.Epochs, o.Seed = run.Method, c.Eps, c.Layer, c.Epochs, c.Seed
	if run.Method == "uap" {
		o.Epochs = c.UAPPasses
	}
	p, err := uap.Craft(ctx, nets[si], tr, o, pr)
	if err != nil {
		return err
	}
	run.Layer, run.Steps, run.MaxAbs = p.Layer, p.Steps, p.MaxAbs()
	if run.MaxAbs > c.Eps {
		return fmt.Errorf("perturbation of ‖v‖∞ %g exceeds ε %g", run.MaxAbs, c.Eps)
	}
	var src *uap.Eval
	for ti, net := range nets {
		e, err := uap.EvaluateWith(ctx, model.Classifier(net), c.Models[ti], te, p.V, clean[ti])
		if err != nil {
			return err
		}
		clean[ti] = e.Clean
		if ti == si {
			src = e
		}
		run.Evals = append(run.Evals, UAPEval{Model: c.Models[ti], CleanAccuracy: e.CleanAccuracy, Unclipped: e.Unclipped, Clipped: e.Clipped})
	}
	layer := c.Layer
	if p.Layer != "" {
		layer = p.Layer
	}
	d, err := uap.Dominate(ctx, nets[si], layer, te, p.V, src)
	if err != nil {
		return err
	}
	run.Dominance.Class, run.Dominance.ToClass, run.Dominance.Top3Share = d.Class, d.ToClass, d.Top3Share
	run.Dominance.CosPD, run.Dominance.CosPC = d.CosPerturbedDelta, d.CosPerturbedClean
	run.Seconds = time.Since(start).Seconds()
	return nil
}

// ReadUAPRuns merges run files written by --out; they must be shards of
// one setup covering it exactly once. It returns the runs in order and
// the setup.
func ReadUAPRuns(paths ...string) ([]UAPRun, string, error) {
	var runs []UAPRun
	var specs []shard.Spec
	setup := ""
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, "", fmt.Errorf("repro uap: %w", err)
		}
		f, err := DecodeUAPRuns(b)
		if err != nil {
			return nil, "", fmt.Errorf("repro uap: %s: %w", p, err)
		}
		if setup == "" {
			setup = f.Setup
		} else if f.Setup != setup {
			return nil, "", fmt.Errorf("repro uap: %s is from another setup (%s), not %s", p, f.Setup, setup)
		}
		specs = append(specs, f.Spec)
		runs = append(runs, f.Runs...)
	}
	if err := shard.CheckCover(specs); err != nil {
		return nil, "", fmt.Errorf("repro uap: %w", err)
	}
	slices.SortFunc(runs, func(a, b UAPRun) int { return a.Index - b.Index })
	return runs, setup, nil
}

// DecodeUAPRuns decodes one run file of --out, checking its shard and
// that every run has evaluations or an error.
func DecodeUAPRuns(b []byte) (*UAPRunFile, error) {
	var f UAPRunFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not a run file of repro uap --out: %w", err)
	}
	if f.Setup == "" {
		return nil, errors.New("not a run file of repro uap --out: no setup")
	}
	if err := f.Spec.Validate(); err != nil {
		return nil, err
	}
	for i, r := range f.Runs {
		if r.Error == "" && len(r.Evals) == 0 {
			return nil, fmt.Errorf("run %d (index %d) has neither evaluations nor an error", i, r.Index)
		}
		if r.Index < 0 || !f.Spec.Contains(r.Index) {
			return nil, fmt.Errorf("run %d has index %d, outside shard %s", i, r.Index, f.Spec)
		}
	}
	return &f, nil
}

// uapPaper is the FG-UAP paper's setting; its numbers were not retrieved.
var uapPaper = NotPublic("FG-UAP (Ye et al. 2022, arXiv 2209.13113)",
	"ImageNet validation set, ξ = 10/255, crafted on ImageNet train (2 epochs of Adam), fooling rate = prediction changed, x + v not clipped; "+
		"FG-UAP's fooling rate above UAP's and the other baselines' on every model, white-box and transferred")

// uapTable turns runs of setup into the paper-vs-ours table.
func uapTable(runs []UAPRun, setup string) *Table {
	t := &Table{Paper: "FG-UAP: feature-gathering universal adversarial perturbation (Ye et al. 2022), with UAP (Moosavi-Dezfooli et al. 2017) and random noise as baselines",
		Protocol: "each method crafted on the first train-n training images with each source model, then every model predicts the test images + v; " +
			"fooling rate = share of test images whose prediction changes; (x+v) as the paper, (clipped) with x + v clipped to [0, 1]; setup: " + setup,
		Claim: "FG-UAP fools more than UAP, white-box and transferred; its perturbation is a dominant pattern (predictions collapse onto few classes)"}
	differs := "Fashion-MNIST CNNs, not ImageNet models at ξ = 10/255; fewer crafting images"
	for _, r := range runs {
		if r.Error != "" {
			t.Failed = append(t.Failed, fmt.Sprintf("%s on %s: %s", r.Method, r.Source, r.Error))
		}
		for _, e := range r.Evals {
			setting := r.Source + " → " + e.Model
			if e.Model == r.Source {
				setting = r.Source + " (white-box)"
			}
			t.Rows = append(t.Rows,
				Row{Setting: setting, Method: r.Method, Metric: "fooling rate % (x+v)", Paper: uapPaper, Ours: NewStat([]float64{100 * e.Unclipped.FoolingRate}), Differs: differs},
				Row{Setting: setting, Method: r.Method, Metric: "fooling rate % (clipped)", Paper: uapPaper, Ours: NewStat([]float64{100 * e.Clipped.FoolingRate}), Differs: differs})
		}
		if r.Error != "" {
			t.Rows = append(t.Rows, Row{Setting: r.Source, Method: r.Method, Metric: "fooling rate %", Paper: uapPaper, Ours: NewStat(nil), Differs: "run failed"})
		}
	}
	seen := map[string]bool{}
	for _, r := range runs {
		for _, e := range r.Evals {
			if !seen[e.Model] {
				seen[e.Model] = true
				t.Notes = append(t.Notes, fmt.Sprintf("clean test accuracy of %s: %.2f%%", e.Model, 100*e.CleanAccuracy))
			}
		}
	}
	for _, r := range runs {
		if r.Error == "" {
			t.Notes = append(t.Notes, fmt.Sprintf("%s on %s: %.1f%% of perturbed test images go to f(δ)'s class %d, top-3 classes take %.1f%%; mean cos(φ(x+δ), φ(δ)) %.3f, cos(φ(x+δ), φ(x)) %.3f (layer %s, %d steps, %.0fs)",
				r.Method, r.Source, 100*r.Dominance.ToClass, r.Dominance.Class, 100*r.Dominance.Top3Share, r.Dominance.CosPD, r.Dominance.CosPC, layerOr(r.Layer), r.Steps, r.Seconds))
		}
	}
	t.Notes = append(t.Notes, uapDirection(runs)...)
	return t
}

func layerOr(l string) string {
	if l == "" {
		return "penultimate"
	}
	return l
}

// uapDirection counts the (source, target) pairs on which FG-UAP's
// fooling rate beats UAP's, the paper's direction.
func uapDirection(runs []UAPRun) []string {
	by := map[string]map[string]UAPEval{}
	for _, r := range runs {
		if r.Error != "" {
			continue
		}
		for _, e := range r.Evals {
			k := r.Source + "\x00" + e.Model
			if by[k] == nil {
				by[k] = map[string]UAPEval{}
			}
			by[k][r.Method] = e
		}
	}
	var n, wu, wc int
	for _, m := range by {
		f, okF := m["fg-uap"]
		u, okU := m["uap"]
		if !okF || !okU {
			continue
		}
		n++
		wu += b2i(f.Unclipped.FoolingRate > u.Unclipped.FoolingRate)
		wc += b2i(f.Clipped.FoolingRate > u.Clipped.FoolingRate)
	}
	if n == 0 {
		return nil
	}
	return []string{fmt.Sprintf("paper's direction (FG-UAP fools more than UAP): ours on %d of %d source→target pairs with x+v, %d of %d clipped", wu, n, wc, n)}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
