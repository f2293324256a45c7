package unlearn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/train"
)

// ReproMethods are the methods of the reproduction's table, in its order.
var ReproMethods = []string{"retrain", "ft", "ga", "rl", "l1", "salun", "sfr-on", "natmu"}

// ReproConfig configures [Repro] ("trustml repro unlearn"): for every
// forget spec and seed, a network of Arch is pretrained on the first TrainN
// training images (Hyper's retraining recipe), then every method unlearns
// the forget set from a copy of it and is measured on the task, the test
// split evaluating (the full Fashion-MNIST test set by default).
type ReproConfig struct {
	Data    string   `flag:"data" help:"data set: auto (the full Fashion-MNIST when installed, else the embedded subset) or a name"`
	DataDir string   `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files"`
	Arch    string   `flag:"arch" help:"architecture pretrained, retrained and unlearned"`
	TrainN  int      `flag:"train-n" help:"training images: the first n of the training split"`
	Forget  []string `flag:"forget" help:"forget specs, each a setting of the table"`
	Methods []string `flag:"methods" help:"methods (retrain is always run: the gap is measured to it)"`
	Seeds   int      `flag:"seeds" help:"seeds 1..n per forget spec"`
	// CLUSeeds runs the continual learning–unlearning toy ([CLU] with
	// [DefaultCLUConfig]'s requests; ug-clu beside er-ft) for seeds
	// 1..CLUSeeds on the first CLUTrainN training images (0: skipped).
	CLUSeeds  int `flag:"clu-seeds" help:"seeds of the UG-CLU toy (ug-clu beside er-ft on split Fashion-MNIST with unlearning requests); 0 skips it"`
	CLUTrainN int `flag:"clu-train-n" help:"training images of the UG-CLU stream (the first n)"`
	Hyper
	Shard shard.Spec `flag:"shard" help:"run only shard i/N of the (forget spec, seed) runs"`
	Out   string     `flag:"out" help:"save the runs as JSON here (atomic), for --from"`
	// From lists run files to merge into one table instead of running.
	From []string `flag:"from" help:"tabulate run files saved by --out (the shards must cover the runs once)"`
	// Train and Test, when set, replace Data.
	Train, Test *data.Dataset
	fullTrain   *data.Dataset
}

// DefaultReproConfig is the README's protocol: an MLP pretrained for 10
// epochs on 5,000 training images, 10% random and whole-class (class 3)
// forgetting, every method, 3 seeds.
func DefaultReproConfig() ReproConfig {
	return ReproConfig{Data: "auto", Arch: "mlp", TrainN: 5000, Forget: []string{"random:0.1", "class:3"},
		Methods: slices.Clone(ReproMethods), Seeds: 3, CLUSeeds: 3, CLUTrainN: 10000, Hyper: DefaultHyper()}
}

// ReproRun is one method's outcome on one (forget spec, seed).
type ReproRun struct {
	Forget  string  `json:"forget"`
	Seed    uint64  `json:"seed"`
	Method  string  `json:"method"`
	Metrics Metrics `json:"metrics"`
	Gap     Gap     `json:"gap"`
}

// ReproRow summarises a method on a forget spec over seeds.
type ReproRow struct {
	Spec, Method                       string
	ForgetAcc, RetainAcc, TestAcc, MIA metrics.Stat
	MIAEntropy                         metrics.Stat // % of forget samples called members
	ForgetTestAcc                      metrics.Stat // nil values for random forgetting
	GapF, GapR, GapT, GapMIA           metrics.Stat // |method − retrain|
	GapMIAEntropy                      metrics.Stat
	AvgGap, TimeRatio, Seconds         metrics.Stat
	Direction                          string // the papers' expectation
}

// ReproResult is what [Repro] returns.
type ReproResult struct {
	Setup string     `json:"setup"`
	Shard shard.Spec `json:"shard"`
	Runs  []ReproRun `json:"runs"`
	Rows  []ReproRow `json:"rows"`
	// CLU holds the UG-CLU toy's runs (every method and seed).
	CLU     []CLUResult `json:"clu,omitempty"`
	Failed  []string    `json:"failed,omitempty"`
	Seconds float64     `json:"seconds"`
}

