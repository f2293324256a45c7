package repro

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/robust"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/zoo"
)

// AAA: S. Chen, Z. Huang, Q. Tao, Y. Wu, C. Xie, X. Huang, "Adversarial
// Attack on Attackers: Post-Process to Mitigate Black-Box Score-Based
// Query Attacks", NeurIPS 2022 (arXiv 2205.12134). The numbers are read
// from the authors' poster and the abstract (paper-numbers.md §6).
const (
	aaaPaper    = `AAA: "Adversarial Attack on Attackers: Post-Process to Mitigate Black-Box Score-Based Query Attacks" (Chen et al., NeurIPS 2022)`
	aaaCIFAR    = "CIFAR-10, WideResNet-28, ℓ∞ 8/255"
	aaaImageNet = "ImageNet, WideResNet-50, ℓ∞ 4/255"
	// AAAEpsReason says why ε = 0.1 on Fashion-MNIST stands in for the
	// paper's 8/255 on CIFAR-10.
	AAAEpsReason = "ε=0.1 is the usual L∞ budget for Fashion-MNIST: like 8/255 on CIFAR-10 it leaves the image recognizable while an undefended model falls to near 0% within a few hundred queries"
)

// aaaCell is a poster cell: accuracy (%) after 100 and after 2500 queries.
type aaaCell struct{ q100, q2500 float64 }

// aaaPosterColumn is one defense column of the poster's Table 2 for one
// setting: ECE, clean accuracy and the five attacks, in %.
type aaaPosterColumn struct {
	ece, acc float64
	attacks  map[string]aaaCell // by our attack name
}

// aaaTable2 is the poster's Table 2, "The defense performance under
// attacks (#query = 100/2500)", by setting and by our defense name
// ("adv-train" is the adversarially trained model, which we do not have).
var aaaTable2 = map[string]map[string]aaaPosterColumn{
	aaaCIFAR: {
		"none":       {3.52, 94.78, map[string]aaaCell{"square": {39.38, 0.09}, "signhunter": {41.14, 0.04}, "simba-dct": {53.04, 3.95}, "nes": {83.42, 12.24}, "bandits": {69.86, 41.03}}},
		"adv-train":  {11.00, 87.02, map[string]aaaCell{"square": {78.30, 67.44}, "signhunter": {78.87, 66.79}, "simba-dct": {84.21, 75.85}, "nes": {85.92, 81.01}, "bandits": {83.62, 76.25}}},
		"rnd":        {6.32, 91.05, map[string]aaaCell{"square": {60.83, 49.15}, "signhunter": {61.02, 47.82}, "simba-dct": {76.39, 64.34}, "nes": {86.23, 68.19}, "bandits": {70.44, 41.65}}},
		"aaa-linear": {2.46, 94.84, map[string]aaaCell{"square": {81.36, 80.59}, "signhunter": {79.41, 76.71}, "simba-dct": {88.86, 83.36}, "nes": {90.62, 85.95}, "bandits": {80.86, 78.36}}},
	},
	aaaImageNet: {
		"none":       {5.42, 77.11, map[string]aaaCell{"square": {52.27, 9.25}, "signhunter": {53.05, 13.88}, "simba-dct": {71.79, 20.90}, "nes": {77.11, 64.93}, "bandits": {71.33, 65.77}}},
		"adv-train":  {5.03, 66.30, map[string]aaaCell{"square": {59.20, 51.11}, "signhunter": {59.47, 56.22}, "simba-dct": {65.64, 47.60}, "nes": {66.30, 64.38}, "bandits": {65.30, 63.98}}},
		"rnd":        {5.79, 75.32, map[string]aaaCell{"square": {58.67, 50.54}, "signhunter": {59.36, 52.98}, "simba-dct": {66.36, 63.27}, "nes": {71.33, 66.05}, "bandits": {65.15, 61.38}}},
		"aaa-linear": {4.30, 77.17, map[string]aaaCell{"square": {63.13, 62.51}, "signhunter": {62.35, 56.80}, "simba-dct": {74.16, 67.14}, "nes": {77.12, 67.06}, "bandits": {72.15, 70.53}}},
	},
}

// aaaAttackNames are the paper's names of our attacks, in the poster's
// row order.
var aaaAttackNames = []struct{ ours, paper string }{
	{"square", "Square"}, {"signhunter", "SignHunter"}, {"simba-dct", "SimBA"}, {"nes", "NES"}, {"bandits", "Bandit"},
}

// aaaDefenseNames are the poster's column names of our defenses.
var aaaDefenseNames = map[string]string{"none": "None", "adv-train": "adv-train", "rnd": "random-input (RND)", "aaa-linear": "AAA-linear", "aaa-sine": "AAA-sine"}

// aaaThreat is a row of the poster's Table 4 (Square attack, CIFAR-10).
type aaaThreat struct {
	label    string
	norm     attack.Norm
	eps      float64
	targeted bool
	// by defense: None, AAA-linear, adv-train, AT-AAA-linear
	none, aaa, at, atAAA aaaCell
}

