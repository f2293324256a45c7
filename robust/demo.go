package robust

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/zoo"
)

// DemoConfig configures [Demo]. Zero values take the defaults.
type DemoConfig struct {
	N      int // test images to attack (default 200)
	Budget int // queries per image (default 500)
	Show   int // predictions to list
	// Progress, if set, receives the attack's progress.
	Progress progress.Reporter
}

// Prediction is one test image's label and the model's top class.
type Prediction struct {
	Index      int     `json:"index"`
	True       string  `json:"true"`
	Predicted  string  `json:"predicted"`
	Confidence float64 `json:"confidence"`
}

// DemoResult is what [Demo] measures; its JSON form is "trustml demo
// --json".
type DemoResult struct {
	Model       string                 `json:"model"`
	ModelMeta   map[string]string      `json:"model_meta"`
	Data        string                 `json:"data"`
	Metrics     metrics.Classification `json:"metrics"`
	Predictions []Prediction           `json:"predictions"`
	Robustness  *Report                `json:"robustness"`

	arch   string // the architecture's name
	params int    // the model's parameter count
}

// Demo runs trustml's main job on embedded defaults: the default model's
// accuracy and calibration on the embedded Fashion-MNIST test subset, a few
// predictions, and the Square attack (L∞, ε = 0.1) against no defense, AAA
// (linear), input noise (RND) and output noise on the first N test images,
// with AAA's temperature tuned on the other test images (at least 1000),
// disjoint from them.
func Demo(ctx context.Context, cfg DemoConfig) (*DemoResult, error) {
	if cfg.N == 0 {
		cfg.N = 200
	}
	if cfg.Budget == 0 {
		cfg.Budget = 500
	}
	net, meta, err := zoo.Default()
	if err != nil {
		return nil, fmt.Errorf("robust: demo: %w", err)
	}
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		return nil, fmt.Errorf("robust: demo: %w", err)
	}
	if cfg.N < 1 || cfg.N > test.Len()-1000 || cfg.Budget < 2 {
		return nil, fmt.Errorf("%w: demo: n %d must be in [1, %d] and budget %d ≥ 2", ErrConfig, cfg.N, test.Len()-1000, cfg.Budget)
	}
	m, logits, err := metrics.EvaluateClassifier(ctx, net, test.X, test.Y)
	if err != nil {
		return nil, fmt.Errorf("robust: demo: %w", err)
	}
	res := &DemoResult{Model: zoo.DefaultName, ModelMeta: meta, Data: test.Name, Metrics: m, arch: net.Spec().Name, params: net.NumParams()}
	k := net.NumClasses()
	probs := make([]float32, len(logits))
	metrics.Softmax(probs, logits, k)
	for i := 0; i < min(cfg.Show, test.Len()); i++ {
		row := probs[i*k : (i+1)*k]
		a := metrics.Argmax(row)
		res.Predictions = append(res.Predictions, Prediction{i, test.Classes[test.Y[i]], test.Classes[a], float64(row[a])})
	}
	rc, err := NamedConfig([]string{"square"}, []string{"none", "aaa-linear", "rnd", "outrnd"}, nil)
	if err != nil {
		return nil, err
	}
	size, lo := test.SampleSize(), cfg.N
	rc.Norm, rc.Eps, rc.Budget, rc.Quantize, rc.Progress = attack.LInf, 0.1, cfg.Budget, true, cfg.Progress
	rc.Checkpoints = []int{cfg.Budget}
	if cfg.Budget > 100 {
		rc.Checkpoints = []int{100, cfg.Budget}
	}
	rc.CalibrationX, rc.CalibrationY = test.X[lo*size:], test.Y[lo:]
	if res.Robustness, err = Run(ctx, net, test.X[:cfg.N*size], test.Y[:cfg.N], rc); err != nil {
		return nil, fmt.Errorf("robust: demo: %w", err)
	}
	res.Robustness.Model, res.Robustness.Data = zoo.DefaultName, fmt.Sprintf("%s (test, first %d)", test.Name, cfg.N)
	return res, nil
}

// MarshalJSON writes the result without the per-image samples of the
// robustness report, which keep "trustml demo --json" short.
func (r *DemoResult) MarshalJSON() ([]byte, error) {
	type plain DemoResult
	c := *r
	if r.Robustness != nil {
		rob := *r.Robustness
		rob.Pairs = slices.Clone(rob.Pairs)
		for i := range rob.Pairs {
			rob.Pairs[i].Samples = nil
		}
		c.Robustness = &rob
	}
	return json.Marshal((*plain)(&c))
}

// WritePlots creates dir and writes the robustness plots into it
// ([Report.WritePlots]), returning their files; dir "" writes none.
func (r *DemoResult) WritePlots(dir string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files, err := r.Robustness.WritePlots(dir)
	if err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	return files, nil
}

// WriteText prints the model's metrics and predictions, then plots (the
// files given, if any) and the robustness table.
func (r *DemoResult) WriteText(w io.Writer, plots []string) error {
	pct := func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
	fmt.Fprintf(w, "Default model %q (%s, %d parameters), trained with:\n  %s\n\n", r.Model, r.arch, r.params, r.ModelMeta["command"])
	m := r.Metrics
	table(w, []string{"data", "n", "accuracy", "nll", "ece"}, [][]string{
		{r.Data + " (test)", fmt.Sprint(m.N), pct(m.Accuracy), fmt.Sprintf("%.4f", m.NLL), pct(m.ECE)},
	})
	fmt.Fprintln(w)
	var rows [][]string
	for _, p := range r.Predictions {
		mark := "ok"
		if p.True != p.Predicted {
			mark = "WRONG"
		}
		rows = append(rows, []string{fmt.Sprint(p.Index), p.True, p.Predicted, pct(p.Confidence), mark})
	}
	table(w, []string{"#", "true", "predicted", "confidence", ""}, rows)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Robustness against the Square query attack (AAA temperature tuned on the %d test images not attacked):\n", r.Metrics.N-r.Robustness.N)
	if len(plots) > 0 {
		fmt.Fprintf(w, "plots: %s\n\n", strings.Join(plots, ", "))
	}
	return r.Robustness.WriteText(w)
}
