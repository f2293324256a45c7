package repro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/robust"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/zoo"
)

// QueryNet: S. Chen, Z. Huang, Q. Tao, X. Huang, "QueryNet: Attack by
// Multi-Identity Surrogates" (IEEE TNNLS 2022, arXiv 2105.15010). Its
// numbers here are the official run logs' (robustness.md §4);
// paper-numbers.md has no QueryNet entry.
const (
	queryNetPaper  = `QueryNet: "QueryNet: Attack by Multi-Identity Surrogates" (Chen et al., TNNLS 2022)`
	queryNetSource = "QueryNet official logs (robustness.md §4)"
	queryNetCIFAR  = "CIFAR-10, WRN-28-10, ℓ∞ 8/255, 9597 correct images, 3 NAS surrogates + Square+"
)

// queryNetLogs are the official logs' accuracies (%) after 100 and 2500
// queries and the mean queries of successes (10,000-query budget).
var queryNetLogs = map[string]struct{ acc100, acc2500, meanQ float64 }{
	"square":   {51.11, 2.15, 366},
	"querynet": {28.92, 1.12, 210},
}

// QueryNetConfig configures [QueryNetRepro]. The tagged fields are the
// command's flags; [DefaultQueryNetConfig] holds their defaults.
type QueryNetConfig struct {
	// Model is what zoo.Open accepts: an embedded model name ("default"),
	// a checkpoint or ONNX file, or a served http://…/v2/models/NAME URL.
	Model string `flag:"model" help:"embedded model, checkpoint, ONNX file or served http://host:port/v2/models/NAME"`
	// Data and DataDir name the labelled test split (data.Open).
	Data    string `flag:"data" help:"data set whose test split is attacked (data.Open names)"`
	DataDir string `flag:"data-dir" help:"directory of the data set's files, where it has some"`
	// N is the number of test images attacked: the first N.
	N int `flag:"n" help:"test images attacked (the first n of the split)"`
	// Budgets are the query budgets reported; the largest is every
	// attack's budget.
	Budgets []int `flag:"budgets" help:"query budgets reported (the largest is the attack budget)"`
	// Defenses are registered output defenses ("none": undefended).
	Defenses []string `flag:"defenses" help:"output defenses (registered names; none = undefended)"`
	// Eps is the L∞ radius.
	Eps float64 `flag:"eps" help:"L∞ radius on the [0, 1] pixel scale"`
	// Calibrate is the number of test images after the attacked ones on
	// which AAA's temperature is tuned (0: not tuned).
	Calibrate int `flag:"calibrate" help:"test images after the attacked ones that tune AAA's temperature (0 = none)"`
	// Seed seeds the attacks and randomized defenses.
	Seed uint64 `flag:"seed" help:"seed of attacks and randomized defenses"`
	// Shard attacks only the images i with i mod N = I; the --out files
	// of all shards merge with From.
	Shard shard.Spec `flag:"shard" help:"attack only shard i/N of the images (save with --out, merge with --from)"`
	// Out, when set, saves the evaluation (robust.Report JSON) there.
	Out string `flag:"out" help:"save the evaluation as JSON to this file, for --from"`
	// From, when set, merges saved evaluations instead of attacking.
	From []string `flag:"from" help:"merge evaluations saved with --out (comma-separated) instead of attacking"`
	// Attacks are the compared attacks (default querynet and square);
	// settable from Go only.
	Attacks []string
}

// DefaultQueryNetConfig is the default reproduction: the embedded model,
// the first 50 embedded Fashion-MNIST test images, ℓ∞ ε = 0.1, budgets
// 100/500/2500, undefended, AAA-linear and RND, AAA's temperature tuned on
// the next 500 test images.
func DefaultQueryNetConfig() QueryNetConfig {
	return QueryNetConfig{Model: "default", Data: data.DefaultName, N: 50, Budgets: []int{100, 500, 2500},
		Defenses: []string{"none", "aaa-linear", "rnd"}, Eps: 0.1, Calibrate: 500,
		Attacks: []string{"querynet", "square"}}
}

