// Package compress compresses the dense layers of a trained network by
// low-rank tensor decompositions (package tensor): each large weight
// matrix is reshaped into a d-way tensor (the paired layout of
// tensor-train layers), decomposed by SVD, TT, STT, TR, STR, Tucker or
// STTu at a given compression ratio, and replaced by its reconstruction.
// [Run] reports the values stored and the test accuracy before and after,
// as "trustml compress" prints them.
package compress

import (
	"context"

	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/tensor"
	"github.com/trustml/trustml/zoo"
)

// Methods lists the method names [Options].Method accepts: the truncated
// SVD of the weight matrix and the decompositions of package tensor.
var Methods = append([]string{"svd"}, tensor.Methods...)

// Options says how each weight matrix is compressed.
type Options struct {
	Method string  `flag:"method" help:"svd (truncated SVD of the matrix), tt, stt, tr, str, tucker or sttu"`
	Ratio  float64 `flag:"ratio" help:"compression ratio of each compressed weight matrix: its values / the values stored (≥ 1)"`
	// T is the STP factor of stt, str and sttu.
	T int `flag:"t" help:"STP factor t of stt, str and sttu"`
	// Order is the order d of the tensor a weight matrix becomes: its rows
	// and columns are each split into d factors and paired.
	Order int `flag:"order" help:"a weight matrix becomes a d-way tensor (row and column factors paired); not used by svd"`
	// Iters is the number of HOOI sweeps of tucker and sttu.
	Iters int `flag:"iters" help:"HOOI sweeps after the HOSVD (tucker, sttu)"`
	// MinParams skips smaller weight matrices (the classifier head).
	MinParams int `flag:"min-params" help:"compress only dense weight matrices with at least this many values"`
}

// DefaultOptions returns STT with t = 2 at ratio 10 on 3-way tensors,
// two HOOI sweeps, for weight matrices of at least 4096 values.
func DefaultOptions() Options {
	return Options{Method: "stt", Ratio: 10, T: 2, Order: 3, Iters: 2, MinParams: 4096}
}

// Layer is what was done to one weight matrix.
type Layer struct {
	Name       string  `json:"name"`
	Rows       int     `json:"rows"`
	Cols       int     `json:"cols"`
	Tensor     []int   `json:"tensor"`
	Spec       string  `json:"decomposition"`
	Before     int     `json:"values_before"`
	After      int     `json:"values_stored"`
	RelError   float64 `json:"rel_error"` // ‖W − Ŵ‖_F / ‖W‖_F
	Compressed bool    `json:"compressed"`
}

func (o Options) check() error {
	if !slices.Contains(Methods, o.Method) {
		return fmt.Errorf("compress: unknown method %q (want one of %s)", o.Method, strings.Join(Methods, ", "))
	}
	if !(o.Ratio >= 1) {
		return fmt.Errorf("compress: --ratio %g, want ≥ 1", o.Ratio)
	}
	if o.T < 1 || o.Order < 2 || o.Iters < 0 {
		return fmt.Errorf("compress: --t %d, --order %d, --iters %d: want t ≥ 1, order ≥ 2, iters ≥ 0", o.T, o.Order, o.Iters)
	}
	return nil
}

