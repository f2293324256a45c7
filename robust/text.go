package robust

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report as a table: per attack × defense, clean
// accuracy, robust accuracy at each checkpoint, mean and median queries of
// successful attacks, the defended model's ECE, the mean absolute change
// the defense makes, and the failed samples.
func (r *Report) WriteText(w io.Writer) error {
	if len(r.Pairs) == 0 {
		return fmt.Errorf("robust: report has no attack results")
	}
	pct := func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
	clean := map[string]DefenseSummary{}
	for _, dc := range r.Clean {
		clean[dc.Defense] = dc.Summary
	}
	header := []string{"attack", "defense", "clean acc"}
	for _, q := range r.Checkpoints {
		header = append(header, fmt.Sprintf("robust@%d", q))
	}
	header = append(header, "mean q", "median q", "ECE", "mean |Δ|", "failed")
	fmt.Fprintf(w, "model %s on %s; %s ε=%g, budget %d queries per image\n", r.Model, r.Data, r.Pairs[0].Threat.Norm, r.Pairs[0].Threat.Eps, r.Budget)
	var rows [][]string
	for _, p := range r.Pairs {
		s := p.Summary
		row := []string{p.Attack, p.Defense, pct(s.CleanAccuracy)}
		for _, a := range s.RobustAccuracy {
			row = append(row, pct(a))
		}
		mq, md := "-", "-"
		if s.Successes > 0 {
			mq, md = fmt.Sprintf("%.0f", s.MeanQueries), fmt.Sprintf("%.0f", s.MedianQueries)
		}
		cs := clean[p.Defense]
		row = append(row, mq, md, pct(cs.ECE), fmt.Sprintf("%.3f", cs.LogitChange), fmt.Sprint(s.Failed))
		rows = append(rows, row)
	}
	return table(w, header, rows)
}

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
