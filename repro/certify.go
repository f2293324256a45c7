package repro

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"slices"
	"time"

	"github.com/trustml/trustml/certify"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/train"
)

// Randomized smoothing (robustness.md §7, Cohen, Rosenfeld and Kolter,
// ICML 2019) and SOME (§8, the multi-head ensemble of smoothed
// classifiers). paper-numbers.md has no section for either; the spec
// records Cohen et al.'s README numbers and SOME's numbers recomputed from
// its official certification logs, both CIFAR-10 ResNet-110, 500 images.
const (
	certifyPaper       = "Randomized smoothing (Cohen et al., ICML 2019) and SOME, the multi-head ensemble of smoothed classifiers (robustness.md §7–§8)"
	certifyClaim       = "at the same training cost SOME's summed heads certify more than one smoothed model (higher certified accuracy and ACR); a larger σ lowers accuracy at small radii and certifies larger ones"
	cohenSource        = "Cohen et al. README (robustness.md §7.3)"
	someSource         = "SOME certification logs (robustness.md §8)"
	cohenSetting       = "CIFAR-10, ResNet-110, Gaussian augmentation, n = 100,000, α = 0.001, 500 images"
	someSetting        = "CIFAR-10, ResNet-110 trunk + 5 heads, m = 2, n = 100,000, α = 0.001, 500 images"
	ensembleNotPublic  = "deep ensembles of smoothed models at equal cost: no number in the spec"
	certifyMethodGauss = "Gaussian"
)

// CertifyRadii are the radii of the reproduction's table.
var CertifyRadii = []float64{0.25, 0.5, 1}

// CertifyConfig configures [Certify]. Zero fields take the values of
// [DefaultCertifyConfig]. The flag tags make the command's flags.
type CertifyConfig struct {
	Data    string `flag:"data" help:"data set"`
	DataDir string `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files"`
	Arch    string `flag:"arch" help:"architecture of every model (SOME's heads start at its last hidden layer)"`
	TrainN  int    `flag:"train-n" help:"training images (the first of the split)"`
	TestN   int    `flag:"n-images" help:"certify the first this many test images"`
	// Epochs is the budget: the single Gaussian model trains Epochs
	// epochs, SOME Epochs/Noises epochs of Noises noisy copies, and each
	// of the Heads ensemble members Epochs/Heads epochs, so that all see
	// Epochs·TrainN noisy training images in Epochs·TrainN/Batch steps.
	Epochs int     `flag:"epochs" help:"epochs of the single model; SOME and the ensemble get the same number of noisy training images"`
	Batch  int     `flag:"batch" help:"noisy images per step (SOME: batch/2 images × 2 copies)"`
	LR     float64 `flag:"lr" help:"SGD learning rate (momentum 0.9, Nesterov, wd 5e-4, cosine)"`
	Heads  int     `flag:"heads" help:"SOME's heads, and the ensemble's members"`
	// Sigmas are the noise levels of training and certification.
	Sigmas []float64 `flag:"sigma" help:"noise σ of training and certification"`
	N0     int       `flag:"n0" help:"noise samples that choose the class"`
	N      int       `flag:"n" help:"noise samples that bound its probability (the papers: 100000)"`
	Alpha  float64   `flag:"alpha" help:"failure probability α of each certificate"`
	Seed   uint64    `flag:"seed" help:"seed of initialization, shuffling, noise"`
	// Shard certifies the images at positions i mod N only; every shard
	// trains the same (seeded) models. Out saves the shard's runs and
	// From merges saved shards into the table without training.
	Shard    shard.Spec        `flag:"shard" help:"certify shard i/N of the images (each shard trains the same seeded models)"`
	Out      string            `flag:"out" help:"save the runs as JSON to this file (atomic)"`
	From     []string          `flag:"from" help:"tabulate runs saved by --out instead of training (comma-separated files)"`
	Progress progress.Reporter `json:"-"`
}

// DefaultCertifyConfig returns the defaults of "trustml repro certify":
// an MLP on the embedded Fashion-MNIST subset, 100 test images, n = 1000;
// minutes on one core.
func DefaultCertifyConfig() CertifyConfig {
	return CertifyConfig{Data: data.DefaultName, Arch: "mlp", TrainN: 10000, TestN: 100, Epochs: 12, Batch: 128, LR: 0.1,
		Heads: 3, Sigmas: []float64{0.25, 0.5}, N0: 100, N: 1000, Alpha: 0.001, Seed: 1}
}

