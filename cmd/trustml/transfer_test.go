package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTransferCommand(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "transfer", "--models", "fashion-cnn,fashion-resnet8", "--n", "10", "--attack", "mi-fgsm", "--steps", "3", "--out-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mi-fgsm, 3 step(s)", "fashion-resnet8", "Pearson", "ℓ2 ratio"} {
		if !strings.Contains(out, want) {
			t.Errorf("transfer output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"transfer.json", "transfer.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := run(t, "transfer", "--attack", "square"); err == nil || !strings.Contains(err.Error(), "not a transfer attack") {
		t.Errorf("--attack square: error %v", err)
	}
}

func TestReproDefensesCommand(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, s := range []string{"0/2", "1/2"} {
		f := filepath.Join(dir, "s"+s[:1]+".json")
		if _, err := run(t, "repro", "defenses", "--n", "2", "--budgets", "5", "--attacks", "square", "--defenses", "none,rounded", "--calibrate", "0", "--shard", s, "--out", f); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	out, err := run(t, "repro", "defenses", "--from", strings.Join(files, ","), "--out", filepath.Join(dir, "board"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "| rank | defense |") || !strings.Contains(out, "rounded") {
		t.Errorf("leaderboard:\n%s", out)
	}
	for _, f := range []string{"board.md", "board.json", "board.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := run(t, "repro", "defenses", "--attacks", "pgd"); err == nil {
		t.Error("white-box attack accepted")
	}
}
