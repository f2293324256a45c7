package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
)

// Report is what a "trustml kernel" command prints: tables and lines for
// a terminal, or JSON.
type Report struct {
	// Title, if set, is printed first.
	Title string `json:"-"`
	// Tables are printed in order, each a header and rows.
	Tables []ReportTable `json:"-"`
	// Lines follow the tables.
	Lines []string `json:"-"`
	// JSON is printed instead with --json.
	JSON any `json:"-"`
}

// MarshalJSON encodes r.JSON, what --json prints.
func (r *Report) MarshalJSON() ([]byte, error) { return json.Marshal(r.JSON) }

// WriteText writes the title, the tables aligned in columns, and the lines.
func (r *Report) WriteText(w io.Writer) error {
	if r.Title != "" {
		fmt.Fprintln(w, r.Title)
	}
	for _, t := range r.Tables {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(t.Header, "\t"))
		for _, row := range t.Rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, l := range r.Lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

// ReportTable is one table of a [Report].
type ReportTable struct {
	Header []string
	Rows   [][]string
}

func (r *Report) table(header []string, rows ...[]string) {
	r.Tables = append(r.Tables, ReportTable{Header: header, Rows: rows})
}

// formatScore writes accuracy as a percentage and other metrics with 4
// decimals.
func formatScore(metric string, v float64) string {
	if metric == "accuracy" {
		return fmt.Sprintf("%.2f%%", 100*v)
	}
	return fmt.Sprintf("%.4f", v)
}

// FitSave fits the pipeline with [Pipeline.FitHoldout], saves it to out
// ([SaveFile], atomically) and reports the scores.
func (p *Pipeline) FitSave(ctx context.Context, d *data.Dataset, testFrac float64, out string) (*Report, error) {
	h, err := p.FitHoldout(ctx, d, testFrac)
	if err != nil {
		return nil, err
	}
	if err := SaveFile(out, p); err != nil {
		return nil, fmt.Errorf("kernel: saving %s: %w", out, err)
	}
	js := map[string]any{
		"data": d.Name, "method": p.Method, "kernel": p.Kernel, "reg": p.Reg, "standardize": !p.NoStandardize, "n_train": h.NTrain, "n_test": h.NTest,
		"metric": h.Metric, "train_score": h.TrainScore, "fit_seconds": h.Seconds, "model_file": out,
	}
	test := "-"
	if h.NTest > 0 {
		js["test_score"], test = h.TestScore, formatScore(h.Metric, h.TestScore)
	}
	r := &Report{JSON: js}
	r.table([]string{"data", "method", "kernel", "reg", "n_train", "train_" + h.Metric, "n_test", "test_" + h.Metric, "fit", "saved"},
		[]string{d.Name, p.Method, p.Kernel, fmt.Sprint(p.Reg), fmt.Sprint(h.NTrain), formatScore(h.Metric, h.TrainScore), fmt.Sprint(h.NTest), test, fmt.Sprintf("%.2fs", h.Seconds), out})
	return r, nil
}

// PredictReport predicts d ([Pipeline.Predict]), writes the predictions to
// out (one per line, atomically) unless out is "", and reports the scores:
// MSE, MAE and R² or accuracy with per-class counts. modelFile names the
// model in the report.
func (p *Pipeline) PredictReport(d *data.Dataset, modelFile, out string) (*Report, error) {
	pr, err := p.Predict(d)
	if err != nil {
		return nil, err
	}
	lines := pr.Lines()
	if out != "" {
		if err := atomicfile.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("kernel: writing predictions: %w", err)
		}
	}
	js := map[string]any{"model_file": modelFile, "method": p.Method, "data": d.Name, "n": d.Len(), "predictions": pr.Labels, "out": out}
	if p.Regression {
		js["predictions"] = pr.Values
	}
	if pr.Scored {
		js["metric"], js["score"] = Metric(p.Regression), pr.Score
	}
	names, vals := pr.Metrics()
	header, row := []string{"model", "method", "data", "n"}, []string{modelFile, p.Method, d.Name, fmt.Sprint(d.Len())}
	for i, v := range vals {
		js[names[i]] = v
		header, row = append(header, names[i]), append(row, formatScore(names[i], v))
	}
	r := &Report{JSON: js}
	r.table(header, row)
	if len(pr.PerClass) > 0 {
		js["per_class"] = pr.PerClass
		rows := make([][]string, len(pr.PerClass))
		for i, c := range pr.PerClass {
			rows[i] = []string{c.Class, fmt.Sprint(c.Support), fmt.Sprint(c.Predicted), fmt.Sprint(c.Correct)}
		}
		r.table([]string{"class", "support", "predicted", "correct"}, rows...)
	}
	if out == "" && len(lines) <= 20 {
		r.Lines = append(r.Lines, "predictions: "+strings.Join(lines, " "))
	}
	return r, nil
}

// SearchReport runs [Pipeline.GridSearch] and reports every point's mean
// and std of the fold scores, marking the best; with refitOut set it also
// refits the best setting on all of d ([Pipeline.Refit]) and saves it there.
func (p *Pipeline) SearchReport(ctx context.Context, d *data.Dataset, g SearchGrid, refitOut string) (*Report, error) {
	res, err := p.GridSearch(ctx, d, g)
	if err != nil {
		return nil, err
	}
	js := map[string]any{"data": res.Data, "method": res.Method, "kernel": res.Kernel, "folds": res.Folds,
		"metric": res.Metric, "points": res.Points, "best": res.Best, "best_params": res.BestParams()}
	r := &Report{JSON: js}
	rows := make([][]string, len(res.Points))
	for i, pt := range res.Points {
		rows[i] = []string{FormatParams(pt.Params), formatScore(res.Metric, pt.Mean), formatScore(res.Metric, pt.Std), ""}
	}
	rows[res.Best][3] = "*"
	r.Title = fmt.Sprintf("%s, %s, base kernel %s, %d-fold CV (%s)", res.Data, res.Method, res.Kernel, res.Folds, res.Metric)
	r.table([]string{"params", "mean", "std", "best"}, rows...)
	if refitOut != "" {
		if err := p.Refit(ctx, d, res); err != nil {
			return nil, err
		}
		if err := SaveFile(refitOut, p); err != nil {
			return nil, fmt.Errorf("kernel: saving %s: %w", refitOut, err)
		}
		js["refit"] = map[string]any{"method": p.Method, "kernel": p.Kernel, "reg": p.Reg, "n": d.Len(), "model_file": refitOut}
		r.Lines = append(r.Lines, fmt.Sprintf("refitted %s %s reg=%g on all %d rows: saved %s", p.Method, p.Kernel, p.Reg, d.Len(), refitOut))
	}
	return r, nil
}

// Report returns the result as a [Report].
func (res *PCAResult) Report() *Report {
	r := &Report{JSON: res}
	r.table([]string{"data", "n", "kernel", "standardize", "components", "eigenvalues", "model", "scores", "plot"},
		[]string{res.Data, fmt.Sprint(res.N), res.Kernel, fmt.Sprint(res.Standardize), fmt.Sprint(res.Components),
			fmt.Sprintf("%.4g", res.Eigenvalues), res.ModelFile, res.ScoresFile, res.PlotFile})
	return r
}
