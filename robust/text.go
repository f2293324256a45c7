package robust

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report as a table: per attack × defense, clean
// accuracy, robust accuracy at each checkpoint, mean and median queries of
// successful attacks, the undefended model's accuracy on the final
// adversarial images, the defended model's ECE, the mean absolute change
// the defense makes, the clean rows its argmax guard reverted (flagged
// "!" above [RevertLimit]) and the failed samples. With more than one
// checkpoint or a guarded defense a second table gives the queries of
// successful attacks within each budget and the rows the guard reverted
// during the attack; notes follow on flagged guards and failed samples.
// A value that was not measured prints as n/a.
func (r *Report) WriteText(w io.Writer) error {
	if len(r.Pairs) == 0 {
		return fmt.Errorf("robust: report has no attack results")
	}
	pct := func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
	pctIf := func(f float64, ok bool) string {
		if !ok {
			return "n/a"
		}
		return pct(f)
	}
	clean := map[string]DefenseSummary{}
	for _, dc := range r.Clean {
		clean[dc.Defense] = dc.Summary
	}
	header := []string{"attack", "defense", "clean acc"}
	for _, q := range r.Checkpoints {
		header = append(header, fmt.Sprintf("robust@%d", q))
	}
	header = append(header, "mean q", "median q", "undef. on adv", "ECE", "mean |Δ|", "reverted", "failed")
	fmt.Fprintf(w, "model %s on %s; %s ε=%g, budget %d queries per image\n", r.Model, r.Data, r.Pairs[0].Threat.Norm, r.Pairs[0].Threat.Eps, r.Budget)
	var rows [][]string
	for _, p := range r.Pairs {
		s := p.Summary
		row := []string{p.Attack, p.Defense, pctIf(s.CleanAccuracy, s.N > 0)}
		for c := range r.Checkpoints {
			row = append(row, pctIf(at(s.RobustAccuracy, c), s.N > 0))
		}
		mq, md := "-", "-"
		if s.Successes > 0 {
			mq, md = fmt.Sprintf("%.0f", s.MeanQueries), fmt.Sprintf("%.0f", s.MedianQueries)
		}
		cs, ok := clean[p.Defense]
		ok = ok && cs.N > 0
		change := "n/a"
		if ok {
			change = fmt.Sprintf("%.3f", cs.LogitChange)
		}
		row = append(row, mq, md, pctIf(s.UndefendedAdvAccuracy, s.UndefendedAdvN > 0), pctIf(cs.ECE, ok), change, reverted(cs), fmt.Sprint(s.Failed))
		rows = append(rows, row)
	}
	if err := table(w, header, rows); err != nil {
		return err
	}
	if len(r.Checkpoints) > 1 || slices.ContainsFunc(r.Pairs, func(p Pair) bool { return p.Guard != nil }) {
		fmt.Fprintln(w, "\nqueries of the successful attacks within each budget (mean / median, successes):")
		header = []string{"attack", "defense"}
		for _, q := range r.Checkpoints {
			header = append(header, fmt.Sprintf("≤%d", q))
		}
		header = append(header, "reverted during attack")
		rows = rows[:0]
		for _, p := range r.Pairs {
			s := p.Summary
			row := []string{p.Attack, p.Defense}
			for c := range r.Checkpoints {
				cell := "-"
				if n := atInt(s.SuccessesAt, c); n > 0 {
					cell = fmt.Sprintf("%.0f / %.0f (%d)", at(s.MeanQueriesAt, c), at(s.MedianQueriesAt, c), n)
				}
				row = append(row, cell)
			}
			g := "-"
			if p.Guard != nil {
				g = fmt.Sprintf("%d of %d rows", p.Guard.Reverted, p.Guard.Rows)
			}
			rows = append(rows, append(row, g))
		}
		if err := table(w, header, rows); err != nil {
			return err
		}
	}
	for _, p := range r.Pairs {
		by := map[string]int{}
		for _, smp := range p.Samples {
			if smp.By != "" {
				by[smp.By]++
			}
		}
		names := slices.SortedFunc(maps.Keys(by), func(a, b string) int {
			if by[a] != by[b] {
				return by[b] - by[a]
			}
			return strings.Compare(a, b)
		})
		for k, name := range names {
			names[k] = fmt.Sprintf("%s %d", name, by[name])
		}
		if len(names) > 0 {
			fmt.Fprintf(w, "%s vs %s: samples fooled by each component: %s\n", p.Attack, p.Defense, strings.Join(names, ", "))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Calibration)) {
		c := r.Calibration[name]
		fmt.Fprintf(w, "%s: temperature %g tuned on held-out images: defended ECE %s, undefended %s", name, c.Temperature, pct(c.ECE), pct(c.Undefended))
		if !c.AtOrBelow {
			fmt.Fprint(w, " (! no temperature of the grid keeps the ECE at or below the undefended model's)")
		}
		fmt.Fprintln(w)
	}
	for _, dc := range r.Clean {
		if s := dc.Summary; s.Flagged {
			fmt.Fprintf(w, "! %s: its argmax guard returned %d of %d clean rows (%.2f%%, more than %g%%) undefended; on those rows the defense is off\n",
				dc.Defense, s.Reverted, s.GuardRows, 100*float64(s.Reverted)/float64(s.GuardRows), 100*RevertLimit)
		}
	}
	for _, p := range r.Pairs {
		s := p.Summary
		if s.Failed == 0 {
			continue
		}
		fmt.Fprintf(w, "FAILED: %s vs %s: %d of %d samples failed", p.Attack, p.Defense, s.Failed, s.N+s.Failed)
		if s.N > 0 {
			fmt.Fprintf(w, "; the accuracies above are over the %d that completed (biased: a failing model fails the unbroken ones)", s.N)
		}
		if len(s.RobustBounds) > 0 {
			b := s.RobustBounds[len(s.RobustBounds)-1]
			fmt.Fprintf(w, "; over all %d, robust@%d lies in [%s, %s]", s.N+s.Failed, r.Checkpoints[len(r.Checkpoints)-1], pct(b[0]), pct(b[1]))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// reverted is a defense's "reverted" cell: the clean rows its guard
// returned undefended, "!" when above RevertLimit, "-" without a guard.
func reverted(s DefenseSummary) string {
	switch {
	case s.GuardRows == 0:
		return "-"
	case s.Flagged:
		return fmt.Sprintf("%d !", s.Reverted)
	}
	return fmt.Sprint(s.Reverted)
}

// at returns v[i], or 0 when v is too short (a report decoded from JSON).
func at(v []float64, i int) float64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

func atInt(v []int, i int) int {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// Failures returns an error counting the samples that failed anywhere in
// the report (in a clean pass or an attack: the model or the served model
// errored), or nil if none did. A command exits non-zero on it unless the
// user accepts failures.
func (r *Report) Failures() error {
	failed := map[int]bool{}
	first := ""
	note := func(i int, why string) {
		if why != "" {
			failed[i] = true
			if first == "" {
				first = why
			}
		}
	}
	for _, dc := range r.Clean {
		for _, s := range dc.Samples {
			note(s.Index, s.Failed)
		}
	}
	for _, p := range r.Pairs {
		for _, s := range p.Samples {
			note(s.Index, s.Failed)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	total := r.N // samples of this report's shards
	if len(r.Pairs) > 0 {
		total = len(r.Pairs[0].Samples)
	}
	return fmt.Errorf("%w: %d of %d samples failed (first: %s)", ErrFailed, len(failed), total, first)
}

// ErrFailed is wrapped by [Report.Failures].
var ErrFailed = errors.New("robust: samples failed")

// table prints rows under a header, aligned in columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// ReadReport reads a report written as JSON (trustml attack --json) from a
// file; see [ParseReport].
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("robust: %w", err)
	}
	return ParseReport(b, path)
}

// MergeFiles reads the JSON reports of the shards of one evaluation
// ([ReadReport]) and merges them ([Merge]).
func MergeFiles(paths ...string) (*Report, error) {
	var reps []*Report
	for _, p := range paths {
		r, err := ReadReport(p)
		if err != nil {
			return nil, err
		}
		reps = append(reps, r)
	}
	return Merge(reps...)
}

// ParseReport decodes a JSON report and checks what [Merge] relies on: at
// least one pair, a budget, checkpoints within it, shards of a split, and
// samples indexed within N. Errors name the source.
func ParseReport(b []byte, source string) (*Report, error) {
	var r Report
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("robust: %s: not a trustml attack report: %w", source, err)
	}
	bad := func(format string, args ...any) (*Report, error) {
		return nil, fmt.Errorf("robust: %s: %s", source, fmt.Sprintf(format, args...))
	}
	switch {
	case len(r.Pairs) == 0:
		return bad("report has no attack results")
	case r.Budget <= 0:
		return bad("budget %d is not positive", r.Budget)
	case r.N < 0:
		return bad("%d samples", r.N)
	case r.NumShards < 1 || r.NumShards > max(r.N, 1) || r.NumShards > 1<<16 || len(r.Shards) == 0:
		return bad("shards %v of %d for %d samples", r.Shards, r.NumShards, r.N)
	}
	for _, q := range r.Checkpoints {
		if q <= 0 || q > r.Budget {
			return bad("checkpoint %d outside [1, budget %d]", q, r.Budget)
		}
	}
	for _, s := range r.Shards {
		if s < 0 || s >= r.NumShards {
			return bad("shard %d outside [0, %d)", s, r.NumShards)
		}
	}
	if err := checkSamples(&r, 0); err != nil {
		return bad("%v", err)
	}
	r.Summarize()
	return &r, nil
}
