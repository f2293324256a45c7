package repro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/train"
)

// ATMethods lists the training runs of [AT], in table order; "fgsm-rs"
// also gives the row of its early-stopped weights (the CO remedy).
var ATMethods = []string{"standard", "pgd-at", "fgsm-rs", "sub-at", "afa"}

// ATConfig configures [AT], "trustml repro at". Zero fields take the
// defaults of [DefaultATConfig].
type ATConfig struct {
	Data    string  `flag:"data" help:"data set: the embedded Fashion-MNIST subset, or fashion-mnist with --data-dir"`
	DataDir string  `flag:"data-dir" help:"directory with the full Fashion-MNIST IDX files"`
	Arch    string  `flag:"arch" help:"architecture with batch norm (AFA makes it dual)"`
	TrainN  int     `flag:"train-n" help:"training images, the first of the split"`
	HeldOut int     `flag:"held-out" help:"of them, held out for the per-epoch PGD evaluation"`
	TestN   int     `flag:"test-n" help:"test images (the first) of the AutoAttack-lite evaluation"`
	Full    bool    `flag:"full" help:"evaluate on the whole test split (overrides --test-n)"`
	Epochs  int     `flag:"epochs" help:"epochs of every run (Sub-AT: as many again in the subspace)"`
	Batch   int     `flag:"batch" help:"batch size"`
	LR      float64 `flag:"lr" help:"SGD learning rate (momentum 0.9, Nesterov, wd 5e-4, constant)"`
	Eps     float64 `flag:"eps" help:"L∞ radius of training and evaluation"`
	Steps   int     `flag:"steps" help:"PGD steps of PGD-AT and AFA training"`
	// AAIters, AATargets and AASquare size the AutoAttack-lite ensemble
	// (APGD-CE, APGD-T, Square): APGD iterations, APGD-T target classes
	// and Square queries (the official 100, 9 and 5000 with --aa-iters 100
	// --aa-targets 9 --aa-square 5000).
	AAIters   int        `flag:"aa-iters" help:"APGD iterations of AutoAttack-lite"`
	AATargets int        `flag:"aa-targets" help:"APGD-T target classes"`
	AASquare  int        `flag:"aa-square" help:"Square queries per image"`
	Methods   []string   `flag:"methods" help:"runs: standard, pgd-at, fgsm-rs, sub-at, afa"`
	Seed      uint64     `flag:"seed" help:"seed of initialisation, shuffling and attacks"`
	Shard     shard.Spec `flag:"shard" help:"run only shard i/N of the runs"`
	Out       string     `flag:"out" help:"save the runs as JSON to this file (atomic), for --from"`
	From      []string   `flag:"from" help:"tabulate runs saved by --out instead of training (comma-separated files)"`
	// Certify, in a run that is neither sharded nor merged, also runs
	// [RunCertify] at its defaults (σ 0.25 and 0.5: Gaussian smoothing,
	// SOME, a deep ensemble) for the certified-accuracy part of the table;
	// sharded, "trustml repro certify" shards it on its own.
	Certify  bool `flag:"certify" help:"also certify smoothing, SOME and a deep ensemble (repro certify's defaults) at radii 0.25/0.5/1 (unsharded runs only)"`
	Progress progress.Reporter

	certifyCfg *CertifyConfig // tests: replaces DefaultCertifyConfig
}

// DefaultATConfig returns the defaults of "trustml repro at": a small
// scale that runs in about 15 minutes on one core.
func DefaultATConfig() ATConfig {
	return ATConfig{Data: data.DefaultName, Arch: "cnn-small", TrainN: 3000, HeldOut: 200, TestN: 300,
		Epochs: 5, Batch: 128, LR: 0.05, Eps: 0.1, Steps: 10, AAIters: 25, AATargets: 3, AASquare: 300,
		Methods: slices.Clone(ATMethods), Seed: 1, Certify: true}
}

