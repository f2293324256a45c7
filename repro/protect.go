package repro

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/protect"
	"github.com/trustml/trustml/shard"
)

// The papers' headline numbers, from their abstracts as recorded in
// robustness.md §9 and §10 (paper-numbers.md has no section for them).
const (
	sepSource = "SEP abstract (robustness.md §9)"
	opsSource = "OPS abstract (robustness.md §10)"
	emSource  = "Unlearnable Examples, Huang et al. ICLR 2021"
)

// ProtectConfig configures [Protect], "trustml repro protect": fresh
// models trained on clean, SEP, OPS and EM versions of one training set
// (and on the single-checkpoint attack SEP improves on), plainly, with
// crop+flip augmentation, with PGD adversarial training and, for the
// protected sets, with a fraction of clean images, each evaluated on the
// clean test set.
type ProtectConfig struct {
	Data    string  `flag:"data" help:"training images: the first --train-n of this set's training split"`
	Test    string  `flag:"test" help:"test set: \"auto\" (the full Fashion-MNIST test set when installed, else the embedded subset's) or a name"`
	DataDir string  `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files"`
	TrainN  int     `flag:"train-n" help:"training images protected and trained on"`
	TestN   int     `flag:"test-n" help:"evaluate on the first n test images (0 = all)"`
	Arch    string  `flag:"arch" help:"architecture of the protecting models and of every trained model"`
	Epochs  int     `flag:"epochs" help:"epochs of every training run (and of SEP's protecting run)"`
	Batch   int     `flag:"batch" help:"batch size"`
	LR      float64 `flag:"lr" help:"learning rate (SGD, momentum 0.9, Nesterov, wd 5e-4, cosine)"`
	Eps     float64 `flag:"eps" help:"L∞ budget of SEP and EM on the [0, 1] scale"`
	// SEPCheckpoints and SEPSteps configure SEP (step 2.5·Eps/SEPSteps).
	SEPCheckpoints int `flag:"sep-checkpoints" help:"SEP: checkpoints of the self-ensemble"`
	SEPSteps       int `flag:"sep-steps" help:"SEP: iterations (step 2.5ε/steps)"`
	// EMSteps and EMRounds configure EM (step ε/10, stop at 99%).
	EMSteps  int `flag:"em-steps" help:"EM: PGD steps per round (step ε/10)"`
	EMRounds int `flag:"em-rounds" help:"EM: most min-min rounds"`
	// AdvEps and AdvSteps are the data user's PGD adversarial training.
	AdvEps   float64 `flag:"adv-eps" help:"countermeasure: PGD adversarial training radius"`
	AdvSteps int     `flag:"adv-steps" help:"countermeasure: PGD steps of adversarial training"`
	// CleanFraction of the protected images is replaced by clean ones.
	CleanFraction float64    `flag:"clean-fraction" help:"countermeasure: fraction of the protected images replaced by their clean originals"`
	Seed          uint64     `flag:"seed" help:"seed of every model and of the noise"`
	Shard         shard.Spec `flag:"shard" help:"run only shard i/N of the runs (merge the --out files with --from)"`
	Out           string     `flag:"out" help:"save the runs as JSON to this file (atomic), to merge with --from"`
	From          []string   `flag:"from" help:"tabulate runs saved by --out instead of training (comma-separated files)"`
}

// DefaultProtectConfig returns the defaults of "trustml repro protect":
// about 10 minutes of one core.
func DefaultProtectConfig() ProtectConfig {
	return ProtectConfig{Data: data.DefaultName, Test: "auto", TrainN: 2000, Arch: "cnn-small", Epochs: 5, Batch: 128, LR: 0.05,
		Eps: 8.0 / 255, SEPCheckpoints: 3, SEPSteps: 10, EMSteps: 10, EMRounds: 5, AdvEps: 8.0 / 255, AdvSteps: 3,
		CleanFraction: 0.2, Seed: 1}
}

// protectJob is one training run of the reproduction: a training set
// (clean or a protection) and a countermeasure.
type protectJob struct{ set, counter string }

// protectSets are the training sets, in table order; tap is SEP with one
// checkpoint (targeted PGD against the final model), the baseline SEP
// improves on.
var protectSets = []string{"clean", "sep", "ops", "em", "tap"}

