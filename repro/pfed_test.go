package repro

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trustml/trustml/fed"
	"github.com/trustml/trustml/shard"
)

func tinyPFed() PFedConfig {
	c := DefaultPFedConfig()
	c.Seeds, c.Methods = 1, []string{fed.MethodLearn2pFed, fed.MethodFedAvg, fed.MethodLocal}
	f := &c.Fed
	f.Procs, f.Data, f.Clients, f.TrainSamples, f.TestPerClient, f.Rounds, f.RoundTimeout = false, "digits", 3, 400, 30, 1, 5*time.Second
	return c
}

// TestPFedShards runs the reproduction in two shards and merges them.
func TestPFedShards(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 2 {
		c := tinyPFed()
		c.Shard, c.Out = shard.Spec{Index: i, Count: 2}, filepath.Join(dir, "pfed"+string(rune('0'+i))+".json")
		if _, err := PFed(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		files = append(files, c.Out)
	}
	c := tinyPFed()
	c.From = files
	tab, err := PFed(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = tab.WriteText(&b)
	t.Log("\n" + b.String())
	if len(tab.Rows) != 12 || !tab.Complete() {
		t.Fatalf("%d rows, failed %v", len(tab.Rows), tab.Failed)
	}
	for _, r := range tab.Rows {
		if math.IsNaN(r.Ours.Mean) || len(r.Ours.Values) != 1 {
			t.Errorf("%s %s: %v", r.Method, r.Metric, r.Ours)
		}
		if r.Method == fed.MethodLocal && r.Metric == "bytes / round" && r.Ours.Mean != 0 {
			t.Errorf("local training sent %g bytes per round", r.Ours.Mean)
		}
	}
	if !strings.Contains(b.String(), NotPublicText) {
		t.Error("the table does not say the paper's numbers are not public")
	}
	c.From = files[:1]
	if _, err := PFed(context.Background(), c); err == nil {
		t.Error("merging one of two shards succeeded")
	}
}

// TestPFedFailedRun: a run that loses a client is listed as failed and
// shows no number.
func TestPFedFailedRun(t *testing.T) {
	c := tinyPFed()
	c.Methods = []string{fed.MethodFedAvg}
	c.Fed.Rounds, c.Fed.KillClient, c.Fed.KillRound, c.Fed.MinClients, c.Fed.RoundTimeout = 2, 1, 1, 1, 2*time.Second
	tab, err := PFed(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Complete() || !strings.Contains(tab.Failed[0], "clients [1] dropped") || !math.IsNaN(tab.Rows[0].Ours.Mean) {
		t.Errorf("failed %v, accuracy %v", tab.Failed, tab.Rows[0].Ours)
	}
	c.Methods = []string{"fedsgd"}
	if _, err := PFed(context.Background(), c); err == nil || !strings.Contains(err.Error(), `"fedsgd"`) {
		t.Errorf("unknown method: %v", err)
	}
}
