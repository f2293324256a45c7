// Package transfer measures how white-box ℓ∞ attacks crafted on one model
// (the surrogate) transfer to others (the targets), and the ℓ2 measure of
// ℓ∞ transferability (robustness.md §15): at equal ℓ∞ radius ε, attacks
// whose perturbations have larger ℓ2 norms transfer better, so a
// comparison of transfer attacks should report ‖δ‖₂ / (ε√d) beside the
// success rate, and hold both norms fixed.
//
// [Run] crafts PGD, MI-FGSM or FGSM perturbations on every surrogate
// (every model with input gradients) and evaluates them on every model;
// its [Report] holds, per surrogate→target pair, the transfer success rate
// and the ℓ2 measure, their Pearson and Spearman correlation across the
// pairs, and the success after every perturbation is shrunk to a common
// ℓ2 norm. Models are named as everywhere in trustml ([zoo.Open]: embedded
// names, checkpoints, .onnx files when package onnx is linked in, served
// models as targets only).
package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/plot"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/zoo"
)

// Config is a transfer evaluation by [Run]. The tagged fields are the
// command line's flags.
type Config struct {
	// Models are model specifications (zoo.Open); each one with input
	// gradients is a surrogate, every one a target.
	Models []string `flag:"models" help:"models (embedded names, checkpoints, .onnx files; served URLs as targets only)"`
	// Data names the labelled data set (data.Open) whose test split is
	// attacked; DataDir is where files of downloadable sets are.
	Data    string `flag:"data" help:"data set whose test split is attacked"`
	DataDir string `flag:"data-dir" help:"directory of downloaded data sets"`
	// N is the number of test images attacked, the first of the split (0: all).
	N int `flag:"n" help:"attack the first n test images (0 = all)"`
	// Attacks are the white-box attacks run on each surrogate: "pgd"
	// (random start, step 2.5ε/steps), "mi-fgsm" (step ε/steps, decay 1)
	// or "fgsm" (one step; Steps do not apply).
	Attacks []string `flag:"attack" help:"attacks crafted on each surrogate: pgd, mi-fgsm, fgsm"`
	// Steps lists the iteration counts every iterative attack runs with;
	// each (attack, steps) is one variant.
	Steps []int   `flag:"steps" help:"iterations of each iterative attack (one variant per value)"`
	Eps   float64 `flag:"eps" help:"L∞ radius on the [0, 1] pixel scale"`
	Seed  uint64  `flag:"seed" help:"seed of PGD's random start"`
	// OutDir, if set, receives transfer.json and transfer.png (ℓ2 measure
	// against transfer success, one point per pair).
	OutDir string `flag:"out-dir" help:"write transfer.json and transfer.png (ℓ2 ratio vs success) here"`
	// Options reach served models.
	Options  oip.ClientOptions
	Progress progress.Reporter
}

// DefaultConfig returns the configuration of "trustml transfer": the two
// embedded models, the first 500 embedded test images, PGD and MI-FGSM
// with 1 and 10 steps at ε = 0.1.
func DefaultConfig() Config {
	return Config{Models: zoo.Names(), Data: data.DefaultName, N: 500, Attacks: []string{"pgd", "mi-fgsm"}, Steps: []int{1, 10}, Eps: 0.1, Seed: 1}
}

// Pair is one surrogate→target evaluation of one attack variant.
type Pair struct {
	Attack    string `json:"attack"`
	Steps     int    `json:"steps"`
	Surrogate string `json:"surrogate"`
	Target    string `json:"target"`
	// N is the number of images the target classifies correctly when
	// clean; the other numbers are over them.
	N int `json:"n"`
	// Success is the fraction of them the target misclassifies on the
	// surrogate's adversarial images (white-box when surrogate = target).
	Success float64 `json:"success"`
	// L2 and Ratio are the mean ‖δ‖₂ and ‖δ‖₂/(ε√d); LInf the largest ‖δ‖∞.
	L2    float64 `json:"l2"`
	Ratio float64 `json:"ratio"`
	LInf  float64 `json:"linf"`
	// MatchedSuccess is Success after every δ is shrunk to ℓ2 norm at most
	// Report.MatchedRatio·ε√d (still within the ℓ∞ ball and [0, 1]).
	MatchedSuccess float64 `json:"matched_success"`
}

// Transfer reports whether the pair is a transfer (surrogate ≠ target).
func (p Pair) Transfer() bool { return p.Surrogate != p.Target }