// aaaTable4 is the poster's Table 4, "Generalization of AAA tested by
// Square attack (#query = 100/2500, CIFAR-10)". ECE and clean accuracy of
// AT-AAA-linear: 10.56 and 87.02.
var aaaTable4 = []aaaThreat{
	{"untargeted ℓ∞ = 8/255", attack.LInf, 8.0 / 255, false, aaaCell{39.38, 0.09}, aaaCell{81.36, 80.59}, aaaCell{78.30, 67.44}, aaaCell{80.80, 80.13}},
	{"targeted ℓ∞ = 8/255", attack.LInf, 8.0 / 255, true, aaaCell{75.59, 2.84}, aaaCell{92.05, 91.62}, aaaCell{85.75, 82.72}, aaaCell{86.22, 86.13}},
	{"untargeted ℓ2 = 0.5", attack.L2, 0.5, false, aaaCell{81.53, 18.75}, aaaCell{92.66, 92.63}, aaaCell{84.26, 78.97}, aaaCell{85.12, 84.31}},
	{"untargeted ℓ2 = 2.5", attack.L2, 2.5, false, aaaCell{12.77, 0.01}, aaaCell{70.35, 63.46}, aaaCell{57.88, 25.19}, aaaCell{74.03, 73.72}},
}

// aaaTable5 is the poster's Table 5, "Influence of the optimization times
// in AAA": κ AAA iterations, ECE (%), accuracy under Square with 100
// queries (%) and time per batch (ms), CIFAR-10 as Table 2.
var aaaTable5 = []struct{ kappa, ece, adv, ms float64 }{
	{0, 3.52, 39.38, 1.016}, {20, 2.87, 79.29, 1.034}, {40, 2.81, 80.92, 1.088},
	{60, 2.66, 81.37, 1.099}, {80, 2.53, 81.28, 1.143}, {100, 2.53, 81.36, 1.163},
}

// aaaTable6 is the poster's Table 6, "AAA under adaptive attacks (100
// queries)": by attack, accuracy (%) with None, AAA-linear, AAA-sine.
var aaaTable6 = []struct {
	attack          string
	none, lin, sine float64
}{
	{"Square", 39.38, 81.36, 78.34},
	{"bi-Square", 57.09, 62.91, 76.69},
	{"up-Square", 94.78, 57.31, 76.41}, // rendered "op-Square" on the poster; the repository's --loss=up
}

// AAAConfig configures [AAA]. Zero fields take the defaults noted.
type AAAConfig struct {
	// Models are embedded model names (zoo.Names, or "default") or
	// checkpoint files (default: the embedded CNN and ResNet-8).
	Models []string
	// N is the number of embedded Fashion-MNIST test images attacked (the
	// first N; default 100, at most 1000: the others, at least 1000,
	// calibrate AAA).
	N int
	// Budget is the number of queries per image (default 500).
	Budget int
	// Checkpoints are the budgets reported (default 100, 500, 1000, 2500;
	// those above Budget are dropped).
	Checkpoints []int
	// Attacks are score-based attack names (default square, nes,
	// signhunter, simba-dct, bandits).
	Attacks []string
	// Defenses are defense names (default, or "all": every registered one).
	Defenses []string
	// Eps is the L∞ radius (default 0.1, see [AAAEpsReason]).
	Eps float64
	// Seed seeds attacks and randomized defenses (the paper uses 0).
	Seed uint64
	// Shard evaluates only one shard of the images (zero: all).
	Shard shard.Spec
	// Ablations also runs Square under the poster's Table 4 threat models
	// (targeted, ℓ2) and its Table 5 sweep of AAA iterations, with the
	// undefended model and AAA-linear, on the first model. Without it
	// those rows show the paper's number and n/a.
	Ablations bool
	// Progress, if set, receives the progress of every attack–defense pair.
	Progress progress.Reporter
}

// AAAResult is the outcome of [AAA].
type AAAResult struct {
	// Reports are the attack × defense evaluations, one per model.
	Reports []*robust.Report `json:"reports"`
	// Adaptive are the runs of the poster's Table 6 adaptive attacks
	// (up-square, bi-square; 100 queries) against none, AAA-linear and
	// AAA-sine, one per model of Reports that evaluated any of those
	// defenses.
	Adaptive []*robust.Report `json:"adaptive,omitempty"`
	// Tables put the poster's numbers beside ours: Table 2 for CIFAR-10
	// and for ImageNet, Tables 4, 5 and 6.
	Tables []*Table `json:"tables"`
	// Checks state whether the paper's qualitative claims hold here.
	Checks []string `json:"checks"`
	// Failed lists the models whose evaluation failed; the others are
	// reported.
	Failed []string `json:"failed,omitempty"`
}

// Complete reports whether every model and table ran.
func (r *AAAResult) Complete() bool {
	if len(r.Failed) > 0 {
		return false
	}
	for _, t := range r.Tables {
		if !t.Complete() {
			return false
		}
	}
	return true
}

