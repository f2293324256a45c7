package repro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/plot"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/robust"
	"github.com/trustml/trustml/shard"
	"github.com/trustml/trustml/zoo"
)

// DefensesConfig configures [Defenses], the output-defense leaderboard.
// The tagged fields are the flags of "trustml repro defenses".
type DefensesConfig struct {
	Model   string `flag:"model" help:"model: default, an embedded name, a checkpoint, an .onnx file or a served URL"`
	Data    string `flag:"data" help:"labelled data set whose test split is attacked"`
	DataDir string `flag:"data-dir" help:"directory of downloaded data sets"`
	// N is the number of test images attacked (the first of the split).
	N int `flag:"n" help:"attack the first n test images"`
	// Calibrate is the number of held-out test images (from the end of the
	// split) AAA's temperature is tuned on (0: no tuning).
	Calibrate int `flag:"calibrate" help:"tune AAA's temperature on up to this many test images from the end of the split (0 = off)"`
	// Budgets are the query budgets reported; the largest is each
	// attack's budget per image.
	Budgets []int `flag:"budgets" help:"query budgets reported (the largest is the budget per image)"`
	// Attacks and Defenses name registered attacks and defenses; empty
	// means every score-based attack and every defense in the registries.
	Attacks  []string `flag:"attacks" help:"score-based attacks (empty = every one in the registry)"`
	Defenses []string `flag:"defenses" help:"output defenses (empty = every one in the registry)"`
	// Eps is the ℓ∞ radius of the ℓ∞ attacks, EpsL2 the ℓ2 radius of the
	// ℓ2 ones (square-l2).
	Eps   float64 `flag:"eps" help:"L∞ radius of the L∞ attacks"`
	EpsL2 float64 `flag:"eps-l2" help:"L2 radius of the L2 attacks"`
	Seed  uint64  `flag:"seed" help:"seed of the attacks and randomized defenses"`
	// Shard runs one shard of the images; Out receives its JSON, and From
	// merges the shards' JSON files into the leaderboard.
	Shard shard.Spec `flag:"shard" help:"run shard i/N of the images (merge the --out files with --from)"`
	// Out, if set, is where the leaderboard is written: Out.json (the
	// per-image records, mergeable) and, once every shard is in, Out.md and
	// Out.png (a trailing .json is dropped first).
	Out string `flag:"out" help:"write OUT.json (and, when complete, OUT.md and OUT.png)"`
	// From, if set, merges these JSON files of [Defenses] runs (the shards
	// of one evaluation) instead of running.
	From []string `flag:"from" help:"merge these --out JSON files of the shards instead of running"`
	// CostQueries is the least number of queries each defense's cost is
	// timed on per pass (the evaluated images, repeated).
	CostQueries int
	Options     oip.ClientOptions
	Progress    progress.Reporter
}

// DefaultDefensesConfig is the leaderboard at small scale on the
// embedded model: the first 5 embedded test images, budgets 100, 500 and
// 2500, ℓ∞ ε = 0.1 (ℓ2 1.5), AAA tuned on 1000 held-out images.
func DefaultDefensesConfig() DefensesConfig {
	return DefensesConfig{Model: "default", Data: data.DefaultName, N: 5, Calibrate: 1000, CostQueries: 256, Budgets: []int{100, 500, 2500}, Eps: 0.1, EpsL2: 1.5, Seed: 1}
}

// Cost is the CPU time the defended model took for a number of queries
// (one query: one image), measured on the evaluated images.
type Cost struct {
	// Clock says how Seconds was measured: the process's CPU time (all
	// threads), or the wall clock where that is not available.
	Clock   string  `json:"clock"`
	Defense string  `json:"defense"` // "" for the undefended model
	Seconds float64 `json:"seconds"`
	Queries int     `json:"queries"`
}

// Cell is one attack's robust accuracy against one defense at every budget.
type Cell struct {
	Attack string `json:"attack"`
	// Robust holds the accuracies at Leaderboard.Budgets; nil when some
	// image failed (not measured: printed n/a).
	Robust      []float64 `json:"robust"`
	MeanQueries float64   `json:"mean_queries"` // of the successful attacks within the largest budget
	Successes   int       `json:"successes"`
	Failed      int       `json:"failed"`
}

