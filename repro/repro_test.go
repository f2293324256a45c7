package repro

import (
	"bytes"
	"strings"
	"testing"
)

func TestTableText(t *testing.T) {
	tab := Table{
		Paper: "P", Protocol: "ours",
		Rows: []Row{
			{Setting: "a", Method: "m", Metric: "acc %", Paper: Published(80.59, "AAA poster, Table 2", "CIFAR-10"), Ours: NewStat([]float64{50})},
			{Setting: "b", Method: "m", Metric: "acc %", Paper: NotPublic("paper", "CIFAR-10 ResNet-18"), Ours: NewStat(nil)},
		},
		Failed: []string{"b: data missing"},
	}
	var buf bytes.Buffer
	if err := tab.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"80.59", "AAA poster, Table 2", NotPublicText, "n/a", "FAILED: b: data missing", "paper's protocol (paper): CIFAR-10 ResNet-18"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if tab.Complete() {
		t.Error("a table with a failed setting is Complete")
	}
}

// TestStatJSON checks that a statistic survives JSON, n/a included (JSON
// has no NaN).
