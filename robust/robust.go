// Package robust evaluates classifiers under black-box query attacks, with
// and without output defenses: every attack against every defense on the
// same samples, reporting clean accuracy, robust accuracy at query budgets,
// the queries successful attacks needed, the calibration of the defended
// model and how much the defense changes the outputs.
//
// [Run] takes configured values: attacks (attack.Attack) and defense
// factories ([Defense]); [NamedConfig] builds them from registry names, as
// the command line does. A [Report] keeps one record per sample, so that
// reports of the shards of the samples (run as independent jobs, see
// [Config.Shard]) merge into exactly the report one job would have
// summarised ([Merge], [MergeFiles]). [Demo] is "trustml demo".
package robust

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
)

// Config configures [Run]. [NamedConfig] fills Attacks and Defenses from
// registry names.
type Config struct {
	// Attacks are the configured attacks to run (from attack.New or built
	// directly). Each attack–defense pair runs on its own copy of the
	// attack, so the values are not modified and may be shared.
	Attacks []attack.Attack
	// Defenses are the output defenses every attack runs against (see
	// [NamedDefense]; "none" is the undefended model).
	Defenses []Defense
	// Norm, Eps and Loss replace every attack's threat model when Eps > 0
	// (Loss only when it is not LossDefault); with Eps 0 each attack keeps
	// its own.
	Norm        attack.Norm
	Eps         float64     // radius of the perturbation ball on the [0, 1] pixel scale
	Loss        attack.Loss // attack objective (LossDefault: each attack's reference choice)
	Budget      int         // queries per sample (clean query included)
	Checkpoints []int       // budgets to report robust accuracy at (≤ Budget)
	Targeted    bool        // random targets instead of untargeted attacks
	Quantize    bool        // 8-bit input quantization before every query, as the AAA victim
	Seed        uint64
	// Shard selects the samples i with i mod Count == Index; the zero value
	// evaluates every sample. Reports of the shards of one split merge with
	// [Merge].
	Shard shard.Spec
	// CalibrationX and CalibrationY, if set, are held-out labelled inputs
	// (never the evaluated ones) on which the temperature of every AAA
	// defense with TuneTemperature set is tuned for calibration, as the AAA
	// paper does on validation data.
	CalibrationX []float32
	CalibrationY []int
	// Progress, if set, receives each attack–defense pair's progress (label
	// "ATTACK vs DEFENSE") and a log line as each pair finishes.
	Progress progress.Reporter
}

// Defense is an output defense to evaluate: the name the report gives it
// and a factory that builds a fresh instance, seeded for randomized
// defenses. Each pair and each clean pass gets its own instance.
type Defense struct {
	Name string
	New  func(seed uint64) (defense.Defense, error)
	// TuneTemperature lets [Run] tune the temperature of an AAA defense on
	// Config's calibration data.
	TuneTemperature bool
}

// NamedDefense is the registered defense name with parameters params
// (defense.ParseParams); its temperature is tuned on calibration data
// unless params set it. An unknown name is an error matching
// defense.ErrUnknown; bad parameters are errors too.
func NamedDefense(name string, params map[string]float64) (Defense, error) {
	params = maps.Clone(params)
	newDefense := func(seed uint64) (defense.Defense, error) {
		return defense.New(name, defense.Options{Seed: seed, Params: params})
	}
	d, err := newDefense(0)
	if err != nil {
		return Defense{}, err
	}
	_, isAAA := d.(*defense.AAA)
	_, fixed := params["temperature"]
	return Defense{Name: name, New: newDefense, TuneTemperature: isAAA && !fixed}, nil
}

// NamedConfig returns a Config with the registered attacks and defenses of
// the given names (params holds per-defense parameters by name; attacks
// ["all"] are the score-based attacks, defenses ["all"] every defense,
// "none" first); the
// caller sets the rest. Unknown names are errors matching attack.ErrUnknown
// or defense.ErrUnknown.
func NamedConfig(attacks, defenses []string, params map[string]map[string]float64) (Config, error) {
	var cfg Config
	if slices.Equal(attacks, []string{"all"}) { // the score-based ones
		attacks = slices.DeleteFunc(attack.Names(), attack.WhiteBox)
	}
	if slices.Equal(defenses, []string{"all"}) {
		defenses = append([]string{"none"}, slices.DeleteFunc(defense.Names(), func(d string) bool { return d == "none" })...)
	}
	for name := range params {
		if !slices.Contains(defenses, name) {
			return cfg, fmt.Errorf("%w: parameters for defense %q, which is not evaluated", ErrConfig, name)
		}
	}
	for _, name := range attacks {
		a, err := attack.New(name)
		if err != nil {
			return cfg, err
		}
		cfg.Attacks = append(cfg.Attacks, a)
	}
	for _, name := range defenses {
		d, err := NamedDefense(name, params[name])
		if err != nil {
			return cfg, err
		}
		cfg.Defenses = append(cfg.Defenses, d)
	}
	return cfg, nil
}

