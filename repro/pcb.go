package repro

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"time"

	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/pcb"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
)

// PCBConfig configures [PCB]; its tags are the flags of "trustml repro pcb".
type PCBConfig struct {
	DataDir string `flag:"data-dir" help:"DeepPCB root holding PCBData/ (default $TRUSTML_DEEPPCB, then ../shared/data/deeppcb)"`
	TrainN  int    `flag:"train-n" help:"fit the baseline on the first n trainval pairs (0: all 1,000)"`
	TestN   int    `flag:"test-n" help:"evaluate on the first n test pairs (0: all 500)"`
	Model   string `flag:"model" help:"use this baseline (saved by trustml pcb train) instead of fitting one"`
	pcb.Params
	Shard shard.Spec `flag:"shard" help:"detect on shard i/N of the test pairs only (save with --out, tabulate with --from)"`
	Out   string     `flag:"out" help:"save the shard's detections as JSON here (atomic), for --from"`
	// From lists shard files to merge into one table instead of running.
	From []string `flag:"from" help:"tabulate shard files saved by --out (the shards must cover the test pairs once)"`
	// DeepModel is a trained deep detector to evaluate; empty: train one
	// with Deep on the training pairs (unless NoDeep).
	DeepModel string         `flag:"deep-model" help:"evaluate this deep detector (saved by trustml pcb train --detector deep) instead of training one"`
	NoDeep    bool           `flag:"no-deep" help:"evaluate the baseline only"`
	Deep      pcb.DeepParams `flagprefix:"deep-"`
}

// DefaultPCBConfig is the whole protocol: the baseline fitted and the deep
// detector trained on the 1,000 trainval pairs, both evaluated on the 500
// test pairs.
func DefaultPCBConfig() PCBConfig {
	return PCBConfig{Params: pcb.DefaultParams(), Deep: pcb.DefaultDeepParams()}
}

// pcbShard is what --out saves: one shard's detections.
type pcbShard struct {
	Shard        shard.Spec        `json:"shard"`
	TestN        int               `json:"test_n"`
	Names        []string          `json:"names"`
	Detections   [][]pcb.Detection `json:"detections"`
	Seconds      float64           `json:"seconds"`
	TrainSeconds float64           `json:"train_seconds"`
	TrainPairs   int               `json:"train_pairs"`
	// The deep detector's detections (aligned with Names) and times, when
	// it ran.
	Deep             [][]pcb.Detection `json:"deep,omitempty"`
	DeepSeconds      float64           `json:"deep_seconds,omitempty"`
	DeepTrainSeconds float64           `json:"deep_train_seconds,omitempty"`
	DeepTrainPairs   int               `json:"deep_train_pairs,omitempty"`
	DeepParams       *pcb.DeepParams   `json:"deep_params,omitempty"`
}

const deepPCBSource = "DeepPCB README"

// PCB reproduces the evaluation of "Online PCB Defect Detector On A New PCB
// Defect Dataset" for the classical image-difference baseline the paper
// improves on and for the paper's kind of deep detector (a two-input CNN
// with group pyramid pooling, [pcb.TrainDeep], at reduced resolution): mAP,
// F-score at the best threshold and AP per defect type on DeepPCB's test
// pairs, beside the paper's 98.6% mAP and 98.2% F-score, with images per
// second and training time here.
func PCB(ctx context.Context, c *PCBConfig, rep progress.Reporter) (*Table, error) {
	start := time.Now()
	rep = progress.Or(rep)
	var sh pcbShard
	var parts []pcbShard
	if len(c.From) > 0 {
		var err error
		if parts, err = readPCBShards(c.From); err != nil {
			return nil, err
		}
	} else {
		sh = pcbShard{Shard: c.Shard, TestN: c.TestN}
		var train []pcb.Pair
		if c.Model == "" || (!c.NoDeep && c.DeepModel == "") {
			var err error
			if train, err = pcb.ReadSplit(c.DataDir, "trainval"); err != nil {
				return nil, err
			}
			if c.TrainN > 0 && c.TrainN < len(train) {
				train = train[:c.TrainN]
			}
		}
		b, err := pcb.OpenBaseline(c.Model)
		if c.Model == "" {
			t0 := time.Now()
			if b, _, err = pcb.Fit(ctx, train, c.Params, rep); err != nil {
				return nil, err
			}
			sh.TrainSeconds, sh.TrainPairs = time.Since(t0).Seconds(), len(train)
		} else if err != nil {
			return nil, err
		}
		test, err := pcbTest(c.DataDir, c.TestN)
		if err != nil {
			return nil, err
		}
		d, err := pcb.RunDetect(ctx, &pcb.DetectConfig{Base: b, Pairs: test, Shard: c.Shard}, rep)
		if err != nil {
			return nil, err
		}
		sh.Names, sh.Detections, sh.Seconds = d.Names, d.Detections, d.Seconds
		if !c.NoDeep {
			if err := pcbDeep(ctx, c, train, test, &sh, rep); err != nil {
				return nil, err
			}
		}
		if c.Out != "" {
			if err := atomicfile.Write(c.Out, 0o644, func(w io.Writer) error { return json.NewEncoder(w).Encode(sh) }); err != nil {
				return nil, fmt.Errorf("repro pcb: %w", err)
			}
		}
		parts = []pcbShard{sh}
	}
	test, err := pcbTest(c.DataDir, parts[0].TestN)
	if err != nil {
		return nil, err
	}
	if len(c.From) == 0 && !c.Shard.Whole() { // a shard's table covers its own pairs
		var mine []pcb.Pair
		for _, i := range c.Shard.Indices(len(test)) {
			mine = append(mine, test[i])
		}
		test = mine
	}
	t, err := pcbTable(parts, test, time.Since(start).Seconds())
	if t != nil && len(c.From) == 0 && !c.Shard.Whole() {
		t.Notes = append(t.Notes, fmt.Sprintf("shard %v only: merge the shards' --out files with --from for the whole test split", c.Shard))
	}
	return t, err
}