// Report is the outcome of [Run].
type Report struct {
	Models []string `json:"models"`
	// Surrogates are the models the attacks were crafted on (those with
	// input gradients).
	Surrogates []string  `json:"surrogates"`
	Clean      []float64 `json:"clean_accuracy"` // per model, on the attacked images
	Data       string    `json:"data"`
	N          int       `json:"n"`
	D          int       `json:"d"` // input dimension
	Eps        float64   `json:"eps"`
	Seed       uint64    `json:"seed"`
	Pairs      []Pair    `json:"pairs"`
	// Pearson and Spearman correlate Ratio with Success over the transfer
	// pairs (surrogate ≠ target); nil when they cannot be computed (fewer
	// than 3 pairs, or a constant).
	Pearson  *float64 `json:"pearson"`
	Spearman *float64 `json:"spearman"`
	// MatchedRatio is the common ℓ2 ratio of MatchedSuccess: the smallest
	// mean ratio of any (attack variant, surrogate).
	MatchedRatio float64 `json:"matched_ratio"`
	// MatchedPearson and MatchedSpearman correlate Ratio with
	// MatchedSuccess over the transfer pairs.
	MatchedPearson  *float64 `json:"matched_pearson"`
	MatchedSpearman *float64 `json:"matched_spearman"`
	// WithinPearson correlates Ratio with Success within each
	// surrogate→target pair across the attack variants (both centred on
	// the pair's means, so that how well a pair transfers in general does
	// not count): does the variant with the larger ℓ2 norm transfer
	// better between the same two models?
	WithinPearson *float64 `json:"within_pair_pearson"`
	// ShrinkLowered counts the transfer pairs (of ShrinkPairs) whose
	// success fell when their δ were shrunk to MatchedRatio (ℓ∞ ball
	// unchanged: only the ℓ2 norm was taken away), and ShrinkDrop is the
	// mean fall in success over them all.
	ShrinkLowered int      `json:"shrink_lowered"`
	ShrinkPairs   int      `json:"shrink_pairs"`
	ShrinkDrop    float64  `json:"shrink_drop"`
	Files         []string `json:"files,omitempty"`
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("transfer: bad configuration")

// variant is one configured attack.
type variant struct {
	name  string
	steps int
}

func (c *Config) variants() ([]variant, error) {
	if len(c.Attacks) == 0 {
		return nil, fmt.Errorf("%w: no attack given (pgd, mi-fgsm, fgsm)", ErrConfig)
	}
	var vs []variant
	for _, a := range c.Attacks {
		switch a {
		case "fgsm":
			vs = append(vs, variant{a, 1})
		case "pgd", "mi-fgsm":
			if len(c.Steps) == 0 {
				return nil, fmt.Errorf("%w: no step count given for %s", ErrConfig, a)
			}
			for _, s := range c.Steps {
				if s < 1 {
					return nil, fmt.Errorf("%w: steps %d must be at least 1", ErrConfig, s)
				}
				vs = append(vs, variant{a, s})
			}
		default:
			return nil, fmt.Errorf("%w: attack %q is not a transfer attack (want pgd, mi-fgsm or fgsm)", ErrConfig, a)
		}
	}
	return vs, nil
}

// perturb crafts v's adversarial examples of x on g into dst.
func (v variant) perturb(ctx context.Context, g model.InputGrader, dst, x []float32, y []int, eps float64, rng *rand.Rand) error {
	switch v.name {
	case "fgsm":
		a := attack.NewFGSM()
		a.Eps = eps
		return a.Perturb(ctx, g, dst, x, y)
	case "pgd":
		a := attack.NewPGD()
		a.Eps, a.Steps = eps, v.steps
		return a.Perturb(ctx, g, dst, x, y, rng)
	}
	a := attack.NewMIFGSM()
	a.Eps, a.Steps = eps, v.steps
	return a.Perturb(ctx, g, dst, x, y)
}

// chunk is the batch of gradient and forward passes.
const chunk = 100

// Run opens cfg's models and data and evaluates every attack variant
// crafted on every surrogate against every model.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if _, err := cfg.variants(); err != nil {
		return nil, err
	}
	if len(cfg.Models) == 0 {
		return nil, fmt.Errorf("%w: no model given", ErrConfig)
	}
	if !(cfg.Eps > 0 && cfg.Eps <= 1) {
		return nil, fmt.Errorf("%w: eps %v outside (0, 1]", ErrConfig, cfg.Eps)
	}
	if cfg.N < 0 {
		return nil, fmt.Errorf("%w: n %d must be ≥ 0", ErrConfig, cfg.N)
	}
	d, err := data.Open(cfg.Data, data.Test, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if !d.IsLabeled() {
		return nil, fmt.Errorf("%w: data set %s has no labels", ErrConfig, d.Name)
	}
	n := cfg.N
	if n == 0 || n > d.Len() {
		n = d.Len()
	}
	size := d.SampleSize()
	x, y := d.X[:n*size], d.Y[:n]
	var models []model.Classifier
	names := make([]string, len(cfg.Models))
	for i, spec := range cfg.Models {
		m, err := zoo.Open(ctx, spec, cfg.Options)
		if err != nil {
			return nil, fmt.Errorf("transfer: model %q: %w", spec, err)
		}
		if err := d.CheckFits(m.InputShape(), m.NumClasses()); err != nil {
			return nil, fmt.Errorf("transfer: data set %s does not fit model %q: %w", d.Name, spec, err)
		}
		models = append(models, m)
		names[i] = filepath.Base(spec)
	}
	return Evaluate(ctx, models, names, x, y, cfg)
}