// protectJobs lists the runs: every set plainly, with crop+flip and with
// PGD-AT; the protections also with a fraction of clean data; tap plainly.
func protectJobs() []protectJob {
	var js []protectJob
	for _, s := range protectSets {
		cs := []string{"plain", "aug", "at", "clean"}
		switch s {
		case "clean":
			cs = cs[:3]
		case "tap":
			cs = cs[:1]
		}
		for _, c := range cs {
			js = append(js, protectJob{s, c})
		}
	}
	return js
}

// ProtectRun is one trained model of [Protect].
type ProtectRun struct {
	Index    int     `json:"index"`
	Set      string  `json:"set"`     // clean, sep, ops, em, tap
	Counter  string  `json:"counter"` // plain, aug, at, clean
	Training string  `json:"training"`
	Accuracy float64 `json:"accuracy"` // on the test set
	N        int     `json:"n"`
	Seconds  float64 `json:"seconds"`
}

// protectRuns is the file --out writes: a shard's runs, the setup they
// belong to and what was measured of the protected sets.
type protectRuns struct {
	Setup string            `json:"setup"`
	Shard shard.Spec        `json:"shard"`
	Runs  []ProtectRun      `json:"runs"`
	Sets  map[string]string `json:"sets"` // protection → what was measured of it
	Test  string            `json:"test"` // the test set's name
}

func (c ProtectConfig) setup() string {
	return fmt.Sprintf("data=%s test=%s:%d n=%d arch=%s epochs=%d batch=%d lr=%g eps=%g sep=%d/%d em=%d/%d at=%g/%d clean=%g seed=%d",
		c.Data, c.Test, c.TestN, c.TrainN, c.Arch, c.Epochs, c.Batch, c.LR, c.Eps, c.SEPCheckpoints, c.SEPSteps, c.EMSteps, c.EMRounds,
		c.AdvEps, c.AdvSteps, c.CleanFraction, c.Seed)
}

func (c ProtectConfig) check() error {
	switch {
	case c.TrainN < 10 || c.TestN < 0 || c.Epochs < 1 || c.Batch < 1:
		return fmt.Errorf("--train-n must be ≥ 10, --test-n ≥ 0, --epochs and --batch ≥ 1")
	case !(c.Eps > 0 && c.Eps <= protect.MaxEps) || !(c.AdvEps > 0 && c.AdvEps <= 1):
		return fmt.Errorf("--eps %v outside (0, 32/255] or --adv-eps %v outside (0, 1]", c.Eps, c.AdvEps)
	case c.SEPCheckpoints < 1 || c.SEPCheckpoints > c.Epochs || c.SEPSteps < 1 || c.EMSteps < 1 || c.EMRounds < 1 || c.AdvSteps < 1:
		return fmt.Errorf("--sep-checkpoints must be in [1, --epochs], the step counts and --em-rounds ≥ 1")
	case !(c.CleanFraction > 0 && c.CleanFraction < 1):
		return fmt.Errorf("--clean-fraction %v outside (0, 1)", c.CleanFraction)
	}
	return c.Shard.Validate()
}

// settings returns the protect.Settings of a protected set.
func (c ProtectConfig) settings(set string) protect.Settings {
	s := protect.Settings{Method: set, Eps: c.Eps, Arch: c.Arch, Epochs: c.Epochs, Batch: c.Batch, LR: c.LR,
		Checkpoints: c.SEPCheckpoints, Steps: c.SEPSteps, Alpha: 2.5 * c.Eps / float64(c.SEPSteps), Seed: c.Seed}
	switch set {
	case "tap":
		s.Method, s.Checkpoints = "sep", 1
	case "em":
		s.Steps, s.Alpha, s.Rounds, s.TrainSteps, s.StopAccuracy = c.EMSteps, 0, c.EMRounds, 10, 0.99
	}
	return s
}