// Sample is the outcome for one evaluated sample under one attack and
// defense.
type Sample struct {
	Index        int    `json:"i"`                // index in the evaluated data
	CleanCorrect bool   `json:"clean_correct"`    // the defended model's clean prediction was right
	FooledAt     int    `json:"fooled_at"`        // query at which it was first fooled, -1 if never
	Queries      int    `json:"queries"`          // queries used
	Failed       string `json:"failed,omitempty"` // why its queries failed, if they did
	// AdvCorrect says whether the undefended model classifies the final
	// adversarial image (the clean image if it was not attacked) right, the
	// official code's last column; nil when the sample failed or that
	// evaluation did.
	AdvCorrect *bool `json:"adv_ok,omitempty"`
	// By is the ensemble component that fooled the sample (attack.Result.By).
	By string `json:"by,omitempty"`
}

// Clean holds one sample's clean-data statistics under a defense.
type Clean struct {
	Index      int     `json:"i"`
	Failed     string  `json:"failed,omitempty"` // why the clean pass failed, if it did
	Confidence float64 `json:"conf"`             // top score of the defended output (softmax of logits, or the returned probabilities)
	Correct    bool    `json:"ok"`               // defended prediction right
	Change     float64 `json:"delta"`            // mean |defended − undefended| over the K outputs (logits, or probabilities for probability outputs)
}

// Pair is the evaluation of one attack against one defense.
type Pair struct {
	Attack  string        `json:"attack"`
	Defense string        `json:"defense"`
	Threat  attack.Threat `json:"threat"`
	Samples []Sample      `json:"samples"`
	// Guard counts what the defense's argmax guard did during the attack
	// (AAA: rows defended, rows reverted to the undefended output); nil for
	// defenses without one.
	Guard   *defense.AAAStats `json:"guard,omitempty"`
	Summary PairSummary       `json:"summary"`
}

// DefenseClean is the clean-data evaluation of one defense.
type DefenseClean struct {
	Defense string  `json:"defense"`
	Output  string  `json:"output"` // "logits", "probabilities" or "scores"
	Samples []Clean `json:"samples"`
	// Guard counts what the defense's argmax guard did on the clean rows
	// (see [RevertLimit]); nil for defenses without one.
	Guard   *defense.AAAStats `json:"guard,omitempty"`
	Summary DefenseSummary    `json:"summary"`
}

// RevertLimit is the fraction of clean rows above which a defense whose
// argmax guard returns rows undefended is flagged ([DefenseSummary.Flagged]):
// beyond it the guard, not the defense, decides the outcome.
const RevertLimit = 0.01

// Report is the outcome of [Run] or [Merge].
type Report struct {
	Model       string `json:"model"`
	Data        string `json:"data"`
	N           int    `json:"n"` // samples evaluated in all shards
	Budget      int    `json:"budget"`
	Checkpoints []int  `json:"checkpoints"`
	Seed        uint64 `json:"seed"`
	Shards      []int  `json:"shards"` // shard indices included
	NumShards   int    `json:"num_shards"`
	// Temperatures holds the AAA temperatures tuned on the calibration set.
	Temperatures map[string]float64 `json:"temperatures,omitempty"`
	Clean        []DefenseClean     `json:"clean"`
	Pairs        []Pair             `json:"pairs"`

	// Calibration holds each tuned AAA defense's search: the defended and
	// undefended ECE on the calibration set and whether the first is at or
	// below the second.
	Calibration map[string]defense.TemperatureResult `json:"calibration,omitempty"`
}

