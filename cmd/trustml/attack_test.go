package main

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/trustml/trustml/oip"
	"github.com/trustml/trustml/robust"
	"github.com/trustml/trustml/zoo"
)

// TestAttackServedModel serves the default model over the Open Inference
// Protocol on loopback, attacks it through --model URL, and requires the
// same per-sample outcome as attacking the in-process model with the same
// seed.
func TestAttackServedModel(t *testing.T) {
	net, _, err := zoo.Default()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&oip.Server{Name: "fashion-cnn", Model: net}).Handler())
	defer srv.Close()
	args := []string{"attack", "--n", "6", "--budget", "30", "--checkpoints", "10,30", "--calibrate", "0",
		"--defenses", "none,aaa-linear", "--seed", "3", "--json"}
	var reports []robust.Report
	for _, m := range []string{srv.URL + "/v2/models/fashion-cnn", "default"} {
		out, err := run(t, append(args, "--model", m)...)
		if err != nil {
			t.Fatalf("--model %s: %v", m, err)
		}
		var r robust.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		reports = append(reports, r)
	}
	for i := range reports[0].Pairs {
		a, b := reports[0].Pairs[i], reports[1].Pairs[i]
		if !reflect.DeepEqual(a.Samples, b.Samples) {
			t.Errorf("%s/%s: served %+v, in-process %+v", a.Attack, a.Defense, a.Samples, b.Samples)
		}
	}
	// An unreachable model is a clear error, not a hang or a panic.
	srv.Close()
	if _, err := run(t, append(args, "--model", srv.URL+"/v2/models/fashion-cnn")...); err == nil {
		t.Error("attacking a closed server succeeded")
	}
}

func TestAttackShardsMerge(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, s := range []string{"0/2", "1/2"} {
		out, err := run(t, "attack", "--n", "6", "--budget", "20", "--checkpoints", "20", "--calibrate", "0", "--defenses", "none", "--shard", s, "--json")
		if err != nil {
			t.Fatal(err)
		}
		f := dir + "/" + s[:1] + ".json"
		if err := writeFile(f, out); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	out, err := run(t, append([]string{"merge", "--json"}, files...)...)
	if err != nil {
		t.Fatal(err)
	}
	var m robust.Report
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Pairs[0].Samples) != 6 || len(m.Shards) != 2 {
		t.Errorf("merged %d samples from shards %v", len(m.Pairs[0].Samples), m.Shards)
	}
	if _, err := run(t, "merge", files[0], files[0]); err == nil {
		t.Error("merging a shard with itself succeeded")
	}
	for _, bad := range []string{"2/2", "1/0", "x", "-1/3"} {
		if _, err := run(t, "attack", "--shard", bad); err == nil {
			t.Errorf("--shard %s accepted", bad)
		}
	}
}