// Failures returns an error counting the samples that failed in each
// report (robust.Report.Failures), or nil if none did.
func (r *AAAResult) Failures() error {
	var errs []error
	for _, rep := range append(slices.Clone(r.Reports), r.Adaptive...) {
		if err := rep.Failures(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rep.Model, err))
		}
	}
	return errors.Join(errs...)
}

func (cfg *AAAConfig) defaults() {
	if cfg.Models == nil {
		cfg.Models = []string{"default", "fashion-resnet8"}
	}
	if cfg.N == 0 {
		cfg.N = 100
	}
	if cfg.Budget == 0 {
		cfg.Budget = 500
	}
	if cfg.Checkpoints == nil {
		cfg.Checkpoints = []int{100, 500, 1000, 2500}
	}
	if cfg.Attacks == nil {
		cfg.Attacks = []string{"square", "nes", "signhunter", "simba-dct", "bandits"}
	}
	if cfg.Defenses == nil || slices.Equal(cfg.Defenses, []string{"all"}) {
		cfg.Defenses = []string{"none"}
		for _, d := range defense.Names() {
			if d != "none" {
				cfg.Defenses = append(cfg.Defenses, d)
			}
		}
	}
	if cfg.Eps == 0 {
		cfg.Eps = 0.1
	}
}

// AAA reproduces the evaluation of the AAA paper at small scale: every
// score-based query attack against every output defense (robust.Run) on
// the embedded Fashion-MNIST models and test images, L∞ ε = 0.1, and the
// poster's Tables 2, 4, 5 and 6 beside our numbers. AAA's calibration
// temperature is tuned on the embedded test images that are not attacked
// (1900 by default), and a calibration table measures AAA's ECE on them
// by two-fold cross-validation (see [AAACalibration]). The paper evaluates 10,000 CIFAR-10 images at 2500
// queries on a GPU; the defaults (100 images, 500 queries, 5 attacks ×
// every defense × 2 models) take about half an hour on 2 cores.
//
// A model whose evaluation fails is listed in AAAResult.Failed and the
// others are still reported; a cancelled ctx returns what ran with its
// error.
func AAA(ctx context.Context, cfg AAAConfig) (*AAAResult, error) {
	start := time.Now()
	cfg.defaults()
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		return nil, err
	}
	if cfg.N < 1 || cfg.N > test.Len()-1000 {
		return nil, fmt.Errorf("repro: AAA: N %d outside [1, %d]", cfg.N, test.Len()-1000)
	}
	if cfg.Shard == (shard.Spec{}) {
		cfg.Shard = shard.Spec{Index: 0, Count: 1}
	}
	if err := cfg.Shard.Validate(); err != nil {
		return nil, fmt.Errorf("repro: AAA: %w", err)
	}
	size := test.SampleSize()
	lo := cfg.N
	rc, err := robust.NamedConfig(cfg.Attacks, cfg.Defenses, nil)
	if err != nil {
		return nil, fmt.Errorf("repro: AAA: %w", err)
	}
	rc.Norm, rc.Loss, rc.Eps, rc.Budget, rc.Quantize, rc.Seed, rc.Shard = attack.LInf, attack.LossDefault, cfg.Eps, cfg.Budget, true, cfg.Seed, cfg.Shard
	rc.CalibrationX, rc.CalibrationY = test.X[lo*size:], test.Y[lo:]
	for _, q := range cfg.Checkpoints {
		if q <= cfg.Budget {
			rc.Checkpoints = append(rc.Checkpoints, q)
		}
	}
	x, y := test.X[:cfg.N*size], test.Y[:cfg.N]
	dataName := fmt.Sprintf("%s (test, first %d)", test.Name, cfg.N)
	rep := progress.Or(cfg.Progress)
	res := &AAAResult{}
	var first *nn.Network
	calib := &Table{
		Paper:    aaaPaper + ", Table 2 (ECE)",
		Protocol: fmt.Sprintf("ours: the %d embedded Fashion-MNIST test images not attacked, two-fold cross-validation (T tuned on one half, ECE on the other; mean ± std over the folds), 15 bins; paper: CIFAR-10 test set, T tuned on 1000 test images", test.Len()-cfg.N),
		Claim:    "AAA keeps accuracy and lowers ECE once its temperature is tuned",
		Notes: []string{"ECE over the 100 attacked images (the main table) moves by several points with a handful of images; this table is the calibration measurement",
			"logits ×2 is an overconfident copy of the same model (same predictions), miscalibrated as much as the paper's CIFAR-10 model"},
	}
	for _, m := range cfg.Models {
		net, _, err := zoo.OpenNetwork(m)
		if err == nil {
			rc.Progress = aaaPrefixed{rep, m + ": "}
			var r *robust.Report
			if r, err = robust.Run(ctx, net, x, y, rc); err == nil {
				r.Model, r.Data = m, dataName
				rep.Log("%s: done", m)
				res.Reports = append(res.Reports, r)
				if first == nil {
					first = net
				}
				if err = aaaRunAdaptive(ctx, net, r, x, y, rc, res); err != nil {
					return res, err
				}
				var rows []Row
				if rows, err = AAACalibration(ctx, net, aaaSetting(r), rc.CalibrationX, rc.CalibrationY); err != nil {
					return res, err
				}
				calib.Rows = append(calib.Rows, rows...)
				continue
			}
		}
		if ctx.Err() != nil {
			return res, err
		}
		res.Failed = append(res.Failed, fmt.Sprintf("%s: %v", m, err))
	}
	var abl *aaaAblations
	if cfg.Ablations && first != nil {
		var failed []string
		if abl, failed, err = aaaRunAblations(ctx, first, res.Reports[0].Model, dataName, x, y, rc, rep); err != nil {
			return res, err
		}
		res.Failed = append(res.Failed, failed...)
	}
	res.Tables = []*Table{
		aaaTable2Of(res.Reports, aaaCIFAR, cfg),
		aaaTable2Of(res.Reports, aaaImageNet, cfg),
		aaaTable4Of(res.Reports, abl, cfg),
		aaaTable5Of(res.Reports, abl, cfg),
		aaaTable6Of(res.Reports, res.Adaptive, cfg),
		calib,
	}
	res.Checks = append(aaaChecks(res.Reports), aaaCalibrationChecks(calib)...)
	for _, t := range res.Tables {
		t.Seconds = time.Since(start).Seconds()
	}
	return res, nil
}