// Evaluate is [Run] on given models (names label them) and inputs x
// (values in [0, 1]) with labels y; cfg's Models, DataDir, N and Options
// are not used (Data only names the data in the report).
func Evaluate(ctx context.Context, models []model.Classifier, names []string, x []float32, y []int, cfg Config) (*Report, error) {
	vs, err := cfg.variants()
	if err != nil {
		return nil, err
	}
	eps := cfg.Eps
	if !(eps > 0 && eps <= 1) {
		return nil, fmt.Errorf("%w: eps %v outside (0, 1]", ErrConfig, eps)
	}
	pr := progress.Or(cfg.Progress)
	n := len(y)
	if n == 0 || len(models) == 0 || len(names) != len(models) {
		return nil, fmt.Errorf("%w: %d inputs, %d models, %d names", ErrConfig, n, len(models), len(names))
	}
	size := len(x) / n
	if len(x) != n*size {
		return nil, fmt.Errorf("transfer: %d input values for %d labels", len(x), n)
	}
	rep := &Report{Models: names, N: n, D: size, Eps: eps, Seed: cfg.Seed, Data: cfg.Data}
	// Clean predictions of every model.
	correct := make([][]bool, len(models))
	for mi, m := range models {
		var err error
		if correct[mi], err = predictCorrect(ctx, m, x, y); err != nil {
			return nil, fmt.Errorf("transfer: model %s: %w", names[mi], err)
		}
		rep.Clean = append(rep.Clean, fraction(correct[mi], nil))
	}
	type crafted struct {
		v    variant
		s    int
		adv  []float32
		norm []Norms
	}
	var all []crafted
	for vi, v := range vs {
		for si, m := range models {
			g, ok := m.(model.InputGrader)
			if !ok {
				if vi == 0 {
					pr.Log("%s has no input gradients: target only", names[si])
				}
				continue
			}
			if vi == 0 {
				rep.Surrogates = append(rep.Surrogates, names[si])
			}
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(vi+1)<<20|uint64(si+1)))
			adv := make([]float32, len(x))
			for lo := 0; lo < n; lo += chunk {
				hi := min(lo+chunk, n)
				if err := v.perturb(ctx, g, adv[lo*size:hi*size], x[lo*size:hi*size], y[lo:hi], eps, rng); err != nil {
					return nil, fmt.Errorf("transfer: %s on %s: %w", v.name, names[si], err)
				}
				pr.Update(fmt.Sprintf("%s-%d on %s", v.name, v.steps, names[si]), hi, n, "")
			}
			norm, err := Measure(x, adv, n, eps)
			if err != nil {
				return nil, err
			}
			all = append(all, crafted{v, si, adv, norm})
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: no model has input gradients to craft attacks on", ErrConfig)
	}
	// The common ℓ2 ratio: the smallest mean ratio of any crafted set.
	rep.MatchedRatio = math.Inf(1)
	for _, c := range all {
		rep.MatchedRatio = math.Min(rep.MatchedRatio, meanRatio(c.norm, nil))
	}
	matched := make([]float32, len(x))
	for _, c := range all {
		shrink(matched, x, c.adv, c.norm, rep.MatchedRatio)
		for ti, m := range models {
			fooled, err := predictCorrect(ctx, m, c.adv, y)
			if err != nil {
				return nil, fmt.Errorf("transfer: model %s: %w", names[ti], err)
			}
			mfooled, err := predictCorrect(ctx, m, matched, y)
			if err != nil {
				return nil, fmt.Errorf("transfer: model %s: %w", names[ti], err)
			}
			p := Pair{Attack: c.v.name, Steps: c.v.steps, Surrogate: names[c.s], Target: names[ti]}
			for i := range n {
				if !correct[ti][i] {
					continue
				}
				p.N++
				p.L2 += c.norm[i].L2
				p.Ratio += c.norm[i].Ratio
				p.LInf = math.Max(p.LInf, c.norm[i].LInf)
				if !fooled[i] {
					p.Success++
				}
				if !mfooled[i] {
					p.MatchedSuccess++
				}
			}
			if p.N > 0 {
				k := float64(p.N)
				p.L2, p.Ratio, p.Success, p.MatchedSuccess = p.L2/k, p.Ratio/k, p.Success/k, p.MatchedSuccess/k
			}
			rep.Pairs = append(rep.Pairs, p)
		}
		pr.Log("%s-%d on %s: mean ℓ2 ratio %.3f", c.v.name, c.v.steps, names[c.s], meanRatio(c.norm, nil))
	}
	rep.correlate()
	if cfg.OutDir != "" {
		if err := rep.WriteFiles(cfg.OutDir); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// correlate fills the correlations over the transfer pairs.
func (r *Report) correlate() {
	var ratio, succ, msucc []float64
	for _, p := range r.Pairs {
		if p.Transfer() && p.N > 0 {
			ratio = append(ratio, p.Ratio)
			succ = append(succ, p.Success)
			msucc = append(msucc, p.MatchedSuccess)
		}
	}
	num := func(v float64) *float64 {
		if len(ratio) < 3 || math.IsNaN(v) {
			return nil
		}
		return &v
	}
	r.Pearson, r.Spearman = num(Pearson(ratio, succ)), num(Spearman(ratio, succ))
	r.MatchedPearson, r.MatchedSpearman = num(Pearson(ratio, msucc)), num(Spearman(ratio, msucc))
	// Centre each surrogate→target group on its means.
	type key struct{ s, t string }
	sum := map[key][3]float64{}
	for _, p := range r.Pairs {
		if p.Transfer() && p.N > 0 {
			k := key{p.Surrogate, p.Target}
			v := sum[k]
			sum[k] = [3]float64{v[0] + p.Ratio, v[1] + p.Success, v[2] + 1}
		}
	}
	var cr, cs []float64
	for _, p := range r.Pairs {
		if p.Transfer() && p.N > 0 {
			v := sum[key{p.Surrogate, p.Target}]
			cr = append(cr, p.Ratio-v[0]/v[2])
			cs = append(cs, p.Success-v[1]/v[2])
		}
	}
	r.WithinPearson = num(Pearson(cr, cs))
	r.ShrinkPairs, r.ShrinkLowered, r.ShrinkDrop = len(succ), 0, 0
	for i := range succ {
		if msucc[i] < succ[i] {
			r.ShrinkLowered++
		}
		r.ShrinkDrop += (succ[i] - msucc[i]) / float64(len(succ))
	}
}

// shrink writes into dst the inputs x + c·δ, δ = adv − x, with c ≤ 1 the
// largest factor that keeps ‖c·δ‖₂ ≤ ratio·ε√d (norm holds δ's norms).
func shrink(dst, x, adv []float32, norm []Norms, ratio float64) {
	d := len(x) / len(norm)
	for i, nm := range norm {
		c := 1.0
		if nm.Ratio > ratio {
			c = ratio / nm.Ratio
		}
		for j := i * d; j < (i+1)*d; j++ {
			dst[j] = float32(float64(x[j]) + c*(float64(adv[j])-float64(x[j])))
		}
	}
}

// meanRatio is the mean ℓ2 ratio over the samples with keep[i] (nil: all).
func meanRatio(norm []Norms, keep []bool) float64 {
	var s float64
	var k int
	for i, nm := range norm {
		if keep == nil || keep[i] {
			s += nm.Ratio
			k++
		}
	}
	return s / float64(max(k, 1))
}

// predictCorrect reports, per input, whether m predicts its label.
func predictCorrect(ctx context.Context, m model.Classifier, x []float32, y []int) ([]bool, error) {
	k, n := m.NumClasses(), len(y)
	size := len(x) / n
	z := make([]float32, chunk*k)
	ok := make([]bool, n)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		if err := m.Logits(ctx, z[:(hi-lo)*k], x[lo*size:hi*size]); err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			ok[i] = metrics.Argmax(z[(i-lo)*k:(i-lo+1)*k]) == y[i]
		}
	}
	return ok, nil
}