// BoardRow is one defense of the leaderboard.
type BoardRow struct {
	Defense       string  `json:"defense"`
	CleanAccuracy float64 `json:"clean_accuracy"`
	ECE           float64 `json:"ece"`
	Cells         []Cell  `json:"attacks"`
	// Worst is, at each budget, the lowest robust accuracy over the
	// attacks (nil when a cell was not measured).
	Worst []float64 `json:"worst"`
	// MeanQueries is the mean over the attacks of their mean queries to
	// success (attacks without a success left out; NaN → null when none).
	MeanQueries *float64 `json:"mean_queries"`
	// MsPerQuery is the defended model's CPU time per query (see [Cost])
	// and RelCost that divided by the undefended model's.
	MsPerQuery float64 `json:"ms_per_query"`
	RelCost    float64 `json:"relative_cost"`
}

// Leaderboard is the result of [Defenses]: every score-based attack
// against every output defense on one model.
type Leaderboard struct {
	Model   string         `json:"model"`
	Data    string         `json:"data"`
	N       int            `json:"n"`
	Eps     float64        `json:"eps"`
	EpsL2   float64        `json:"eps_l2"`
	Budgets []int          `json:"budgets"`
	Report  *robust.Report `json:"report"` // per-image records, mergeable
	Costs   []Cost         `json:"costs"`
	// CostQueries is the least number of queries a cost was timed on.
	CostQueries int        `json:"cost_queries"`
	Rows        []BoardRow `json:"rows"` // best worst case first
	Paper       []Row      `json:"paper"`
	// Complete is set when every shard is in; Failed lists the pairs with
	// failed images (their cells print n/a).
	Complete bool     `json:"complete"`
	Failed   []string `json:"failed,omitempty"`
	Files    []string `json:"files,omitempty"`
	Seconds  float64  `json:"seconds"`
}

// Defenses runs the output-defense leaderboard: every configured
// score-based attack against every configured defense on cfg.Model, with
// robust.RunDataset, plus each defense's cost per query; or, with
// cfg.From, merges the shards' JSON files. With cfg.Out the leaderboard
// is written as JSON, markdown and PNG.
func Defenses(ctx context.Context, cfg DefensesConfig) (*Leaderboard, error) {
	start := time.Now()
	var lb *Leaderboard
	var err error
	if len(cfg.From) > 0 {
		lb, err = mergeBoards(cfg.From)
	} else {
		lb, err = runBoard(ctx, cfg)
	}
	if err != nil {
		return lb, err
	}
	lb.Seconds += time.Since(start).Seconds()
	lb.build()
	if cfg.Out != "" {
		if err := lb.WriteFiles(strings.TrimSuffix(cfg.Out, ".json")); err != nil {
			return lb, err
		}
	}
	return lb, nil
}

// runBoard evaluates one shard (or all) of the leaderboard.
func runBoard(ctx context.Context, cfg DefensesConfig) (*Leaderboard, error) {
	if len(cfg.Budgets) == 0 {
		return nil, fmt.Errorf("repro: defenses: no budget given")
	}
	budgets := slices.Clone(cfg.Budgets)
	sort.Ints(budgets)
	attacks, defenses := cfg.Attacks, cfg.Defenses
	if len(attacks) == 0 {
		attacks = []string{"all"}
	}
	if len(defenses) == 0 {
		defenses = []string{"all"}
	}
	for _, a := range attacks {
		if attack.WhiteBox(a) {
			return nil, fmt.Errorf("repro: defenses: %s is a white-box attack; output defenses are benchmarked against score-based ones", a)
		}
	}
	rc, err := robust.NamedConfig(attacks, defenses, nil)
	if err != nil {
		return nil, fmt.Errorf("repro: defenses: %w", err)
	}
	if !(cfg.Eps > 0 && cfg.Eps <= 1) || !(cfg.EpsL2 > 0) || math.IsInf(cfg.EpsL2, 0) {
		return nil, fmt.Errorf("repro: defenses: eps %v must be in (0, 1] and eps-l2 %v positive", cfg.Eps, cfg.EpsL2)
	}
	for _, a := range rc.Attacks {
		if th := a.ThreatModel(); th.Norm == attack.L2 {
			th.Eps = cfg.EpsL2
		} else {
			th.Eps = cfg.Eps
		}
	}
	rc.Budget, rc.Checkpoints, rc.Quantize, rc.Seed, rc.Shard, rc.Progress = budgets[len(budgets)-1], budgets, true, cfg.Seed, cfg.Shard, cfg.Progress
	c, err := zoo.Open(ctx, cfg.Model, cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("repro: defenses: %w", err)
	}
	d, err := data.Open(cfg.Data, data.Test, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("repro: defenses: %w", err)
	}
	rep, err := robust.RunDataset(ctx, c, d, cfg.N, cfg.Calibrate, rc)
	if err != nil {
		return nil, fmt.Errorf("repro: defenses: %w", err)
	}
	n := min(cfg.N, d.Len())
	if cfg.N == 0 {
		n = d.Len()
	}
	rep.Model, rep.Data = cfg.Model, fmt.Sprintf("%s (test, first %d)", d.Name, n)
	lb := &Leaderboard{Model: cfg.Model, Data: rep.Data, N: n, Eps: cfg.Eps, EpsL2: cfg.EpsL2, Budgets: budgets, Report: rep, CostQueries: cfg.CostQueries}
	sp := cfg.Shard
	if sp.Count == 0 {
		sp = shard.Spec{Index: 0, Count: 1}
	}
	size := d.SampleSize()
	var xs []float32
	for _, i := range sp.Indices(n) {
		xs = append(xs, d.X[i*size:(i+1)*size]...)
	}
	if lb.Costs, err = measureCosts(ctx, c, rc.Defenses, xs, cfg.CostQueries, cfg.Seed); err != nil {
		return nil, fmt.Errorf("repro: defenses: cost: %w", err)
	}
	return lb, nil
}