// aaaAdaptiveDefenses are the defenses of the poster's Table 6.
var aaaAdaptiveDefenses = []string{"none", "aaa-linear", "aaa-sine"}

// aaaRunAdaptive runs the poster's Table 6 adaptive attacks, up-Square and
// bi-Square (robustness.md §1.3), for 100 queries (the budget if lower)
// against the Table 6 defenses of main's run, with rc's settings, and adds
// the report to res.Adaptive. A failed run is listed in res.Failed; only
// cancellation is returned.
func aaaRunAdaptive(ctx context.Context, net *nn.Network, main *robust.Report, x []float32, y []int, rc robust.Config, res *AAAResult) error {
	var defs []string
	for _, d := range aaaAdaptiveDefenses {
		if slices.ContainsFunc(main.Clean, func(c robust.DefenseClean) bool { return c.Defense == d }) {
			defs = append(defs, d)
		}
	}
	if len(defs) == 0 {
		return nil
	}
	c, err := robust.NamedConfig([]string{"up-square", "bi-square"}, defs, nil)
	if err == nil {
		c.Norm, c.Eps, c.Loss, c.Quantize, c.Seed, c.Shard = rc.Norm, rc.Eps, attack.LossDefault, rc.Quantize, rc.Seed, rc.Shard
		c.CalibrationX, c.CalibrationY = rc.CalibrationX, rc.CalibrationY
		c.Budget = min(100, rc.Budget)
		c.Checkpoints = []int{c.Budget}
		if p, ok := rc.Progress.(aaaPrefixed); ok {
			c.Progress = aaaPrefixed{p.r, p.prefix + "Table 6: "}
		}
		var r *robust.Report
		if r, err = robust.Run(ctx, net, x, y, c); err == nil {
			r.Model, r.Data = main.Model, main.Data
			res.Adaptive = append(res.Adaptive, r)
			return nil
		}
	}
	if ctx.Err() != nil {
		return err
	}
	res.Failed = append(res.Failed, fmt.Sprintf("%s: Table 6 adaptive attacks: %v", main.Model, err))
	return nil
}

// aaaPrefixed reports a robust evaluation's progress with a prefix (the
// model) before each label and line.
type aaaPrefixed struct {
	r      progress.Reporter
	prefix string
}

func (p aaaPrefixed) Update(label string, done, total int, status string) {
	p.r.Update(p.prefix+label, done, total, status)
}

func (p aaaPrefixed) Log(format string, args ...any) {
	p.r.Log("%s%s", p.prefix, fmt.Sprintf(format, args...))
}

// aaaAt returns a pair's robust accuracy (%) at the largest checkpoint of
// r at most q, and that checkpoint; ok is false when there is none or the
// pair did not run.
func aaaAt(r *robust.Report, atk, def string, q int) (v float64, used int, ok bool) {
	ci := -1
	for i, c := range r.Checkpoints {
		if c <= q {
			ci = i
		}
	}
	if ci < 0 {
		return 0, 0, false
	}
	for _, p := range r.Pairs {
		if p.Attack == atk && p.Defense == def && ci < len(p.Summary.RobustAccuracy) { // none when no sample completed
			return 100 * p.Summary.RobustAccuracy[ci], r.Checkpoints[ci], true
		}
	}
	return 0, 0, false
}

// aaaRan reports whether r evaluated the attack against the defense.
func aaaRan(r *robust.Report, atk, def string) bool {
	for _, p := range r.Pairs {
		if p.Attack == atk && p.Defense == def {
			return true
		}
	}
	return false
}

// aaaClean returns a defense's clean accuracy and ECE (%) in r.
func aaaClean(r *robust.Report, def string) (acc, ece float64, ok bool) {
	for _, c := range r.Clean {
		if c.Defense == def && c.Summary.N > 0 {
			return 100 * c.Summary.Accuracy, 100 * c.Summary.ECE, true
		}
	}
	return 0, 0, false
}