// PairSummary is computed from a pair's samples. The accuracies are over
// the N samples that completed; failed samples are not in them, and since
// the samples still unbroken are the ones a failing model fails, they are
// biased towards 0 when Failed > 0: RobustBounds brackets the accuracy
// over all samples. With N = 0 nothing was measured: CleanAccuracy is 0
// and RobustAccuracy nil (reports print n/a).
type PairSummary struct {
	N              int       `json:"n"`      // samples that completed (did not fail)
	Failed         int       `json:"failed"` // samples whose queries failed
	CleanAccuracy  float64   `json:"clean_accuracy"`
	RobustAccuracy []float64 `json:"robust_accuracy"` // at Report.Checkpoints, over the N completed samples
	// RobustBounds are, at each checkpoint, the lowest and highest robust
	// accuracy over all N + Failed samples consistent with what was
	// observed: a failed sample counts as robust at a checkpoint it had
	// passed unbroken, and as either otherwise. Equal to RobustAccuracy when nothing failed.
	RobustBounds  [][2]float64 `json:"robust_bounds,omitempty"`
	MeanQueries   float64      `json:"mean_queries"` // over successful attacks on correctly classified samples
	MedianQueries float64      `json:"median_queries"`
	Successes     int          `json:"successes"`
	// SuccessesAt, MeanQueriesAt and MedianQueriesAt are the same within
	// each checkpoint's budget (successes with at most that many queries);
	// the mean and median are 0 where there is no success.
	SuccessesAt     []int     `json:"successes_at"`
	MeanQueriesAt   []float64 `json:"mean_queries_at"`
	MedianQueriesAt []float64 `json:"median_queries_at"`
	// UndefendedAdvAccuracy is the undefended model's accuracy on the final
	// adversarial images, over the UndefendedAdvN samples where it was
	// measured (the official AAA code's last column).
	UndefendedAdvAccuracy float64 `json:"undefended_adv_accuracy"`
	UndefendedAdvN        int     `json:"undefended_adv_n"`
}

// DefenseSummary is computed from a defense's clean samples; the
// accuracy, ECE and change are over the N samples whose clean pass
// completed (0 when N = 0: reports print n/a).
type DefenseSummary struct {
	N           int           `json:"n"`
	Accuracy    float64       `json:"accuracy"`
	ECE         float64       `json:"ece"`
	LogitChange float64       `json:"mean_abs_change"`
	Failed      int           `json:"failed"` // samples whose clean pass failed
	Reliability []metrics.Bin `json:"reliability"`
	// Reverted is the number of clean rows the argmax guard returned
	// undefended, of GuardRows defended ones; Flagged is set when that is
	// more than RevertLimit of them.
	Reverted  int64 `json:"reverted"`
	GuardRows int64 `json:"guard_rows"`
	Flagged   bool  `json:"flagged,omitempty"`
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("robust: bad configuration")

// check validates cfg; defenses built into the model (defense.ModelWrapper,
// UniG) must be buildable into c.
func (cfg *Config) check(c model.Classifier) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if len(cfg.Attacks) == 0 || len(cfg.Defenses) == 0 {
		return bad("need at least one attack and one defense")
	}
	if cfg.Budget <= 0 {
		return bad("budget %d must be positive", cfg.Budget)
	}
	switch {
	case !(cfg.Eps >= 0) || math.IsInf(cfg.Eps, 0):
		return bad("eps %g must be a finite number ≥ 0", cfg.Eps)
	case cfg.Eps > 1 && cfg.Norm != attack.L2:
		// An ℓ2 ball on [0, 1] pixels may be larger than 1 (the AAA
		// paper's Table 4 uses 2.5); an ℓ∞ radius above 1 is meaningless.
		return bad("eps %g outside [0, 1] for the %s norm", cfg.Eps, cfg.Norm)
	}
	for _, q := range cfg.Checkpoints {
		if q <= 0 || q > cfg.Budget {
			return bad("checkpoint %d outside [1, budget %d]", q, cfg.Budget)
		}
	}
	if err := cfg.Shard.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	for i, a := range cfg.Attacks {
		if a == nil {
			return bad("attack %d is nil", i)
		}
	}
	for _, d := range cfg.Defenses {
		if d.New == nil {
			return bad("defense %q has no factory", d.Name)
		}
		dd, err := d.New(0)
		if err != nil {
			return fmt.Errorf("%w: defense %q: %w", ErrConfig, d.Name, err)
		}
		if mw, ok := dd.(defense.ModelWrapper); ok {
			if _, err := mw.WrapModel(c); err != nil {
				return fmt.Errorf("robust: defense %q: %w", d.Name, err)
			}
		}
	}
	return nil
}

// copyAttack returns a fresh copy of a registered attack with a's settings
// (through its JSON form); an attack the registry does not know is used as
// it is.
func copyAttack(a attack.Attack) attack.Attack {
	b, err := json.Marshal(a)
	if err != nil {
		return a
	}
	c, err := attack.New(a.Name())
	if err != nil || json.Unmarshal(b, c) != nil {
		return a
	}
	return c
}