func (c CertifyConfig) withDefaults() CertifyConfig {
	d := DefaultCertifyConfig()
	if c.Data == "" {
		c.Data = d.Data
	}
	if c.Arch == "" {
		c.Arch = d.Arch
	}
	for _, p := range []struct {
		v *int
		d int
	}{{&c.TrainN, d.TrainN}, {&c.TestN, d.TestN}, {&c.Epochs, d.Epochs}, {&c.Batch, d.Batch}, {&c.Heads, d.Heads}, {&c.N0, d.N0}, {&c.N, d.N}} {
		if *p.v == 0 {
			*p.v = p.d
		}
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	if c.Alpha == 0 {
		c.Alpha = d.Alpha
	}
	if len(c.Sigmas) == 0 {
		c.Sigmas = d.Sigmas
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	return c
}

// someNoises is SOME's m, the reference's.
const someNoises = 2

func (c CertifyConfig) validate() error {
	switch {
	case c.TrainN < 0 || c.TestN < 0 || c.Epochs < 0 || c.Batch < 0:
		return fmt.Errorf("repro certify: --train-n, --n-images, --epochs and --batch must be ≥ 0")
	case c.Heads < 2:
		return fmt.Errorf("repro certify: --heads %d, want ≥ 2", c.Heads)
	case c.Epochs%someNoises != 0 || c.Epochs%c.Heads != 0:
		return fmt.Errorf("repro certify: --epochs %d must be a multiple of SOME's %d noisy copies and of --heads %d, so that every method gets the same budget", c.Epochs, someNoises, c.Heads)
	case c.Batch%someNoises != 0:
		return fmt.Errorf("repro certify: --batch %d must be even (SOME: batch/2 images × 2 noisy copies)", c.Batch)
	case !(c.LR > 0):
		return fmt.Errorf("repro certify: --lr %g, want > 0", c.LR)
	case c.N < 1 || c.N0 < 1 || c.N0 > c.N:
		return fmt.Errorf("repro certify: --n0 %d, --n %d: want 1 ≤ n0 ≤ n", c.N0, c.N)
	case !(c.Alpha > 0 && c.Alpha < 1):
		return fmt.Errorf("repro certify: --alpha %g outside (0, 1)", c.Alpha)
	}
	for _, s := range c.Sigmas {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("repro certify: --sigma %g, want σ > 0", s)
		}
	}
	return c.Shard.Validate()
}

// CertifyRun is one smoothed classifier of the reproduction: a method at
// one σ, its training and its certification (of the shard's images).
type CertifyRun struct {
	Method string  `json:"method"` // Gaussian, SOME or ensemble
	Sigma  float64 `json:"sigma"`
	// Epochs are each model's; Steps and NoisyImages count the training
	// of all the method's models together.
	Epochs       int     `json:"epochs"`
	Steps        int     `json:"steps"`
	NoisyImages  int     `json:"noisy_images"`
	TrainSeconds float64 `json:"train_seconds"`
	// CleanAccuracy is the base classifier's (not smoothed) on the test
	// images without noise.
	CleanAccuracy float64 `json:"clean_accuracy"`
	// Weights fingerprints the trained weights, so a merge can check that
	// every shard certified the same models.
	Weights string          `json:"weights"`
	Report  *certify.Report `json:"report"`
}

// CertifyRuns is what --out saves: the settings and the runs.
type CertifyRuns struct {
	Config CertifyConfig `json:"config"`
	Runs   []CertifyRun  `json:"runs"`
}

// sumEnsemble is the classifier whose logits are the sum of its members',
// as SOME's heads are summed.
type sumEnsemble []model.Classifier

func (e sumEnsemble) InputShape() []int { return e[0].InputShape() }
func (e sumEnsemble) NumClasses() int   { return e[0].NumClasses() }
func (e sumEnsemble) Logits(ctx context.Context, dst, x []float32) error {
	tmp := make([]float32, len(dst))
	clear(dst)
	for _, m := range e {
		if err := m.Logits(ctx, tmp, x); err != nil {
			return err
		}
		for i, v := range tmp {
			dst[i] += v
		}
	}
	return nil
}
func (e sumEnsemble) Clone() model.Classifier {
	c := make(sumEnsemble, len(e))
	for i, m := range e {
		c[i] = m.(model.Cloner).Clone()
	}
	return c
}

// Certify reproduces, at small scale, the comparison of SOME with one
// smoothed model and with a deep ensemble of smoothed models trained
// independently, all at the same training budget: for each σ, the three
// are trained with Gaussian noise of σ and certified by randomized
// smoothing (package certify, unchanged) on the first TestN test images;
// the table gives certified accuracy at [CertifyRadii] and the ACR beside
// the spec's CIFAR-10 numbers. With From set it merges saved shards.
func Certify(ctx context.Context, cfg CertifyConfig) (*Table, error) {
	cfg = cfg.withDefaults()
	if len(cfg.From) > 0 {
		runs, err := ReadCertifyRuns(cfg.From...)
		if err != nil {
			return nil, err
		}
		return runs.Table(), nil
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pr := progress.Or(cfg.Progress)
	tr, err := data.Open(cfg.Data, data.Train, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("repro certify: %w", err)
	}
	te, err := data.Open(cfg.Data, data.Test, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("repro certify: %w", err)
	}
	tr, te = tr.Head(min(cfg.TrainN, tr.Len())), te.Head(min(cfg.TestN, te.Len()))
	out := &CertifyRuns{Config: cfg}
	out.Config.Progress, out.Config.From = nil, nil
	for _, sigma := range cfg.Sigmas {
		for _, method := range []string{certifyMethodGauss, "SOME", "ensemble"} {
			run, err := certifyRun(ctx, cfg, method, sigma, tr, te)
			if err != nil {
				return nil, fmt.Errorf("repro certify: %s σ=%g: %w", method, sigma, err)
			}
			s := run.Report.Sigmas[0]
			pr.Log("%s σ=%g: clean %.1f%%, certified %.1f%% at r=0, ACR %.3f (train %.0fs)", method, sigma, 100*run.CleanAccuracy, 100*s.Certified[0], s.ACR, run.TrainSeconds)
			out.Runs = append(out.Runs, *run)
		}
	}
	if cfg.Out != "" {
		b, err := json.MarshalIndent(out, "", " ")
		if err == nil {
			err = atomicfile.WriteFile(cfg.Out, append(b, '\n'), 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("repro certify: --out: %w", err)
		}
	}
	return out.Table(), nil
}

// certifyRun trains method's model(s) at σ and certifies them.
func certifyRun(ctx context.Context, cfg CertifyConfig, method string, sigma float64, tr, te *data.Dataset) (*CertifyRun, error) {
	oc := train.DefaultOptimizerConfig()
	oc.LR = cfg.LR
	base := train.RunConfig{Train: tr, Test: te, Arch: cfg.Arch, Optimizer: "sgd", OptimizerConfig: oc, Schedule: "cosine",
		BatchSize: cfg.Batch, Seed: cfg.Seed, Augment: train.Augment{NoiseSigma: sigma}}
	var runs []train.RunConfig
	switch method {
	case certifyMethodGauss:
		base.Epochs = cfg.Epochs
		runs = append(runs, base)
	case "SOME":
		base.Epochs, base.BatchSize = cfg.Epochs/someNoises, cfg.Batch/someNoises
		base.SOME = train.SOME{Heads: cfg.Heads, Noises: someNoises}
		runs = append(runs, base)
	case "ensemble":
		for h := 0; h < cfg.Heads; h++ {
			r := base
			r.Epochs, r.Seed = cfg.Epochs/cfg.Heads, cfg.Seed+uint64(h)*1000
			runs = append(runs, r)
		}
	}
	res := &CertifyRun{Method: method, Sigma: sigma, Epochs: runs[0].Epochs}
	var members sumEnsemble
	hash := fnv.New64a()
	start := time.Now()
	for _, rc := range runs {
		r, err := train.Run(ctx, rc)
		if err != nil {
			return nil, err
		}
		members = append(members, r.Net)
		for _, h := range r.History {
			res.Steps = h.Step
		}
		for _, w := range r.Net.Weights() {
			b := math.Float32bits(w)
			hash.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24)})
		}
	}
	res.TrainSeconds = time.Since(start).Seconds()
	res.Steps *= len(runs)
	perStep := cfg.Batch
	res.NoisyImages = res.Steps * perStep
	res.Weights = fmt.Sprintf("%016x", hash.Sum64())
	var m model.Classifier = members[0]
	if len(members) > 1 {
		m = members
	}
	acc, err := accuracy(ctx, m, te)
	if err != nil {
		return nil, err
	}
	res.CleanAccuracy = acc
	name := fmt.Sprintf("%s %s σ=%g", method, runs[0].Arch, sigma)
	if method == "SOME" {
		name = fmt.Sprintf("SOME %s-%dheads σ=%g", cfg.Arch, cfg.Heads, sigma)
	} else if method == "ensemble" {
		name = fmt.Sprintf("ensemble of %d %s σ=%g", cfg.Heads, cfg.Arch, sigma)
	}
	rep, err := certify.Run(ctx, certify.Config{Model: m, ModelName: name, Data: te, Split: "test", Sigmas: []float64{sigma},
		N0: cfg.N0, N: cfg.N, Alpha: cfg.Alpha, Radii: append([]float64{0}, CertifyRadii...), Seed: cfg.Seed, Shard: cfg.Shard,
		Progress: cfg.Progress})
	if err != nil {
		return nil, err
	}
	res.Report = rep
	return res, nil
}

