// Package robust evaluates classifiers under black-box query attacks, with
// and without output defenses: every attack against every defense on the
// same samples, reporting clean accuracy, robust accuracy at query budgets,
// the queries successful attacks needed, the calibration of the defended
// model and how much the defense changes the outputs.
//
// A [Report] keeps one record per sample, so that reports of disjoint shards
// of the samples (run as independent jobs, see [Config.Shard]) merge into
// exactly the report one job would have summarised ([Merge]).
package robust

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// Config configures [Run].
type Config struct {
	Attacks  []string // attack registry names (attack.Names)
	Defenses []string // defense registry names (defense.Names); "none" is the undefended model
	// DefenseParams holds per-defense parameters (defense.ParseParams), by name.
	DefenseParams map[string]map[string]float64
	Norm          attack.Norm
	Eps           float64     // radius of the perturbation ball on the [0, 1] pixel scale
	Loss          attack.Loss // attack objective (LossDefault: each attack's reference choice)
	Budget        int         // queries per sample (clean query included)
	Checkpoints   []int       // budgets to report robust accuracy at (≤ Budget)
	Targeted      bool        // random targets instead of untargeted attacks
	Quantize      bool        // 8-bit input quantization before every query, as the AAA victim
	Seed          uint64
	// Shard and Shards select the samples i with i mod Shards == Shard;
	// Shards ≤ 1 evaluates every sample.
	Shard, Shards int
	// CalibrationX and CalibrationY, if set, are held-out labelled inputs
	// (never the evaluated ones) on which the temperature of every AAA
	// defense whose parameters leave it unset is tuned for calibration, as
	// the AAA paper does on validation data.
	CalibrationX []float32
	CalibrationY []int
	// Progress, if set, receives the attack's progress for each pair.
	Progress func(attackName, defenseName string, p attack.Progress)
}

// Sample is the outcome for one evaluated sample under one attack and
// defense.
type Sample struct {
	Index        int    `json:"i"`                // index in the evaluated data
	CleanCorrect bool   `json:"clean_correct"`    // the defended model's clean prediction was right
	FooledAt     int    `json:"fooled_at"`        // query at which it was first fooled, -1 if never
	Queries      int    `json:"queries"`          // queries used
	Failed       string `json:"failed,omitempty"` // why its queries failed, if they did
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
	Summary PairSummary   `json:"summary"`
}

// DefenseClean is the clean-data evaluation of one defense.
type DefenseClean struct {
	Defense string         `json:"defense"`
	Output  string         `json:"output"` // "logits", "probabilities" or "scores"
	Samples []Clean        `json:"samples"`
	Summary DefenseSummary `json:"summary"`
}

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
}

// PairSummary is computed from a pair's samples.
type PairSummary struct {
	N              int       `json:"n"`      // samples that did not fail
	Failed         int       `json:"failed"` // samples whose queries failed
	CleanAccuracy  float64   `json:"clean_accuracy"`
	RobustAccuracy []float64 `json:"robust_accuracy"` // at Report.Checkpoints
	MeanQueries    float64   `json:"mean_queries"`    // over successful attacks on correctly classified samples
	MedianQueries  float64   `json:"median_queries"`
	Successes      int       `json:"successes"`
}

