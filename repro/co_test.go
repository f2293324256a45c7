package repro

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestCO runs the reproduction at a tiny size: every run's rows, curves
// and the not-public paper cells.
func TestCO(t *testing.T) {
	cfg := COConfig{Arch: "mlp", TrainN: 300, HeldOut: 40, TestN: 50, Epochs: 1, Batch: 64, PlotDir: t.TempDir() + "/new/plots"}
	tab, err := CO(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 11 || !tab.Complete() {
		t.Fatalf("%d rows, failed %v", len(tab.Rows), tab.Failed)
	}
	if pngs, _ := filepath.Glob(filepath.Join(cfg.PlotDir, "*.png")); len(pngs) != 2 {
		t.Errorf("plots %v, want one per run", pngs)
	}
	for _, r := range tab.Rows {
		if r.Paper.Value != nil || !r.Ours.Measured() {
			t.Errorf("row %+v", r)
		}
	}
	var b strings.Builder
	if err := tab.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FGSM-AT (α=ε, no random start)", "FGSM-RS (random start, α=0.5ε)", "PGD-10 accuracy %", "held-out accuracy by epoch"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := CO(context.Background(), COConfig{Eps: 2}); err == nil || !strings.Contains(err.Error(), "--eps") {
		t.Errorf("ε = 2: %v", err)
	}
}

// TestSubAT runs the Sub-AT reproduction at a tiny size.
func TestSubAT(t *testing.T) {
	cfg := COConfig{Arch: "mlp", TrainN: 300, HeldOut: 40, TestN: 50, Epochs: 2, Batch: 64}
	tab, err := SubAT(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 8 || !tab.Complete() {
		t.Fatalf("%d rows, failed %v", len(tab.Rows), tab.Failed)
	}
	if p := tab.Rows[7].Paper; p.Value == nil || *p.Value != 51 || tab.Rows[7].Method != "Sub-AT (d=3)" {
		t.Errorf("Sub-AT PGD row %+v", tab.Rows[7])
	}
	for _, r := range tab.Rows {
		if !r.Ours.Measured() {
			t.Errorf("row %+v measured nothing", r)
		}
	}
}

func TestPlotName(t *testing.T) {
	for in, want := range map[string]string{
		"FGSM-RS (random start, α=0.5ε)": "fgsm-rs-random-start-a-0.5e.png",
		"Sub-AT (d=8)":                   "sub-at-d-8.png",
	} {
		if got := plotName(in); got != want {
			t.Errorf("plotName(%q) = %q, want %q", in, got, want)
		}
	}
}