// reproFile is the JSON of --out.
type reproFile struct {
	Setup string      `json:"setup"`
	Shard shard.Spec  `json:"shard"`
	Runs  []ReproRun  `json:"runs"`
	CLU   []CLUResult `json:"clu,omitempty"`
}

// directions are the papers' expected outcomes (training.md §19); their
// numbers are not public in text form (paper-numbers.md).
var directions = map[string]string{
	"original": "before unlearning (pretrained on forget and retain sets)",
	"retrain":  "the reference: forget acc ≈ test acc, MIA AUC ≈ 0.5",
	"ft":       "baseline: under-forgets (forget acc > retrain's)",
	"ga":       "baseline: over- or under-shoots; retain/test acc drop",
	"rl":       "baseline: over-forgets (forget acc ≪ test acc)",
	"l1":       "baseline: between ft and retrain",
	"salun":    "baseline: over-forgets like rl, retain acc kept better",
	"sfr-on":   "smallest avg gap with retain/test acc nearly unchanged",
	"natmu":    "small avg gap, less over-forgetting than rl/salun",
}

func (c *ReproConfig) setup(name string) string {
	return fmt.Sprintf("data %s, arch %s, train-n %d, forget %v, seeds %d, methods %v, batch %d, pretrain/retrain %d epochs lr %g, epochs %d, lr %g",
		name, c.Arch, c.TrainN, c.Forget, c.Seeds, c.Methods, c.Batch, c.RetrainEpochs, c.RetrainLR, c.Epochs, c.LR) +
		fmt.Sprintf(", clu seeds %d train-n %d", c.CLUSeeds, c.CLUTrainN)
}

// Repro runs the unlearning comparison (or merges saved runs, cfg.From).
// A (forget spec, seed) whose run fails is listed in Failed, its rows
// absent; [ReproResult.WriteText] then returns an error after the table.
func Repro(ctx context.Context, cfg *ReproConfig, rep progress.Reporter) (*ReproResult, error) {
	start := time.Now()
	if len(cfg.From) > 0 {
		return mergeRepro(cfg.From)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	tr, te, err := cfg.data()
	if err != nil {
		return nil, err
	}
	spec, err := nn.SpecFor(cfg.Arch, tr.Shape, len(tr.Classes))
	if err != nil {
		return nil, fmt.Errorf("unlearn: repro: %w", err)
	}
	res := &ReproResult{Setup: cfg.setup(tr.Name), Shard: cfg.Shard}
	job := 0
	for _, fspec := range cfg.Forget {
		for s := 1; s <= cfg.Seeds; s++ {
			job++
			if !cfg.Shard.Contains(job - 1) {
				continue
			}
			runs, err := cfg.one(ctx, spec, tr, te, fspec, uint64(s), rep)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				res.Failed = append(res.Failed, fmt.Sprintf("forget %s seed %d: %v", fspec, s, err))
			}
			res.Runs = append(res.Runs, runs...)
		}
	}
	for s := 1; s <= cfg.CLUSeeds; s++ {
		job++
		if !cfg.Shard.Contains(job - 1) {
			continue
		}
		for _, m := range CLUMethods {
			c := DefaultCLUConfig()
			c.Method, c.Seed, c.Arch, c.Progress = m, uint64(s), cfg.Arch, rep
			c.Train, c.Test = cfg.fullTrain.Head(cfg.CLUTrainN), te
			r, err := CLU(ctx, c)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				res.Failed = append(res.Failed, fmt.Sprintf("clu %s seed %d: %v", m, s, err))
				continue
			}
			res.CLU = append(res.CLU, *r)
		}
	}
	res.Rows = summarize(res.Runs)
	res.Seconds = time.Since(start).Seconds()
	if cfg.Out != "" {
		b, err := json.MarshalIndent(reproFile{Setup: res.Setup, Shard: res.Shard, Runs: res.Runs, CLU: res.CLU}, "", " ")
		if err == nil {
			err = atomicfile.WriteFile(cfg.Out, append(b, '\n'), 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("unlearn: repro: %w", err)
		}
	}
	return res, nil
}