// pcbDeep trains (or opens) the deep detector and adds its detections of
// the shard's test pairs to sh.
func pcbDeep(ctx context.Context, c *PCBConfig, train, test []pcb.Pair, sh *pcbShard, rep progress.Reporter) error {
	var d *pcb.Deep
	var st pcb.DeepStats
	var err error
	if c.DeepModel != "" {
		if d, st, err = pcb.OpenDeep(c.DeepModel); err != nil {
			return err
		}
	} else if d, st, err = pcb.TrainDeep(ctx, train, c.Deep, rep); err != nil {
		return err
	}
	r, err := pcb.RunDetect(ctx, &pcb.DetectConfig{Deep: d, Pairs: test, Shard: c.Shard}, rep)
	if err != nil {
		return err
	}
	sh.Deep, sh.DeepSeconds, sh.DeepTrainSeconds, sh.DeepTrainPairs, sh.DeepParams = r.Detections, r.Seconds, st.Seconds, st.Pairs, &d.Params
	return nil
}

func pcbTest(dir string, n int) ([]pcb.Pair, error) {
	test, err := pcb.ReadSplit(dir, "test")
	if err != nil {
		return nil, err
	}
	if n > 0 && n < len(test) {
		test = test[:n]
	}
	return test, nil
}

func readPCBShards(files []string) ([]pcbShard, error) {
	var parts []pcbShard
	var specs []shard.Spec
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("repro pcb: %w", err)
		}
		var s pcbShard
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("repro pcb: %s: %w", f, err)
		}
		if len(s.Names) != len(s.Detections) {
			return nil, fmt.Errorf("repro pcb: %s: %d names, %d detection lists", f, len(s.Names), len(s.Detections))
		}
		if len(parts) > 0 && s.TestN != parts[0].TestN {
			return nil, fmt.Errorf("repro pcb: %s was run with --test-n %d, %s with %d", f, s.TestN, files[0], parts[0].TestN)
		}
		parts, specs = append(parts, s), append(specs, s.Shard)
	}
	if err := shard.CheckCover(specs); err != nil {
		return nil, fmt.Errorf("repro pcb: %w", err)
	}
	return parts, nil
}

// pcbTable evaluates the shards' detections of both detectors against the
// test pairs' annotations.
func pcbTable(parts []pcbShard, test []pcb.Pair, seconds float64) (*Table, error) {
	setting := fmt.Sprintf("DeepPCB test (%d pairs)", len(test))
	trainPairs := 0
	for _, s := range parts {
		trainPairs = max(trainPairs, s.TrainPairs)
	}
	t := &Table{
		Paper:    "Online PCB Defect Detector On A New PCB Defect Dataset (DeepPCB)",
		Protocol: fmt.Sprintf("baseline fitted on %s trainval pairs; detections on %d test pairs; correct = IoU > %.2f with an unmatched same-type box; AP without interpolation (the authors' compute_ap)", countText(trainPairs), len(test), pcb.IoUThreshold),
		Claim:    "98.6% mAP and 98.2% F-score at 62 FPS (GPU)",
		Seconds:  seconds,
	}
	base := pcbMethod{name: "image-difference baseline", differs: "classical image-difference baseline, not the paper's two-input CNN",
		train: "fitting the baseline's classifier, one core", dets: func(s pcbShard) [][]pcb.Detection { return s.Detections },
		seconds: func(s pcbShard) (float64, float64, int) { return s.Seconds, s.TrainSeconds, s.TrainPairs }}
	if err := base.rows(t, parts, test, setting); err != nil {
		return nil, err
	}
	if p := parts[0].DeepParams; len(parts[0].Deep) > 0 && p != nil {
		side := pcb.ImageSize / p.Down
		deep := pcbMethod{name: "deep detector (two-input CNN, GPP)",
			differs: fmt.Sprintf("our two-input CNN (shared stem, width %d, group pyramid pooling, 2 anchor-free heads) on images downscaled to %d×%d, trained %d epochs on %d×%d crops on CPU; the paper's network is larger, at full resolution, on a GPU",
				p.Width, side, side, p.Epochs, p.Crop, p.Crop),
			train: "training the deep detector on CPU (2 cores shared with other jobs)", dets: func(s pcbShard) [][]pcb.Detection { return s.Deep },
			seconds: func(s pcbShard) (float64, float64, int) { return s.DeepSeconds, s.DeepTrainSeconds, s.DeepTrainPairs }}
		if err := deep.rows(t, parts, test, setting); err != nil {
			return nil, err
		}
	} else {
		t.Notes = append(t.Notes, "the deep detector did not run (--no-deep)")
	}
	return t, nil
}