// accuracy is m's accuracy on ds without noise.
func accuracy(ctx context.Context, m model.Classifier, ds *data.Dataset) (float64, error) {
	k, d := m.NumClasses(), model.InputSize(m)
	logits := make([]float32, k*ds.Len())
	if err := m.Logits(ctx, logits, ds.X[:ds.Len()*d]); err != nil {
		return 0, err
	}
	c := 0
	for i, y := range ds.Y {
		if slices.Index(logits[i*k:(i+1)*k], slices.Max(logits[i*k:(i+1)*k])) == y {
			c++
		}
	}
	return float64(c) / float64(ds.Len()), nil
}

// ReadCertifyRuns reads the files --out saved (the shards of one
// reproduction) and merges each method's certification across them
// ([certify.Merge]); the shards must have the same settings and the same
// trained weights.
func ReadCertifyRuns(paths ...string) (*CertifyRuns, error) {
	var files []*CertifyRuns
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("repro certify: %w", err)
		}
		var f CertifyRuns
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("repro certify: %s: not a file of --out: %w", p, err)
		}
		if len(f.Runs) == 0 {
			return nil, fmt.Errorf("repro certify: %s: no runs", p)
		}
		for _, r := range f.Runs {
			if r.Report == nil || len(r.Report.Sigmas) != 1 {
				return nil, fmt.Errorf("repro certify: %s: run %s σ=%g has no certification", p, r.Method, r.Sigma)
			}
		}
		files = append(files, &f)
	}
	out := &CertifyRuns{Config: files[0].Config}
	out.Config.Shard = shard.Spec{}
	for ri, r := range files[0].Runs {
		reps := []*certify.Report{r.Report}
		for fi, f := range files[1:] {
			if len(f.Runs) != len(files[0].Runs) || f.Runs[ri].Method != r.Method || f.Runs[ri].Sigma != r.Sigma {
				return nil, fmt.Errorf("repro certify: %s has other runs than %s", paths[fi+1], paths[0])
			}
			if f.Runs[ri].Weights != r.Weights {
				return nil, fmt.Errorf("repro certify: %s trained other weights for %s σ=%g than %s (another build or settings?)", paths[fi+1], r.Method, r.Sigma, paths[0])
			}
			reps = append(reps, f.Runs[ri].Report)
		}
		merged, err := certify.Merge(reps...)
		if err != nil {
			return nil, fmt.Errorf("repro certify: %s σ=%g: %w (report k is the k-th file)", r.Method, r.Sigma, err)
		}
		r.Report = merged
		out.Runs = append(out.Runs, r)
	}
	return out, nil
}