func (c *ReproConfig) check() error {
	switch {
	case c.Seeds < 1 || c.TrainN < 0:
		return fmt.Errorf("unlearn: repro: --seeds %d must be ≥ 1 and --train-n %d ≥ 0", c.Seeds, c.TrainN)
	case len(c.Forget) == 0:
		return fmt.Errorf("unlearn: repro: no forget spec")
	}
	for _, f := range c.Forget {
		if _, err := ParseForget(f); err != nil {
			return err
		}
	}
	for _, m := range c.Methods {
		if _, err := Lookup(m); err != nil {
			return fmt.Errorf("unlearn: repro: %w", err)
		}
	}
	if err := c.Hyper.check(); err != nil {
		return err
	}
	return c.Shard.Validate()
}

func (c *ReproConfig) data() (*data.Dataset, *data.Dataset, error) {
	tr, te := c.Train, c.Test
	if tr == nil || te == nil {
		name := c.Data
		if name == "auto" {
			name = data.DefaultName
			if _, err := data.FindFashionMNIST(c.DataDir); err == nil {
				name = "fashion-mnist"
			}
		}
		var err error
		if tr, err = data.Open(name, data.Train, c.DataDir); err != nil {
			return nil, nil, fmt.Errorf("unlearn: repro: %w", err)
		}
		if te, err = data.Open(name, data.Test, c.DataDir); err != nil {
			return nil, nil, fmt.Errorf("unlearn: repro: %w", err)
		}
	}
	c.fullTrain = tr
	return tr.Head(c.TrainN), te, nil
}

// one pretrains on tr for a seed and runs every method on the forget spec.
func (c *ReproConfig) one(ctx context.Context, spec nn.Spec, tr, te *data.Dataset, fspec string, seed uint64, rep progress.Reporter) ([]ReproRun, error) {
	fs, err := ParseForget(fspec)
	if err != nil {
		return nil, err
	}
	t, err := NewTask(fs, tr, te, seed)
	if err != nil {
		return nil, err
	}
	orig, err := nn.New(spec, seed)
	if err != nil {
		return nil, err
	}
	opt, err := train.NewSGD(c.RetrainLR, 0.9, 5e-4, true)
	if err != nil {
		return nil, err
	}
	progress.Or(rep).Log("forget %s seed %d: pretraining %s on %d images", fspec, seed, c.Arch, tr.Len())
	if err := fit(ctx, orig, tr.X, tr.Y, opt, c.RetrainEpochs, c.Batch, rand.New(rand.NewPCG(seed, 0x9e7)), rep); err != nil {
		return nil, err
	}
	om, err := Evaluate(ctx, orig, t)
	if err != nil {
		return nil, err
	}
	methods := append([]string{"retrain"}, slices.DeleteFunc(slices.Clone(c.Methods), func(m string) bool { return m == "retrain" })...)
	var runs []ReproRun
	var ref Metrics
	for _, name := range methods {
		m, _ := Lookup(name)
		net, sec, err := apply(ctx, m, orig, t, c.Hyper, seed, rep)
		if err != nil {
			return runs, fmt.Errorf("%s: %w", name, err)
		}
		mt, err := Evaluate(ctx, net, t)
		if err != nil {
			return runs, fmt.Errorf("%s: %w", name, err)
		}
		mt.Seconds = sec
		if name == "retrain" {
			ref = mt
		}
		runs = append(runs, ReproRun{Forget: fspec, Seed: seed, Method: name, Metrics: mt, Gap: mt.GapTo(ref)})
		progress.Or(rep).Log("forget %s seed %d %-8s forget %.2f%% retain %.2f%% test %.2f%% MIA %.3f (%.1fs)",
			fspec, seed, name, 100*mt.Forget, 100*mt.Retain, 100*mt.Test, mt.MIA, sec)
	}
	orun := ReproRun{Forget: fspec, Seed: seed, Method: "original", Metrics: om, Gap: om.GapTo(ref)}
	return append([]ReproRun{orun}, runs...), nil
}

