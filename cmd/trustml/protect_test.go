package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestProtectCLI(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ops.npz")
	got, err := run(t, "protect", "--method", "ops", "--n", "50", "--out", out)
	if err != nil || !strings.Contains(got, "wrote "+out) || !strings.Contains(got, "class 9: (") {
		t.Fatalf("protect: %v\n%s", err, got)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"protect", "--method", "ops", "--n", "50", "--out", out}, "exists: pass --force"},
		{[]string{"protect", "--method", "sep", "--eps", "8", "--out", out + "2.npz"}, "--eps 8 outside (0, 0.1255] (32/255)"},
		{[]string{"protect", "--method", "pgd", "--out", out}, `unknown --method "pgd"`},
		{[]string{"protect", "--method", "ops", "--out", out + ".csv"}, "want a path ending in .npz"},
		{[]string{"repro", "protect", "--clean-fraction", "2"}, "--clean-fraction 2 outside"},
	} {
		if _, err := run(t, c.args...); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: %v, want %q", c.args, err, c.msg)
		}
	}
	if _, err := run(t, "protect", "--method", "ops", "--n", "50", "--out", out, "--force"); err != nil {
		t.Errorf("--force: %v", err)
	}
	if got, err := run(t, "train", "--data", out, "--arch", "mlp", "--steps", "1", "--out", filepath.Join(t.TempDir(), "m.ckpt")); err != nil {
		t.Errorf("train on the protected set: %v\n%s", err, got)
	}
}
