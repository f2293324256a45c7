package compress

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

// lowRank returns a rows×cols matrix of rank r plus small noise.
func lowRank(rows, cols, r int) []float64 {
	g := rand.New(rand.NewPCG(1, 2))
	w := make([]float64, rows*cols)
	for k := range r {
		u, v := make([]float64, rows), make([]float64, cols)
		for i := range u {
			u[i] = g.NormFloat64()
		}
		for j := range v {
			v[j] = g.NormFloat64() / float64(k+1)
		}
		for i := range rows {
			for j := range cols {
				w[i*cols+j] += u[i] * v[j]
			}
		}
	}
	for i := range w {
		w[i] += 0.001 * g.NormFloat64()
	}
	return w
}

func TestMatrixMethods(t *testing.T) {
	w := lowRank(32, 64, 3)
	for _, m := range Methods {
		o := DefaultOptions()
		o.Method, o.Ratio = m, 4
		var l Layer
		rec, err := Matrix(w, 32, 64, o, &l)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if l.After > 32*64/4 || l.After == 0 {
			t.Errorf("%s: %d values stored, budget %d", m, l.After, 32*64/4)
		}
		var d, n float64
		for i := range w {
			d += (w[i] - rec[i]) * (w[i] - rec[i])
			n += w[i] * w[i]
		}
		if e := math.Sqrt(d / n); math.Abs(e-l.RelError) > 1e-9 {
			t.Errorf("%s: reported error %g, measured %g", m, l.RelError, e)
		}
		if m == "svd" && l.RelError > 0.01 {
			t.Errorf("svd of a rank-3 matrix at 4×: error %g", l.RelError)
		}
	}
}

func TestBadOptions(t *testing.T) {
	w := lowRank(8, 8, 1)
	for _, o := range []Options{
		{Method: "cp", Ratio: 2, T: 2, Order: 2},
		{Method: "tt", Ratio: 0.5, T: 2, Order: 2},
		{Method: "tt", Ratio: 2, T: 0, Order: 2},
		{Method: "stt", Ratio: 1000, T: 2, Order: 2}, // no rank fits
	} {
		if _, err := Matrix(w, 8, 8, o, nil); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if _, err := Matrix(w, 4, 8, DefaultOptions(), nil); err == nil {
		t.Error("wrong size: no error")
	}
}

func TestRunOut(t *testing.T) {
	cfg := DefaultConfig()
	cfg.N, cfg.Ratio, cfg.Out = 200, 4, filepath.Join(t.TempDir(), "c.ckpt")
	r, err := Run(context.Background(), &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := r.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	if r.ParamsAfter >= r.ParamsBefore || r.Ratio < 4 || r.AccBefore < 0.85 || r.AccAfter < 0.5 {
		t.Errorf("report:\n%s", sb.String())
	}
	net, meta, err := nn.LoadFile(cfg.Out)
	if err != nil || !strings.Contains(meta["compressed"], "stt t=2") {
		t.Fatalf("load: %v, meta %v", err, meta)
	}
	if net.NumParams() != r.ParamsBefore {
		t.Errorf("checkpoint has %d parameters, want the architecture's %d", net.NumParams(), r.ParamsBefore)
	}
	cfg.MinParams, cfg.Out = 1<<30, ""
	if _, err := Run(context.Background(), &cfg, nil); err == nil {
		t.Error("nothing to compress: no error")
	}
}
