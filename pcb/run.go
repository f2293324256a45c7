package pcb

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
)

// TrainConfig configures [RunTrain]; its tags are the flags of
// "trustml pcb train".
type TrainConfig struct {
	DataDir string `flag:"data-dir" help:"DeepPCB root holding PCBData/ (default $TRUSTML_DEEPPCB, then ../shared/data/deeppcb)"`
	Split   string `flag:"split" help:"pairs to fit on: trainval or test"`
	Limit   int    `flag:"limit" help:"fit on the first n pairs only (0: all)"`
	Out     string `flag:"out" help:"write the fitted detector here, atomically (empty: pcb-baseline.json, or pcb-deep.ckpt with --detector deep)"`
	// Detector is "baseline" (the image-difference detector) or "deep"
	// (the two-input CNN, [TrainDeep]).
	Detector string `flag:"detector" help:"baseline (image difference and a classifier) or deep (the two-input CNN with group pyramid pooling)"`
	Params
	Deep DeepParams `flagprefix:"deep-"`
}

// DefaultTrainConfig fits the baseline on the 1,000 trainval pairs with
// [DefaultParams]; with Detector "deep" it trains the deep detector with
// [DefaultDeepParams].
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Split: "trainval", Detector: "baseline", Params: DefaultParams(), Deep: DefaultDeepParams()}
}

// TrainReport is what [RunTrain] returns.
type TrainReport struct {
	TrainStats
	// Deep is set when the deep detector was trained.
	Deep    *DeepStats `json:"deep,omitempty"`
	Out     string     `json:"out"`
	Seconds float64    `json:"seconds"`
}

// WriteText prints the fit's summary.
func (r *TrainReport) WriteText(w io.Writer) error {
	if r.Deep != nil {
		_, err := fmt.Fprintf(w, "trained the deep detector (%d parameters) on %d pairs: %d steps, last epoch's mean loss %.4f, %.1fs\nwrote %s\n", r.Deep.Params, r.Deep.Pairs, r.Deep.Steps, r.Deep.Loss, r.Seconds, r.Out)
		return err
	}
	fmt.Fprintf(w, "fitted the baseline's classifier on %d pairs: %d candidate components (background %d", r.Pairs, r.Candidates, r.PerClass[0])
	for _, c := range Classes() {
		fmt.Fprintf(w, ", %s %d", c, r.PerClass[c])
	}
	_, err := fmt.Fprintf(w, "), training accuracy %.2f%%, %.1fs\nwrote %s\n", 100*r.Accuracy, r.Seconds, r.Out)
	return err
}

// RunTrain reads the pairs, fits a [Baseline] ([Fit]) and saves it to
// c.Out.
func RunTrain(ctx context.Context, c *TrainConfig, rep progress.Reporter) (*TrainReport, error) {
	deep, err := isDeep(c.Detector)
	if err != nil {
		return nil, err
	}
	out := c.Out
	if out == "" {
		out = map[bool]string{false: "pcb-baseline.json", true: "pcb-deep.ckpt"}[deep]
	}
	pairs, err := readLimited(c.DataDir, c.Split, c.Limit)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if deep {
		d, st, err := TrainDeep(ctx, pairs, c.Deep, rep)
		if err != nil {
			return nil, err
		}
		if err := d.Save(out, st); err != nil {
			return nil, fmt.Errorf("pcb: saving the deep detector: %w", err)
		}
		return &TrainReport{Deep: &st, Out: out, Seconds: time.Since(t0).Seconds()}, nil
	}
	b, st, err := Fit(ctx, pairs, c.Params, rep)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(out, 0o644, b.Write); err != nil {
		return nil, fmt.Errorf("pcb: saving the baseline: %w", err)
	}
	return &TrainReport{TrainStats: st, Out: out, Seconds: time.Since(t0).Seconds()}, nil
}

// isDeep reads a detector name: "baseline" (or empty) or "deep".
func isDeep(name string) (bool, error) {
	switch name {
	case "", "baseline":
		return false, nil
	case "deep":
		return true, nil
	}
	return false, fmt.Errorf("pcb: detector %q: want baseline or deep", name)
}

func readLimited(dir, split string, limit int) ([]Pair, error) {
	pairs, err := ReadSplit(dir, split)
	if err != nil {
		return nil, err
	}
	if limit < 0 {
		return nil, fmt.Errorf("pcb: limit %d: want ≥ 0", limit)
	}
	if limit > 0 && limit < len(pairs) {
		pairs = pairs[:limit]
	}
	return pairs, nil
}

