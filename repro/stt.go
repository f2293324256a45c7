package repro

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/trustml/trustml/compress"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/plot"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/smooth"
	"github.com/trustml/trustml/tensor"
	"github.com/trustml/trustml/zoo"
)

// STP-based decompositions: H. Zhao, Y. Liu, X. Huang, C. Zhu,
// "Semi-tensor Product-based Tensor Decomposition for Neural Network
// Compression" (arXiv 2109.15200). The abstract's numbers: at 2% accuracy
// degradation TT-RN (rank 14) and TR-WRN (rank 16) reach 3× and 99×
// compression, STT-RN (rank 14) and STR-WRN (rank 16) 9× and 179×.
const (
	sttPaper    = "Semi-tensor Product-based Tensor Decomposition for Neural Network Compression (Zhao, Liu, Huang, Zhu)"
	sttAbstract = "STP-TD abstract"
	sttProto    = "ResNet / WideResNet on CIFAR-scale images, networks trained in the STP formats; compression factor at equal accuracy"
)

// STTConfig configures [STT].
type STTConfig struct {
	Model string `flag:"model" help:"network whose dense layers are compressed (embedded name or checkpoint)"`
	Data  string `flag:"data" help:"labelled test data for the accuracies"`
	N     int    `flag:"n" help:"test samples evaluated per accuracy"`
	// Images is the number of Fashion-MNIST test images stacked into the
	// 28×28×Images tensor.
	Images int `flag:"images" help:"Fashion-MNIST test images stacked into a 28×28×n tensor (0: none)"`
	// Sample is a scikit-learn sample image ([smooth.SampleImages]): its
	// grey 128×128 centre as the 4-way tensor 16×16×8×8 (coarse rows,
	// coarse columns, fine rows, fine columns).
	Sample string `flag:"sample" help:"scikit-learn sample image (china.jpg, flower.jpg) as a 16x16x8x8 tensor (empty: none)"`
	// Storage are the storage budgets of the first table, as fractions of
	// each tensor's size.
	Storage []float64 `flag:"storage" help:"storage budgets of the reconstruction table, fractions of the tensor's size"`
	// Ratios are the compression ratios of the second table.
	Ratios []float64 `flag:"ratios" help:"compression ratios of the dense weight matrices in the accuracy table"`
	// Methods are the network-compression methods of the second table.
	Methods []string `flag:"methods" help:"compression methods of the accuracy table (svd, tt, stt, tr, str, tucker, sttu)"`
	T       int      `flag:"t" help:"STP factor t of stt, str and sttu"`
	Order   int      `flag:"order" help:"order of the tensor a weight matrix becomes"`
	// OutDir, when set, receives the PNG plots (error against values
	// stored per tensor, accuracy against ratio).
	OutDir string `flag:"out-dir" help:"directory for the PNG plots (empty: none)"`
}

// DefaultSTTConfig returns the embedded model and data (1000 test
// samples), 64 stacked images, china.jpg, budgets of 2, 5, 10 and 20%,
// ratios 2 to 50 and every method with t = 2 on 3-way weight tensors.
func DefaultSTTConfig() STTConfig {
	return STTConfig{Model: zoo.DefaultName, Data: data.DefaultName, N: 1000, Images: 64, Sample: "china.jpg",
		Storage: []float64{0.02, 0.05, 0.1, 0.2}, Ratios: []float64{2, 5, 10, 20, 50},
		Methods: compress.Methods, T: 2, Order: 3}
}

type sttTensor struct {
	name string
	x    *tensor.Dense
}