// Network replaces every dense weight matrix of net with at least
// o.MinParams values by its reconstruction from a decomposition storing at
// most 1/o.Ratio of its values, and returns what it did per matrix.
// Biases and other layers are kept. On error net may be partly changed.
func Network(ctx context.Context, net *nn.Network, o Options, pr progress.Reporter) ([]Layer, error) {
	pr = progress.Or(pr)
	if err := o.check(); err != nil {
		return nil, err
	}
	var ps []*nn.Param
	for _, p := range net.Params() {
		if len(p.Shape) == 2 && strings.HasSuffix(p.Name, "weight") {
			ps = append(ps, p)
		}
	}
	var out []Layer
	for i, p := range ps {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		pr.Update("compress", i, len(ps), p.Name)
		l := Layer{Name: p.Name, Rows: p.Shape[0], Cols: p.Shape[1], Before: p.Size(), After: p.Size()}
		if p.Size() < o.MinParams {
			out = append(out, l)
			continue
		}
		w := make([]float64, p.Size())
		for j, v := range p.W {
			w[j] = float64(v)
		}
		rec, err := Matrix(w, l.Rows, l.Cols, o, &l)
		if err != nil {
			return out, fmt.Errorf("compress: %s (%d×%d): %w", p.Name, l.Rows, l.Cols, err)
		}
		for j, v := range rec {
			p.W[j] = float32(v)
		}
		out = append(out, l)
	}
	pr.Update("compress", len(ps), len(ps), "")
	return out, nil
}