// OpenBaseline reads a baseline saved by "trustml pcb train".
func OpenBaseline(path string) (*Baseline, error) {
	if path == "" {
		return nil, errors.New("pcb: no baseline given: fit one with trustml pcb train --out FILE and pass --model FILE")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pcb: %w (fit one with trustml pcb train --out %s)", err, path)
	}
	defer f.Close()
	return ReadBaseline(f, path)
}

// DetectConfig configures [RunDetect]; its tags are the flags of
// "trustml pcb detect".
type DetectConfig struct {
	DataDir string     `flag:"data-dir" help:"DeepPCB root holding PCBData/ (default $TRUSTML_DEEPPCB, then ../shared/data/deeppcb)"`
	Split   string     `flag:"split" help:"pairs to detect on: test or trainval"`
	Limit   int        `flag:"limit" help:"the first n pairs only (0: all)"`
	Shard   shard.Spec `flag:"shard" help:"only shard i/N of the pairs"`
	Model   string     `flag:"model" help:"the detector saved by trustml pcb train --out (empty: pcb-baseline.json, or pcb-deep.ckpt with --detector deep)"`
	// Detector is "baseline" or "deep": which kind Model holds.
	Detector string    `flag:"detector" help:"baseline or deep: the kind of detector --model holds"`
	Out      string    `flag:"out" help:"directory for one NAME.txt of x1,y1,x2,y2,confidence,type lines per tested image (empty: none)"`
	PNG      string    `flag:"png" help:"directory for NAME.png: template and tested image side by side with the boxes (empty: none)"`
	MinConf  float64   `flag:"min-conf" help:"draw only detections at least this confident"`
	Base     *Baseline `json:"-"` // used instead of Model when set
	Deep     *Deep     `json:"-"` // used instead of Model (and Base) when set
	Pairs    []Pair    `json:"-"` // used instead of DataDir and Split when set
}

// DefaultDetectConfig detects on the 500 test pairs with pcb-baseline.json.
func DefaultDetectConfig() DetectConfig {
	return DetectConfig{Split: "test", Detector: "baseline", MinConf: 0.3}
}