// sttTensors returns the tensors of the first table: the image stack, the
// model's largest dense weight and the sample image.
func (c *STTConfig) sttTensors(t *Table) []sttTensor {
	var out []sttTensor
	if c.Images > 0 {
		d, err := data.Open(c.Data, data.Test, "")
		if err == nil && (len(d.Shape) != 3 || d.Shape[0] != 1 || c.Images > d.Len()) {
			err = fmt.Errorf("want ≥ %d grey images, have %d of shape %v", c.Images, d.Len(), d.Shape)
		}
		if err != nil {
			t.Failed = append(t.Failed, fmt.Sprintf("image stack from %s: %v", c.Data, err))
		} else {
			h, w := d.Shape[1], d.Shape[2]
			x := tensor.New(h, w, c.Images)
			for k := range c.Images {
				for i, v := range d.Row(k) {
					x.Data[i*c.Images+k] = float64(v)
				}
			}
			out = append(out, sttTensor{fmt.Sprintf("%s images", d.Name), x})
		}
	}
	if net, _, err := zoo.OpenNetwork(c.Model); err != nil {
		t.Failed = append(t.Failed, fmt.Sprintf("dense weight of %s: %v", c.Model, err))
	} else {
		var best []float32
		var rows, cols int
		for _, p := range net.Params() {
			if len(p.Shape) == 2 && p.Size() > len(best) {
				best, rows, cols = p.W, p.Shape[0], p.Shape[1]
			}
		}
		x, err := weightTensor(best, rows, cols, c.Order)
		if err != nil {
			t.Failed = append(t.Failed, fmt.Sprintf("dense weight of %s: %v", c.Model, err))
		} else {
			out = append(out, sttTensor{fmt.Sprintf("%s dense %d×%d", c.Model, rows, cols), x})
		}
	}
	if c.Sample != "" {
		x, err := sampleTensor(c.Sample)
		if err != nil {
			t.Failed = append(t.Failed, fmt.Sprintf("%s: %v", c.Sample, err))
		} else {
			out = append(out, sttTensor{c.Sample + " grey 128×128", x})
		}
	}
	return out
}

func weightTensor(w []float32, rows, cols, order int) (*tensor.Dense, error) {
	if len(w) == 0 {
		return nil, fmt.Errorf("no dense weight matrix")
	}
	of, err := tensor.Factor(rows, order)
	if err != nil {
		return nil, err
	}
	cf, err := tensor.Factor(cols, order)
	if err != nil {
		return nil, err
	}
	v := make([]float64, len(w))
	for i, f := range w {
		v[i] = float64(f)
	}
	return tensor.FromMatrix(v, of, cf)
}

// sampleTensor returns the grey centre 128×128 of a sample image as the
// tensor 16×16×8×8: element (I, J, i, j) is pixel (8I+i, 8J+j).
func sampleTensor(name string) (*tensor.Dense, error) {
	p, err := smooth.FindSample(name)
	if err != nil {
		return nil, err
	}
	m, err := smooth.ReadFile(p)
	if err != nil {
		return nil, err
	}
	m = smooth.Downscale(m, 256) // integer factors: china.jpg becomes 213×142
	if m.W < 128 || m.H < 128 {
		return nil, fmt.Errorf("%s is %d×%d after shrinking, want ≥ 128×128", name, m.W, m.H)
	}
	x0, y0 := (m.W-128)/2, (m.H-128)/2
	g := tensor.New(16, 8, 16, 8) // (I, i, J, j)
	for y := range 128 {
		for x := range 128 {
			var v float64
			for c := range m.C {
				v += m.At(x0+x, y0+y, c)
			}
			g.Data[y*128+x] = v / float64(m.C)
		}
	}
	return g.Permute(0, 2, 1, 3)
}

// sttSweep fits s at about ten ranks (multiples of the STP factor) up to
// the largest whose values stored stay within limit, returning the
// (values, relative error) points.
func sttSweep(ctx context.Context, x *tensor.Dense, s tensor.Spec, limit int) (ps, es []float64, err error) {
	step := 1
	if s.Method == "stt" || s.Method == "str" || s.Method == "sttu" {
		step = s.T
	}
	top, _, err := s.MaxRank(x.Shape, limit)
	if err != nil {
		return nil, nil, err
	}
	inc := max(step, (top/10+step-1)/step*step)
	for r := step; ; r += inc {
		r = min(r, top)
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		s.Rank = r
		d, err := tensor.Fit(x, s)
		if err != nil {
			return nil, nil, err
		}
		e, err := tensor.RelError(x, d.Reconstruct())
		if err != nil {
			return nil, nil, err
		}
		ps, es = append(ps, float64(d.NumParams())), append(es, e)
		if r == top {
			return ps, es, nil
		}
	}
}

