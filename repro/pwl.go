package repro

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/pwl"
	"github.com/trustml/trustml/train"
)

// PWL primer: Q. Tao, L. Li, X. Huang, X. Xi, S. Wang, J.A.K. Suykens,
// "Piecewise linear neural networks and deep learning", Nature Reviews
// Methods Primers 2, 42 (2022).
const (
	pwlPaper  = "Piecewise Linear Neural Networks and Deep Learning (Tao, Li, Huang et al., primer)"
	pwlSource = "primer: theory (region bounds), no table"
	pwlProto  = "maximal number of linear regions of deep vs shallow ReLU networks with equal neurons (Montúfar et al. bounds), regions as expressivity"
)

// PWLConfig configures [PWL].
type PWLConfig struct {
	// Data names the tabular sets (split 70/30, standardized).
	Data []string `flag:"data" help:"tabular data sets"`
	// Archs are the hidden layers, "-"-separated widths per architecture,
	// chosen with equal numbers of hidden units.
	Archs []string `flag:"archs" help:"hidden widths per architecture, e.g. 32,16-16,8-8-8-8 (equal units)"`
	// Epochs of SGD training.
	Epochs int `flag:"epochs" help:"training epochs"`
	// Lines is the number of segments between random test-point pairs
	// along which regions are counted exactly.
	Lines int `flag:"lines" help:"segments between random test points counted exactly"`
	// Res is the resolution of the 2-D slice through three test points.
	Res int `flag:"res" help:"2-D slice resolution (pixels per side)"`
	// Reps is the number of seeds.
	Reps int `flag:"reps" help:"seeds per setting"`
	// OutDir, when set, receives one slice PNG per data set, architecture
	// and seed (trained network).
	OutDir string `flag:"out-dir" help:"directory for the 2-D slice PNGs (empty: none)"`
}

// DefaultPWLConfig returns iris and wine, architectures 32, 16-16 and
// 8-8-8-8, 60 epochs, 50 lines, a 128-pixel slice and 3 seeds.
func DefaultPWLConfig() PWLConfig {
	return PWLConfig{Data: []string{"iris", "wine"}, Archs: []string{"32", "16-16", "8-8-8-8"}, Epochs: 60, Lines: 50, Res: 128, Reps: 3}
}

func parseArch(s string) ([]int, error) {
	var h []int
	for _, f := range strings.Split(s, "-") {
		var w int
		if _, err := fmt.Sscanf(f, "%d", &w); err != nil || w < 1 || fmt.Sprint(w) != f {
			return nil, fmt.Errorf("repro: architecture %q: width %q is not a positive integer", s, f)
		}
		h = append(h, w)
	}
	return h, nil
}