// Run evaluates every configured attack against every configured defense
// around c on the inputs x (values in [0, 1]) with labels y. Each
// attack–defense pair gets a fresh oracle and fresh, seeded defense and
// attack randomness, so a pair's result does not depend on the others.
func Run(ctx context.Context, c model.Classifier, x []float32, y []int, cfg Config) (*Report, error) {
	if err := cfg.check(c); err != nil {
		return nil, err
	}
	n, err := model.CheckBatch(c, nil, x, 0)
	if err != nil {
		return nil, err
	}
	if n != len(y) {
		return nil, fmt.Errorf("robust: %d inputs, %d labels", n, len(y))
	}
	sp := cfg.Shard
	if sp.Count == 0 {
		sp = shard.Spec{Index: 0, Count: 1}
	}
	idx := sp.Indices(n)
	cfg.Defenses = slices.Clone(cfg.Defenses) // calibration replaces some
	pr := progress.Or(cfg.Progress)
	size := model.InputSize(c)
	xs := make([]float32, 0, len(idx)*size)
	ys := make([]int, 0, len(idx))
	for _, i := range idx {
		xs = append(xs, x[i*size:(i+1)*size]...)
		ys = append(ys, y[i])
	}
	checkpoints := slices.Clone(cfg.Checkpoints)
	if len(checkpoints) == 0 {
		checkpoints = []int{cfg.Budget}
	}
	sort.Ints(checkpoints)
	rep := &Report{N: n, Budget: cfg.Budget, Checkpoints: checkpoints, Seed: cfg.Seed, Shards: []int{sp.Index}, NumShards: sp.Count}
	k := c.NumClasses()
	if rep.Temperatures, rep.Calibration, err = calibrate(ctx, c, &cfg, pr); err != nil {
		return nil, err
	}
	plain, failed, err := chunkedLogits(ctx, c, xs, k)
	if err != nil {
		return nil, err
	}
	for di, dd := range cfg.Defenses {
		d, err := dd.New(cfg.Seed ^ uint64(di)<<32)
		if err != nil {
			return nil, err
		}
		dc, err := cleanStats(ctx, c, d, dd.Name, xs, ys, idx, plain, failed, k)
		if err != nil {
			return nil, err
		}
		rep.Clean = append(rep.Clean, *dc)
	}
	for ai, a := range cfg.Attacks {
		for di, dd := range cfg.Defenses {
			dname := dd.Name
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			// Seeds depend on the pair and the shard, not on the order of
			// the other pairs.
			salt := uint64(ai+1)<<40 | uint64(di+1)<<20 | uint64(sp.Index+1)
			d, err := dd.New(cfg.Seed ^ salt)
			if err != nil {
				return nil, err
			}
			atk := copyAttack(a)
			th := atk.ThreatModel()
			if cfg.Eps > 0 {
				th.Norm, th.Eps = cfg.Norm, cfg.Eps
				if cfg.Loss != attack.LossDefault {
					th.Loss = cfg.Loss
				}
			}
			aname := atk.Name() // "up-square" with loss up
			// The undefended model goes in as is, so that white-box
			// attacks reach its input gradients.
			var victim model.Classifier = defense.Wrap(c, d)
			if _, ok := d.(defense.Identity); ok {
				victim = c
			}
			o, err := attack.NewOracle(victim, attack.OracleOptions{Budget: cfg.Budget, Quantize: cfg.Quantize})
			if err != nil {
				return nil, err
			}
			r := rand.New(rand.NewPCG(cfg.Seed, salt))
			opts := attack.RunOptions{Rand: r}
			if cfg.Targeted {
				if opts.Targets, err = attack.RandomTargets(r, ys, k); err != nil {
					return nil, err
				}
			}
			label := aname + " vs " + dname
			var last attack.Progress
			opts.Progress = func(p attack.Progress) {
				last = p
				pr.Update(label, p.N-p.Active, p.N, fmt.Sprintf("fooled %d/%d, %d queries", p.Fooled, p.N, p.Queries))
			}
			res, err := atk.Run(ctx, o, xs, ys, opts)
			if err != nil {
				return rep, fmt.Errorf("robust: %s against %s: %w", aname, dname, err)
			}
			pr.Log("%s: fooled %d of %d images, %d queries", label, last.Fooled, last.N, last.Queries)
			p := Pair{Attack: aname, Defense: dname, Threat: *th, Guard: guardStats(d)}
			advOK, err := undefendedCorrect(ctx, c, res.Adv, ys, k, cfg.Quantize)
			if err != nil {
				return rep, err
			}
			for j, i := range idx {
				s := Sample{Index: i, CleanCorrect: res.CleanCorrect[j], FooledAt: res.FooledAt[j], Queries: res.Queries[j]}
				if res.By != nil {
					s.By = res.By[j]
				}
				if res.Failed[j] != nil {
					s.Failed = res.Failed[j].Error()
				} else {
					s.AdvCorrect = advOK[j]
				}
				p.Samples = append(p.Samples, s)
			}
			rep.Pairs = append(rep.Pairs, p)
		}
	}
	rep.Summarize()
	return rep, nil
}