// aaaStat is one measured value, or nothing.
func aaaStat(v float64, ok bool) Stat {
	if !ok {
		return NewStat(nil)
	}
	return NewStat([]float64{v})
}

// aaaDiffers says how our setting differs from the paper's.
func aaaDiffers(paperSetting string, eps float64, paperQ, ourQ int) string {
	s := fmt.Sprintf("Fashion-MNIST ℓ∞ %g, not %s", eps, paperSetting)
	if paperQ > 0 && ourQ != paperQ {
		if ourQ == 0 {
			s += fmt.Sprintf("; no checkpoint ≤ %d queries", paperQ)
		} else {
			s += fmt.Sprintf("; %d queries, not %d", ourQ, paperQ)
		}
	}
	return s
}

func aaaSetting(r *robust.Report) string { return r.Model + " (Fashion-MNIST)" }

// aaaTable2Of puts the poster's Table 2 for one paper setting beside our
// reports.
func aaaTable2Of(reps []*robust.Report, setting string, cfg AAAConfig) *Table {
	src := "AAA poster, Table 2"
	t := &Table{
		Paper:    aaaPaper + ", Table 2 (" + strings.SplitN(setting, ",", 2)[0] + ")",
		Protocol: fmt.Sprintf("ours: %d embedded Fashion-MNIST test images, ℓ∞ ε=%g, %d queries, 8-bit quantized queries, AAA temperature tuned on the embedded test images not attacked, ECE over the attacked ones (held-out ECE: calibration table); paper: %s, 10,000 images, 100/2500 queries", cfg.N, cfg.Eps, cfg.Budget, setting),
		Claim:    "AAA keeps clean accuracy, lowers ECE and defends better than adversarial training and RND (abstract, CIFAR-10 Square 2500 queries: AAA 80.59% vs adversarial training 67.44%)",
		Notes: []string{AAAEpsReason,
			"adv-train: no adversarially trained Fashion-MNIST model is embedded; its rows show n/a"},
	}
	if setting == aaaCIFAR {
		v := aaaTable2[aaaCIFAR]["aaa-linear"].attacks["square"].q2500
		at := aaaTable2[aaaCIFAR]["adv-train"].attacks["square"].q2500
		for _, r := range reps {
			ours, q, ok := aaaAt(r, "square", "aaa-linear", 2500)
			t.Rows = append(t.Rows, Row{Setting: aaaSetting(r), Method: "AAA-linear vs Square", Metric: "robust accuracy %",
				Paper: Published(v, "AAA abstract", setting+", 2500 queries"), Ours: aaaStat(ours, ok), Differs: aaaDiffers(setting, cfg.Eps, 2500, q)})
			t.Rows = append(t.Rows, Row{Setting: aaaSetting(r), Method: "adversarial training vs Square", Metric: "robust accuracy %",
				Paper: Published(at, "AAA abstract", setting+", 2500 queries"), Ours: NewStat(nil), Differs: "no adversarially trained model here"})
			// UniG (same group, ACM TIST 2023) reports the same attack
			// budget in its abstract.
			ug, uq, uok := aaaAt(r, "square", "unig", 2500)
			udiff := aaaDiffers("CIFAR-10", cfg.Eps, 2500, uq)
			if !aaaRan(r, "square", "unig") {
				udiff = "unig not evaluated in this run"
			}
			t.Rows = append(t.Rows, Row{Setting: aaaSetting(r), Method: "UniG vs Square", Metric: "robust accuracy %",
				Paper: Published(77.80, "UniG abstract", "CIFAR-10, 2500-query Square (adversarial training there: 67.34%)"), Ours: aaaStat(ug, uok),
				Differs: udiff})
		}
	}
	// Rows for the adversarially trained model show the paper's number
	// beside n/a; rows of attacks or defenses this run left out are
	// omitted.
	defs := []string{"none", "adv-train", "rnd", "aaa-linear"}
	for _, r := range reps {
		for _, def := range defs {
			col := aaaTable2[setting][def]
			acc, ece, ok := aaaClean(r, def)
			if !ok && def != "adv-train" {
				continue
			}
			differs := aaaDiffers(setting, cfg.Eps, 0, 0)
			if !ok {
				differs = "no adversarially trained model here"
			}
			method := aaaDefenseNames[def]
			t.Rows = append(t.Rows,
				Row{Setting: aaaSetting(r), Method: method, Metric: "clean accuracy %", Paper: Published(col.acc, src, setting), Ours: aaaStat(acc, ok), Differs: differs},
				Row{Setting: aaaSetting(r), Method: method, Metric: "ECE %", Paper: Published(col.ece, src, setting), Ours: aaaStat(ece, ok), Differs: differs})
		}
		for _, a := range aaaAttackNames {
			if !slices.ContainsFunc(r.Pairs, func(p robust.Pair) bool { return p.Attack == a.ours }) {
				continue
			}
			for _, def := range defs {
				if def != "adv-train" && !aaaRan(r, a.ours, def) {
					continue
				}
				cell := aaaTable2[setting][def].attacks[a.ours]
				for _, pq := range []struct {
					q int
					v float64
				}{{100, cell.q100}, {2500, cell.q2500}} {
					ours, q, ok := aaaAt(r, a.ours, def, pq.q)
					differs := aaaDiffers(setting, cfg.Eps, pq.q, q)
					if def == "adv-train" {
						differs = "no adversarially trained model here"
					}
					t.Rows = append(t.Rows, Row{Setting: aaaSetting(r), Method: aaaDefenseNames[def] + " vs " + a.paper,
						Metric:  fmt.Sprintf("robust accuracy %% @%d", pq.q),
						Paper:   Published(pq.v, src, fmt.Sprintf("%s, %d queries", setting, pq.q)),
						Ours:    aaaStat(ours, ok),
						Differs: differs})
				}
			}
		}
	}
	return t
}