// Matrix decomposes the rows×cols matrix w (row-major) as o says and
// returns its reconstruction; l, when not nil, receives the tensor shape,
// the fitted decomposition, the values stored and the relative error.
func Matrix(w []float64, rows, cols int, o Options, l *Layer) ([]float64, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if len(w) != rows*cols {
		return nil, fmt.Errorf("compress: %d values for a %d×%d matrix", len(w), rows, cols)
	}
	if l == nil {
		l = &Layer{}
	}
	budget := int(float64(rows*cols) / o.Ratio)
	var (
		x      *tensor.Dense
		of, cf []int
		err    error
	)
	spec := tensor.Spec{Method: o.Method, T: o.T, Iters: o.Iters}
	if o.Method == "svd" { // rank-r SVD = a TT of the matrix: r·(rows+cols) values
		spec.Method = "tt"
		x, err = tensor.FromData(w, rows, cols)
	} else {
		if of, err = tensor.Factor(rows, o.Order); err == nil {
			if cf, err = tensor.Factor(cols, o.Order); err == nil {
				x, err = tensor.FromMatrix(w, of, cf)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	d, fit, err := tensor.FitBudget(x, spec, budget)
	if err != nil {
		return nil, err
	}
	y := d.Reconstruct()
	l.Tensor, l.Before, l.After, l.Compressed = x.Shape, rows*cols, d.NumParams(), true
	l.Spec = fit.String()
	if o.Method == "svd" {
		l.Spec = fmt.Sprintf("svd r=%d", fit.Rank)
	}
	if l.RelError, err = tensor.RelError(x, y); err != nil {
		return nil, err
	}
	if o.Method == "svd" {
		return y.Data, nil
	}
	return tensor.ToMatrix(y, of, cf)
}

// Config is what "trustml compress" runs.
type Config struct {
	Model string `flag:"model" help:"network to compress: embedded name, checkpoint or ONNX file"`
	Data  string `flag:"data" help:"labelled test data for the accuracy before and after"`
	// N limits the test samples evaluated (0 = all).
	N   int    `flag:"n" help:"test samples evaluated (0 = all)"`
	Out string `flag:"out" help:"write the compressed network (reconstructed weights, same architecture) as a checkpoint"`
	Options
}

// DefaultConfig returns the embedded model and test set with
// [DefaultOptions].
func DefaultConfig() Config {
	return Config{Model: zoo.DefaultName, Data: data.DefaultName, Options: DefaultOptions()}
}

// Report is what [Run] returns.
type Report struct {
	Model  string  `json:"model"`
	Data   string  `json:"data"`
	Layers []Layer `json:"layers"`
	// ParamsBefore and ParamsAfter count the whole network's values, the
	// compressed matrices by what their decompositions store.
	ParamsBefore int `json:"params_before"`
	ParamsAfter  int `json:"params_after"`
	// Ratio is the compressed matrices' values before / after.
	Ratio     float64 `json:"ratio"`
	N         int     `json:"n"`
	AccBefore float64 `json:"accuracy_before"`
	AccAfter  float64 `json:"accuracy_after"`
	Out       string  `json:"out,omitempty"`
}

// WriteText prints the report.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "layer\tmatrix\ttensor\tdecomposition\tvalues\tstored\tratio\trel. error")
	for _, l := range r.Layers {
		if !l.Compressed {
			fmt.Fprintf(tw, "%s\t%d×%d\t-\tkept\t%d\t%d\t1\t0\n", l.Name, l.Rows, l.Cols, l.Before, l.After)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d×%d\t%v\t%s\t%d\t%d\t%.1f\t%.4f\n", l.Name, l.Rows, l.Cols, l.Tensor, l.Spec, l.Before, l.After, float64(l.Before)/float64(l.After), l.RelError)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s: %d → %d parameters (%.2f× overall, %.1f× on the compressed matrices)\naccuracy on %s (%d test samples): %.2f%% → %.2f%%\n",
		r.Model, r.ParamsBefore, r.ParamsAfter, float64(r.ParamsBefore)/float64(r.ParamsAfter), r.Ratio, r.Data, r.N, 100*r.AccBefore, 100*r.AccAfter)
	if err == nil && r.Out != "" {
		_, err = fmt.Fprintf(w, "wrote %s (reconstructed weights: same architecture and file size)\n", r.Out)
	}
	return err
}

// Run opens cfg.Model and cfg.Data's test split, measures the accuracy,
// compresses the network's dense layers ([Network]), measures it again
// and, with cfg.Out, writes the compressed network atomically.
func Run(ctx context.Context, cfg *Config, pr progress.Reporter) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.N < 0 {
		return nil, fmt.Errorf("compress: --n %d, want ≥ 0", cfg.N)
	}
	net, meta, err := zoo.OpenNetwork(cfg.Model)
	if err != nil {
		return nil, err
	}
	te, err := data.Open(cfg.Data, data.Test, "")
	if err != nil {
		return nil, err
	}
	if !te.IsLabeled() {
		return nil, fmt.Errorf("compress: data %s has no class labels", cfg.Data)
	}
	if cfg.N > 0 && cfg.N < te.Len() {
		te = te.Head(cfg.N)
	}
	r := &Report{Model: cfg.Model, Data: te.Name, N: te.Len(), ParamsBefore: net.NumParams()}
	before, _, err := metrics.EvaluateClassifier(ctx, net, te.X, te.Y)
	if err != nil {
		return nil, fmt.Errorf("compress: evaluating %s on %s: %w", cfg.Model, cfg.Data, err)
	}
	if r.Layers, err = Network(ctx, net, cfg.Options, pr); err != nil {
		return nil, err
	}
	saved, comp, stored := 0, 0, 0
	for _, l := range r.Layers {
		if l.Compressed {
			saved += l.Before - l.After
			comp += l.Before
			stored += l.After
		}
	}
	if comp == 0 {
		return nil, fmt.Errorf("compress: %s has no dense weight matrix with ≥ %d values (--min-params)", cfg.Model, cfg.MinParams)
	}
	r.ParamsAfter, r.Ratio = r.ParamsBefore-saved, float64(comp)/float64(stored)
	after, _, err := metrics.EvaluateClassifier(ctx, net, te.X, te.Y)
	if err != nil {
		return nil, err
	}
	r.AccBefore, r.AccAfter = before.Accuracy, after.Accuracy
	if cfg.Out != "" {
		m := map[string]string{}
		for k, v := range meta {
			m[k] = v
		}
		var specs []string
		for _, l := range r.Layers {
			if l.Compressed {
				specs = append(specs, l.Name+": "+l.Spec)
			}
		}
		m["compressed"] = fmt.Sprintf("trustml compress --method %s --ratio %g (%s); stored values %d of %d", cfg.Method, cfg.Ratio, strings.Join(specs, ", "), r.ParamsAfter, r.ParamsBefore)
		if err := nn.SaveFile(cfg.Out, net, m); err != nil {
			return nil, err
		}
		r.Out = cfg.Out
	}
	return r, nil
}