// costRepeats is how many times [measureCosts] times each pass; the
// fastest counts, the others being slowed by whatever shares the machine.
const costRepeats = 3

// measureCosts times the undefended model and each defense on xs
// (repeated to at least minQueries images) in batches of 64 queries, the
// fastest of costRepeats passes, by the process's CPU time (all threads),
// so that other jobs on a shared machine do not count.
func measureCosts(ctx context.Context, c model.Classifier, defs []robust.Defense, xs []float32, minQueries int, seed uint64) ([]Cost, error) {
	size, k := model.InputSize(c), c.NumClasses()
	if len(xs) == 0 {
		return nil, nil
	}
	for len(xs) < minQueries*size {
		xs = append(xs, xs...)
	}
	n := len(xs) / size
	const batch = 64
	out := make([]float32, batch*k)
	pass := func(m model.Classifier) (float64, error) {
		best := math.Inf(1)
		for range costRepeats {
			t0 := processCPU()
			for lo := 0; lo < n; lo += batch {
				hi := min(lo+batch, n)
				if err := m.Logits(ctx, out[:(hi-lo)*k], xs[lo*size:hi*size]); err != nil {
					return 0, err
				}
			}
			best = math.Min(best, (processCPU() - t0).Seconds())
		}
		return best, nil
	}
	s, err := pass(c)
	if err != nil {
		return nil, err
	}
	costs := []Cost{{Clock: cpuClock, Seconds: s, Queries: n}}
	for _, dd := range defs {
		d, err := dd.New(seed)
		if err != nil {
			return nil, err
		}
		var m model.Classifier = defense.Wrap(c, d)
		if _, ok := d.(defense.Identity); ok {
			m = c
		}
		if s, err = pass(m); err != nil {
			return nil, fmt.Errorf("%s: %w", dd.Name, err)
		}
		costs = append(costs, Cost{Clock: cpuClock, Defense: dd.Name, Seconds: s, Queries: n})
	}
	return costs, nil
}