// aaaAblations holds the extra runs of the Table 4 threat models and the
// Table 5 iteration sweep.
type aaaAblations struct {
	threats []*robust.Report // by aaaTable4 index; [0] is nil (the main run)
	kappa   []*robust.Report // by aaaTable5 index
}

// aaaRunAblations runs Square against none and AAA-linear under the
// Table 4 threat models, and against AAA-linear with 0, 20, …, 100
// iterations at 100 queries (Table 5). A run that fails is listed in
// failed and leaves its rows unmeasured; a cancelled ctx stops them all.
func aaaRunAblations(ctx context.Context, net *nn.Network, model, dataName string, x []float32, y []int, rc robust.Config, rep progress.Reporter) (ab *aaaAblations, failed []string, err error) {
	ab = &aaaAblations{threats: make([]*robust.Report, len(aaaTable4)), kappa: make([]*robust.Report, len(aaaTable5))}
	// run evaluates square against defenses under rc's settings changed by
	// set; params configure the defenses.
	run := func(defenses []string, params map[string]map[string]float64, set func(*robust.Config), what string) *robust.Report {
		if err != nil {
			return nil
		}
		c, e := robust.NamedConfig([]string{"square"}, defenses, params)
		if e != nil {
			failed = append(failed, fmt.Sprintf("ablation %s: %v", what, e))
			return nil
		}
		c.Norm, c.Eps, c.Loss, c.Budget, c.Checkpoints, c.Quantize, c.Seed, c.Shard = rc.Norm, rc.Eps, rc.Loss, rc.Budget, rc.Checkpoints, rc.Quantize, rc.Seed, rc.Shard
		c.CalibrationX, c.CalibrationY = rc.CalibrationX, rc.CalibrationY
		set(&c)
		c.Progress = aaaPrefixed{rep, what + ": "}
		r, e := robust.Run(ctx, net, x, y, c)
		if r != nil {
			r.Model, r.Data = model, dataName
		}
		switch {
		case e != nil && ctx.Err() != nil:
			err = e
		case e != nil:
			failed = append(failed, fmt.Sprintf("ablation %s: %v", what, e))
		}
		return r
	}
	for i, th := range aaaTable4[1:] {
		ab.threats[i+1] = run([]string{"none", "aaa-linear"}, nil, func(c *robust.Config) {
			c.Norm, c.Targeted = th.norm, th.targeted
			if th.norm == attack.L2 { // ℓ∞ keeps our ε (rc.Eps); ℓ2 takes the paper's
				c.Eps = th.eps
			}
		}, "Table 4, "+th.label)
	}
	for i, k := range aaaTable5 {
		ab.kappa[i] = run([]string{"aaa-linear"}, map[string]map[string]float64{"aaa-linear": {"iters": k.kappa}}, func(c *robust.Config) {
			c.Budget, c.Checkpoints = 100, []int{100}
		}, fmt.Sprintf("Table 5, κ=%g", k.kappa))
	}
	return ab, failed, err
}