// PWL trains ReLU MLPs of equal hidden-unit count and different depth on
// small tabular sets, converts each to its region-wise affine form, and
// counts its linear regions exactly along segments between random test
// points and, as distinct activation patterns, in the 2-D slice through
// three test points, at initialization and after training; with test
// accuracy; beside them the canonical representation of Chua and Kang
// (as many hyperplanes as the first architecture's units) and the linear
// model, fitted by least squares. A setting that fails is listed in
// Table.Failed.
func PWL(ctx context.Context, cfg *PWLConfig, pr progress.Reporter) (*Table, error) {
	pr = progress.Or(pr)
	t0 := time.Now()
	if cfg.Epochs < 1 || cfg.Lines < 1 || cfg.Res < 2 || cfg.Reps < 1 {
		return nil, fmt.Errorf("repro: pwl needs epochs, lines, reps ≥ 1 and res ≥ 2, got %d, %d, %d, %d", cfg.Epochs, cfg.Lines, cfg.Reps, cfg.Res)
	}
	archs := make([][]int, len(cfg.Archs))
	for i, a := range cfg.Archs {
		var err error
		if archs[i], err = parseArch(a); err != nil {
			return nil, err
		}
	}
	if cfg.OutDir != "" {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("repro: %w", err)
		}
	}
	t := &Table{Paper: pwlPaper,
		Protocol: fmt.Sprintf("70/30 stratified split, standardized; ReLU MLPs %v trained %d epochs (SGD 0.05, batch 16); regions counted exactly along %d segments between random test points (mean pieces per segment), distinct patterns on a %d² grid of the plane through 3 test points (extent 2× their spread); %d seeds",
			cfg.Archs, cfg.Epochs, cfg.Lines, cfg.Res, cfg.Reps),
		Claim: "at equal neuron count, deeper ReLU networks can have exponentially more linear regions than shallow ones (maximal counts); the region count measures a PWLNN's expressivity",
		Notes: []string{"our counts are of typical (random-init and trained) networks, not the maximal counts of the theory",
			"every piece's affine map was checked against the forward pass at its midpoint; slice patterns (distinct activation patterns on the grid) are a lower bound on the regions meeting the slice"}}
	total := len(cfg.Data) * len(archs) * cfg.Reps
	done := 0
	for _, name := range cfg.Data {
		d, err := data.Open(name, data.Train, "")
		var tr, te *data.Dataset
		if err == nil {
			tr, te, err = data.StratifiedSplit(d, 0.3, 1)
		}
		var st *data.Standardizer
		if err == nil {
			st, err = data.FitStandardizer(tr)
		}
		if err == nil {
			if err = st.Apply(tr); err == nil {
				err = st.Apply(te)
			}
		}
		if err != nil {
			t.Failed = append(t.Failed, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		pwlCanonicalRows(t, cfg, tr, te, name, archs)
		for ai, h := range archs {
			var acc, linI, linT, slI, slT []float64
			var ferr error
			for rep := 0; rep < cfg.Reps && ferr == nil; rep++ {
				pr.Update("repro pwl", done, total, fmt.Sprintf("%s %s seed %d", name, cfg.Archs[ai], rep+1))
				done++
				var r pwlRun
				r, ferr = pwlOne(ctx, cfg, tr, te, h, uint64(rep+1), filepath.Join(cfg.OutDir, fmt.Sprintf("pwl-%s-%s-seed%d.png", name, cfg.Archs[ai], rep+1)))
				acc, linI, linT, slI, slT = append(acc, r.acc), append(linI, r.lineInit), append(linT, r.lineTrained), append(slI, r.sliceInit), append(slT, r.sliceTrained)
			}
			if ferr != nil {
				t.Failed = append(t.Failed, fmt.Sprintf("%s %s: %v", name, cfg.Archs[ai], ferr))
				continue
			}
			setting := fmt.Sprintf("%s, MLP %s", name, cfg.Archs[ai])
			paper := NotPublic(pwlSource, pwlProto)
			for _, m := range []struct {
				metric string
				v      []float64
			}{{"test accuracy %", acc}, {"pieces/segment, init", linI}, {"pieces/segment, trained", linT}, {"slice patterns, init", slI}, {"slice patterns, trained", slT}} {
				t.Rows = append(t.Rows, Row{Setting: setting, Method: "ReLU MLP → PWL", Metric: m.metric, Paper: paper, Ours: NewStat(m.v), Differs: "tabular sets, small MLPs"})
			}
		}
	}
	t.Seconds = time.Since(t0).Seconds()
	if !t.Complete() {
		return t, fmt.Errorf("repro pwl: %d settings failed", len(t.Failed))
	}
	return t, nil
}

type pwlRun struct{ acc, lineInit, lineTrained, sliceInit, sliceTrained float64 }

func pwlOne(ctx context.Context, cfg *PWLConfig, tr, te *data.Dataset, hidden []int, seed uint64, png string) (pwlRun, error) {
	var r pwlRun
	net, err := nn.New(nn.MLP(tr.Shape, hidden, len(tr.Classes)), seed)
	if err != nil {
		return r, err
	}
	rng := rand.New(rand.NewPCG(seed, 77))
	d := tr.SampleSize()
	row := func(i int) []float64 {
		x := make([]float64, d)
		for j, v := range te.Row(i) {
			x[j] = float64(v)
		}
		return x
	}
	var pairs [][2]int
	for range cfg.Lines {
		pairs = append(pairs, [2]int{rng.IntN(te.Len()), rng.IntN(te.Len())})
	}
	c, a, b := row(0), row(te.Len()/3), row(2*te.Len()/3)
	u, v := make([]float64, d), make([]float64, d)
	for j := range c {
		u[j], v[j] = a[j]-c[j], b[j]-c[j]
	}
	count := func(path string) (float64, float64, error) {
		n, err := pwl.FromNetwork(net)
		if err != nil {
			return 0, 0, err
		}
		var pieces float64
		for _, p := range pairs {
			x0, x1 := row(p[0]), row(p[1])
			res, err := n.Line(ctx, x0, x1)
			if err != nil {
				return 0, 0, err
			}
			if err := pwlCheckPieces(n, x0, x1, res); err != nil {
				return 0, 0, err
			}
			pieces += float64(res.Regions)
		}
		s, err := n.Slice(ctx, c, u, v, 2, cfg.Res)
		if err != nil {
			return 0, 0, err
		}
		if path != "" {
			if err := s.WritePNG(path); err != nil {
				return 0, 0, err
			}
		}
		return pieces / float64(len(pairs)), float64(s.Patterns), nil
	}
	if r.lineInit, r.sliceInit, err = count(""); err != nil {
		return r, err
	}
	oc := train.DefaultOptimizerConfig()
	oc.Seed = seed
	opt, err := train.NewOptimizer("sgd", net, oc)
	if err != nil {
		return r, err
	}
	if _, err := train.Fit(ctx, net, tr.X, tr.Y, train.Config{Epochs: cfg.Epochs, BatchSize: 16, Seed: seed, Optimizer: opt}); err != nil {
		return r, err
	}
	m, _, err := metrics.EvaluateClassifier(ctx, net, te.X, te.Y)
	if err != nil {
		return r, err
	}
	r.acc = 100 * m.Accuracy
	path := ""
	if cfg.OutDir != "" {
		path = png
	}
	r.lineTrained, r.sliceTrained, err = count(path)
	return r, err
}

// pwlCheckPieces checks the affine map of every piece of a segment against
// the forward pass at the piece's midpoint.
func pwlCheckPieces(n *pwl.Net, x0, x1 []float64, res *pwl.LineResult) error {
	ends := append(append([]float64{0}, res.Breaks...), 1)
	for k := 0; k+1 < len(ends); k++ {
		t := (ends[k] + ends[k+1]) / 2
		x := make([]float64, len(x0))
		for i := range x {
			x[i] = x0[i] + t*(x1[i]-x0[i])
		}
		reg, err := n.Region(x)
		if err != nil {
			return err
		}
		y, _, _ := n.Forward(x)
		for o, v := range reg.Eval(x) {
			if d := v - y[o]; d > 1e-8 || d < -1e-8 {
				return fmt.Errorf("affine map differs from the forward pass by %g", d)
			}
		}
	}
	return nil
}

// pwlCanonicalRows adds the primer's shallow model classes beside the MLPs:
// the canonical representation of Chua and Kang with as many hyperplanes as
// the first architecture has hidden units, Breiman's hinging hyperplanes
// (4 hinges per class), the lattice representation (max of 4 mins of 4
// planes per class) and the linear model.
func pwlCanonicalRows(t *Table, cfg *PWLConfig, tr, te *data.Dataset, name string, archs [][]int) {
	k := 0
	for _, w := range archs[0] {
		k += w
	}
	d := tr.SampleSize()
	f64 := func(ds *data.Dataset) []float64 {
		x := make([]float64, len(ds.X))
		for i, v := range ds.X {
			x[i] = float64(v)
		}
		return x
	}
	xtr, xte := f64(tr), f64(te)
	paper := NotPublic(pwlSource, "canonical PWL (Chua–Kang), hinging hyperplanes, lattice and ReLU networks compared as model classes")
	type shallow interface {
		Predict(x []float64) []float64
		LinePieces(x0, x1 []float64) int
	}
	classes := len(tr.Classes)
	models := []struct {
		method, differs string
		fit             func(rng *rand.Rand) (shallow, error)
	}{
		{"linear (K=0)", "tabular sets", func(rng *rand.Rand) (shallow, error) { return pwl.FitCanonical(xtr, tr.Y, d, classes, 0, 1e-2, rng) }},
		{fmt.Sprintf("canonical PWL, K=%d", k), "tabular sets; random hyperplanes through data points",
			func(rng *rand.Rand) (shallow, error) { return pwl.FitCanonical(xtr, tr.Y, d, classes, k, 1e-2, rng) }},
		{"hinging hyperplanes, K=4 per class", "tabular sets; backfitting with the hinge-finding algorithm on one-hot targets",
			func(rng *rand.Rand) (shallow, error) { return pwl.FitHinging(xtr, tr.Y, d, classes, 4, 3, 1e-2, rng) }},
		{"lattice, 4×4 per class", "tabular sets; max-min of planes trained by Adam on cross-entropy",
			func(rng *rand.Rand) (shallow, error) {
				return pwl.FitLattice(xtr, tr.Y, d, classes, 4, 4, 300, 0.02, rng)
			}},
	}
	for mi, mod := range models {
		var acc, pieces []float64
		for rep := 0; rep < cfg.Reps; rep++ {
			rng := rand.New(rand.NewPCG(uint64(rep+1), 78))
			m, err := mod.fit(rng)
			if err != nil {
				t.Failed = append(t.Failed, fmt.Sprintf("%s %s: %v", name, mod.method, err))
				return
			}
			ok := 0
			for i := 0; i < te.Len(); i++ {
				p := m.Predict(xte[i*d : (i+1)*d])
				best := 0
				for o, v := range p {
					if v > p[best] {
						best = o
					}
				}
				if best == te.Y[i] {
					ok++
				}
			}
			acc = append(acc, 100*float64(ok)/float64(te.Len()))
			var sum float64
			for range cfg.Lines {
				a, b := rng.IntN(te.Len()), rng.IntN(te.Len())
				sum += float64(m.LinePieces(xte[a*d:(a+1)*d], xte[b*d:(b+1)*d]))
			}
			pieces = append(pieces, sum/float64(cfg.Lines))
		}
		setting := name + ", least squares"
		if mi == len(models)-1 {
			setting = name + ", cross-entropy"
		}
		t.Rows = append(t.Rows, Row{Setting: setting, Method: mod.method, Metric: "test accuracy %", Paper: paper, Ours: NewStat(acc), Differs: mod.differs})
		if mi > 0 {
			t.Rows = append(t.Rows, Row{Setting: setting, Method: mod.method, Metric: "pieces/segment", Paper: paper, Ours: NewStat(pieces), Differs: mod.differs})
		}
	}
}