// STT compares the semi-tensor decompositions (STT, STR, STTu) with TT,
// TR and Tucker (and the SVD) in two tables: the relative reconstruction
// error at equal storage on real tensors (a Fashion-MNIST image stack, the
// model's largest dense weight as a 3-way tensor, a scikit-learn sample
// image as a 4-way tensor), with the storage each needs to reach TT's
// error; and the test accuracy of the model with its dense layers
// replaced by their reconstructions at given compression ratios, with the
// largest ratio that stays within 2 points of the original accuracy
// beside the abstract's compression factors.
func STT(ctx context.Context, cfg *STTConfig, pr progress.Reporter) (*Table, error) {
	pr = progress.Or(pr)
	t0 := time.Now()
	if cfg.T < 2 || cfg.Order < 2 || cfg.N < 1 {
		return nil, fmt.Errorf("repro stt: --t %d, --order %d, --n %d: want t ≥ 2, order ≥ 2, n ≥ 1", cfg.T, cfg.Order, cfg.N)
	}
	for _, f := range cfg.Storage {
		if !(f > 0 && f <= 1) {
			return nil, fmt.Errorf("repro stt: --storage %g, want fractions in (0, 1]", f)
		}
	}
	for _, r := range cfg.Ratios {
		if !(r >= 1) {
			return nil, fmt.Errorf("repro stt: --ratios %g, want ≥ 1", r)
		}
	}
	t := &Table{Paper: sttPaper,
		Protocol: fmt.Sprintf("(1) decompositions fitted by (semi-tensor) SVDs at the largest uniform rank within each storage budget, STP factor t = %d; (2) %s's dense weight matrices with ≥ 4096 values replaced by their reconstruction as %d-way tensors at each ratio, no fine-tuning, %d test samples of %s", cfg.T, cfg.Model, cfg.Order, cfg.N, cfg.Data),
		Claim:    "STP-connected cores are smaller than TT/TR/Tucker cores at the same rank, so STT, STR and STTu reach higher compression at the same accuracy (abstract: 2% accuracy drop at 3× for TT-RN vs 9× for STT-RN, 99× for TR-WRN vs 179× for STR-WRN)",
		Notes: []string{
			"values = numbers stored by the decomposition; rel. error = ‖X − X̂‖_F / ‖X‖_F",
			"STT(rank R, t) equals TT(rank R/t) of the tensor with the last mode's t-digits moved to the earlier modes (tested); SVD-fitted here, not trained as in the paper",
			"values ratio: values at the smallest rank (by bisection, within 1.5× the largest budget) whose error is at most the partner's at the middle budget, over the partner's values there; n/a when no such rank reaches it",
		}}
	pairs := map[string]string{"stt": "tt", "str": "tr", "sttu": "tucker"}
	methods := []string{"tt", "stt", "tr", "str", "tucker", "sttu"}
	tens := cfg.sttTensors(t)
	for ti, tn := range tens {
		size := tn.x.Size()
		var series []plot.Series
		maxB := 0.0
		for _, f := range cfg.Storage {
			maxB = math.Max(maxB, f)
		}
		atMid := map[string][2]float64{} // values and error at the middle budget
		mid := cfg.Storage[len(cfg.Storage)/2]
		limit := int(1.5 * maxB * float64(size))
		for _, m := range methods {
			pr.Update("repro stt", ti, len(tens), tn.name+" "+m)
			s := tensor.Spec{Method: m, T: cfg.T, Iters: 2}
			ps, es, err := sttSweep(ctx, tn.x, s, limit)
			if err != nil {
				if ctx.Err() != nil {
					return t, ctx.Err()
				}
				t.Failed = append(t.Failed, fmt.Sprintf("%s %s: %v", tn.name, m, err))
				continue
			}
			series = append(series, plot.Series{Name: m, X: ps, Y: es})
			for _, f := range cfg.Storage {
				budget := int(f * float64(size))
				d, fs, err := tensor.FitBudget(tn.x, s, budget)
				st := NewStat(nil)
				label := m + " (none fits)"
				if err == nil {
					e, _ := tensor.RelError(tn.x, d.Reconstruct())
					st, label = NewStat([]float64{e}), fmt.Sprintf("%v (%d values)", fs, d.NumParams())
					if f == mid {
						atMid[m] = [2]float64{float64(d.NumParams()), e}
					}
				}
				t.Rows = append(t.Rows, Row{Setting: fmt.Sprintf("%s %v, ≤ %g%% storage", tn.name, tn.x.Shape, 100*f), Method: label,
					Metric: "rel. error", Paper: NotPublic(sttAbstract+": no such table", sttProto), Ours: st, Differs: "fixed tensor fitted by SVD, not a trained network"})
			}
		}
		// Storage each semi-tensor method needs for its partner's error at
		// the middle budget, relative to the partner's storage.
		for _, m := range []string{"stt", "str", "sttu"} {
			st := NewStat(nil)
			if base, ok := atMid[pairs[m]]; ok {
				v, ok, err := sttSmallest(ctx, tn.x, tensor.Spec{Method: m, T: cfg.T, Iters: 2}, limit, base[1])
				if err != nil {
					if ctx.Err() != nil {
						return t, ctx.Err()
					}
					t.Failed = append(t.Failed, fmt.Sprintf("%s %s: %v", tn.name, m, err))
				} else if ok {
					st = NewStat([]float64{float64(v) / base[0]})
				}
			}
			t.Rows = append(t.Rows, Row{Setting: fmt.Sprintf("%s: storage for %s's error at ≤ %g%%", tn.name, pairs[m], 100*mid), Method: m + " / " + pairs[m],
				Metric: "values ratio (<1: fewer)", Paper: NotPublic(sttAbstract, sttProto), Ours: st, Differs: "reconstruction error, not accuracy"})
		}
		if cfg.OutDir != "" && len(series) > 0 {
			if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
				return t, err
			}
			p := filepath.Join(cfg.OutDir, fmt.Sprintf("stt-error-%d.png", ti+1))
			if err := plot.Lines(p, tn.name+" "+fmt.Sprint(tn.x.Shape), "values stored", "relative error", true, series); err != nil {
				return t, err
			}
			t.Notes = append(t.Notes, "plot: "+p)
		}
	}
	if err := sttAccuracy(ctx, cfg, t, pr); err != nil {
		return t, err
	}
	t.Seconds = time.Since(t0).Seconds()
	if !t.Complete() {
		return t, fmt.Errorf("repro stt: %d settings failed", len(t.Failed))
	}
	return t, nil
}