// Protect reproduces, at small scale, the claims of SEP (robustness.md
// §9), OPS (§10) and error-minimizing noise: a model trained on protected
// data has a low clean test accuracy, and (OPS) adversarial training does
// not remove the protection. It trains fresh models on the clean set and
// on each protected version, plainly and with the countermeasures of
// [protect.TrainConfig], and tabulates their test accuracy beside the
// papers' numbers. Runs shard with Shard; Out saves them; From merges
// saved shards into the table without training.
func Protect(ctx context.Context, c *ProtectConfig, rep progress.Reporter) (*Table, error) {
	t0 := time.Now()
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("repro protect: %w", err)
	}
	rep = progress.Or(rep)
	var res protectRuns
	var err error
	if len(c.From) > 0 {
		res, err = c.mergeRuns()
	} else {
		res, err = c.train(ctx, rep)
	}
	if err != nil {
		return nil, fmt.Errorf("repro protect: %w", err)
	}
	if c.Out != "" {
		if err := atomicfile.Write(c.Out, 0o644, func(w io.Writer) error {
			e := json.NewEncoder(w)
			e.SetIndent("", " ")
			return e.Encode(res)
		}); err != nil {
			return nil, fmt.Errorf("repro protect: --out: %w", err)
		}
	}
	t := c.table(res)
	t.Seconds = time.Since(t0).Seconds()
	return t, nil
}

// train runs this shard's jobs, protecting each set the first time a job
// needs it.
func (c ProtectConfig) train(ctx context.Context, rep progress.Reporter) (protectRuns, error) {
	res := protectRuns{Setup: c.setup(), Shard: c.Shard, Sets: map[string]string{}}
	tr, err := data.Open(c.Data, data.Train, c.DataDir)
	if err != nil {
		return res, err
	}
	if tr.Len() < c.TrainN {
		return res, fmt.Errorf("--train-n %d but %s has %d training images", c.TrainN, tr.Name, tr.Len())
	}
	tr = tr.Head(c.TrainN)
	tn, dir := c.Test, c.DataDir
	if tn == "auto" {
		tn = "fashion-mnist"
		if _, err := data.FindFashionMNIST(dir); err != nil {
			rep.Log("full Fashion-MNIST not found (apt-get install dataset-fashion-mnist, or --data-dir); testing on the embedded subset")
			tn = data.DefaultName
		}
	}
	te, err := data.Open(tn, data.Test, dir)
	if err != nil {
		return res, err
	}
	if c.TestN > 0 && c.TestN < te.Len() {
		te = te.Head(c.TestN)
	}
	res.Test = fmt.Sprintf("%s, %d images", te.Name, te.Len())
	sets := map[string]*data.Dataset{"clean": tr}
	jobs := protectJobs()
	idx := c.Shard.Indices(len(jobs))
	for done, i := range idx {
		j := jobs[i]
		d := sets[j.set]
		if d == nil {
			rep.Log("== protecting %d images with %s", tr.Len(), j.set)
			p, err := protect.Protect(ctx, tr, c.settings(j.set), rep)
			if err != nil {
				return res, fmt.Errorf("%s: %w", j.set, err)
			}
			d, sets[j.set] = p.Data, p.Data
			res.Sets[j.set] = describeProtected(p)
			rep.Log("%s: %s", j.set, res.Sets[j.set])
		}
		tc := protect.TrainConfig{Arch: c.Arch, Epochs: c.Epochs, Batch: c.Batch, LR: c.LR, Seed: c.Seed}
		switch j.counter {
		case "aug":
			tc.Augment = true
		case "at":
			tc.AdvEps, tc.AdvSteps = c.AdvEps, c.AdvSteps
		case "clean":
			tc.CleanFraction = c.CleanFraction
		}
		start := time.Now()
		m, err := protect.TrainEval(ctx, d, tr, te, tc, nil)
		if err != nil {
			return res, fmt.Errorf("%s, %s: %w", j.set, tc, err)
		}
		r := ProtectRun{Index: i, Set: j.set, Counter: j.counter, Training: tc.String(), Accuracy: m.Accuracy, N: m.N, Seconds: time.Since(start).Seconds()}
		res.Runs = append(res.Runs, r)
		rep.Log("%s data, %s: test accuracy %.2f%% on %d images (%.0fs)", j.set, r.Training, 100*r.Accuracy, r.N, r.Seconds)
		rep.Update("repro protect", done+1, len(idx), "runs")
	}
	return res, nil
}