// DetectReport is what [RunDetect] returns: the detections of every pair,
// their evaluation against the annotations, and the speed.
type DetectReport struct {
	Names      []string      `json:"names"`
	Detections [][]Detection `json:"detections"`
	Shifted    int           `json:"shifted"` // pairs the alignment check shifted
	Result     Result        `json:"result"`
	// Seconds counts detection (decoding included, writing excluded).
	Seconds         float64 `json:"seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
}

// WriteText prints the evaluation and the speed.
func (r *DetectReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%d pairs, %d detections, %d shifted by the alignment check; %.1fs, %.1f images/s\n", len(r.Names), r.Result.Detections, r.Shifted, r.Seconds, r.ImagesPerSecond)
	return r.Result.WriteText(w)
}

// RunDetect runs the baseline on the pairs, writes the detection files and
// drawings asked for, and evaluates the detections against the pairs'
// annotations.
func RunDetect(ctx context.Context, c *DetectConfig, rep progress.Reporter) (*DetectReport, error) {
	rep = progress.Or(rep)
	detect, err := c.detector()
	if err != nil {
		return nil, err
	}
	pairs := c.Pairs
	if pairs == nil {
		if pairs, err = readLimited(c.DataDir, c.Split, c.Limit); err != nil {
			return nil, err
		}
	}
	if err := c.Shard.Validate(); err != nil {
		return nil, err
	}
	for _, d := range []string{c.Out, c.PNG} {
		if d != "" {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, fmt.Errorf("pcb: %w", err)
			}
		}
	}
	r := &DetectReport{}
	var gt [][]Box
	idx := c.Shard.Indices(len(pairs))
	for n, i := range idx {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := pairs[i]
		t0 := time.Now()
		tmpl, test, err := p.Load()
		if err != nil {
			return nil, err
		}
		dets, al, err := detect(tmpl, test)
		if err != nil {
			return nil, fmt.Errorf("pcb: %s: %w", p.Name, err)
		}
		r.Seconds += time.Since(t0).Seconds()
		if al.DX != 0 || al.DY != 0 {
			r.Shifted++
		}
		r.Names, r.Detections, gt = append(r.Names, p.Name), append(r.Detections, dets), append(gt, p.Boxes)
		if c.Out != "" {
			if err := atomicfile.Write(filepath.Join(c.Out, p.Name+".txt"), 0o644, func(w io.Writer) error { return WriteDetections(w, dets) }); err != nil {
				return nil, fmt.Errorf("pcb: %w", err)
			}
		}
		if c.PNG != "" {
			if err := DrawPair(filepath.Join(c.PNG, p.Name+".png"), tmpl, test, dets, p.Boxes, c.MinConf); err != nil {
				return nil, fmt.Errorf("pcb: %w", err)
			}
		}
		rep.Update("pcb detect", n+1, len(idx), p.Name)
	}
	if r.Seconds > 0 {
		r.ImagesPerSecond = float64(len(idx)) / r.Seconds
	}
	if r.Result, err = Evaluate(gt, r.Detections); err != nil {
		return nil, err
	}
	return r, nil
}

// detector returns the detection function of the configured detector.
func (c *DetectConfig) detector() (func(tmpl, test *image.Gray) ([]Detection, Alignment, error), error) {
	if c.Deep != nil {
		return func(tmpl, test *image.Gray) ([]Detection, Alignment, error) {
			dets, err := c.Deep.Detect(tmpl, test)
			return dets, Alignment{}, err
		}, nil
	}
	if c.Base != nil {
		return c.Base.Detect, nil
	}
	deep, err := isDeep(c.Detector)
	if err != nil {
		return nil, err
	}
	if deep {
		model := c.Model
		if model == "" {
			model = "pcb-deep.ckpt"
		}
		if c.Deep, _, err = OpenDeep(model); err != nil {
			return nil, err
		}
		return c.detector()
	}
	model := c.Model
	if model == "" {
		model = "pcb-baseline.json"
	}
	if c.Base, err = OpenBaseline(model); err != nil {
		return nil, err
	}
	return c.Base.Detect, nil
}

// EvalConfig configures [RunEval]; its tags are the flags of
// "trustml pcb eval".
type EvalConfig struct {
	DataDir string `flag:"data-dir" help:"DeepPCB root holding PCBData/ (default $TRUSTML_DEEPPCB, then ../shared/data/deeppcb)"`
	Split   string `flag:"split" help:"annotated pairs to evaluate against: test or trainval"`
	Limit   int    `flag:"limit" help:"the first n pairs only (0: all)"`
	Dets    string `flag:"dets" help:"directory with one NAME.txt of x1,y1,x2,y2,confidence,type lines per tested image (any detector's)"`
	// Missing allows pairs without a detection file (no detections).
	Missing bool `flag:"allow-missing" help:"count a pair without a detection file as one without detections instead of failing"`
}

// DefaultEvalConfig evaluates pcb-dets/ on the 500 test pairs.
func DefaultEvalConfig() EvalConfig { return EvalConfig{Split: "test", Dets: "pcb-dets"} }

// RunEval reads the detection files of any detector and evaluates them
// against the split's annotations with [Evaluate].
func RunEval(ctx context.Context, c *EvalConfig, _ progress.Reporter) (*Result, error) {
	pairs, err := readLimited(c.DataDir, c.Split, c.Limit)
	if err != nil {
		return nil, err
	}
	gt, dets := make([][]Box, len(pairs)), make([][]Detection, len(pairs))
	for i, p := range pairs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		gt[i] = p.Boxes
		path := filepath.Join(c.Dets, p.Name+".txt")
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) && c.Missing {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pcb: detections of %s: %w (--allow-missing counts it as none)", p.Name, err)
		}
		dets[i], err = ParseDetections(f, path, ImageSize, ImageSize)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	r, err := Evaluate(gt, dets)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// WriteText prints the per-type table and the summary.
func (r *Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "type\tboxes\tdetections\tcorrect\tAP")
	for _, c := range r.PerClass {
		ap := "n/a"
		if !math.IsNaN(c.AP) {
			ap = fmt.Sprintf("%.2f%%", 100*c.AP)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", c.Class, c.GT, c.Detections, c.Correct, ap)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d images: mAP %.2f%% (pooled AP %.2f%%), best F-score %.2f%% at confidence ≥ %.4f (precision %.2f%%, recall %.2f%%); IoU > %.2f with a same-type box\n",
		r.Images, 100*r.MAP, 100*r.PooledAP, 100*r.F, r.Threshold, 100*r.Precision, 100*r.Recall, IoUThreshold)
	return err
}
