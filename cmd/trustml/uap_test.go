package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUAPCommand(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "uap", "--train-n", "64", "--test-n", "50", "--epochs", "1", "--targets", fashionONNX, "--out-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fg-uap on fashion-cnn, layer dropout1", "fashion_cnn.onnx", "transfer", "dominant pattern", "wrote " + dir} {
		if !strings.Contains(out, want) {
			t.Errorf("uap output lacks %q:\n%s", want, out)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "uap.npy")); err != nil || st.Size() != 128+4*784 {
		t.Errorf("uap.npy: %v", err)
	}
	for _, c := range []struct{ args, want string }{
		{"--eps 0", "--eps 0 outside (0, 1]"},
		{"--eps 2", "--eps 2 outside (0, 1]"},
		{"--layer conv9", `unknown layer "conv9"`},
		{"--method nope", `unknown UAP method "nope"`},
		{"--out-dir " + dir + " --test-n 5 --train-n 2", "exists; pass --force"},
	} {
		if _, err := run(t, append([]string{"uap"}, strings.Fields(c.args)...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("uap %s: error %v, want %q", c.args, err, c.want)
		}
	}
}

func TestReproUAPCommand(t *testing.T) {
	dir := t.TempDir()
	args := []string{"repro", "uap", "--models", "fashion-cnn," + fashionONNX, "--methods", "fg-uap,random", "--data", "fashion-mnist-small",
		"--train-n", "32", "--test-n", "40", "--epochs", "1"}
	for i := range 2 {
		sh := filepath.Join(dir, []string{"a.json", "b.json"}[i])
		if _, err := run(t, append(args, "--shard", []string{"0/2", "1/2"}[i], "--out", sh)...); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run(t, "repro", "uap", "--from", filepath.Join(dir, "a.json")+","+filepath.Join(dir, "b.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fashion-cnn (white-box)", "fashion-cnn → ", "random", "fooling rate % (clipped)", "clean test accuracy of fashion-cnn"} {
		if !strings.Contains(out, want) {
			t.Errorf("repro uap output lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, "repro", "uap", "--from", filepath.Join(dir, "a.json")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("one shard of two: %v", err)
	}
}