// TunesTemperature reports whether [Run] will tune a temperature: some
// defense has TuneTemperature set and calibration data would be used. A
// caller that has no AAA defense to tune (TuneTemperature is set only for
// AAA by [NamedDefense]) can then skip reserving calibration images.
func (c *Config) TunesTemperature() bool {
	return slices.ContainsFunc(c.Defenses, func(d Defense) bool { return d.TuneTemperature })
}

// calibrate tunes the temperature of the AAA defenses in cfg marked
// TuneTemperature on the calibration data and replaces them in
// cfg.Defenses with their tuned versions. The search scores the ECE of
// the defended output, defended in batches of cleanChunk rows as the clean
// pass will be (in AAA's official mode a row's output depends on its batch
// size), and keeps the grid value of least ECE; when even that is above the
// undefended ECE on the calibration data, the result says so
// (AtOrBelow false) and a line is logged. Nothing is computed when no
// defense is to be tuned.
func calibrate(ctx context.Context, c model.Classifier, cfg *Config, pr progress.Reporter) (map[string]float64, map[string]defense.TemperatureResult, error) {
	if len(cfg.CalibrationY) == 0 || !cfg.TunesTemperature() {
		return nil, nil, nil
	}
	var logits []float32
	temps := map[string]float64{}
	results := map[string]defense.TemperatureResult{}
	for i, dd := range cfg.Defenses {
		if !dd.TuneTemperature {
			continue
		}
		d, err := dd.New(0)
		if err != nil {
			return nil, nil, err
		}
		aaa, ok := d.(*defense.AAA)
		if !ok {
			continue
		}
		if logits == nil {
			if logits, err = metrics.Logits(ctx, c, cfg.CalibrationX); err != nil {
				return nil, nil, fmt.Errorf("robust: calibration data: %w", err)
			}
			if len(logits) != len(cfg.CalibrationY)*c.NumClasses() {
				return nil, nil, fmt.Errorf("%w: %d calibration inputs, %d labels", ErrConfig, len(logits)/c.NumClasses(), len(cfg.CalibrationY))
			}
		}
		res, err := defense.TuneTemperatureBatch(ctx, aaa.Config(), logits, cfg.CalibrationY, c.NumClasses(), defense.TemperatureGrid(), cleanChunk)
		if err != nil {
			return nil, nil, fmt.Errorf("robust: tuning %s: %w", dd.Name, err)
		}
		if !res.AtOrBelow {
			pr.Log("%s: no calibration temperature keeps the defended ECE at or below the undefended one on the %d calibration images (best T=%g: %.2f%% vs %.2f%%)",
				dd.Name, len(cfg.CalibrationY), res.Temperature, 100*res.ECE, 100*res.Undefended)
		}
		t, orig := res.Temperature, dd.New
		dd.New = func(seed uint64) (defense.Defense, error) {
			d, err := orig(seed)
			if a, ok := d.(*defense.AAA); ok && err == nil {
				ac := a.Config()
				ac.Temperature = t
				return defense.NewAAA(ac)
			}
			return d, err
		}
		dd.TuneTemperature = false
		cfg.Defenses[i] = dd
		temps[dd.Name] = t
		results[dd.Name] = res
	}
	return temps, results, nil
}

// guardStats returns the counts of d's argmax guard (AAA), or nil.
func guardStats(d defense.Defense) *defense.AAAStats {
	if g, ok := d.(interface{ Stats() defense.AAAStats }); ok {
		st := g.Stats()
		return &st
	}
	return nil
}

// undefendedCorrect evaluates the undefended model c on the final
// adversarial images adv (8-bit quantized first with quantize, as the
// oracle does): ok[j] says whether it predicts ys[j], nil where the model
// failed. Only cancellation is returned as an error.
func undefendedCorrect(ctx context.Context, c model.Classifier, adv []float32, ys []int, k int, quantize bool) ([]*bool, error) {
	if quantize {
		adv = slices.Clone(adv)
		for j, v := range adv {
			adv[j] = attack.Quantize8(min(max(v, 0), 1))
		}
	}
	z, failed, err := chunkedLogits(ctx, c, adv, k)
	if err != nil {
		return nil, err
	}
	ok := make([]*bool, len(ys))
	for j, y := range ys {
		if failed[j] == nil {
			v := metrics.Argmax(z[j*k:(j+1)*k]) == y
			ok[j] = &v
		}
	}
	return ok, nil
}

// cleanChunk is the batch of the clean passes: a failing model call fails
// only its chunk's samples.
const cleanChunk = 64