// describeProtected is one line of what was measured of a protected set.
func describeProtected(p *protect.Protected) string {
	s := fmt.Sprintf("largest pixel change %.4g, %.0fs", p.MaxChange, p.Seconds)
	switch {
	case len(p.Pixels) > 0:
		var ps []string
		for _, x := range p.Pixels {
			ps = append(ps, fmt.Sprintf("%d:(%d,%d)=%v", x.Class, x.Row, x.Col, x.Color))
		}
		s += "; pixels " + strings.Join(ps, " ")
	case len(p.Checkpoints) > 0:
		s += fmt.Sprintf("; ensemble of epochs %v; the last checkpoint predicts the target class on %.1f%% of the protected images", p.Checkpoints, 100*p.TargetRate)
	case p.Rounds > 0:
		s += fmt.Sprintf("; %d min-min round(s), the generator's accuracy on the noisy data %.1f%%", p.Rounds, 100*p.NoisyAccuracy)
	}
	return s
}

// mergeRuns reads the --from files, checks that they are shards of this
// setup covering every run once, and combines them.
func (c ProtectConfig) mergeRuns() (protectRuns, error) {
	res := protectRuns{Setup: c.setup(), Shard: shard.Spec{Index: 0, Count: 1}, Sets: map[string]string{}}
	var specs []shard.Spec
	for _, f := range c.From {
		b, err := os.ReadFile(f)
		if err != nil {
			return res, fmt.Errorf("--from: %w", err)
		}
		r, err := parseProtectRuns(b, f)
		if err != nil {
			return res, err
		}
		if r.Setup != res.Setup {
			return res, fmt.Errorf("--from %s: runs of setup %q, but the flags give %q", f, r.Setup, res.Setup)
		}
		specs = append(specs, r.Shard)
		res.Test = r.Test
		res.Runs = append(res.Runs, r.Runs...)
		for k, v := range r.Sets {
			res.Sets[k] = v
		}
	}
	if err := shard.CheckCover(specs); err != nil {
		return res, fmt.Errorf("--from: %w", err)
	}
	jobs := protectJobs()
	slices.SortFunc(res.Runs, func(a, b ProtectRun) int { return a.Index - b.Index })
	for i, r := range res.Runs {
		if r.Index != i || i >= len(jobs) || jobs[i].set != r.Set || jobs[i].counter != r.Counter {
			return res, fmt.Errorf("--from: run %d (%s, %s) is not run %d of the reproduction", r.Index, r.Set, r.Counter, i)
		}
	}
	if len(res.Runs) != len(jobs) {
		return res, fmt.Errorf("--from: %d runs, want %d", len(res.Runs), len(jobs))
	}
	return res, nil
}

// parseProtectRuns reads a file written by --out, named name in errors.
func parseProtectRuns(b []byte, name string) (protectRuns, error) {
	var r protectRuns
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("--from %s: not a run file of repro protect --out: %w", name, err)
	}
	if err := r.Shard.Validate(); err != nil {
		return r, fmt.Errorf("--from %s: %w", name, err)
	}
	jobs := protectJobs()
	for _, x := range r.Runs {
		if x.Index < 0 || x.Index >= len(jobs) || !r.Shard.Contains(x.Index) {
			return r, fmt.Errorf("--from %s: run index %d is not one of shard %s's runs", name, x.Index, r.Shard)
		}
	}
	return r, nil
}

