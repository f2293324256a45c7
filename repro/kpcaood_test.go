package repro

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// kpcaSmall is the size the tests and the example run at.
var kpcaSmall = KPCAOoDConfig{NFit: 300, NVal: 100, NTest: 100, NOoD: 50, RFFM: 32, NystromM: 32, Seeds: 2}

func TestKPCAOoDSmall(t *testing.T) {
	tab, err := KPCAOoD(t.Context(), kpcaSmall)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 24 {
		t.Fatalf("%d rows, want 24 (6 methods × AUROC, FPR95 × ImageNet, CIFAR-10)", len(tab.Rows))
	}
	published := 0
	for i, r := range tab.Rows {
		n := 1
		if strings.Contains(r.Method, "RFF") || strings.Contains(r.Method, "uniform") {
			n = 2
		}
		if len(r.Ours.Values) != n || r.Ours.Mean < 0 || r.Ours.Mean > 1 {
			t.Errorf("row %d %s %s: ours %v, want %d values in [0, 1]", i, r.Method, r.Metric, r.Ours.Values, n)
		}
		if r.Paper.Source == "" || r.Paper.Setting == "" || r.Differs == "" || !strings.HasPrefix(r.Setting, "Fashion-MNIST") {
			t.Errorf("row %d %s %s: paper %+v, differs %q, setting %q", i, r.Method, r.Metric, r.Paper, r.Differs, r.Setting)
		}
		if i%2 == 1 && (r.Paper.Value != nil || !strings.Contains(r.Paper.Setting, "CIFAR-10")) {
			t.Errorf("row %d: CIFAR-10 row with a value or without the protocol: %+v", i, r.Paper)
		}
		if r.Paper.Value != nil {
			published++
			if *r.Paper.Value <= 0 || *r.Paper.Value >= 1 || r.Paper.Source != kpcaImageNetSource {
				t.Errorf("row %d: paper value %v from %q", i, *r.Paper.Value, r.Paper.Source)
			}
		}
	}
	// CoP, CoRP and KNN have ImageNet-1K AUROC and FPR95 averages.
	if published != 6 {
		t.Errorf("%d published paper values, want 6", published)
	}
	var buf bytes.Buffer
	if err := tab.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"0.8753", "0.486", kpcaImageNetSource, NotPublicText, "settings differ"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestKPCAOoDErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *KPCAOoDConfig)
		want string
	}{
		{"fit + val", func(c *KPCAOoDConfig) { c.NFit = 20000 }, "at most"},
		{"seeds", func(c *KPCAOoDConfig) { c.Seeds = -1 }, "seeds -1"},
		{"ood", func(c *KPCAOoDConfig) { c.NOoD = 101 }, "101 OoD images"},
	} {
		cfg := kpcaSmall
		tc.edit(&cfg)
		if _, err := KPCAOoD(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// The KPCA-OoD reproduction at a small size: our averages over the
// far-OoD sets beside the paper's ImageNet-1K numbers.
func ExampleKPCAOoD() {
	tab, err := KPCAOoD(context.Background(), KPCAOoDConfig{NFit: 300, NVal: 100, NTest: 100, NOoD: 50, RFFM: 32, NystromM: 32, Seeds: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range tab.Rows {
		if r.Method == "CoRP (cos-Gaussian, RFF)" {
			fmt.Printf("%s, paper %s (%s), ours measured: %v\n", r.Metric, r.Paper.Format("%.4f"), r.Paper.Source, r.Ours.Measured())
		}
	}
	// Output:
	// AUROC (avg), paper 0.8753 (KPCA-OoD repo pics/rebuttal-supcon.png, Table 1 (rebuttal)), ours measured: true
	// AUROC (avg), paper not public in text form (KPCA-OoD paper, CIFAR-10 table: NOT FOUND), ours measured: true
	// FPR95 (avg), paper 0.4860 (KPCA-OoD repo pics/rebuttal-supcon.png, Table 1 (rebuttal)), ours measured: true
	// FPR95 (avg), paper not public in text form (KPCA-OoD paper, CIFAR-10 table: NOT FOUND), ours measured: true
}