// fraction is the fraction of true values of v among those with keep
// (nil: all).
func fraction(v, keep []bool) float64 {
	var t, k int
	for i, b := range v {
		if keep == nil || keep[i] {
			k++
			if b {
				t++
			}
		}
	}
	return float64(t) / float64(max(k, 1))
}

// fmtCorr prints a correlation or n/a.
func fmtCorr(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%+.3f", *v)
}

// WriteText prints, per attack variant, the matrix of transfer success
// (rows: surrogates, columns: targets) with the ℓ2 ratio of each
// surrogate's perturbations, then the correlations.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "transfer attacks on %s (test, first %d), L∞ ε = %g, d = %d; ℓ2 ratio = ‖δ‖₂/(ε√d), 1 at a vertex of the ℓ∞ ball\n", r.Data, r.N, r.Eps, r.D)
	fmt.Fprint(w, "clean accuracy:")
	for i, m := range r.Models {
		fmt.Fprintf(w, "  %s %.1f%%", m, 100*r.Clean[i])
	}
	fmt.Fprintln(w)
	var order []variant
	for _, p := range r.Pairs {
		if v := (variant{p.Attack, p.Steps}); !slices.Contains(order, v) {
			order = append(order, v)
		}
	}
	for _, v := range order {
		fmt.Fprintf(w, "\n%s, %d step(s): success on the target's correctly classified images (diagonal: white-box) [at equal ℓ2 ratio %.3f]\n", v.name, v.steps, r.MatchedRatio)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "surrogate\tℓ2 ratio\t"+strings.Join(r.Models, "\t"))
		for _, s := range r.Surrogates {
			cells := []string{s, ""}
			for _, t := range r.Models {
				for _, p := range r.Pairs {
					if p.Attack == v.name && p.Steps == v.steps && p.Surrogate == s && p.Target == t {
						if p.N == 0 {
							cells = append(cells, "n/a")
						} else {
							cells = append(cells, fmt.Sprintf("%.1f%% [%.1f%%]", 100*p.Success, 100*p.MatchedSuccess))
						}
						if p.Target == s || cells[1] == "" {
							cells[1] = fmt.Sprintf("%.3f", p.Ratio)
						}
					}
				}
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	k := 0
	for _, p := range r.Pairs {
		if p.Transfer() && p.N > 0 {
			k++
		}
	}
	fmt.Fprintf(w, "\ncorrelation of the ℓ2 ratio with transfer success over %d surrogate≠target pairs: Pearson %s, Spearman %s\n", k, fmtCorr(r.Pearson), fmtCorr(r.Spearman))
	fmt.Fprintf(w, "within each surrogate→target pair, across the %d attack variants (centred on the pair's means): Pearson %s\n", len(order), fmtCorr(r.WithinPearson))
	fmt.Fprintf(w, "shrinking every δ to ℓ2 ratio ≤ %.3f (ℓ∞ unchanged) lowered transfer success in %d of %d surrogate≠target pairs, by %.1f points on average\n", r.MatchedRatio, r.ShrinkLowered, r.ShrinkPairs, 100*r.ShrinkDrop)
	fmt.Fprintf(w, "the same with every δ shrunk to ℓ2 ratio ≤ %.3f (both norms held fixed): Pearson %s, Spearman %s\n", r.MatchedRatio, fmtCorr(r.MatchedPearson), fmtCorr(r.MatchedSpearman))
	if len(r.Files) > 0 {
		fmt.Fprintf(w, "files: %s\n", strings.Join(r.Files, ", "))
	}
	return nil
}

// JSONFile and PlotFile are the names [Report.WriteFiles] writes.
const (
	JSONFile = "transfer.json"
	PlotFile = "transfer.png"
)

// WriteFiles writes the report as JSON and the scatter plot of the ℓ2
// ratio against transfer success (one series per attack variant) into dir.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	var series []plot.Series
	idx := map[variant]int{}
	for _, p := range r.Pairs {
		if !p.Transfer() || p.N == 0 {
			continue
		}
		v := variant{p.Attack, p.Steps}
		i, ok := idx[v]
		if !ok {
			i = len(series)
			idx[v] = i
			series = append(series, plot.Series{Name: fmt.Sprintf("%s, %d step(s)", v.name, v.steps)})
		}
		series[i].X = append(series[i].X, p.Ratio)
		series[i].Y = append(series[i].Y, 100*p.Success)
	}
	png := filepath.Join(dir, PlotFile)
	title := fmt.Sprintf("transfer success vs ℓ2 ratio (ε = %g), Pearson %s", r.Eps, fmtCorr(r.Pearson))
	if err := plot.Scatter(png, title, "‖δ‖₂ / (ε√d)", "transfer success %", series); err != nil {
		return err
	}
	js := filepath.Join(dir, JSONFile)
	r.Files = []string{js, png}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	return atomicfile.WriteFile(js, append(b, '\n'), 0o644)
}