// summarize groups runs by forget spec and method (first-seen order).
func summarize(runs []ReproRun) []ReproRow {
	type key struct{ f, m string }
	var order []key
	groups := map[key][]ReproRun{}
	for _, r := range runs {
		k := key{r.Forget, r.Method}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var rows []ReproRow
	for _, k := range order {
		g := groups[k]
		stat := func(f func(r ReproRun) float64) metrics.Stat {
			var v []float64
			for _, r := range g {
				if x := f(r); !math.IsNaN(x) {
					v = append(v, x)
				}
			}
			return metrics.NewStat(v)
		}
		rows = append(rows, ReproRow{Spec: k.f, Method: k.m, Direction: directions[k.m],
			ForgetAcc: stat(func(r ReproRun) float64 { return 100 * r.Metrics.Forget }),
			RetainAcc: stat(func(r ReproRun) float64 { return 100 * r.Metrics.Retain }),
			TestAcc:   stat(func(r ReproRun) float64 { return 100 * r.Metrics.Test }),
			ForgetTestAcc: stat(func(r ReproRun) float64 {
				if r.Metrics.ForgetTest == nil {
					return math.NaN()
				}
				return 100 * *r.Metrics.ForgetTest
			}),
			MIA:           stat(func(r ReproRun) float64 { return r.Metrics.MIA }),
			MIAEntropy:    stat(func(r ReproRun) float64 { return 100 * r.Metrics.MIAEntropy }),
			GapMIAEntropy: stat(func(r ReproRun) float64 { return 100 * r.Gap.MIAEntropy }),
			GapF:          stat(func(r ReproRun) float64 { return 100 * r.Gap.Forget }),
			GapR:          stat(func(r ReproRun) float64 { return 100 * r.Gap.Retain }),
			GapT:          stat(func(r ReproRun) float64 { return 100 * r.Gap.Test }),
			GapMIA:        stat(func(r ReproRun) float64 { return r.Gap.MIA }),
			AvgGap:        stat(func(r ReproRun) float64 { return 100 * r.Gap.Avg }),
			TimeRatio: stat(func(r ReproRun) float64 {
				if r.Method == "original" {
					return math.NaN()
				}
				return r.Gap.TimeRatio
			}),
			Seconds: stat(func(r ReproRun) float64 { return r.Metrics.Seconds }),
		})
	}
	return rows
}

// mergeRepro reads run files and checks that their shards cover each
// setup once.
func mergeRepro(paths []string) (*ReproResult, error) {
	groups := map[string][]shard.Spec{}
	var setups []string
	var runs []ReproRun
	var clu []CLUResult
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("unlearn: repro: %w", err)
		}
		var f reproFile
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("unlearn: repro: %s is not a run file of repro unlearn --out: %w", p, err)
		}
		if err := f.Shard.Validate(); err != nil {
			return nil, fmt.Errorf("unlearn: repro: %s: %w", p, err)
		}
		for i, r := range f.Runs {
			if r.Forget == "" || r.Method == "" {
				return nil, fmt.Errorf("unlearn: repro: %s: run %d has no forget spec or method", p, i+1)
			}
		}
		if groups[f.Setup] == nil {
			setups = append(setups, f.Setup)
		}
		groups[f.Setup] = append(groups[f.Setup], f.Shard)
		runs = append(runs, f.Runs...)
		clu = append(clu, f.CLU...)
	}
	if len(setups) != 1 {
		return nil, fmt.Errorf("unlearn: repro: the files hold %d different setups, want one", len(setups))
	}
	if err := shard.CheckCover(groups[setups[0]]); err != nil {
		return nil, fmt.Errorf("unlearn: repro: %w", err)
	}
	return &ReproResult{Setup: setups[0], Shard: shard.Spec{Index: 0, Count: 1}, Runs: runs, Rows: summarize(runs), CLU: clu}, nil
}