// pcbMethod tabulates one detector's detections from the shards.
type pcbMethod struct {
	name, differs, train string
	dets                 func(pcbShard) [][]pcb.Detection
	seconds              func(pcbShard) (detect, train float64, trainPairs int)
}

func (m pcbMethod) rows(t *Table, parts []pcbShard, test []pcb.Pair, setting string) error {
	byName := map[string][]pcb.Detection{}
	var detSec, trainSec float64
	trainPairs := 0
	for _, s := range parts {
		d := m.dets(s)
		if len(d) != len(s.Names) {
			return fmt.Errorf("repro pcb: a shard has %d %s detection lists for %d pairs (mixing shards run with and without --no-deep?)", len(d), m.name, len(s.Names))
		}
		for i, n := range s.Names {
			byName[n] = d[i]
		}
		ds, ts, tp := m.seconds(s)
		detSec, trainSec, trainPairs = detSec+ds, max(trainSec, ts), max(trainPairs, tp)
	}
	gt, dets := make([][]pcb.Box, len(test)), make([][]pcb.Detection, len(test))
	var missing []string
	for i, p := range test {
		d, ok := byName[p.Name]
		if !ok {
			missing = append(missing, p.Name)
		}
		gt[i], dets[i] = p.Boxes, d
	}
	if len(missing) > 0 {
		return fmt.Errorf("repro pcb: no detections for %d test pairs (%s …): the shards do not cover the test pairs", len(missing), missing[0])
	}
	r, err := pcb.Evaluate(gt, dets)
	if err != nil {
		return err
	}
	paperSetting := "DeepPCB 500 test pairs, the paper's deep detector (two-input CNN with group pyramid pooling)"
	pct := func(v float64) Stat { return NewStat([]float64{100 * v}) }
	t.Rows = append(t.Rows,
		Row{Setting: setting, Method: m.name, Metric: "mAP %", Paper: Published(98.6, deepPCBSource, paperSetting), Ours: pct(r.MAP), Differs: m.differs},
		Row{Setting: setting, Method: m.name, Metric: "F-score % (best threshold)", Paper: Published(98.2, deepPCBSource, paperSetting), Ours: pct(r.F), Differs: m.differs},
		Row{Setting: setting, Method: m.name, Metric: "AP % (all types pooled)", Paper: NotPublic(deepPCBSource, "the authors' script pools all types into one AP; the README names its number mAP"), Ours: pct(r.PooledAP), Differs: m.differs})
	t.Notes = append(t.Notes, fmt.Sprintf("%s: best F-score at confidence ≥ %.4f: precision %.2f%%, recall %.2f%% (%d detections, %d boxes)", m.name, r.Threshold, 100*r.Precision, 100*r.Recall, r.Detections, r.GT))
	for _, c := range r.PerClass {
		ours := pct(c.AP)
		if math.IsNaN(c.AP) {
			ours = NewStat(nil)
		}
		t.Rows = append(t.Rows, Row{Setting: setting, Method: m.name, Metric: "AP % " + c.Class.String(), Paper: NotPublic("DeepPCB paper", "per-type AP of the deep detector (not in text form here)"), Ours: ours, Differs: m.differs})
	}
	ips := NewStat(nil)
	if detSec > 0 {
		ips = NewStat([]float64{float64(len(test)) / detSec})
	}
	t.Rows = append(t.Rows, Row{Setting: setting, Method: m.name, Metric: "images/s", Paper: Published(62, deepPCBSource, "62 FPS on a GPU"), Ours: ips,
		Differs: fmt.Sprintf("CPU here, one image at a time (GOMAXPROCS %d), JPEG decoding included", runtime.GOMAXPROCS(0))})
	if trainPairs > 0 {
		t.Rows = append(t.Rows, Row{Setting: setting, Method: m.name, Metric: "training seconds", Paper: NotPublic(deepPCBSource, "training time not stated"), Ours: NewStat([]float64{trainSec}),
			Differs: fmt.Sprintf("%s, %d pairs", m.train, trainPairs)})
	}
	return nil
}

func countText(n int) string {
	if n == 0 {
		return "a saved baseline's"
	}
	return fmt.Sprint(n)
}