// paperValue is the papers' number (or protocol) for a set and a
// countermeasure.
func paperValue(set, counter string) (PaperValue, string) {
	switch {
	case set == "clean" && counter == "plain":
		return Published(94.56, sepSource, "CIFAR-10, ResNet-18 trained on clean data"), ""
	case set == "sep" && counter == "plain":
		return Published(14.68, sepSource, "CIFAR-10, ResNet-18 trained on SEP data, ε = 2/255"), ""
	case set == "em" && counter == "at":
		return Published(83.02, opsSource, "CIFAR-10 with EM noise, ResNet-18, PGD AT at 8/255"), ""
	case set == "ops" && counter == "at":
		return Published(10.61, opsSource, "CIFAR-10-S (OPS on top of EM noise), ResNet-18, PGD AT at 8/255"), "OPS alone, not OPS on EM noise (CIFAR-10-S); "
	case set == "sep" || set == "tap":
		return NotPublic(sepSource, "CIFAR-10, ResNet-18 and four other architectures trained on SEP data, ε = 2/255 and 8/255"), ""
	case set == "ops":
		return NotPublic(opsSource, "CIFAR-10, ResNet-18 (SGD lr 0.1, 200 epochs) trained on OPS data, with and without augmentation and PGD AT"), ""
	case set == "em":
		return NotPublic(emSource+" (not in the spec)", "CIFAR-10, ResNet-18 trained on sample-wise EM noise, ε = 8/255"), ""
	}
	return NotPublic(sepSource, "CIFAR-10, ResNet-18 trained on clean data"), ""
}

// table builds the paper-vs-ours table from the runs.
func (c ProtectConfig) table(res protectRuns) *Table {
	setName := map[string]string{"clean": "clean data", "sep": "SEP data", "ops": "OPS data", "em": "EM data",
		"tap": "single-checkpoint targeted PGD data (SEP with only the last checkpoint)"}
	t := &Table{
		Paper: `Data protection: SEP, "Self-Ensemble Protection" (Chen et al.); OPS, "One-Pixel Shortcut" (Wu et al., ICLR 2023); error-minimizing noise, "Unlearnable Examples" (Huang et al., ICLR 2021)`,
		Protocol: fmt.Sprintf("the first %d training images of %s protected by SEP (ε = %.4g, %d checkpoints of a %d-epoch run, %d steps of 2.5ε/%d toward (y+5) mod 10), OPS (one pixel per class) and EM (sample-wise, ε = %.4g, ≤ %d rounds of 10 updates + %d steps of ε/10, stop at 99%%); fresh %s models (SGD lr %g, momentum 0.9, Nesterov, wd 5e-4, cosine, batch %d, %d epochs) trained on each: plainly, with crop+flip, with PGD-AT (ε = %.4g, %d steps) and with %g%% of the images clean; clean accuracy on the test set (%s)",
			c.TrainN, c.Data, c.Eps, c.SEPCheckpoints, c.Epochs, c.SEPSteps, c.SEPSteps, c.Eps, c.EMRounds, c.EMSteps, c.Arch, c.LR, c.Batch, c.Epochs, c.AdvEps, c.AdvSteps, 100*c.CleanFraction, res.Test),
		Claim: "training on protected data gives a low clean test accuracy (SEP on CIFAR-10: 94.56% → 14.68%); SEP beats a single-model attack; OPS survives adversarial training (10.61% on CIFAR-10-S, while EM noise alone gives 83.02% under AT); augmentation and clean data weaken protections",
	}
	for _, r := range res.Runs {
		pv, differs := paperValue(r.Set, r.Counter)
		t.Rows = append(t.Rows, Row{Setting: fmt.Sprintf("%s, %s", setName[r.Set], r.Training), Method: c.Arch,
			Metric: "test accuracy %", Paper: pv, Ours: NewStat([]float64{100 * r.Accuracy}),
			Differs: differs + "Fashion-MNIST subset, not CIFAR-10; small CNN, few epochs"})
	}
	for _, s := range protectSets[1:] {
		if v, ok := res.Sets[s]; ok {
			t.Notes = append(t.Notes, fmt.Sprintf("%s: %s", s, v))
		}
	}
	t.Notes = append(t.Notes,
		"paper numbers: the abstracts' headlines as recorded in robustness.md §9–10; paper-numbers.md has no section for these papers, and the Unlearnable Examples paper's numbers are not in the spec, so its rows say not public",
		"SEP's checkpoints are one per epoch (the paper keeps one whenever test accuracy improves) and its step is 2.5ε/steps (the paper: 1/255 for 30 steps at 2/255); tap is the same attack with only the last checkpoint",
	)
	if !c.Shard.Whole() {
		t.Notes = append(t.Notes, fmt.Sprintf("shard %s: only this shard's runs; merge the --out files with --from", c.Shard))
	}
	return t
}
