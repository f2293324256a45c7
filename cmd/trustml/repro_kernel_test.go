package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trustml/trustml/repro"
)

// checkKernelRepro runs a kernel repro subcommand at a tiny size and checks
// that its table shows the paper column with its source (for these papers
// the numbers are not public in text form, so the paper's protocol), and
// that --json gives the same table as JSON.
func checkKernelRepro(t *testing.T, source string, args ...string) {
	t.Helper()
	out, err := run(t, append([]string{"repro"}, args...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"paper", "source", source, repro.NotPublicText, "protocol:", "paper's protocol (" + source, "differs from the paper"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, append(append([]string{"repro"}, args...), "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var tab repro.Table
	if err := json.Unmarshal([]byte(out), &tab); err != nil || len(tab.Rows) == 0 || !strings.HasPrefix(tab.Rows[0].Paper.Source, source) {
		t.Errorf("--json: %v, %d rows, first %+v", err, len(tab.Rows), tab.Rows)
	}
}

func TestReproAsKLS(t *testing.T) {
	checkKernelRepro(t, "AsK-LS (TPAMI 2023", "asksl", "--reps", "1", "--folds", "2", "--data", "iris")
}

func TestReproLABRBF(t *testing.T) {
	checkKernelRepro(t, "LAB RBF (arXiv 2310.05236)", "labrbf", "--reps", "1", "--iters", "5,5", "--max-sv", "20", "--data", "boston")
}

func TestReproAsKRFF(t *testing.T) {
	// digits has more than 1000 samples: the quick protocol runs only the
	// approximation error there.
	checkKernelRepro(t, "AsK-RFF paper", "askrff", "--reps", "1", "--n", "40", "--data", "digits")
}

func TestReproGORF(t *testing.T) {
	checkKernelRepro(t, "GORF paper", "gorf", "--reps", "1", "--n", "30", "--data", "iris")
}

// TestReproGORFAndAsKLSErrors checks that bad flags are errors and that a data set
// that fails still prints the others' rows, then exits non-zero.
func TestReproGORFAndAsKLSErrors(t *testing.T) {
	if _, err := run(t, "repro", "asksl", "--reps", "-1"); err == nil || !strings.Contains(err.Error(), "--reps") {
		t.Errorf("--reps -1: %v", err)
	}
	out, err := run(t, "repro", "gorf", "--reps", "1", "--n", "20", "--data", "iris,no-such-set")
	if err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("a failed data set: error %v", err)
	}
	if !strings.Contains(out, "iris, delta-gaussian") || !strings.Contains(out, "FAILED: no-such-set") {
		t.Errorf("output lacks the computed rows or the failure:\n%s", out)
	}
}