// certifyPaperValue is the spec's number for a method, σ and metric
// ("r=0.25", ..., "ACR"), or why there is none.
func certifyPaperValue(method string, sigma float64, metric string) PaperValue {
	type key struct {
		m string
		s float64
		r string
	}
	known := map[key]float64{
		{certifyMethodGauss, 0.25, "r=0"}: 77, {certifyMethodGauss, 0.5, "r=0"}: 66, {"SOME", 0.25, "r=0"}: 83.4, {"SOME", 0.5, "r=0"}: 69.8,
		{certifyMethodGauss, 0.25, "r=0.25"}: 60, {certifyMethodGauss, 0.25, "r=0.5"}: 42,
		{certifyMethodGauss, 0.5, "r=0.25"}: 55, {certifyMethodGauss, 0.5, "r=0.5"}: 42, {certifyMethodGauss, 0.5, "r=1"}: 21,
		{"SOME", 0.25, "r=0.25"}: 71.6, {"SOME", 0.25, "r=0.5"}: 54.4, {"SOME", 0.25, "r=1"}: 0, {"SOME", 0.25, "ACR"}: 0.537,
		{"SOME", 0.5, "r=0.25"}: 61.8, {"SOME", 0.5, "r=0.5"}: 50.8, {"SOME", 0.5, "r=1"}: 31.2, {"SOME", 0.5, "ACR"}: 0.668,
	}
	switch method {
	case certifyMethodGauss:
		if v, ok := known[key{method, sigma, metric}]; ok {
			return Published(v, cohenSource, cohenSetting)
		}
		return NotPublic(cohenSource, cohenSetting+" (the README lists r = 0, 0.25, 0.5, 0.75 for σ = 0.25 and r = 0…1.5 for σ = 0.5; no ACR)")
	case "SOME":
		if v, ok := known[key{method, sigma, metric}]; ok {
			return Published(v, someSource, someSetting)
		}
		return NotPublic(someSource, someSetting+" (σ = 0.25, 0.5, 1.0)")
	}
	return NotPublic("SOME paper", ensembleNotPublic)
}

