package repro

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/pcb"
	"github.com/trustml/trustml/shard"
)

const pcbTestData = "../pcb/testdata/deeppcb"

func TestPCB(t *testing.T) {
	c := DefaultPCBConfig()
	c.DataDir = pcbTestData
	c.Deep.Down, c.Deep.Width, c.Deep.Crop, c.Deep.Epochs, c.Deep.Batch = 5, 2, 64, 2, 2 // a tiny deep detector
	tab, err := PCB(context.Background(), &c, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tab.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	t.Log(buf.String())
	const perMethod = 3 + pcb.NumClasses + 2
	if len(tab.Rows) != 2*perMethod || !tab.Complete() {
		t.Fatalf("%d rows, failed %v", len(tab.Rows), tab.Failed)
	}
	for _, r := range tab.Rows {
		if !r.Ours.Measured() {
			t.Errorf("%s: not measured", r.Metric)
		}
	}
	if m := tab.Rows[0]; m.Metric != "mAP %" || *m.Paper.Value != 98.6 || m.Ours.Mean < 30 || m.Ours.Mean > 100 {
		t.Errorf("mAP row %+v", m)
	}
	// Two shards saved and merged give the same table.
	dir := t.TempDir()
	var files []string
	for i := range 2 {
		s := c
		s.Shard, s.Out = shard.Spec{Index: i, Count: 2}, filepath.Join(dir, "s"+string(rune('0'+i))+".json")
		if _, err := PCB(context.Background(), &s, nil); err != nil {
			t.Fatal(err)
		}
		files = append(files, s.Out)
	}
	m := c
	m.From = files
	merged, err := PCB(context.Background(), &m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := tab.Rows[perMethod]; d.Method != "deep detector (two-input CNN, GPP)" || d.Metric != "mAP %" || d.Ours.Mean < 0 || d.Ours.Mean > 100 {
		t.Errorf("deep mAP row %+v", d)
	}
	for i := range len(tab.Rows) {
		if strings.HasPrefix(tab.Rows[i].Metric, "images/s") || strings.HasPrefix(tab.Rows[i].Metric, "training") {
			continue
		}
		if merged.Rows[i].Ours.Mean != tab.Rows[i].Ours.Mean {
			t.Errorf("%s: merged %g, whole %g", tab.Rows[i].Metric, merged.Rows[i].Ours.Mean, tab.Rows[i].Ours.Mean)
		}
	}
	// --no-deep: the baseline's rows only, and a note saying so.
	nd := c
	nd.NoDeep = true
	only, err := PCB(context.Background(), &nd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(only.Rows) != perMethod || !strings.Contains(strings.Join(only.Notes, "\n"), "--no-deep") {
		t.Errorf("--no-deep: %d rows, notes %v", len(only.Rows), only.Notes)
	}
	m.From = files[:1]
	if _, err := PCB(context.Background(), &m, nil); err == nil || !strings.Contains(err.Error(), "shard") {
		t.Errorf("one shard of two merged: %v", err)
	}
}
