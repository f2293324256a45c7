package uap

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/zoo"
)

// Config is a run of [Run]: craft a perturbation on one model, evaluate it
// there and on the target models, measure its dominance, write files.
type Config struct {
	Options
	// Model is the source model (zoo.OpenNetwork: "default", an embedded
	// name, a checkpoint or an .onnx file); it must be differentiable.
	Model string `flag:"model" help:"source model: default, an embedded name, a checkpoint or an .onnx file"`
	// Targets are models the perturbation is transferred to (zoo.Open:
	// also served models).
	Targets []string `flag:"targets" help:"models to transfer the perturbation to (comma-separated; also served URLs)"`
	// Data names the data set (data.Open): crafting uses the first TrainN
	// images of its training split, evaluation the first TestN of its test
	// split (0: all).
	Data    string `flag:"data" help:"data set (crafting: train split, evaluation: test split)"`
	DataDir string `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files"`
	TrainN  int    `flag:"train-n" help:"crafting images (the first n of the training split)"`
	TestN   int    `flag:"test-n" help:"evaluation images (the first n of the test split; 0 = all)"`
	// OutDir receives uap.npy, uap.png and the dominance plots; existing
	// files are kept unless Force.
	OutDir string `flag:"out-dir" help:"write uap.npy, uap.png and the dominance plots here"`
	Force  bool   `flag:"force" help:"overwrite existing files in --out-dir"`
}

// DefaultConfig returns [DefaultOptions] on the default model, crafted on
// 2,000 images of the embedded Fashion-MNIST subset and evaluated on its
// 2,000 test images.
func DefaultConfig() Config {
	return Config{Options: DefaultOptions(), Model: zoo.DefaultName, Data: data.DefaultName, TrainN: 2000}
}

// Report is what [Run] returns.
type Report struct {
	Perturbation *Perturbation `json:"perturbation"`
	MaxAbs       float64       `json:"max_abs"` // ‖v‖∞, checked ≤ ε
	Data         string        `json:"data"`
	TrainImages  int           `json:"train_images"`
	// Evals has the source model first, then the targets; Random is the
	// source model under random signs ±ε, the baseline.
	Evals     []*Eval    `json:"evals"`
	Random    *Eval      `json:"random_baseline"`
	Dominance *Dominance `json:"dominance"`
	Files     []string   `json:"files,omitempty"`
	Seconds   float64    `json:"seconds"`
}