// Table is the reproduction's table: per σ and method, certified accuracy
// at r = 0 and [CertifyRadii] and the ACR, with notes on each base model's
// clean accuracy and training and certification cost.
func (r *CertifyRuns) Table() *Table {
	c := r.Config
	t := &Table{Paper: certifyPaper, Claim: certifyClaim,
		Protocol: fmt.Sprintf("%s, %s on the first %d training images, the first %d test images certified with n0 = %d, n = %d, α = %g (the papers: n = 100,000; radius cap σ·Φ⁻¹(α^{1/n}) = %.2fσ here). Equal training budget: %d noisy images in %d-image steps per method — one model %d epochs; SOME %d heads, %d epochs of batch/2 images × 2 noisy copies; ensemble %d models × %d epochs (summed logits). SGD lr %g, momentum 0.9, cosine; seed %d",
			c.Data, c.Arch, c.TrainN, c.TestN, c.N0, c.N, c.Alpha, certify.MaxRadius(1, c.N, c.Alpha), c.Epochs*c.TrainN, c.Batch, c.Epochs, c.Heads, c.Epochs/someNoises, c.Heads, c.Epochs/c.Heads, c.LR, c.Seed)}
	var notes []string
	differs := fmt.Sprintf("Fashion-MNIST subset, %s, %d images, n = %d; not CIFAR-10 ResNet-110", c.Arch, c.TestN, c.N)
	for _, run := range r.Runs {
		s := run.Report.Sigmas[0]
		setting := fmt.Sprintf("σ=%g", run.Sigma)
		method := run.Method
		switch method {
		case "SOME":
			method = fmt.Sprintf("SOME (%d heads)", c.Heads)
		case "ensemble":
			method = fmt.Sprintf("ensemble of %d", c.Heads)
		}
		for i, x := range s.Radii {
			metric := fmt.Sprintf("r=%g", x)
			t.Rows = append(t.Rows, Row{Setting: setting, Method: method, Metric: "certified acc % at " + metric,
				Paper: certifyPaperValue(run.Method, run.Sigma, metric), Ours: NewStat([]float64{100 * s.Certified[i]}), Differs: differs})
		}
		t.Rows = append(t.Rows,
			Row{Setting: setting, Method: method, Metric: "ACR", Paper: certifyPaperValue(run.Method, run.Sigma, "ACR"), Ours: NewStat([]float64{s.ACR}), Differs: differs},
		)
		notes = append(notes, fmt.Sprintf("%s %s: base model clean accuracy %.1f%% (no noise), %d abstained of %d, %d steps, %d noisy training images, trained in %.0f s, certified in %.2f s/image",
			setting, method, 100*run.CleanAccuracy, s.Abstained, len(s.Samples), run.Steps, run.NoisyImages, run.TrainSeconds, s.Seconds/float64(max(len(s.Samples), 1))))
		t.Seconds += run.TrainSeconds + s.Seconds
	}
	if !r.Config.Shard.Whole() {
		t.Notes = append(t.Notes, fmt.Sprintf("shard %s: only its images are certified; merge the shards' --out files with --from", r.Config.Shard))
	}
	t.Notes = append(t.Notes, notes...)
	t.Notes = append(t.Notes, "abstentions count as wrong at every radius and never get a radius")
	return t
}

// RunCertify is [Certify] of *cfg reporting to p, the shape of a trustml
// command's library call.
func RunCertify(ctx context.Context, cfg *CertifyConfig, p progress.Reporter) (*Table, error) {
	c := *cfg
	c.Progress = p
	return Certify(ctx, c)
}