func aaaTable4Of(reps []*robust.Report, abl *aaaAblations, cfg AAAConfig) *Table {
	src := "AAA poster, Table 4"
	t := &Table{
		Paper:    aaaPaper + ", Table 4 (generalization, Square)",
		Protocol: "Square against the undefended model and AAA-linear under other threat models, on the first model; ℓ∞ with our ε, ℓ2 with the paper's (Fashion-MNIST has 784 input dimensions, CIFAR-10 3072)",
		Claim:    "AAA generalizes to targeted and ℓ2 attacks and combines with adversarial training",
		Notes:    []string{"adv-train and AT-AAA-linear: no adversarially trained model here; their rows show n/a"},
	}
	if abl == nil {
		t.Notes = append(t.Notes, "only the untargeted ℓ∞ row is measured by default (the main run); Ablations (--ablations) runs the others")
	}
	for i, th := range aaaTable4 {
		var r *robust.Report
		switch {
		case i == 0 && len(reps) > 0:
			r = reps[0]
		case abl != nil:
			r = abl.threats[i]
		}
		threat := th.label
		if th.norm == attack.LInf {
			threat = strings.Replace(th.label, "8/255", fmt.Sprint(cfg.Eps), 1)
		}
		setting := "Fashion-MNIST " + threat
		if r != nil {
			setting = r.Model + ", " + setting
		}
		for _, col := range []struct {
			name, def string
			cell      aaaCell
		}{{"None", "none", th.none}, {"AAA-linear", "aaa-linear", th.aaa}, {"adv-train", "", th.at}, {"AT-AAA-linear", "", th.atAAA}} {
			for _, pq := range []struct {
				q int
				v float64
			}{{100, col.cell.q100}, {2500, col.cell.q2500}} {
				var ours float64
				var q int
				ok := false
				if r != nil && col.def != "" {
					ours, q, ok = aaaAt(r, "square", col.def, pq.q)
				}
				differs := "Fashion-MNIST " + threat + ", not CIFAR-10 WideResNet-28 " + th.label
				switch {
				case col.def == "":
					differs = "no adversarially trained model here"
				case r == nil && abl != nil:
					differs = "run failed (see FAILED)"
				case r == nil:
					differs = "not run (Ablations, --ablations, runs it)"
				case q != pq.q:
					differs += fmt.Sprintf("; %d queries, not %d", q, pq.q)
				}
				t.Rows = append(t.Rows, Row{Setting: setting, Method: col.name + " vs Square", Metric: fmt.Sprintf("robust accuracy %% @%d", pq.q),
					Paper: Published(pq.v, src, fmt.Sprintf("CIFAR-10, WideResNet-28, %s, %d queries", th.label, pq.q)), Ours: aaaStat(ours, ok), Differs: differs})
			}
		}
	}
	return t
}

func aaaTable5Of(reps []*robust.Report, abl *aaaAblations, cfg AAAConfig) *Table {
	src := "AAA poster, Table 5"
	t := &Table{
		Paper:    aaaPaper + ", Table 5 (AAA optimization iterations κ)",
		Protocol: "AAA-linear with κ Adam iterations (our defense parameter iters; our kappa is the calibration weight), Square with 100 queries, on the first model",
		Claim:    "a few tens of AAA iterations suffice: ECE and robust accuracy saturate by κ ≈ 60, at a small cost in time",
		Notes:    []string{"time per batch is not measured here (the paper's is GPU milliseconds)"},
	}
	if abl == nil {
		t.Notes = append(t.Notes, "not measured by default: Ablations (--ablations) runs the sweep; κ = 100 is the main run's AAA-linear")
	}
	for i, k := range aaaTable5 {
		var r *robust.Report
		def := "aaa-linear"
		switch {
		case abl != nil:
			r = abl.kappa[i]
		case k.kappa == 100 && len(reps) > 0:
			r = reps[0]
		}
		setting := fmt.Sprintf("Fashion-MNIST, κ=%g", k.kappa)
		var adv, ece float64
		var q int
		okA, okE := false, false
		if r != nil {
			setting = r.Model + ", " + setting
			adv, q, okA = aaaAt(r, "square", def, 100)
			_, ece, okE = aaaClean(r, def)
		}
		paperSetting := fmt.Sprintf("%s, κ=%g", aaaCIFAR, k.kappa)
		dECE, dAdv := aaaDiffers(aaaCIFAR, cfg.Eps, 0, 0), aaaDiffers(aaaCIFAR, cfg.Eps, 100, q)
		switch {
		case r == nil && abl != nil:
			dECE, dAdv = "run failed (see FAILED)", "run failed (see FAILED)"
		case r == nil:
			dECE, dAdv = "not run (Ablations, --ablations, runs it)", "not run (Ablations, --ablations, runs it)"
		}
		t.Rows = append(t.Rows,
			Row{Setting: setting, Method: "AAA-linear", Metric: "ECE %", Paper: Published(k.ece, src, paperSetting), Ours: aaaStat(ece, okE), Differs: dECE},
			Row{Setting: setting, Method: "AAA-linear vs Square", Metric: "robust accuracy % @100", Paper: Published(k.adv, src, paperSetting+", 100 queries"), Ours: aaaStat(adv, okA), Differs: dAdv},
			Row{Setting: setting, Method: "AAA-linear", Metric: "time ms (GPU batch)", Paper: Published(k.ms, src, paperSetting), Ours: NewStat(nil), Differs: "not measured"})
	}
	return t
}

