package repro

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/tensor"
)

func TestSTTSmall(t *testing.T) {
	dir := t.TempDir()
	net, err := nn.New(nn.MLP([]int{1, 28, 28}, []int{64}, 10), 1)
	if err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(dir, "mlp.ckpt")
	if err := nn.SaveFile(ck, net, nil); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultSTTConfig()
	cfg.Model, cfg.N, cfg.Images, cfg.Sample = ck, 50, 8, ""
	cfg.Storage, cfg.Ratios, cfg.Methods, cfg.OutDir = []float64{0.1}, []float64{5}, []string{"svd", "stt"}, dir
	tab, err := STT(context.Background(), &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := tab.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	// 2 tensors × 6 methods × 1 budget, 2 × 3 storage ratios, 1 uncompressed,
	// 2 methods × (1 ratio + 1 largest ratio).
	if want := 12 + 6 + 1 + 4; len(tab.Rows) != want {
		t.Fatalf("%d rows, want %d:\n%s", len(tab.Rows), want, out)
	}
	for _, r := range tab.Rows {
		if r.Metric == "rel. error" && (!r.Ours.Measured() || r.Ours.Mean < 0 || r.Ours.Mean > 1) {
			t.Errorf("row %s %s: rel. error %v", r.Setting, r.Method, r.Ours.Format("%.4g"))
		}
	}
	measured := 0
	for _, r := range tab.Rows {
		if r.Metric == "values ratio (<1: fewer)" && r.Ours.Measured() {
			measured++
		}
	}
	if measured == 0 {
		t.Errorf("no storage ratio measured:\n%s", out)
	}
	for _, want := range []string{"stt t=2", "tucker r=", "sttu t=2", "svd r=", "compression factor", "179"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, p := range []string{"stt-error-1.png", "stt-error-2.png", "stt-accuracy.png"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	cfg.T = 1
	if _, err := STT(context.Background(), &cfg, nil); err == nil {
		t.Error("t = 1: no error")
	}
}

func TestSTTMissingSample(t *testing.T) {
	cfg := DefaultSTTConfig()
	cfg.Images, cfg.Sample, cfg.Methods, cfg.Model = 0, "nosuch.jpg", nil, "nosuch.ckpt"
	tab, err := STT(context.Background(), &cfg, nil)
	if err == nil || tab == nil || len(tab.Failed) == 0 {
		t.Fatalf("missing inputs: err %v, table %+v", err, tab)
	}
}

func TestSTTSmallest(t *testing.T) {
	x := tensor.New(8, 8, 16)
	for i := range x.Data {
		x.Data[i] = math.Sin(float64(i*i%97)) + float64(i%16)/16
	}
	s := tensor.Spec{Method: "stt", T: 2}
	s.Rank = 6
	d, err := tensor.Fit(x, s)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := tensor.RelError(x, d.Reconstruct())
	v, ok, err := sttSmallest(context.Background(), x, s, x.Size(), e)
	if err != nil || !ok || v > d.NumParams() {
		t.Fatalf("smallest for rank 6's error %g: %d values (rank 6: %d), ok %v, err %v", e, v, d.NumParams(), ok, err)
	}
	s.Rank = 4
	d4, _ := tensor.Fit(x, s)
	if e4, _ := tensor.RelError(x, d4.Reconstruct()); e4 > e && v <= d4.NumParams() {
		t.Fatalf("rank 4 (error %g > %g) would not reach it, yet %d ≤ its %d values", e4, e, v, d4.NumParams())
	}
	if _, ok, err := sttSmallest(context.Background(), x, s, 200, -1); ok || err != nil {
		t.Fatalf("unreachable target: ok %v, err %v", ok, err)
	}
}