func (c ATConfig) withDefaults() ATConfig {
	d := DefaultATConfig()
	for _, p := range []struct{ v, d *string }{{&c.Data, &d.Data}, {&c.Arch, &d.Arch}} {
		if *p.v == "" {
			*p.v = *p.d
		}
	}
	for _, p := range []struct{ v, d *int }{{&c.TrainN, &d.TrainN}, {&c.HeldOut, &d.HeldOut}, {&c.TestN, &d.TestN},
		{&c.Epochs, &d.Epochs}, {&c.Batch, &d.Batch}, {&c.Steps, &d.Steps}, {&c.AAIters, &d.AAIters},
		{&c.AATargets, &d.AATargets}, {&c.AASquare, &d.AASquare}} {
		if *p.v == 0 {
			*p.v = *p.d
		}
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	if c.Eps == 0 {
		c.Eps = d.Eps
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if len(c.Methods) == 0 {
		c.Methods = d.Methods
	}
	return c
}

func (c ATConfig) check() error {
	for _, m := range c.Methods {
		if !slices.Contains(ATMethods, m) {
			return fmt.Errorf("--methods: unknown run %q (want %s)", m, strings.Join(ATMethods, ", "))
		}
	}
	switch {
	case c.TrainN < 2 || c.HeldOut < 1 || c.HeldOut >= c.TrainN:
		return fmt.Errorf("--held-out %d must be in [1, --train-n %d)", c.HeldOut, c.TrainN)
	case c.TestN < 1 || c.Epochs < 1 || c.Batch < 1 || c.Steps < 1:
		return fmt.Errorf("--test-n, --epochs, --batch and --steps must be positive")
	case c.AAIters < 1 || c.AATargets < 1 || c.AASquare < 1:
		return fmt.Errorf("--aa-iters, --aa-targets and --aa-square must be positive")
	case !(c.Eps > 0 && c.Eps <= 1):
		return fmt.Errorf("--eps %v outside (0, 1]: inputs lie in [0, 1]", c.Eps)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("--lr %v must be positive and finite", c.LR)
	case c.Out != "" && len(c.From) > 0:
		return fmt.Errorf("--out and --from together: --from merges saved runs without training")
	}
	return c.Shard.Validate()
}

// setup is the fingerprint of the settings that make runs comparable: a
// merge refuses files of different setups.
func (c ATConfig) setup(data string, testN int) string {
	return fmt.Sprintf("%s train-n=%d held-out=%d test-n=%d arch=%s epochs=%d batch=%d lr=%g eps=%g steps=%d aa=%d/%d/%d seed=%d methods=%s",
		data, c.TrainN, c.HeldOut, testN, c.Arch, c.Epochs, c.Batch, c.LR, c.Eps, c.Steps, c.AAIters, c.AATargets, c.AASquare, c.Seed, strings.Join(c.Methods, ","))
}

// ATRun is one evaluated model of [AT].
type ATRun struct {
	Method string `json:"method"` // ATMethods, or "fgsm-rs-es"
	Label  string `json:"label"`
	N      int    `json:"n"` // test images evaluated
	// Clean and Robust are accuracies in [0, 1]; Robust is AutoAttack-lite
	// (the worst case over its components per image). NaN (null) when the
	// run failed.
	Clean  float64 `json:"clean"`
	Robust float64 `json:"robust"`
	// By counts the images each component fooled first.
	By map[string]int `json:"fooled_by,omitempty"`
	// COEpoch is the run's catastrophic-overfitting epoch (0: none), and
	// BestEpoch its best held-out PGD epoch.
	COEpoch   int     `json:"co_epoch"`
	BestEpoch int     `json:"best_epoch"`
	Seconds   float64 `json:"seconds"` // training and evaluation
	Err       string  `json:"error,omitempty"`
}

// MarshalJSON writes NaN accuracies as null.
func (r ATRun) MarshalJSON() ([]byte, error) {
	type plain ATRun
	nan := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		plain
		Clean  *float64 `json:"clean"`
		Robust *float64 `json:"robust"`
	}{plain(r), nan(r.Clean), nan(r.Robust)})
}