// mergeBoards reads the JSON files of the shards of one leaderboard and
// merges them (robust.Merge checks they are the shards of one run).
func mergeBoards(files []string) (*Leaderboard, error) {
	var boards []*Leaderboard
	var reps []*robust.Report
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("repro: defenses: %w", err)
		}
		lb := new(Leaderboard)
		if err := json.Unmarshal(b, lb); err != nil {
			return nil, fmt.Errorf("repro: defenses: %s: %w", f, err)
		}
		if lb.Report == nil {
			return nil, fmt.Errorf("repro: defenses: %s holds no report (not written by trustml repro defenses --out)", f)
		}
		if len(boards) > 0 {
			if p := boards[0]; lb.Eps != p.Eps || lb.EpsL2 != p.EpsL2 || !slices.Equal(lb.Budgets, p.Budgets) {
				return nil, fmt.Errorf("repro: defenses: %s: eps, eps-l2 or budgets differ from %s's", f, files[0])
			}
		}
		boards = append(boards, lb)
		reps = append(reps, lb.Report)
	}
	rep, err := robust.Merge(reps...)
	if err != nil {
		return nil, fmt.Errorf("repro: defenses: %w", err)
	}
	f := boards[0]
	out := &Leaderboard{Model: f.Model, Data: f.Data, N: f.N, Eps: f.Eps, EpsL2: f.EpsL2, Budgets: f.Budgets, Report: rep, CostQueries: f.CostQueries}
	idx := map[string]int{}
	for _, b := range boards {
		out.Seconds += b.Seconds
		for _, c := range b.Costs {
			i, ok := idx[c.Defense]
			if !ok {
				i = len(out.Costs)
				idx[c.Defense] = i
				out.Costs = append(out.Costs, Cost{Defense: c.Defense, Clock: c.Clock})
			}
			out.Costs[i].Seconds += c.Seconds
			out.Costs[i].Queries += c.Queries
		}
	}
	return out, nil
}

// build computes the rows from the report and the costs.
func (lb *Leaderboard) build() {
	rep := lb.Report
	lb.Complete = len(rep.Shards) == rep.NumShards
	lb.Rows, lb.Failed = nil, nil
	ms := map[string]float64{}
	for _, c := range lb.Costs {
		if c.Queries > 0 {
			ms[c.Defense] = 1000 * c.Seconds / float64(c.Queries)
		}
	}
	for _, dc := range rep.Clean {
		row := BoardRow{Defense: dc.Defense, CleanAccuracy: dc.Summary.Accuracy, ECE: dc.Summary.ECE,
			MsPerQuery: ms[dc.Defense], Worst: make([]float64, len(lb.Budgets))}
		if base := ms[""]; base > 0 {
			row.RelCost = ms[dc.Defense] / base
		}
		for i := range row.Worst {
			row.Worst[i] = math.Inf(1)
		}
		var qsum float64
		var qn int
		for _, p := range rep.Pairs {
			if p.Defense != dc.Defense {
				continue
			}
			s := p.Summary
			cell := Cell{Attack: p.Attack, Failed: s.Failed, Successes: s.Successes, MeanQueries: s.MeanQueries}
			if s.Failed == 0 && s.N > 0 {
				cell.Robust = s.RobustAccuracy
				for i, v := range s.RobustAccuracy {
					row.Worst[i] = math.Min(row.Worst[i], v)
				}
			} else {
				row.Worst = nil
				lb.Failed = append(lb.Failed, fmt.Sprintf("%s vs %s: %d images failed", p.Attack, p.Defense, s.Failed))
			}
			if s.Successes > 0 {
				qsum += s.MeanQueries
				qn++
			}
			row.Cells = append(row.Cells, cell)
		}
		if qn > 0 {
			m := qsum / float64(qn)
			row.MeanQueries = &m
		}
		if dc.Summary.Failed > 0 {
			lb.Failed = append(lb.Failed, fmt.Sprintf("clean pass of %s: %d images failed", dc.Defense, dc.Summary.Failed))
		}
		if len(row.Cells) == 0 || slices.Contains(row.Worst, math.Inf(1)) {
			row.Worst = nil
		}
		lb.Rows = append(lb.Rows, row)
	}
	// Best worst case at the largest budget first; unmeasured rows last.
	// Ties are broken at the next smaller budget.
	sort.SliceStable(lb.Rows, func(a, b int) bool {
		wa, wb := lb.Rows[a].Worst, lb.Rows[b].Worst
		if wa == nil || wb == nil {
			return wb == nil && wa != nil
		}
		for i := len(wa) - 1; i >= 0; i-- {
			if wa[i] != wb[i] {
				return wa[i] > wb[i]
			}
		}
		return false
	})
	lb.Paper = defensePaperRows(lb)
}

// clock is how the costs were measured.
func (lb *Leaderboard) clock() string {
	for _, c := range lb.Costs {
		if c.Clock != "" {
			return c.Clock
		}
	}
	return "wall-clock time"
}

// pct formats a fraction as a percentage, or n/a.
func pct(v []float64, i int) string {
	if v == nil || i >= len(v) || math.IsNaN(v[i]) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", 100*v[i])
}

// budgetsText joins the values at every budget: "61/60/60".
func budgetsText(v []float64, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = pct(v, i)
	}
	return strings.Join(parts, "/")
}

