package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCompressCLI(t *testing.T) {
	out := filepath.Join(t.TempDir(), "c.ckpt")
	s, err := run(t, "compress", "--method", "svd", "--ratio", "5", "--n", "50", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"svd r=", "accuracy on", "wrote " + out} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if _, err := run(t, "eval", "--model", out); err != nil {
		t.Errorf("eval of the compressed checkpoint: %v", err)
	}
	if _, err := run(t, "compress", "--method", "cp"); err == nil || !strings.Contains(err.Error(), "unknown method") {
		t.Errorf("unknown method: err %v", err)
	}
	if s, err := run(t, "repro", "stt", "--help"); err != nil || !strings.Contains(s, "--storage") {
		t.Errorf("repro stt --help: %v\n%s", err, s)
	}
}
