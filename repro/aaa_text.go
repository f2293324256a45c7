package repro

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// WriteText prints the result for a terminal: each model's attack ×
// defense report, with its plots written into a folder of plotDir named
// for the model (plotDir "": none), then the Table 6 runs, the tables
// beside the paper's numbers, the checks and the failed models.
func (r *AAAResult) WriteText(w io.Writer, plotDir string) error {
	safe := strings.NewReplacer("/", "_", ".", "_", ":", "_")
	for i, rep := range append(r.Reports[:len(r.Reports):len(r.Reports)], r.Adaptive...) { // Table 6's runs last, no plots
		if plotDir != "" && i < len(r.Reports) {
			dir := filepath.Join(plotDir, safe.Replace(rep.Model))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			files, err := rep.WritePlots(dir)
			if err != nil {
				return fmt.Errorf("plots: %w", err)
			}
			fmt.Fprintf(w, "plots: %s\n\n", strings.Join(files, ", "))
		}
		if err := rep.WriteText(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	for _, t := range r.Tables {
		if err := t.WriteText(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	for _, s := range r.Checks {
		fmt.Fprintln(w, s)
	}
	for _, f := range r.Failed {
		fmt.Fprintln(w, "FAILED:", f)
	}
	return nil
}

// Incomplete returns an error listing the failed models when the result
// is not [AAAResult.Complete], else nil.
func (r *AAAResult) Incomplete() error {
	if r.Complete() {
		return nil
	}
	return fmt.Errorf("reproduction incomplete: %s", strings.Join(r.Failed, "; "))
}
