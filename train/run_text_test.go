package train

import (
	"strings"
	"testing"

	"github.com/trustml/trustml/metrics"
)

func TestRunResultWriteText(t *testing.T) {
	r := &RunResult{Checkpoint: "m.ckpt", Seconds: 61.4, TestData: "d", Test: metrics.Classification{N: 10, Accuracy: 0.9, NLL: 0.25, ECE: 0.031}}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "saved m.ckpt after 1m1s\nsplit     n   accuracy  nll     ece\nd (test)  10  90.00%    0.2500  3.10%\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	r.Robust = []RobustEpoch{{Epoch: 2, N: 5, Clean: 0.8, FGSM: 0.6, PGD: 0.4}}
	b.Reset()
	if err := r.WriteText(&b); err != nil || !strings.HasSuffix(b.String(), r.RobustSummary()) {
		t.Errorf("with adversarial training: %v\n%s", err, b.String())
	}
}
