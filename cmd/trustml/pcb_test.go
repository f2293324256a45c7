package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestPCBCommands runs pcb train, detect, eval and repro pcb on the 6 pairs
// of pcb/testdata.
func TestPCBCommands(t *testing.T) {
	const data = "../../pcb/testdata/deeppcb"
	dir := t.TempDir()
	model, dets := filepath.Join(dir, "b.json"), filepath.Join(dir, "dets")
	out, err := run(t, "pcb", "train", "--data-dir", data, "--out", model)
	if err != nil || !strings.Contains(out, "on 4 pairs") {
		t.Fatalf("train: %q, %v", out, err)
	}
	out, err = run(t, "pcb", "detect", "--data-dir", data, "--model", model, "--out", dets, "--json")
	var d struct {
		Names  []string `json:"names"`
		Result struct {
			MAP float64 `json:"map"`
		} `json:"result"`
	}
	if err != nil || json.Unmarshal([]byte(out), &d) != nil || len(d.Names) != 2 || d.Result.MAP <= 0 {
		t.Fatalf("detect: %q, %v", out, err)
	}
	out, err = run(t, "pcb", "eval", "--data-dir", data, "--dets", dets)
	if err != nil || !strings.Contains(out, "2 images: mAP") {
		t.Fatalf("eval: %q, %v", out, err)
	}
	if _, err := run(t, "pcb", "detect", "--data-dir", data, "--model", filepath.Join(dir, "none.json")); err == nil || !strings.Contains(err.Error(), "pcb train") {
		t.Errorf("missing model: %v", err)
	}
	out, err = run(t, "repro", "pcb", "--data-dir", data)
	if err != nil || !strings.Contains(out, "mAP %") || !strings.Contains(out, "98.6") {
		t.Errorf("repro pcb: %q, %v", out, err)
	}
}