// QueryNetResult is the outcome of [QueryNetRepro]: the evaluation and
// the table beside the official logs.
type QueryNetResult struct {
	Report *robust.Report `json:"report"`
	Table  *Table         `json:"table"`
}

// QueryNetRepro compares QueryNet with Square (robustness.md §4) on the
// same images: success rate and mean and median queries to success at
// each budget, undefended and behind each defense, on any model zoo.Open
// accepts, with the official logs' CIFAR-10 numbers beside ours. Samples
// whose queries failed make the table incomplete (WriteText then returns
// an error after printing).
func QueryNetRepro(ctx context.Context, cfg *QueryNetConfig, pr progress.Reporter) (*QueryNetResult, error) {
	start := time.Now()
	rep, err := queryNetReport(ctx, cfg, pr)
	if err != nil {
		return nil, err
	}
	if cfg.Out != "" {
		b, err := json.MarshalIndent(rep, "", " ")
		if err == nil {
			err = atomicfile.WriteFile(cfg.Out, append(b, '\n'), 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("repro: querynet: saving %s: %w", cfg.Out, err)
		}
	}
	t := queryNetTable(rep)
	t.Seconds = time.Since(start).Seconds()
	return &QueryNetResult{Report: rep, Table: t}, nil
}

// queryNetReport runs the evaluation, or merges saved ones.
func queryNetReport(ctx context.Context, cfg *QueryNetConfig, pr progress.Reporter) (*robust.Report, error) {
	if len(cfg.From) > 0 {
		rep, err := robust.MergeFiles(cfg.From...)
		if err != nil {
			return nil, fmt.Errorf("repro: querynet: %w", err)
		}
		return rep, nil
	}
	if cfg.N < 1 || cfg.Calibrate < 0 || cfg.Eps <= 0 || cfg.Eps > 1 || len(cfg.Budgets) == 0 {
		return nil, fmt.Errorf("repro: querynet: n %d must be ≥ 1, calibrate %d ≥ 0, eps %g in (0, 1], and some budget given", cfg.N, cfg.Calibrate, cfg.Eps)
	}
	attacks := cfg.Attacks
	if len(attacks) == 0 {
		attacks = []string{"querynet", "square"}
	}
	rc, err := robust.NamedConfig(attacks, cfg.Defenses, nil)
	if err != nil {
		return nil, fmt.Errorf("repro: querynet: %w", err)
	}
	budgets := slices.Sorted(slices.Values(cfg.Budgets))
	if budgets[0] < 1 {
		return nil, fmt.Errorf("repro: querynet: budget %d must be ≥ 1", budgets[0])
	}
	rc.Norm, rc.Eps, rc.Budget, rc.Checkpoints = attack.LInf, cfg.Eps, budgets[len(budgets)-1], slices.Compact(budgets)
	rc.Seed, rc.Shard, rc.Progress = cfg.Seed, cfg.Shard, pr
	test, err := data.Open(cfg.Data, data.Test, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("repro: querynet: %w", err)
	}
	if cfg.N > test.Len() {
		return nil, fmt.Errorf("repro: querynet: n %d exceeds the %d test images of %s", cfg.N, test.Len(), test.Name)
	}
	c, err := zoo.Open(ctx, cfg.Model, oip.ClientOptions{})
	if err != nil {
		return nil, fmt.Errorf("repro: querynet: %w", err)
	}
	calib := 0
	if cfg.Calibrate > 0 && rc.TunesTemperature() {
		calib = min(cfg.Calibrate, test.Len()-cfg.N)
		test = test.Head(cfg.N + calib)
	}
	rep, err := robust.RunDataset(ctx, c, test, cfg.N, calib, rc)
	if err != nil {
		return nil, fmt.Errorf("repro: querynet: %w", err)
	}
	rep.Model, rep.Data = cfg.Model, fmt.Sprintf("%s (test, first %d)", test.Name, cfg.N)
	return rep, nil
}

// queryNetPair returns the pair of r for attack a and defense d.
func queryNetPair(r *robust.Report, a, d string) *robust.Pair {
	for i := range r.Pairs {
		if r.Pairs[i].Attack == a && r.Pairs[i].Defense == d {
			return &r.Pairs[i]
		}
	}
	return nil
}

// queryNetAt returns, for a pair at checkpoint ci, the success rate (%
// of the clean-correct samples), robust accuracy (%) and mean and median
// queries to success, each nil when not measured.
func queryNetAt(p *robust.Pair, ci int) (succ, acc, mean, median *float64) {
	if p == nil || p.Summary.N == 0 || ci >= len(p.Summary.SuccessesAt) {
		return nil, nil, nil, nil
	}
	correct := 0
	for _, s := range p.Samples {
		if s.Failed == "" && s.CleanCorrect {
			correct++
		}
	}
	f := func(v float64) *float64 { return &v }
	acc = f(100 * p.Summary.RobustAccuracy[ci])
	if correct > 0 {
		succ = f(100 * float64(p.Summary.SuccessesAt[ci]) / float64(correct))
	}
	if p.Summary.SuccessesAt[ci] > 0 {
		mean, median = f(p.Summary.MeanQueriesAt[ci]), f(p.Summary.MedianQueriesAt[ci])
	}
	return succ, acc, mean, median
}

func statOf(v *float64) Stat {
	if v == nil || math.IsNaN(*v) {
		return NewStat(nil)
	}
	return NewStat([]float64{*v})
}

// queryNetTable puts the official logs beside our numbers.
func queryNetTable(r *robust.Report) *Table {
	t := &Table{
		Paper: queryNetPaper,
		Protocol: fmt.Sprintf("ours: model %s on %s, %d images, ℓ∞ ε=%g, budget %d, seed %d; QueryNet with 3 small fixed surrogates (conv2, conv1, mlp) trained online + Square+; paper: %s",
			r.Model, r.Data, r.N, queryNetEps(r), r.Budget, r.Seed, queryNetCIFAR),
		Claim: "QueryNet needs about an order of magnitude fewer queries than Square on average across victims, at a higher success rate",
		Notes: []string{
			"success rate: samples fooled within the budget, of those the model classified correctly; queries count the clean query (subtract 1 to compare with the Square code's count)",
			"the paper's numbers are mean queries with a 10,000-query budget; ours are within each budget",
			"success rate and mean and median queries at every budget are in the summary above the table",
			"paper-numbers.md has no QueryNet entry: the paper values are the official run logs quoted in robustness.md §4 (no numbers behind AAA or RND are public)",
		},
	}
	if err := r.Failures(); err != nil {
		t.Failed = append(t.Failed, err.Error())
	}
	differs := "our model and data; ε 0.1, not 8/255"
	defs := queryNetDefenses(r)
	for _, d := range defs {
		for _, a := range []string{"square", "querynet"} {
			p := queryNetPair(r, a, d)
			if p == nil {
				continue
			}
			for ci, q := range r.Checkpoints {
				succ, acc, mean, median := queryNetAt(p, ci)
				paperAcc := NotPublic(queryNetSource, queryNetCIFAR+", "+d)
				if lg, ok := queryNetLogs[a]; ok && d == "none" && (q == 100 || q == 2500) {
					paperAcc = Published(map[int]float64{100: lg.acc100, 2500: lg.acc2500}[q], queryNetSource, fmt.Sprintf("%s, %d queries", queryNetCIFAR, q))
				}
				paperMean := NotPublic(queryNetSource, queryNetCIFAR+", "+d)
				if lg, ok := queryNetLogs[a]; ok && d == "none" && q == r.Budget {
					paperMean = Published(lg.meanQ, queryNetSource, queryNetCIFAR+", 10,000-query budget")
				}
				setting := fmt.Sprintf("%s, %d queries", d, q)
				t.Rows = append(t.Rows, Row{Setting: setting, Method: a, Metric: "robust accuracy %", Paper: paperAcc, Ours: statOf(acc), Differs: differs})
				if q == r.Budget {
					t.Rows = append(t.Rows, Row{Setting: setting, Method: a, Metric: "success rate %", Paper: NotPublic(queryNetSource, queryNetCIFAR), Ours: statOf(succ), Differs: differs},
						Row{Setting: setting, Method: a, Metric: "mean queries to success", Paper: paperMean, Ours: statOf(mean), Differs: differs},
						Row{Setting: setting, Method: a, Metric: "median queries to success", Paper: NotPublic(queryNetSource, queryNetCIFAR), Ours: statOf(median), Differs: differs})
				}
			}
		}
		// Query savings: Square's mean queries to success over QueryNet's
		// at the largest budget.
		ci := len(r.Checkpoints) - 1
		_, _, ms, _ := queryNetAt(queryNetPair(r, "square", d), ci)
		_, _, mq, _ := queryNetAt(queryNetPair(r, "querynet", d), ci)
		var ratio *float64
		if ms != nil && mq != nil && *mq > 0 {
			v := *ms / *mq
			ratio = &v
		}
		paper := NotPublic(queryNetSource, queryNetCIFAR+", "+d)
		if d == "none" {
			paper = Published(queryNetLogs["square"].meanQ/queryNetLogs["querynet"].meanQ, queryNetSource, queryNetCIFAR+", 10,000-query budget (366 / 210)")
		}
		t.Rows = append(t.Rows, Row{Setting: fmt.Sprintf("%s, %d queries", d, r.Budget), Method: "querynet vs square",
			Metric: "query savings (Square mean / QueryNet mean)", Paper: paper, Ours: statOf(ratio), Differs: differs})
	}
	return t
}

// queryNetDefenses lists the defenses of r in the order of its clean
// evaluations.
func queryNetDefenses(r *robust.Report) []string {
	var defs []string
	for _, c := range r.Clean {
		defs = append(defs, c.Defense)
	}
	return defs
}

func queryNetEps(r *robust.Report) float64 {
	if len(r.Pairs) > 0 {
		return r.Pairs[0].Threat.Eps
	}
	return math.NaN()
}

// WriteText prints the comparison: one line per defense and attack with
// success rate and mean / median queries to success at every budget, the
// query savings, and the table beside the official logs. It returns an
// error after printing when samples failed (their numbers are n/a or
// bounds, and the reproduction is incomplete).
func (res *QueryNetResult) WriteText(w io.Writer) error {
	r := res.Report
	fmt.Fprintf(w, "QueryNet vs Square: model %s on %s, ℓ∞ ε=%g, budget %d queries per image\n", r.Model, r.Data, queryNetEps(r), r.Budget)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"defense", "attack", "clean acc"}
	for _, q := range r.Checkpoints {
		head = append(head, fmt.Sprintf("success@%d", q), fmt.Sprintf("mean q@%d", q), fmt.Sprintf("median q@%d", q))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	na := func(v *float64, verb string) string {
		if v == nil {
			return "n/a"
		}
		return fmt.Sprintf(verb, *v)
	}
	for _, d := range queryNetDefenses(r) {
		for _, a := range []string{"square", "querynet"} {
			p := queryNetPair(r, a, d)
			if p == nil {
				continue
			}
			cols := []string{d, a, "n/a"}
			if p.Summary.N > 0 {
				cols[2] = fmt.Sprintf("%.2f%%", 100*p.Summary.CleanAccuracy)
			}
			for ci := range r.Checkpoints {
				succ, _, mean, median := queryNetAt(p, ci)
				cols = append(cols, na(succ, "%.2f%%"), na(mean, "%.1f"), na(median, "%.1f"))
			}
			fmt.Fprintln(tw, strings.Join(cols, "\t"))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := res.Table.WriteText(w); err != nil {
		return err
	}
	if !res.Table.Complete() {
		return errors.New("repro: querynet: incomplete: " + strings.Join(res.Table.Failed, "; "))
	}
	return nil
}