// WriteText prints one table per forget spec: each method's metrics and
// its gap to retraining (mean ± std over seeds), beside the papers'
// expected direction.
func (r *ReproResult) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Machine unlearning at small scale: SFR-on (NeurIPS 2024) and NatMU beside retraining and the ft/ga/rl/l1/salun baselines\n")
	fmt.Fprintf(w, "setup: %s", r.Setup)
	if !r.Shard.Whole() {
		fmt.Fprintf(w, " (shard %s)", r.Shard)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "paper numbers: not public in text form (SFR-on: CIFAR-10 ResNet-18 10% random forgetting; NatMU: CIFAR-10 VGG16 1%/10% and class-wise); the direction column is training.md §19's expectation")
	f := func(s metrics.Stat, verb string) string { return s.Format(verb) }
	cur := ""
	var tw *tabwriter.Writer
	for _, row := range r.Rows {
		if tw == nil || row.Spec != cur {
			if tw != nil {
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			cur = row.Spec
			fmt.Fprintf(w, "\nforget %s (accuracies in %%, |gap| = |method − retrain|, avg gap over forget, retain, test acc and MIA entropy; mean ± std over seeds)\n", cur)
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "method\tforget acc\tretain acc\ttest acc\tforgotten-test acc\tMIA AUC\tMIA entropy %\t|gap| forget\t|gap| retain\t|gap| test\t|gap| MIA AUC\t|gap| MIA entropy\tavg gap\ttime / retrain\tpaper's direction")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Method,
			f(row.ForgetAcc, "%.2f"), f(row.RetainAcc, "%.2f"), f(row.TestAcc, "%.2f"), f(row.ForgetTestAcc, "%.2f"), f(row.MIA, "%.3f"), f(row.MIAEntropy, "%.2f"),
			f(row.GapF, "%.2f"), f(row.GapR, "%.2f"), f(row.GapT, "%.2f"), f(row.GapMIA, "%.3f"), f(row.GapMIAEntropy, "%.2f"), f(row.AvgGap, "%.2f"), f(row.TimeRatio, "%.2f"), row.Direction)
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if err := writeCLU(w, r.CLU); err != nil {
		return err
	}
	for _, fl := range r.Failed {
		fmt.Fprintln(w, "FAILED:", fl)
	}
	if _, err := fmt.Fprintf(w, "(%.1fs)\n", r.Seconds); err != nil {
		return err
	}
	if len(r.Failed) > 0 {
		return fmt.Errorf("unlearn: repro: %d run(s) failed: %s", len(r.Failed), strings.Join(r.Failed, "; "))
	}
	return nil
}

// writeCLU prints the UG-CLU toy: per request, each method's kept-classes
// test accuracy, forgotten-classes test accuracy and MIA AUC over seeds.
func writeCLU(w io.Writer, runs []CLUResult) error {
	if len(runs) == 0 {
		return nil
	}
	var methods []string
	by := map[string][]CLUResult{}
	for _, r := range runs {
		if by[r.Method] == nil {
			methods = append(methods, r.Method)
		}
		by[r.Method] = append(by[r.Method], r)
	}
	fmt.Fprintf(w, "\nUG-CLU toy: continual learning and unlearning on split Fashion-MNIST (one pass per learn request, reservoir buffer 500; %d runs). Expected (paper abstract, no public numbers): ug-clu forgets as well as purging + fine-tuning (er-ft) while keeping more accuracy on the kept classes.\n", len(runs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hdr := []string{"request"}
	for _, m := range methods {
		hdr = append(hdr, m+" kept test acc", m+" forgotten-classes test acc", m+" MIA AUC")
	}
	fmt.Fprintln(tw, strings.Join(hdr, "\t"))
	first := by[methods[0]][0]
	for i, st := range first.Steps {
		cells := []string{st.Request}
		for _, m := range methods {
			var kept, ft, mia []float64
			for _, r := range by[m] {
				if i >= len(r.Steps) {
					continue
				}
				s := r.Steps[i]
				kept = append(kept, 100*s.Kept)
				if s.ForgetTest != nil {
					ft = append(ft, 100**s.ForgetTest)
				}
				if s.MIA != nil {
					mia = append(mia, *s.MIA)
				}
			}
			cells = append(cells, metrics.NewStat(kept).Format("%.2f"), metrics.NewStat(ft).Format("%.2f"), metrics.NewStat(mia).Format("%.3f"))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