// Run crafts the perturbation of cfg on cfg.Model, evaluates it on the
// source and every target, measures its dominance on the source and
// writes the files into cfg.OutDir.
func Run(ctx context.Context, cfg *Config, pr progress.Reporter) (*Report, error) {
	start := time.Now()
	pr = progress.Or(pr)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TrainN < 1 || cfg.TestN < 0 {
		return nil, fmt.Errorf("uap: --train-n %d must be ≥ 1 and --test-n %d ≥ 0", cfg.TrainN, cfg.TestN)
	}
	var files []string
	if cfg.OutDir != "" {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("uap: %w", err)
		}
		for _, f := range []string{NPYFile, PNGFile, ClassesFile, CosineFile} {
			if err := checkFree(filepath.Join(cfg.OutDir, f), cfg.Force); err != nil {
				return nil, err
			}
		}
	}
	net, _, err := zoo.OpenNetwork(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("uap: source model: %w", err)
	}
	train, err := data.Open(cfg.Data, data.Train, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	test, err := data.Open(cfg.Data, data.Test, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if !test.IsLabeled() {
		return nil, fmt.Errorf("uap: data set %s has no class labels", cfg.Data)
	}
	train = train.Head(min(cfg.TrainN, train.Len()))
	if cfg.TestN > 0 {
		test = test.Head(min(cfg.TestN, test.Len()))
	}
	p, err := Craft(ctx, net, train, cfg.Options, pr)
	if err != nil {
		return nil, err
	}
	p.Model = cfg.Model
	rep := &Report{Perturbation: p, MaxAbs: p.MaxAbs(), Data: test.Name, TrainImages: train.Len()}
	src, err := Evaluate(ctx, net, cfg.Model, test, p.V)
	if err != nil {
		return nil, err
	}
	rep.Evals = append(rep.Evals, src)
	for _, t := range cfg.Targets {
		m, err := zoo.Open(ctx, t, oip.ClientOptions{})
		if err != nil {
			return nil, fmt.Errorf("uap: target: %w", err)
		}
		e, err := Evaluate(ctx, m, t, test, p.V)
		if err != nil {
			return nil, err
		}
		e.Transfer = true
		rep.Evals = append(rep.Evals, e)
	}
	ro := cfg.Options
	ro.Method = "random"
	rp, err := Craft(ctx, net, train, ro, nil)
	if err != nil {
		return nil, err
	}
	if rep.Random, err = Evaluate(ctx, net, cfg.Model, test, rp.V); err != nil {
		return nil, err
	}
	layer := cfg.Layer
	if p.Layer != "" {
		layer = p.Layer
	}
	if rep.Dominance, err = Dominate(ctx, net, layer, test, p.V, src); err != nil {
		return nil, err
	}
	if cfg.OutDir != "" {
		npy := filepath.Join(cfg.OutDir, NPYFile)
		if err := atomicfile.Write(npy, 0o644, func(w io.Writer) error { return WriteNPY(w, p.Shape, p.V) }); err != nil {
			return nil, fmt.Errorf("uap: %w", err)
		}
		img := filepath.Join(cfg.OutDir, PNGFile)
		if len(p.Shape) == 3 {
			if err := WritePNG(img, p.Shape, p.V, p.Eps, test.Row(0)); err != nil {
				return nil, fmt.Errorf("uap: %w", err)
			}
			files = append(files, npy, img)
		} else {
			files = append(files, npy)
		}
		plots, err := rep.Dominance.WritePlots(cfg.OutDir, fmt.Sprintf("%s on %s", p.Method, cfg.Model))
		if err != nil {
			return nil, fmt.Errorf("uap: %w", err)
		}
		files = append(files, plots...)
	}
	rep.Files = files
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// WriteText prints the report: the perturbation, the table of clean and
// perturbed accuracy and fooling rates per model, the dominance summary.
func (r *Report) WriteText(w io.Writer) error {
	p := r.Perturbation
	layer := ""
	if p.Layer != "" {
		layer = fmt.Sprintf(", layer %s (index %d)", p.Layer, p.LayerIndex)
	}
	fmt.Fprintf(w, "universal perturbation %s on %s%s: ℓ∞ ε = %g (‖v‖∞ = %.4g), %d crafting images, %d steps, %.1fs\n",
		p.Method, p.Model, layer, p.Eps, r.MaxAbs, r.TrainImages, p.Steps, p.Seconds)
	if len(p.TrainFooling) > 0 {
		fr := make([]string, len(p.TrainFooling))
		for i, f := range p.TrainFooling {
			fr[i] = pct(f)
		}
		fmt.Fprintf(w, "uap fooling rate on the crafting images after each pass: %s\n", strings.Join(fr, ", "))
	}
	fmt.Fprintf(w, "evaluated on %s (test, %d images); fooling rate = prediction changed\n", r.Data, r.Evals[0].Images)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\trole\tclean acc\tacc (x+v)\tfooling rate\tacc (clipped)\tfooling (clipped)")
	row := func(e *Eval, role string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Model, role, pct(e.CleanAccuracy), pct(e.Unclipped.Accuracy),
			pct(e.Unclipped.FoolingRate), pct(e.Clipped.Accuracy), pct(e.Clipped.FoolingRate))
	}
	for _, e := range r.Evals {
		role := "source"
		if e.Transfer {
			role = "transfer"
		}
		row(e, role)
	}
	if r.Random != nil {
		row(r.Random, "random ±ε")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if d := r.Dominance; d != nil {
		name := d.ClassName
		if name == "" {
			name = fmt.Sprint(d.Class)
		}
		top := make([]string, len(d.Top3))
		for i, j := range d.Top3 {
			top[i] = fmt.Sprintf("%d (%s)", j, pct(d.PerturbedShare[j]))
		}
		fmt.Fprintf(w, "dominant pattern: f(δ) alone predicts %q (p = %.3f); %s of images + δ are predicted as it; top-3 classes %s take %s\n",
			name, d.Confidence, pct(d.ToClass), strings.Join(top, ", "), pct(d.Top3Share))
		fmt.Fprintf(w, "mean feature cosines at %s: cos(φ(x+δ), φ(δ)) = %.3f, cos(φ(x+δ), φ(x)) = %.3f, cos(φ(x), φ(δ)) = %.3f\n",
			d.Layer, d.CosPerturbedDelta, d.CosPerturbedClean, d.CosCleanDelta)
	}
	for _, f := range r.Files {
		fmt.Fprintln(w, "wrote", f)
	}
	if len(r.Files) > 0 {
		fmt.Fprintf(w, "(%s shows v as grey 0.5 + v/(2ε): black −ε, white +ε; then a test image and it + v, clipped)\n", PNGFile)
	}
	_, err := fmt.Fprintf(w, "(%.1fs)\n", r.Seconds)
	return err
}

func pct(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