// DefenseSummary is computed from a defense's clean samples.
type DefenseSummary struct {
	Accuracy    float64       `json:"accuracy"`
	ECE         float64       `json:"ece"`
	LogitChange float64       `json:"mean_abs_change"`
	Failed      int           `json:"failed"` // samples whose clean pass failed
	Reliability []metrics.Bin `json:"reliability"`
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("robust: bad configuration")

func (cfg *Config) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if len(cfg.Attacks) == 0 || len(cfg.Defenses) == 0 {
		return bad("need at least one attack and one defense")
	}
	if cfg.Budget <= 0 {
		return bad("budget %d must be positive", cfg.Budget)
	}
	if !(cfg.Eps > 0) || cfg.Eps > 1 {
		return bad("eps %g outside (0, 1]", cfg.Eps)
	}
	for _, q := range cfg.Checkpoints {
		if q <= 0 || q > cfg.Budget {
			return bad("checkpoint %d outside [1, budget %d]", q, cfg.Budget)
		}
	}
	if cfg.Shards > 1 && (cfg.Shard < 0 || cfg.Shard >= cfg.Shards) {
		return bad("shard %d outside [0, %d)", cfg.Shard, cfg.Shards)
	}
	for _, a := range cfg.Attacks {
		if _, err := attack.New(a); err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	for _, d := range cfg.Defenses {
		if _, err := cfg.newDefense(d, 0); err != nil {
			return fmt.Errorf("%w: defense %q: %v", ErrConfig, d, err)
		}
	}
	return nil
}

func (cfg *Config) newDefense(name string, salt uint64) (defense.Defense, error) {
	return defense.New(name, defense.Options{Seed: cfg.Seed ^ salt, Params: cfg.DefenseParams[name]})
}

// Run evaluates every configured attack against every configured defense
// around c on the inputs x (values in [0, 1]) with labels y. Each
// attack–defense pair gets a fresh oracle and fresh, seeded defense and
// attack randomness, so a pair's result does not depend on the others.
func Run(ctx context.Context, c model.Classifier, x []float32, y []int, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	n, err := model.CheckBatch(c, nil, x, 0)
	if err != nil {
		return nil, err
	}
	if n != len(y) {
		return nil, fmt.Errorf("robust: %d inputs, %d labels", n, len(y))
	}
	shards := max(cfg.Shards, 1)
	var idx []int
	for i := 0; i < n; i++ {
		if i%shards == cfg.Shard%shards {
			idx = append(idx, i)
		}
	}
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
	rep := &Report{N: n, Budget: cfg.Budget, Checkpoints: checkpoints, Seed: cfg.Seed, Shards: []int{cfg.Shard % shards}, NumShards: shards}
	k := c.NumClasses()
	if rep.Temperatures, err = calibrate(ctx, c, &cfg); err != nil {
		return nil, err
	}
	plain, failed, err := chunkedLogits(ctx, c, xs, k)
	if err != nil {
		return nil, err
	}
	for di, dname := range cfg.Defenses {
		d, err := cfg.newDefense(dname, uint64(di)<<32)
		if err != nil {
			return nil, err
		}
		dc, err := cleanStats(ctx, c, d, dname, xs, ys, idx, plain, failed, k)
		if err != nil {
			return nil, err
		}
		rep.Clean = append(rep.Clean, *dc)
	}
	for ai, aname := range cfg.Attacks {
		for di, dname := range cfg.Defenses {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			// Seeds depend on the pair and the shard, not on the order of
			// the other pairs.
			salt := uint64(ai+1)<<40 | uint64(di+1)<<20 | uint64(cfg.Shard%shards+1)
			d, err := cfg.newDefense(dname, salt)
			if err != nil {
				return nil, err
			}
			atk, _ := attack.New(aname)
			th := atk.ThreatModel()
			th.Norm, th.Eps, th.Loss = cfg.Norm, cfg.Eps, cfg.Loss
			o, err := attack.NewOracle(defense.Wrap(c, d), attack.OracleOptions{Budget: cfg.Budget, Quantize: cfg.Quantize})
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
			if cfg.Progress != nil {
				opts.Progress = func(p attack.Progress) { cfg.Progress(aname, dname, p) }
			}
			res, err := atk.Run(ctx, o, xs, ys, opts)
			if err != nil {
				return rep, fmt.Errorf("robust: %s against %s: %w", aname, dname, err)
			}
			p := Pair{Attack: aname, Defense: dname, Threat: *th}
			for j, i := range idx {
				s := Sample{Index: i, CleanCorrect: res.CleanCorrect[j], FooledAt: res.FooledAt[j], Queries: res.Queries[j]}
				if res.Failed[j] != nil {
					s.Failed = res.Failed[j].Error()
				}
				p.Samples = append(p.Samples, s)
			}
			rep.Pairs = append(rep.Pairs, p)
		}
	}
	rep.Summarize()
	return rep, nil
}

// calibrationGrid is a coarse version of the official temperature grid,
// dense around 1 where the tuned values of trained models fall.
func calibrationGrid() []float64 {
	var g []float64
	for t := 0.5; t < 2.001; t += 0.05 {
		g = append(g, math.Round(t*100)/100)
	}
	for t := 2.25; t < 4.001; t += 0.25 {
		g = append(g, t)
	}
	return append(g, 5, 6, 8, 10)
}

// calibrate tunes the temperature of the AAA defenses in cfg on the
// calibration data and records it in cfg.DefenseParams.
func calibrate(ctx context.Context, c model.Classifier, cfg *Config) (map[string]float64, error) {
	if len(cfg.CalibrationY) == 0 {
		return nil, nil
	}
	var logits []float32
	temps := map[string]float64{}
	for _, name := range cfg.Defenses {
		if _, set := cfg.DefenseParams[name]["temperature"]; set {
			continue
		}
		d, err := cfg.newDefense(name, 0)
		if err != nil {
			return nil, err
		}
		aaa, ok := d.(*defense.AAA)
		if !ok {
			continue
		}
		if logits == nil {
			if logits, err = metrics.Logits(ctx, c, cfg.CalibrationX); err != nil {
				return nil, fmt.Errorf("robust: calibration data: %w", err)
			}
			if len(logits) != len(cfg.CalibrationY)*c.NumClasses() {
				return nil, fmt.Errorf("%w: %d calibration inputs, %d labels", ErrConfig, len(logits)/c.NumClasses(), len(cfg.CalibrationY))
			}
		}
		res, err := defense.TuneTemperature(ctx, aaa.Config(), logits, cfg.CalibrationY, c.NumClasses(), calibrationGrid())
		if err != nil {
			return nil, fmt.Errorf("robust: tuning %s: %w", name, err)
		}
		params := map[string]float64{}
		for k, v := range cfg.DefenseParams[name] {
			params[k] = v
		}
		params["temperature"] = res.Temperature
		if cfg.DefenseParams == nil {
			cfg.DefenseParams = map[string]map[string]float64{}
		}
		cfg.DefenseParams[name] = params
		temps[name] = res.Temperature
	}
	return temps, nil
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
	dc := &DefenseClean{Defense: name, Output: "logits"}
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
		dc.Summary = DefenseSummary{Accuracy: acc / m, ECE: e, LogitChange: change / m, Reliability: bins, Failed: len(dc.Samples) - ok}
	}
	for i := range r.Pairs {
		p := &r.Pairs[i]
		var s PairSummary
		var queries []float64
		var clean int
		robust := make([]int, len(r.Checkpoints))
		for _, smp := range p.Samples {
			if smp.Failed != "" {
				s.Failed++
				continue
			}
			s.N++
			if !smp.CleanCorrect {
				continue
			}
			clean++
			for c, q := range r.Checkpoints {
				if smp.FooledAt < 0 || smp.FooledAt > q {
					robust[c]++
				}
			}
			if smp.FooledAt > 0 {
				queries = append(queries, float64(smp.FooledAt))
			}
		}
		n := float64(max(s.N, 1))
		s.CleanAccuracy = float64(clean) / n
		for c := range robust {
			s.RobustAccuracy = append(s.RobustAccuracy, float64(robust[c])/n)
		}
		s.Successes = len(queries)
		if len(queries) > 0 {
			sort.Float64s(queries)
			var sum float64
			for _, q := range queries {
				sum += q
			}
			s.MeanQueries = sum / float64(len(queries))
			h := len(queries) / 2
			s.MedianQueries = queries[h]
			if len(queries)%2 == 0 {
				s.MedianQueries = (queries[h-1] + queries[h]) / 2
			}
		}
		p.Summary = s
	}
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

// Merge combines reports of disjoint shards of one evaluation (same model,
// data, settings, attacks and defenses) into one report.
func Merge(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("robust: nothing to merge")
	}
	first := reports[0]
	out := &Report{Model: first.Model, Data: first.Data, N: first.N, Budget: first.Budget,
		Checkpoints: first.Checkpoints, Seed: first.Seed, NumShards: first.NumShards}
	seen := map[int]bool{}
	for ri, r := range reports {
		if r.Model != first.Model || r.Data != first.Data || r.Budget != first.Budget || r.Seed != first.Seed ||
			r.NumShards != first.NumShards || r.N != first.N || !slices.Equal(r.Checkpoints, first.Checkpoints) ||
			len(r.Pairs) != len(first.Pairs) || len(r.Clean) != len(first.Clean) {
			return nil, fmt.Errorf("robust: report %d is from a different evaluation (model, data, budget, seed, shards or pairs differ)", ri+1)
		}
		for _, s := range r.Shards {
			if seen[s] {
				return nil, fmt.Errorf("robust: shard %d appears twice", s)
			}
			seen[s] = true
			out.Shards = append(out.Shards, s)
		}
	}
	sort.Ints(out.Shards)
	for ci := range first.Clean {
		dc := DefenseClean{Defense: first.Clean[ci].Defense, Output: first.Clean[ci].Output}
		for ri, r := range reports {
			if r.Clean[ci].Defense != dc.Defense {
				return nil, fmt.Errorf("robust: report %d lists defense %q where the first has %q", ri+1, r.Clean[ci].Defense, dc.Defense)
			}
			dc.Samples = append(dc.Samples, r.Clean[ci].Samples...)
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
		}
		sort.Slice(p.Samples, func(a, b int) bool { return p.Samples[a].Index < p.Samples[b].Index })
		out.Pairs = append(out.Pairs, p)
	}
	out.Summarize()
	return out, nil
}