// ErrIncomplete is returned by [Leaderboard.WriteText] and
// [Leaderboard.WriteMarkdown] after printing a leaderboard with cells not
// measured (images whose queries failed), so that the command exits
// non-zero.
var ErrIncomplete = errors.New("repro: defenses: leaderboard incomplete")

// WriteText prints the leaderboard as markdown (see
// [Leaderboard.WriteMarkdown]).
func (lb *Leaderboard) WriteText(w io.Writer) error { return lb.WriteMarkdown(w) }

// WriteMarkdown writes the leaderboard as markdown tables: one row per
// defense, best worst case first, robust accuracy (%) at every budget per
// attack, then the paper's numbers beside ours. It returns
// [ErrIncomplete] after writing when a cell was not measured.
func (lb *Leaderboard) WriteMarkdown(w io.Writer) error {
	rep := lb.Report
	bs := make([]string, len(lb.Budgets))
	for i, b := range lb.Budgets {
		bs[i] = fmt.Sprint(b)
	}
	fmt.Fprintf(w, "# Output-defense leaderboard\n\nmodel %s on %s; ℓ∞ ε = %g (ℓ2 attacks: ε = %g), 8-bit quantized queries; robust accuracy %% after %s queries per image (a/b/c); shards %v of %d\n\n",
		lb.Model, lb.Data, lb.Eps, lb.EpsL2, strings.Join(bs, " / "), rep.Shards, rep.NumShards)
	var attacks []string
	if len(lb.Rows) > 0 {
		for _, c := range lb.Rows[0].Cells {
			attacks = append(attacks, c.Attack)
		}
	}
	head := append([]string{"rank", "defense", "clean acc", "ECE", "worst case"}, attacks...)
	head = append(head, "mean queries", "ms/query", "cost ×")
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for i, r := range lb.Rows {
		cells := []string{fmt.Sprint(i + 1), r.Defense, fmt.Sprintf("%.1f%%", 100*r.CleanAccuracy), fmt.Sprintf("%.2f%%", 100*r.ECE), "**" + budgetsText(r.Worst, len(lb.Budgets)) + "**"}
		for _, c := range r.Cells {
			cells = append(cells, budgetsText(c.Robust, len(lb.Budgets)))
		}
		mq := "–"
		if r.MeanQueries != nil {
			mq = fmt.Sprintf("%.0f", *r.MeanQueries)
		}
		cells = append(cells, mq, fmt.Sprintf("%.3f", r.MsPerQuery), fmt.Sprintf("%.2f", r.RelCost))
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintf(w, "\nworst case: the lowest robust accuracy over the %d attacks at each budget; mean queries: the mean over the attacks of the mean queries of their successful attacks (clean query included); ms/query and cost ×: the defended model's time per query (%s), and that over the undefended model's (the fastest of %d passes over the attacked images, repeated to at least %d queries, in batches of 64). class-labels returns labels only: no score-based attack can work, and no scores are left to use.\n", len(attacks), lb.clock(), costRepeats, lb.CostQueries)
	if len(lb.Paper) > 0 {
		fmt.Fprintf(w, "\n## The papers' numbers beside ours\n\n| setting | defense | attack, queries | paper | source | ours |\n|---|---|---|---|---|---|\n")
		for _, p := range lb.Paper {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", p.Paper.Setting, p.Method, p.Metric, p.Paper.Format("%.2f%%"), p.Paper.Source, p.Ours.Format("%.0f%%"))
		}
		fmt.Fprintf(w, "\nours: %s; the papers: CIFAR-10 (WideResNet-28 for AAA, PreActResNet-18 for UniG), ε = 8/255, 10,000 images. Only directions compare.\n", lb.Data)
	}
	if len(lb.Files) > 0 {
		fmt.Fprintf(w, "\nfiles: %s\n", strings.Join(lb.Files, ", "))
	}
	if !lb.Complete {
		fmt.Fprintf(w, "\npartial: shards %v of %d (merge all shards' --out files with --from)\n", rep.Shards, rep.NumShards)
	}
	if len(lb.Failed) > 0 {
		fmt.Fprintf(w, "\nINCOMPLETE, not measured (n/a): %s\n", strings.Join(lb.Failed, "; "))
		return ErrIncomplete
	}
	return nil
}

// defensePaperRows puts the AAA poster's Table 2 (CIFAR-10) and the UniG
// abstract beside our pairs with the same attack and defense.
func defensePaperRows(lb *Leaderboard) []Row {
	const aaaSrc, aaaSet = "AAA poster, Table 2", "CIFAR-10, WRN-28, ℓ∞ 8/255"
	type ref struct {
		defense, attack string
		queries         int
		value           float64
		source, setting string
	}
	refs := []ref{
		{"none", "square", 100, 39.38, aaaSrc, aaaSet}, {"none", "square", 2500, 0.09, aaaSrc, aaaSet},
		{"rnd", "square", 100, 60.83, aaaSrc, aaaSet}, {"rnd", "square", 2500, 49.15, aaaSrc, aaaSet},
		{"aaa-linear", "square", 100, 81.36, aaaSrc, aaaSet}, {"aaa-linear", "square", 2500, 80.59, "AAA abstract; poster Table 2", aaaSet},
		{"none", "signhunter", 2500, 0.04, aaaSrc, aaaSet}, {"rnd", "signhunter", 2500, 47.82, aaaSrc, aaaSet}, {"aaa-linear", "signhunter", 2500, 76.71, aaaSrc, aaaSet},
		{"none", "nes", 2500, 12.24, aaaSrc, aaaSet}, {"rnd", "nes", 2500, 68.19, aaaSrc, aaaSet}, {"aaa-linear", "nes", 2500, 85.95, aaaSrc, aaaSet},
		{"none", "bandits", 2500, 41.03, aaaSrc, aaaSet}, {"rnd", "bandits", 2500, 41.65, aaaSrc, aaaSet}, {"aaa-linear", "bandits", 2500, 78.36, aaaSrc, aaaSet},
		{"unig", "square", 100, 81.90, "UniG README (robustness.md §6.3)", "CIFAR-10, PreActResNet-18, ℓ∞ 8/255"},
		{"unig", "square", 2500, 77.80, "UniG abstract (adversarial training: 67.34%)", "CIFAR-10, PreActResNet-18, ℓ∞ 8/255"},
	}
	var rows []Row
	for _, r := range refs {
		bi := slices.Index(lb.Budgets, r.queries)
		if bi < 0 {
			continue
		}
		for _, row := range lb.Rows {
			if row.Defense != r.defense {
				continue
			}
			for _, c := range row.Cells {
				if c.Attack != r.attack {
					continue
				}
				ours := NewStat(nil)
				if c.Robust != nil {
					ours = NewStat([]float64{100 * c.Robust[bi]})
				}
				rows = append(rows, Row{Setting: lb.Data, Method: r.defense, Metric: fmt.Sprintf("%s, %d", r.attack, r.queries),
					Paper: Published(r.value, r.source, r.setting), Ours: ours})
			}
		}
	}
	return rows
}

// WriteFiles writes stem.json and, when the leaderboard is complete,
// stem.md and stem.png (worst-case robust accuracy against queries, one
// line per defense).
func (lb *Leaderboard) WriteFiles(stem string) error {
	if dir := filepath.Dir(stem); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("repro: defenses: %w", err)
		}
	}
	lb.Files = []string{stem + ".json"}
	if lb.Complete {
		lb.Files = append(lb.Files, stem+".md", stem+".png")
		var series []plot.Series
		for _, r := range lb.Rows {
			if r.Worst == nil {
				continue
			}
			s := plot.Series{Name: r.Defense}
			for i, b := range lb.Budgets {
				s.X = append(s.X, float64(b))
				s.Y = append(s.Y, 100*r.Worst[i])
			}
			series = append(series, s)
		}
		if err := plot.Lines(stem+".png", "worst-case robust accuracy over the score-based attacks", "queries per image", "robust accuracy %", true, series); err != nil {
			return err
		}
		if err := atomicfile.Write(stem+".md", 0o644, func(w io.Writer) error {
			if err := lb.WriteMarkdown(w); err != nil && !errors.Is(err, ErrIncomplete) {
				return err
			}
			return nil
		}); err != nil {
			return fmt.Errorf("repro: defenses: %w", err)
		}
	}
	b, err := json.MarshalIndent(lb, "", " ")
	if err != nil {
		return fmt.Errorf("repro: defenses: %w", err)
	}
	return atomicfile.WriteFile(stem+".json", append(b, '\n'), 0o644)
}