// chunkedLogits computes c's logits on xs chunk by chunk; failed[j] holds
// the error of sample j's chunk. Only cancellation is returned as an error.
func chunkedLogits(ctx context.Context, c model.Classifier, xs []float32, k int) ([]float32, []error, error) {
	size := model.InputSize(c)
	n := len(xs) / size
	out := make([]float32, n*k)
	failed := make([]error, n)
	for lo := 0; lo < n; lo += cleanChunk {
		hi := min(lo+cleanChunk, n)
		err := c.Logits(ctx, out[lo*k:hi*k], xs[lo*size:hi*size])
		if err == nil {
			for _, v := range out[lo*k : hi*k] {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					err = errors.New("non-finite logits")
					break
				}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			for j := lo; j < hi; j++ {
				failed[j] = err
			}
		}
	}
	return out, failed, nil
}

// cleanStats evaluates the defended model on clean data; samples whose
// undefended or defended pass failed are recorded as failed.
func cleanStats(ctx context.Context, c model.Classifier, d defense.Defense, name string, xs []float32, ys []int, idx []int, plain []float32, failed []error, k int) (*DefenseClean, error) {
	out, dfailed, err := chunkedLogits(ctx, defense.Wrap(c, d), xs, k)
	if err != nil {
		return nil, err
	}
	dc := &DefenseClean{Defense: name, Output: "logits", Guard: guardStats(d)}
	probsOut := d.Output() != defense.Logits
	switch d.Output() {
	case defense.Probabilities:
		dc.Output = "probabilities"
	case defense.Scores:
		dc.Output = "scores"
	}
	pp := make([]float32, k)
	dp := make([]float32, k)
	for j, i := range idx {
		if err := errors.Join(failed[j], dfailed[j]); err != nil {
			dc.Samples = append(dc.Samples, Clean{Index: i, Failed: err.Error()})
			continue
		}
		zc := plain[j*k : (j+1)*k]
		zd := out[j*k : (j+1)*k]
		metrics.Softmax(pp, zc, k)
		ref, got := zc, zd
		if probsOut {
			ref = pp
			copy(dp, zd)
		} else {
			metrics.Softmax(dp, zd, k)
		}
		var change float64
		for q := range got {
			change += math.Abs(float64(got[q]) - float64(ref[q]))
		}
		a := metrics.Argmax(dp)
		// Ties of a probability output resolve to the class the model ranked
		// first, so a defense that keeps the argmax is never penalized.
		if dp[metrics.Argmax(zc)] == dp[a] {
			a = metrics.Argmax(zc)
		}
		dc.Samples = append(dc.Samples, Clean{Index: i, Confidence: float64(dp[a]), Correct: a == ys[j], Change: change / float64(k)})
	}
	return dc, nil
}

// Summarize recomputes every summary from the per-sample records.
func (r *Report) Summarize() {
	for i := range r.Clean {
		dc := &r.Clean[i]
		conf := make([]float64, len(dc.Samples))
		hit := make([]bool, len(dc.Samples))
		var acc, change float64
		var ok int
		for j, s := range dc.Samples {
			if s.Failed != "" {
				continue // confidence 0: in no reliability bin
			}
			ok++
			conf[j], hit[j] = s.Confidence, s.Correct
			if s.Correct {
				acc++
			}
			change += s.Change
		}
		m := float64(max(ok, 1))
		bins := metrics.Reliability(conf, hit)
		var e float64
		for _, b := range bins {
			e += float64(b.Count) / m * math.Abs(b.Accuracy-b.Confidence)
		}
		dc.Summary = DefenseSummary{N: ok, Accuracy: acc / m, ECE: e, LogitChange: change / m, Reliability: bins, Failed: len(dc.Samples) - ok}
		if g := dc.Guard; g != nil {
			dc.Summary.Reverted, dc.Summary.GuardRows = g.Reverted, g.Rows
			dc.Summary.Flagged = float64(g.Reverted) > RevertLimit*float64(g.Rows)
		}
	}
	for i := range r.Pairs {
		r.Pairs[i].Summary = summarizePair(r.Pairs[i].Samples, r.Checkpoints)
	}
}

