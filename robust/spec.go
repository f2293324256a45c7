package robust

import (
	"context"
	"fmt"
	"time"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/zoo"
)

// Spec is an evaluation named the way "trustml attack" names it: a model
// by its spec, attacks and defenses by registered names with their
// parameters, the threat model and the samples. [Evaluate] runs it; the
// struct tags are the command's flags.
type Spec struct {
	// Model is what zoo.Open takes: an embedded name, a checkpoint, an
	// .onnx file or a served model's URL, dialled with Retries, Backoff,
	// Timeout, Binary and FeaturesOutput.
	Model          string        `flag:"model" help:"model: \"default\" (the embedded Fashion-MNIST CNN), another embedded name, a checkpoint file, an ONNX model (model.onnx), or http://host:port/v2/models/NAME"`
	FeaturesOutput string        `flag:"features-output" help:"served model: the server's output holding the penultimate features (\"trustml serve --features-output NAME\")"`
	Retries        int           `flag:"retries" help:"served model: retries of a request after a timeout, connection error or 5xx (0 to 10)"`
	Backoff        time.Duration `flag:"retry-backoff" help:"served model: wait before the first retry, doubled for each further one (at most 1m)"`
	Timeout        time.Duration `flag:"timeout" help:"served model: time limit of each attempt of a request"`
	Binary         bool          `flag:"binary" help:"served model over HTTP: send and receive tensors as binary data (the v2 binary tensor extension)"`
	// Split names the split the data set given to Evaluate is, N the
	// samples evaluated (the first ones; 0: all) and Calibrate the images
	// from the end of the split AAA's temperature is tuned on (0: keep it).
	Split     data.Split `flag:"split" help:"split: train or test"`
	N         int        `flag:"n" help:"evaluate the first n samples of the split (0 = all)"`
	Calibrate int        `flag:"calibrate" help:"tune AAA's calibration temperature on up to this many held-out images from the end of the split, disjoint from the evaluated ones (0: keep the temperature parameter)"`
	// Attacks and Defenses are registered names or "all"; their
	// parameters are "NAME:key=value,..." (see [ParseNamedParams]).
	Attacks       []string `flag:"attacks" help:"attacks, or \"all\" (score-based ones)"`
	Defenses      []string `flag:"defenses" help:"defenses, or \"all\""`
	DefenseParams []string `flag:"defense-param" flagkind:"array" help:"defense parameters as NAME:key=value,... (repeatable), e.g. aaa-linear:tau=3"`
	AttackParams  []string `flag:"attack-param" flagkind:"array" help:"attack settings as NAME:key=value,... (repeatable), e.g. square:p_init=0.3,n_iters=10000 (AAA's protocol)"`
	// Norm ("linf" or "l2"), Eps, Loss (see attack.ParseLoss), Budget
	// (queries per image) and Checkpoints (budgets reported; those above
	// Budget are dropped) are the threat model.
	Norm        string  `flag:"norm" help:"perturbation norm: linf or l2"`
	Eps         float64 `flag:"eps" help:"perturbation radius on the [0, 1] pixel scale (L∞ 0.1 is a standard Fashion-MNIST budget)"`
	Loss        string  `flag:"loss" help:"attack loss: default (each attack's reference), margin, ce, or the AAA paper's adaptive up or bi (square only)"`
	Budget      int     `flag:"budget" help:"queries per image, clean query included"`
	Checkpoints []int   `flag:"checkpoints" help:"query budgets to report robust accuracy at (those above --budget are dropped)"`
	Targeted    bool    `flag:"targeted" help:"targeted attacks with random target classes"`
	Quantize    bool    `flag:"quantize" help:"quantize queried images to 8 bits, as a deployed image API would"`
	Seed        uint64  `flag:"seed" help:"seed for attacks and randomized defenses"`
	// Shard evaluates only the samples of one shard; [MergeFiles] joins
	// the reports.
	Shard    shard.Spec `flag:"shard" help:"evaluate only shard i of N (samples with index mod N = i), as i/N"`
	Progress progress.Reporter
}

// DefaultSpec returns the defaults of "trustml attack".
func DefaultSpec() Spec {
	return Spec{Model: "default", Retries: 2, Backoff: 100 * time.Millisecond, Timeout: 30 * time.Second,
		Split: data.Test, N: 500, Calibrate: 2000, Attacks: []string{"square"},
		Defenses: []string{"none", "aaa-linear", "aaa-sine", "rnd", "outrnd"}, Norm: "linf", Eps: 0.1,
		Loss: "default", Budget: 2500, Checkpoints: []int{100, 500, 2500}, Quantize: true}
}

// Config resolves the names of s into an evaluation configuration.
func (s Spec) Config() (Config, error) {
	params, err := ParseNamedParams(s.DefenseParams)
	if err != nil {
		return Config{}, fmt.Errorf("--defense-param: %w", err)
	}
	aparams, err := ParseNamedParams(s.AttackParams)
	if err != nil {
		return Config{}, fmt.Errorf("--attack-param: %w", err)
	}
	cfg, err := NamedConfig(s.Attacks, s.Defenses, params)
	if err == nil {
		err = cfg.SetAttackParams(aparams)
	}
	if err == nil {
		cfg.Norm, err = attack.ParseNorm(s.Norm)
	}
	if err == nil {
		cfg.Loss, err = attack.ParseLoss(s.Loss)
	}
	if err != nil {
		return cfg, err
	}
	cfg.Eps, cfg.Budget, cfg.Targeted, cfg.Quantize, cfg.Seed, cfg.Shard, cfg.Progress = s.Eps, s.Budget, s.Targeted, s.Quantize, s.Seed, s.Shard, s.Progress
	for _, q := range s.Checkpoints {
		if q <= 0 {
			return cfg, fmt.Errorf("%w: --checkpoints: %d is not a positive number of queries", ErrConfig, q)
		}
		if q <= s.Budget {
			cfg.Checkpoints = append(cfg.Checkpoints, q)
		}
	}
	return cfg, s.Shard.Validate()
}

// Evaluate opens the model of s and evaluates its attacks against its
// defenses on the first s.N samples of d, the s.Split split of a data set,
// with [RunDataset]. The report names the model and the samples.
func Evaluate(ctx context.Context, s Spec, d *data.Dataset) (*Report, error) {
	cfg, err := s.Config()
	if err != nil {
		return nil, err
	}
	if s.Retries < 0 || s.Retries > 10 || s.Backoff < 0 || s.Backoff > time.Minute || s.Timeout <= 0 {
		return nil, fmt.Errorf("%w: --retries must be in [0, 10], --retry-backoff in [0, 1m] and --timeout positive", ErrConfig)
	}
	// oip's Retries 0 means its default: none is −1.
	c, err := zoo.Open(ctx, s.Model, oip.ClientOptions{Retries: s.Retries - 1 + min(s.Retries, 1), Backoff: s.Backoff, Timeout: s.Timeout, FeaturesOutput: s.FeaturesOutput, Binary: s.Binary})
	if err != nil {
		return nil, err
	}
	rep, err := RunDataset(ctx, c, d, s.N, s.Calibrate, cfg)
	if err != nil {
		return nil, err
	}
	rep.Model, rep.Data = s.Model, fmt.Sprintf("%s (%s, first %d)", d.Name, s.Split, rep.N)
	progress.Or(s.Progress).Log("evaluated %d attack × defense pairs on %d samples", len(rep.Pairs), rep.N)
	return rep, nil
}