func aaaTable6Of(reps, adaptive []*robust.Report, cfg AAAConfig) *Table {
	src := "AAA poster, Table 6"
	t := &Table{
		Paper:    aaaPaper + ", Table 6 (adaptive attacks, 100 queries)",
		Protocol: "Square (main run) and the adaptive up-Square and bi-Square (their own run, 100 queries or the budget if lower, same images, seed and AAA temperatures) against None, AAA-linear and AAA-sine",
		Claim:    "adaptive attacks that know AAA (bi-Square, up-Square) weaken AAA-linear; AAA-sine stays robust",
		Notes: []string{"up-Square accepts a candidate when the observed margin increases or drops by more than 3; bi-Square starts as Square and switches a sample to up-Square's rule once its margin jumps up by more than 3 (the official code's --loss=up and --loss=bi)",
			"AAA's argmax guard returns a row undefended when AAA would change its argmax; the reports give how many rows it reverted during each attack"},
	}
	for _, r := range reps {
		var ar *robust.Report
		for _, a := range adaptive {
			if a.Model == r.Model {
				ar = a
			}
		}
		for _, a := range aaaTable6 {
			atk, from := "square", r
			if a.attack != "Square" {
				atk, from = strings.ToLower(strings.SplitN(a.attack, "-", 2)[0])+"-square", ar
			}
			for _, col := range []struct {
				def string
				v   float64
			}{{"none", a.none}, {"aaa-linear", a.lin}, {"aaa-sine", a.sine}} {
				if !aaaRan(r, "square", col.def) && (from == nil || !aaaRan(from, atk, col.def)) {
					continue
				}
				var ours float64
				var q int
				ok := false
				if from != nil {
					ours, q, ok = aaaAt(from, atk, col.def, 100)
				}
				differs := aaaDiffers(aaaCIFAR, cfg.Eps, 100, q)
				if from == nil {
					differs = "adaptive run failed or not run (see FAILED)"
				}
				t.Rows = append(t.Rows, Row{Setting: aaaSetting(r), Method: aaaDefenseNames[col.def] + " vs " + a.attack, Metric: "robust accuracy % @100",
					Paper: Published(col.v, src, aaaCIFAR+", 100 queries"), Ours: aaaStat(ours, ok), Differs: differs})
			}
		}
	}
	return t
}

// aaaChecks states, per model, whether the paper's qualitative claims hold
// under Square at the largest checkpoint: AAA keeps clean accuracy, stays
// far above the undefended model; it names the best other
// score-returning defense (class-labels returns no scores at all, so it is
// no option for a score API).
func aaaChecks(reps []*robust.Report) []string {
	var out []string
	mark := func(ok bool) string {
		if ok {
			return "as expected"
		}
		return "NOT as expected"
	}
	pct := func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
	for _, r := range reps {
		last := len(r.Checkpoints) - 1
		byDef := map[string]robust.PairSummary{}
		for _, p := range r.Pairs {
			if p.Attack == "square" {
				byDef[p.Defense] = p.Summary
			}
		}
		clean := map[string]robust.DefenseSummary{}
		for _, dc := range r.Clean {
			clean[dc.Defense] = dc.Summary
		}
		none, okN := byDef["none"]
		aaa, okA := byDef["aaa-linear"]
		if !okN || !okA || last < 0 || len(none.RobustAccuracy) <= last || len(aaa.RobustAccuracy) <= last {
			continue // not run, or no sample completed
		}
		best, bestName := 0.0, ""
		for _, d := range slices.Sorted(func(yield func(string) bool) {
			for d := range byDef {
				if !yield(d) {
					return
				}
			}
		}) {
			s := byDef[d]
			if d != "none" && d != "class-labels" && !strings.HasPrefix(d, "aaa") && len(s.RobustAccuracy) > last && s.RobustAccuracy[last] > best {
				best, bestName = s.RobustAccuracy[last], d
			}
		}
		other := "none evaluated"
		if bestName != "" {
			other = fmt.Sprintf("%s (%s)", bestName, pct(best))
		}
		dAcc := clean["aaa-linear"].Accuracy - clean["none"].Accuracy
		q := r.Checkpoints[last]
		out = append(out,
			fmt.Sprintf("%s: clean accuracy unchanged by AAA (%+.2f pt): %s", r.Model, 100*dAcc, mark(dAcc == 0)),
			fmt.Sprintf("%s: AAA far above undefended under Square at %d queries (%s vs %s): %s", r.Model, q, pct(aaa.RobustAccuracy[last]), pct(none.RobustAccuracy[last]), mark(aaa.RobustAccuracy[last] > none.RobustAccuracy[last]+0.2)),
			fmt.Sprintf("%s: best other score-returning defense under Square at %d queries: %s; AAA-linear %s", r.Model, q, other, pct(aaa.RobustAccuracy[last])),
		)
	}
	return out
}

// aaaCalibrationChecks states, per setting of the calibration table,
// whether AAA with its tuned temperature keeps the held-out ECE at or below
// the undefended model's (a difference within the std over the folds is
// called a tie).
func aaaCalibrationChecks(t *Table) []string {
	var out []string
	none := map[string]Stat{}
	for _, r := range t.Rows {
		if r.Method == "None" {
			none[r.Setting] = r.Ours
			continue
		}
		u, ok := none[r.Setting]
		if !ok || !strings.Contains(r.Method, "tuned") || !r.Ours.Measured() || !u.Measured() {
			continue
		}
		verdict := "NOT as expected"
		switch {
		case r.Ours.Mean <= u.Mean:
			verdict = "as expected"
		case r.Ours.Mean-u.Mean <= max(r.Ours.Std, u.Std):
			verdict = "a tie within the spread of the folds"
		}
		out = append(out, fmt.Sprintf("%s: held-out ECE with %s %.2f%% vs undefended %.2f%%: %s", r.Setting, r.Method, r.Ours.Mean, u.Mean, verdict))
	}
	return out
}
