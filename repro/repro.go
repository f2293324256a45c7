// Package repro reproduces the experiments of the papers trustml implements,
// at a scale that runs here, and returns typed tables that put each paper's
// published number (with its source) beside ours. The trustml command's
// "repro" subcommands are flags, one call of this package, and printing;
// tests run every reproduction at a small size.
//
// Papers' numbers come from ../shared/methods/paper-numbers.md, read from
// public sources (a paper's table, its abstract, or its authors' run logs).
// Where a number is not public in text form a row says so with
// [NotPublic] and names the paper's protocol instead of leaving a blank.
// Our protocols are smaller than the papers' (Fashion-MNIST instead of
// CIFAR-10, minutes instead of GPU-days); every row says which setting
// differs.
package repro

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/trustml/trustml/metrics"
)

// NotPublicText is what a row shows in place of a paper's number that is
// not public in text form.
const NotPublicText = "not public in text form"

// PaperValue is a paper's published number for one setting, with where it
// was read, or the statement that it is not public.
type PaperValue struct {
	// Value is the number in the unit of the row's metric; nil when the
	// paper's number is not public in text form.
	Value *float64 `json:"value"`
	// Source names where Value was read: "AAA poster, Table 2",
	// "F-SAM repo log", "UniG abstract".
	Source string `json:"source"`
	// Setting is the paper's setting for this number ("CIFAR-10,
	// WideResNet-28, ℓ∞ 8/255, 2500 queries") or, without a Value, the
	// paper's protocol.
	Setting string `json:"setting"`
}

// Published returns a paper's number v read from source for the given
// setting.
func Published(v float64, source, setting string) PaperValue {
	return PaperValue{Value: &v, Source: source, Setting: setting}
}

// NotPublic returns the value of a row whose paper number is not public in
// text form; protocol describes the paper's setting so that the row still
// says what was measured there.
func NotPublic(source, protocol string) PaperValue {
	return PaperValue{Source: source, Setting: protocol}
}

// Format prints the value with the given verb ("%.2f"), or
// [NotPublicText].
func (p PaperValue) Format(verb string) string {
	if p.Value == nil {
		return NotPublicText
	}
	return fmt.Sprintf(verb, *p.Value)
}

// Stat is a number we measured over repetitions ([metrics.Stat]).
type Stat = metrics.Stat

// NewStat summarises values ([metrics.NewStat]).
func NewStat(values []float64) Stat { return metrics.NewStat(values) }

// Row is one line of a paper-vs-ours table.
type Row struct {
	// Setting is our data set or condition; PaperSetting in Paper is the
	// paper's.
	Setting string `json:"setting"`
	Method  string `json:"method"`
	Metric  string `json:"metric"` // with its unit: "accuracy %", "R²"
	// Paper is the paper's number for the corresponding setting.
	Paper PaperValue `json:"paper"`
	// Ours is what we measured.
	Ours Stat `json:"ours"`
	// Differs says which part of our setting differs from the paper's
	// ("Fashion-MNIST, not CIFAR-10; 500 queries, not 2500").
	Differs string `json:"differs,omitempty"`
}

// Table is the result of a reproduction: the paper, our protocol, the
// paper-vs-ours rows and notes.
type Table struct {
	Paper    string   `json:"paper"`
	Protocol string   `json:"protocol"`
	Claim    string   `json:"paper_claim"`
	Rows     []Row    `json:"rows"`
	Notes    []string `json:"notes,omitempty"`
	// Failed lists settings whose run failed; their rows are absent (or
	// show n/a) and the reproduction is incomplete.
	Failed  []string `json:"failed,omitempty"`
	Seconds float64  `json:"seconds"`
}

// Complete reports whether every setting of the reproduction ran.
func (t *Table) Complete() bool { return len(t.Failed) == 0 }

// WriteText prints the table for a terminal: header lines, the rows in
// aligned columns (paper value with its source), notes and failures.
func (t *Table) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s\nprotocol: %s\n", t.Paper, t.Protocol)
	if t.Claim != "" {
		fmt.Fprintf(w, "paper's claim: %s\n", t.Claim)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join([]string{"setting", "method", "metric", "paper", "source", "ours", "differs from the paper"}, "\t"))
	for _, r := range t.Rows {
		fmt.Fprintln(tw, strings.Join([]string{r.Setting, r.Method, r.Metric, r.Paper.Format("%.4g"), r.Paper.Source, r.Ours.Format("%.4g"), r.Differs}, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// A paper value that is not public names the paper's protocol instead:
	// print each once.
	seen := map[string]bool{}
	for _, r := range t.Rows {
		if k := r.Paper.Source + "\x00" + r.Paper.Setting; r.Paper.Value == nil && r.Paper.Setting != "" && !seen[k] {
			seen[k] = true
			fmt.Fprintf(w, "paper's protocol (%s): %s\n", r.Paper.Source, r.Paper.Setting)
		}
	}
	for _, n := range t.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	for _, f := range t.Failed {
		fmt.Fprintln(w, "FAILED:", f)
	}
	_, err := fmt.Fprintf(w, "(%.1fs)\n", t.Seconds)
	return err
}