// summarizePair computes a pair's summary at the checkpoints.
func summarizePair(samples []Sample, checkpoints []int) PairSummary {
	var s PairSummary
	var queries []float64
	var clean, advOK int
	robust := make([]int, len(checkpoints))
	known := make([]int, len(checkpoints)) // failed samples robust at q
	open := make([]int, len(checkpoints))  // failed samples of unknown outcome at q
	for _, smp := range samples {
		if smp.Failed != "" {
			s.Failed++
			for c, q := range checkpoints {
				// Only attacked samples (clean prediction right) fail after
				// their clean query; their last query is the one that failed.
				if smp.CleanCorrect && smp.Queries-1 >= q {
					known[c]++
				} else {
					open[c]++
				}
			}
			continue
		}
		s.N++
		if smp.AdvCorrect != nil {
			s.UndefendedAdvN++
			if *smp.AdvCorrect {
				advOK++
			}
		}
		if !smp.CleanCorrect {
			continue
		}
		clean++
		for c, q := range checkpoints {
			if smp.FooledAt < 0 || smp.FooledAt > q {
				robust[c]++
			}
		}
		if smp.FooledAt > 0 {
			queries = append(queries, float64(smp.FooledAt))
		}
	}
	if s.UndefendedAdvN > 0 {
		s.UndefendedAdvAccuracy = float64(advOK) / float64(s.UndefendedAdvN)
	}
	if s.N > 0 {
		n := float64(s.N)
		s.CleanAccuracy = float64(clean) / n
		for c := range robust {
			s.RobustAccuracy = append(s.RobustAccuracy, float64(robust[c])/n)
		}
	}
	if all := float64(s.N + s.Failed); all > 0 {
		for c := range robust {
			lo := float64(robust[c] + known[c])
			s.RobustBounds = append(s.RobustBounds, [2]float64{lo / all, (lo + float64(open[c])) / all})
		}
	}
	sort.Float64s(queries)
	s.Successes = len(queries)
	s.MeanQueries, s.MedianQueries = meanMedian(queries)
	for _, q := range checkpoints {
		within := queries[:sort.SearchFloat64s(queries, float64(q)+0.5)]
		m, med := meanMedian(within)
		s.SuccessesAt = append(s.SuccessesAt, len(within))
		s.MeanQueriesAt = append(s.MeanQueriesAt, m)
		s.MedianQueriesAt = append(s.MedianQueriesAt, med)
	}
	return s
}

// meanMedian returns the mean and median of sorted v (0, 0 if empty).
func meanMedian(v []float64) (mean, median float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var sum float64
	for _, q := range v {
		sum += q
	}
	h := len(v) / 2
	median = v[h]
	if len(v)%2 == 0 {
		median = (v[h-1] + v[h]) / 2
	}
	return sum / float64(len(v)), median
}

// Curve returns the robust accuracy of a pair after q queries for each q in
// qs, over the samples that did not fail.
func (p *Pair) Curve(qs []int) []float64 {
	out := make([]float64, len(qs))
	var n int
	for _, s := range p.Samples {
		if s.Failed != "" {
			continue
		}
		n++
		if !s.CleanCorrect {
			continue
		}
		for j, q := range qs {
			if s.FooledAt < 0 || s.FooledAt > q {
				out[j]++
			}
		}
	}
	for j := range out {
		out[j] /= float64(max(n, 1))
	}
	return out
}

// Merge combines the reports of the shards of one evaluation (same model,
// data, settings, attacks and defenses) into one report. The shards must
// cover the evaluation exactly once (shard.CheckCover), and each report's
// samples must belong to its shards.
func Merge(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("robust: nothing to merge")
	}
	first := reports[0]
	out := &Report{Model: first.Model, Data: first.Data, N: first.N, Budget: first.Budget,
		Checkpoints: first.Checkpoints, Seed: first.Seed, NumShards: first.NumShards}
	// Every shard tunes AAA's temperature on the same held-out images, so
	// the first report's search stands for all.
	out.Temperatures, out.Calibration = first.Temperatures, first.Calibration
	var specs []shard.Spec
	for ri, r := range reports {
		if r.Model != first.Model || r.Data != first.Data || r.Budget != first.Budget || r.Seed != first.Seed ||
			r.NumShards != first.NumShards || r.N != first.N || !slices.Equal(r.Checkpoints, first.Checkpoints) ||
			len(r.Pairs) != len(first.Pairs) || len(r.Clean) != len(first.Clean) {
			return nil, fmt.Errorf("robust: report %d is from a different evaluation (model, data, budget, seed, shards or pairs differ)", ri+1)
		}
		if len(r.Shards) == 0 {
			return nil, fmt.Errorf("robust: report %d names no shard", ri+1)
		}
		for _, s := range r.Shards {
			specs = append(specs, shard.Spec{Index: s, Count: r.NumShards})
			out.Shards = append(out.Shards, s)
		}
		if err := checkSamples(r, ri); err != nil {
			return nil, err
		}
	}
	if err := shard.CheckCover(specs); err != nil {
		return nil, fmt.Errorf("robust: %w", err)
	}
	sort.Ints(out.Shards)
	for ci := range first.Clean {
		dc := DefenseClean{Defense: first.Clean[ci].Defense, Output: first.Clean[ci].Output}
		for ri, r := range reports {
			if r.Clean[ci].Defense != dc.Defense {
				return nil, fmt.Errorf("robust: report %d lists defense %q where the first has %q", ri+1, r.Clean[ci].Defense, dc.Defense)
			}
			dc.Samples = append(dc.Samples, r.Clean[ci].Samples...)
			dc.Guard = addGuard(dc.Guard, r.Clean[ci].Guard)
		}
		sort.Slice(dc.Samples, func(a, b int) bool { return dc.Samples[a].Index < dc.Samples[b].Index })
		out.Clean = append(out.Clean, dc)
	}
	for pi := range first.Pairs {
		p := Pair{Attack: first.Pairs[pi].Attack, Defense: first.Pairs[pi].Defense, Threat: first.Pairs[pi].Threat}
		for ri, r := range reports {
			q := r.Pairs[pi]
			if q.Attack != p.Attack || q.Defense != p.Defense || q.Threat != p.Threat {
				return nil, fmt.Errorf("robust: report %d has pair %s/%s where the first has %s/%s", ri+1, q.Attack, q.Defense, p.Attack, p.Defense)
			}
			p.Samples = append(p.Samples, q.Samples...)
			p.Guard = addGuard(p.Guard, q.Guard)
		}
		sort.Slice(p.Samples, func(a, b int) bool { return p.Samples[a].Index < p.Samples[b].Index })
		out.Pairs = append(out.Pairs, p)
	}
	out.Summarize()
	return out, nil
}