// sttSmallest returns the values stored at the smallest rank (a multiple
// of the STP factor, within limit values) whose error is at most target,
// by bisection (the error falls with the rank), and whether one does.
func sttSmallest(ctx context.Context, x *tensor.Dense, s tensor.Spec, limit int, target float64) (int, bool, error) {
	top, _, err := s.MaxRank(x.Shape, limit)
	if err != nil {
		return 0, false, err
	}
	step := s.T
	fit := func(r int) (int, float64, error) {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		s.Rank = r
		d, err := tensor.Fit(x, s)
		if err != nil {
			return 0, 0, err
		}
		e, err := tensor.RelError(x, d.Reconstruct())
		return d.NumParams(), e, err
	}
	v, e, err := fit(top)
	if err != nil || e > target {
		return 0, false, err
	}
	lo, hi := 0, top/step // rank hi·step reaches the target, lo·step does not
	for hi-lo > 1 {
		k := (lo + hi) / 2
		vk, ek, err := fit(k * step)
		if err != nil {
			return 0, false, err
		}
		if ek <= target {
			hi, v = k, vk
		} else {
			lo = k
		}
	}
	return v, true, nil
}

// sttAccuracy adds the second table: accuracy after compression at each
// ratio and the largest ratio within 2 points of the original accuracy.
func sttAccuracy(ctx context.Context, cfg *STTConfig, t *Table, pr progress.Reporter) error {
	net0, _, err := zoo.OpenNetwork(cfg.Model)
	if err != nil {
		t.Failed = append(t.Failed, fmt.Sprintf("accuracy table: %v", err))
		return nil
	}
	te, err := data.Open(cfg.Data, data.Test, "")
	if err != nil {
		t.Failed = append(t.Failed, fmt.Sprintf("accuracy table: %v", err))
		return nil
	}
	if cfg.N < te.Len() {
		te = te.Head(cfg.N)
	}
	m0, _, err := metrics.EvaluateClassifier(ctx, net0, te.X, te.Y)
	if err != nil {
		t.Failed = append(t.Failed, fmt.Sprintf("accuracy table: %v", err))
		return nil
	}
	setting0 := fmt.Sprintf("%s on %s (%d test)", cfg.Model, te.Name, te.Len())
	t.Rows = append(t.Rows, Row{Setting: setting0, Method: "uncompressed", Metric: "accuracy %", Paper: NotPublic(sttAbstract, sttProto),
		Ours: NewStat([]float64{100 * m0.Accuracy}), Differs: "Fashion-MNIST CNN, not ResNet on CIFAR"})
	paper := map[string]PaperValue{
		"tt":  Published(3, sttAbstract, "TT-RN (ResNet), rank 14, 2% accuracy degradation"),
		"stt": Published(9, sttAbstract, "STT-RN (ResNet), rank 14, 2% accuracy degradation"),
		"tr":  Published(99, sttAbstract, "TR-WRN (WideResNet), rank 16, 2% accuracy degradation"),
		"str": Published(179, sttAbstract, "STR-WRN (WideResNet), rank 16, 2% accuracy degradation"),
	}
	var series []plot.Series
	for mi, m := range cfg.Methods {
		o := compress.DefaultOptions()
		o.Method, o.T, o.Order = m, cfg.T, cfg.Order
		var xs, ys []float64
		best := NewStat(nil)
		for _, r := range cfg.Ratios {
			if err := ctx.Err(); err != nil {
				return err
			}
			pr.Update("repro stt accuracy", mi, len(cfg.Methods), fmt.Sprintf("%s %g×", m, r))
			o.Ratio = r
			net := net0.Copy()
			ls, err := compress.Network(ctx, net, o, nil)
			var acc metrics.Classification
			if err == nil {
				acc, _, err = metrics.EvaluateClassifier(ctx, net, te.X, te.Y)
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				t.Failed = append(t.Failed, fmt.Sprintf("%s at %g×: %v", m, r, err))
				continue
			}
			before, after, spec := 0, 0, ""
			for _, l := range ls {
				if l.Compressed {
					before, after, spec = before+l.Before, after+l.After, spec+l.Spec
				}
			}
			got := float64(before) / float64(after)
			xs, ys = append(xs, got), append(ys, 100*acc.Accuracy)
			t.Rows = append(t.Rows, Row{Setting: fmt.Sprintf("%s, ratio %g×", setting0, r), Method: fmt.Sprintf("%s (%.1f×)", spec, got), Metric: "accuracy %",
				Paper: NotPublic(sttAbstract, sttProto), Ours: NewStat([]float64{100 * acc.Accuracy}), Differs: "no fine-tuning; dense layers only"})
			if acc.Accuracy >= m0.Accuracy-0.02 && (!best.Measured() || got > best.Mean) {
				best = NewStat([]float64{got})
			}
		}
		p, ok := paper[m]
		if !ok {
			p = NotPublic(sttAbstract, sttProto)
		}
		t.Rows = append(t.Rows, Row{Setting: setting0 + ": largest ratio within 2 points", Method: m, Metric: "compression factor", Paper: p, Ours: best,
			Differs: "dense layers of a small CNN (ratios tried: a grid), no fine-tuning; n/a: no ratio kept accuracy"})
		series = append(series, plot.Series{Name: m, X: xs, Y: ys})
	}
	if cfg.OutDir != "" && len(series) > 0 {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return err
		}
		p := filepath.Join(cfg.OutDir, "stt-accuracy.png")
		if err := plot.Lines(p, setting0, "compression ratio of the dense weights", "test accuracy %", true, series); err != nil {
			return err
		}
		t.Notes = append(t.Notes, "plot: "+p)
	}
	return nil
}