// UnmarshalJSON reads null accuracies as NaN.
func (r *ATRun) UnmarshalJSON(b []byte) error {
	type plain ATRun
	var v struct {
		plain
		Clean  *float64 `json:"clean"`
		Robust *float64 `json:"robust"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = ATRun(v.plain)
	r.Clean, r.Robust = math.NaN(), math.NaN()
	if v.Clean != nil {
		r.Clean = *v.Clean
	}
	if v.Robust != nil {
		r.Robust = *v.Robust
	}
	return nil
}

// ATRunFile is what --out writes and --from reads.
type ATRunFile = RunFile[ATRun]

// ATResult is the outcome of [AT]: the runs (of this shard, or merged) and
// their table.
type ATResult struct {
	Shard shard.Spec `json:"shard"`
	Setup string     `json:"setup"`
	Runs  []ATRun    `json:"runs"`
	Table *Table     `json:"table"`
	// Certified is RunCertify's table when the run certified (Certify).
	Certified *Table `json:"certified,omitempty"`
}

// WriteText prints the table, and fails when a run failed: the table then
// shows n/a for it, and the command exits non-zero.
func (r *ATResult) WriteText(w io.Writer) error {
	if err := r.Table.WriteText(w); err != nil {
		return err
	}
	if r.Certified != nil {
		fmt.Fprintln(w)
		if err := r.Certified.WriteText(w); err != nil {
			return err
		}
	}
	for _, t := range []*Table{r.Table, r.Certified} {
		if t != nil && !t.Complete() {
			return fmt.Errorf("repro at: incomplete: %s", strings.Join(t.Failed, "; "))
		}
	}
	return nil
}

// AT reproduces, at small scale, the comparison of adversarial training
// methods of robustness.md §5.5, §13, §14 and §16: one table of clean
// accuracy and AutoAttack-lite robust accuracy at ε (default 0.1) on the
// first TestN Fashion-MNIST test images (Full: all of them) for standard
// training, PGD-AT, FGSM-RS, FGSM-RS stopped at its best held-out PGD epoch
// (the catastrophic-overfitting remedy of "repro co"), Sub-AT and AFA, each
// beside its paper's direction. Shard runs every N-th of Methods, Out saves
// the runs, and From merges saved shards into the table without training.
func AT(ctx context.Context, cfg ATConfig) (*ATResult, error) {
	c := cfg.withDefaults()
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("repro at: %w", err)
	}
	if len(c.From) > 0 {
		return ReadATRuns(c.From...)
	}
	tr, err := data.Open(c.Data, data.Train, c.DataDir)
	if err != nil {
		return nil, fmt.Errorf("repro at: %w", err)
	}
	te, err := data.Open(c.Data, data.Test, c.DataDir)
	if err != nil {
		return nil, fmt.Errorf("repro at: %w", err)
	}
	if tr.Y == nil || len(tr.Shape) != 3 {
		return nil, fmt.Errorf("repro at: %s is not a labelled image set", tr.Name)
	}
	testN := c.TestN
	if c.Full {
		testN = te.Len()
	}
	if tr.Len() < c.TrainN || te.Len() < testN {
		return nil, fmt.Errorf("repro at: --train-n %d and --test-n %d, but %s has %d training and %d test images", c.TrainN, testN, tr.Name, tr.Len(), te.Len())
	}
	tr, te = tr.Head(c.TrainN), te.Head(testN)
	res := &ATResult{Shard: c.Shard, Setup: c.setup(tr.Name, testN)}
	var errs []error
	for _, k := range c.Shard.Indices(len(c.Methods)) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		runs, err := c.run(ctx, c.Methods[k], tr, te)
		if err != nil {
			errs = append(errs, err)
		}
		res.Runs = append(res.Runs, runs...)
	}
	if c.Out != "" {
		if err := res.WriteRuns(c.Out); err != nil {
			return nil, err
		}
	}
	res.Table = atTable(res.Runs, res.Setup, c.Shard)
	if err := errors.Join(errs...); err != nil && ctx.Err() != nil {
		return nil, err
	}
	if c.Certify && c.Shard.Whole() {
		cc := DefaultCertifyConfig()
		if c.certifyCfg != nil {
			cc = *c.certifyCfg
		}
		cc.Data, cc.DataDir = c.Data, c.DataDir
		if res.Certified, err = RunCertify(ctx, &cc, c.Progress); err != nil {
			return nil, fmt.Errorf("repro at: certify: %w", err)
		}
	}
	return res, nil
}

// atLabels names the runs in the table.
var atLabels = map[string]string{
	"standard":   "standard training",
	"pgd-at":     "PGD-AT",
	"fgsm-rs":    "FGSM-RS (Fast-AT)",
	"fgsm-rs-es": "FGSM-RS + CO remedy (early stop at best held-out PGD)",
	"sub-at":     "Sub-AT",
	"afa":        "AFA (dual BN)",
}

// run trains one method and evaluates its model(s); a failure gives runs
// with NaN accuracies and the error.
func (c ATConfig) run(ctx context.Context, method string, tr, te *data.Dataset) ([]ATRun, error) {
	t0 := time.Now()
	rep := progress.Or(c.Progress)
	rep.Log("== %s", atLabels[method])
	oc := train.DefaultOptimizerConfig()
	oc.LR = c.LR
	rc := train.RunConfig{Train: tr, Test: te, Arch: c.Arch, Optimizer: "sgd", OptimizerConfig: oc, Schedule: "constant",
		Epochs: c.Epochs, BatchSize: c.Batch, Seed: c.Seed, Holdout: float64(c.HeldOut) / float64(c.TrainN), HoldoutSeed: c.Seed,
		RobustEval: train.RobustEval{N: c.HeldOut}, Progress: c.Progress}
	var res *train.RunResult
	var err error
	switch method {
	case "standard":
		res, err = train.Run(ctx, rc)
	case "pgd-at":
		rc.Adversarial = train.Adversarial{Method: "pgd", Eps: c.Eps, Steps: c.Steps}
		res, err = train.Run(ctx, rc)
	case "fgsm-rs", "sub-at":
		rc.Adversarial = train.Adversarial{Method: "fgsm-rs", Eps: c.Eps}
		if method == "sub-at" {
			rc.AdversarialSubspace = max(1, min(8, 2*c.Epochs-1))
		}
		res, err = train.Run(ctx, rc)
	case "afa":
		res, err = train.RunAFA(ctx, train.AFARunConfig{Train: tr, Test: te, Arch: c.Arch, AFA: train.AFA{Eps: c.Eps, Steps: c.Steps},
			OptimizerConfig: oc, Schedule: "constant", Epochs: c.Epochs, BatchSize: c.Batch, Seed: c.Seed,
			Holdout: rc.Holdout, HoldoutSeed: c.Seed, RobustEval: rc.RobustEval, Progress: c.Progress})
	}
	type model struct {
		method string
		net    *nn.Network
	}
	models := []model{{method, nil}}
	if method == "fgsm-rs" {
		models = append(models, model{"fgsm-rs-es", nil})
	}
	out := make([]ATRun, len(models))
	for i, m := range models {
		out[i] = ATRun{Method: m.method, Label: atLabels[m.method], N: te.Len(), Clean: math.NaN(), Robust: math.NaN()}
	}
	if err != nil {
		for i := range out {
			out[i].Err = err.Error()
		}
		return out, fmt.Errorf("%s: %w", method, err)
	}
	models[0].net = res.Net
	if len(models) > 1 {
		models[1].net = res.BestRobust
	}
	for i, m := range models {
		r := &out[i]
		r.COEpoch, r.BestEpoch = res.COEpoch, res.BestEpoch
		if err := c.evalAA(ctx, m.net, te, r); err != nil {
			r.Err = err.Error()
			return out, fmt.Errorf("%s: AutoAttack-lite: %w", m.method, err)
		}
		rep.Log("%s: clean %.2f%%, AutoAttack-lite %.2f%% on %d test images", r.Label, 100*r.Clean, 100*r.Robust, r.N)
	}
	for i := range out {
		out[i].Seconds = time.Since(t0).Seconds()
	}
	return out, nil
}

// evalAA measures clean and AutoAttack-lite accuracy of net on te.
func (c ATConfig) evalAA(ctx context.Context, net *nn.Network, te *data.Dataset, r *ATRun) error {
	o, err := attack.NewOracle(net, attack.OracleOptions{})
	if err != nil {
		return err
	}
	aa := attack.NewAutoAttack()
	aa.Eps, aa.Iters, aa.TargetClasses, aa.SquareQueries = c.Eps, c.AAIters, c.AATargets, c.AASquare
	res, err := aa.Run(ctx, o, te.X, te.Y, attack.RunOptions{Rand: rand.New(rand.NewPCG(c.Seed, 0xaa))})
	if err != nil {
		return err
	}
	clean, total := 0, 0
	for i, ok := range res.CleanCorrect {
		if res.Failed[i] != nil {
			continue
		}
		total++
		if ok {
			clean++
		}
	}
	if total == 0 {
		return fmt.Errorf("every image failed")
	}
	r.Clean, r.Robust = float64(clean)/float64(total), res.RobustAccuracy(0)
	r.By, _ = res.ByCounts()
	return nil
}

// WriteRuns saves the runs with their shard and setup, atomically, for a
// later merge ([ATConfig].From).
func (r *ATResult) WriteRuns(path string) error {
	return writeRunFile("at", path, r.Shard, r.Setup, r.Runs)
}

// DecodeATRuns decodes one file written by [ATResult.WriteRuns].
func DecodeATRuns(b []byte) (*ATRunFile, error) {
	var f ATRunFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not a run file of repro at --out: %w", err)
	}
	if err := f.Spec.Validate(); err != nil {
		return nil, err
	}
	if f.Setup == "" {
		return nil, fmt.Errorf("no setup: not a run file of repro at --out")
	}
	for i, r := range f.Runs {
		if _, ok := atLabels[r.Method]; !ok {
			return nil, fmt.Errorf("run %d: unknown method %q", i, r.Method)
		}
		for _, v := range []float64{r.Clean, r.Robust} {
			if !math.IsNaN(v) && !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("run %d (%s): accuracy %v outside [0, 1]", i, r.Method, v)
			}
		}
	}
	return &f, nil
}

// ReadATRuns merges files written by [ATResult.WriteRuns]: they must be
// shards of one setup that cover it exactly once.
func ReadATRuns(paths ...string) (*ATResult, error) {
	var specs []shard.Spec
	var runs []ATRun
	setup := ""
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("repro at: %w", err)
		}
		f, err := DecodeATRuns(b)
		if err != nil {
			return nil, fmt.Errorf("repro at: %s: %w", p, err)
		}
		if setup != "" && f.Setup != setup {
			return nil, fmt.Errorf("repro at: %s has setup %q, %s has %q: runs of different settings do not merge", p, f.Setup, paths[0], setup)
		}
		setup = f.Setup
		specs = append(specs, f.Spec)
		runs = append(runs, f.Runs...)
	}
	if err := shard.CheckCover(specs); err != nil {
		return nil, fmt.Errorf("repro at: %w", err)
	}
	order := map[string]int{}
	for i, m := range append(slices.Clone(ATMethods[:3]), append([]string{"fgsm-rs-es"}, ATMethods[3:]...)...) {
		order[m] = i
	}
	slices.SortStableFunc(runs, func(a, b ATRun) int { return order[a.Method] - order[b.Method] })
	whole := shard.Spec{Index: 0, Count: 1}
	return &ATResult{Shard: whole, Setup: setup, Runs: runs, Table: atTable(runs, setup, whole)}, nil
}