// addGuard returns the sum of two guard counts (nil if both are nil).
func addGuard(a, b *defense.AAAStats) *defense.AAAStats {
	if b == nil {
		return a
	}
	if a == nil {
		a = &defense.AAAStats{}
	}
	return &defense.AAAStats{Rows: a.Rows + b.Rows, Reverted: a.Reverted + b.Reverted, Crossed: a.Crossed + b.Crossed}
}

// checkSamples checks that the samples of report ri lie in [0, N) and in
// its shards.
func checkSamples(r *Report, ri int) error {
	in := func(i int) bool {
		if i < 0 || i >= r.N {
			return false
		}
		for _, s := range r.Shards {
			if (shard.Spec{Index: s, Count: r.NumShards}).Contains(i) {
				return true
			}
		}
		return false
	}
	for _, dc := range r.Clean {
		for _, smp := range dc.Samples {
			if !in(smp.Index) {
				return fmt.Errorf("robust: report %d: %s clean sample %d is not in its shards %v of %d samples", ri+1, dc.Defense, smp.Index, r.Shards, r.N)
			}
		}
	}
	for _, p := range r.Pairs {
		for _, smp := range p.Samples {
			if !in(smp.Index) {
				return fmt.Errorf("robust: report %d: %s/%s sample %d is not in its shards %v of %d samples", ri+1, p.Attack, p.Defense, smp.Index, r.Shards, r.N)
			}
		}
	}
	return nil
}

// RunDataset evaluates cfg on the first n labelled samples of d (0: all)
// with [Run], tuning AAA's temperature on up to calibrate samples from the
// end of d, disjoint from the evaluated ones (0: no tuning; at least 100
// must be left). The data set must fit the model.
func RunDataset(ctx context.Context, c model.Classifier, d *data.Dataset, n, calibrate int, cfg Config) (*Report, error) {
	if fmt.Sprint(c.InputShape()) != fmt.Sprint(d.Shape) || d.Y == nil || len(d.Classes) > c.NumClasses() {
		return nil, fmt.Errorf("%w: data set %s (samples %v, %d classes, labels %v) does not fit the model (input %v, %d classes)", ErrConfig, d.Name, d.Shape, len(d.Classes), d.Y != nil, c.InputShape(), c.NumClasses())
	}
	if n < 0 || calibrate < 0 {
		return nil, fmt.Errorf("%w: n %d and calibrate %d must be ≥ 0", ErrConfig, n, calibrate)
	}
	if n == 0 || n > d.Len() {
		n = d.Len()
	}
	if calibrate > 0 && cfg.TunesTemperature() {
		m := min(calibrate, d.Len()-n)
		if m < 100 {
			return nil, fmt.Errorf("%w: only %d samples of %s are left to calibrate AAA on after the %d evaluated ones; evaluate fewer or do not calibrate", ErrConfig, max(m, 0), d.Name, n)
		}
		cfg.CalibrationX, cfg.CalibrationY = d.X[(d.Len()-m)*d.SampleSize():], d.Y[d.Len()-m:]
	}
	return Run(ctx, c, d.X[:n*d.SampleSize()], d.Y[:n], cfg)
}
