package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
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
	var binary atomic.Int64 // requests in the binary tensor extension
	h := (&oip.Server{Name: "fashion-cnn", Model: net}).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(oip.HeaderContentLength) != "" {
			binary.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	args := []string{"attack", "--n", "6", "--budget", "30", "--checkpoints", "10,30", "--calibrate", "0",
		"--defenses", "none,aaa-linear", "--seed", "3", "--json"}
	var reports []robust.Report
	url := srv.URL + "/v2/models/fashion-cnn"
	for _, m := range [][]string{{url}, {url, "--binary"}, {"default"}} {
		out, err := run(t, append(args, append([]string{"--model"}, m...)...)...)
		if err != nil {
			t.Fatalf("--model %s: %v", m, err)
		}
		if n := binary.Swap(0); m[0] == url && (len(m) == 2) != (n > 0) {
			t.Fatalf("--model %s: %d binary requests", m, n)
		}
		var r robust.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		reports = append(reports, r)
	}
	for _, r := range reports[:2] {
		for i := range r.Pairs {
			a, b := r.Pairs[i], reports[2].Pairs[i]
			if !reflect.DeepEqual(a.Samples, b.Samples) {
				t.Errorf("%s/%s: served %+v, in-process %+v", a.Attack, a.Defense, a.Samples, b.Samples)
			}
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

// failingServer serves the default model over the Open Inference Protocol
// and answers 500 to every inference request after the first ok ones (or,
// with abort, closes the connection), as a served model that dies mid-run.
func failingServer(t *testing.T, ok int64, abort bool) *httptest.Server {
	t.Helper()
	net, _, err := zoo.Default()
	if err != nil {
		t.Fatal(err)
	}
	h := (&oip.Server{Name: "fashion-cnn", Model: net}).Handler()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && n.Add(1) > ok {
			if abort {
				panic(http.ErrAbortHandler)
			}
			http.Error(w, "dying", http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAttackFailingServer: a served model that starts failing mid-run
// makes "trustml attack" exit non-zero with the failed count, and its
// report shows the failed samples, and n/a (not 0.00%) for accuracies
// that no completed sample measured; --allow-failures prints the same report and
// exits 0. A model failing from the start of the attack fails every
// attacked sample; one failing from the first clean pass fails them all.
func TestAttackFailingServer(t *testing.T) {
	args := []string{"attack", "--n", "6", "--budget", "30", "--checkpoints", "10,30", "--calibrate", "0",
		"--defenses", "none", "--retries", "1", "--retry-backoff", "1ms"}
	for _, c := range []struct {
		ok    int64 // inference requests answered: clean pass, defended clean pass, attack rounds
		abort bool
		want  []string
	}{
		{0, false, []string{"square  none     n/a        n/a        n/a        -       -         n/a            n/a  n/a       -         6\n",
			"FAILED: square vs none: 6 of 6 samples failed; over all 6, robust@30 lies in [0.00%, 100.00%]"}},
		{2, true, []string{"FAILED: square vs none: 6 of 6 samples failed; over all 6, robust@30 lies in [0.00%, 100.00%]"}},
		{12, false, []string{"FAILED: square vs none: ", "samples failed; the accuracies above are over the "}},
	} {
		srv := failingServer(t, c.ok, c.abort)
		url := srv.URL + "/v2/models/fashion-cnn"
		out, err := run(t, append(args, "--model", url)...)
		if !errors.Is(err, robust.ErrFailed) || !strings.Contains(err.Error(), "samples failed") || !strings.Contains(err.Error(), "--allow-failures") {
			t.Errorf("ok %d: err %v, want the failed count and a non-zero exit", c.ok, err)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("ok %d: report lacks %q:\n%s", c.ok, w, out)
			}
		}
		if strings.Contains(out, "0.00%  ") && c.ok == 0 {
			t.Errorf("ok %d: a 0.00%% accuracy measured on no sample:\n%s", c.ok, out)
		}
		srv2 := failingServer(t, c.ok, c.abort)
		out2, err := run(t, append(args, "--model", srv2.URL+"/v2/models/fashion-cnn", "--allow-failures")...)
		_, body, _ := strings.Cut(out, "\n") // after the model's URL
		if _, body2, _ := strings.Cut(out2, "\n"); err != nil || body2 != body {
			t.Errorf("ok %d: --allow-failures: err %v, report\n%s\nwant\n%s", c.ok, err, out2, out)
		}
	}
	for _, bad := range [][]string{{"--retries", "11"}, {"--retries", "-1"}, {"--retry-backoff", "2m"}, {"--timeout", "0s"}} {
		if _, err := run(t, append(args, bad...)...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestAttackKnobs: --loss up runs up-square, --attack-param reaches the
// attack and a bad one is an error.
func TestAttackKnobs(t *testing.T) {
	args := []string{"attack", "--n", "3", "--budget", "10", "--checkpoints", "10", "--calibrate", "0", "--defenses", "none", "--json"}
	out, err := run(t, append(args, "--loss", "up", "--attack-param", "square:p_init=0.3,n_iters=10000")...)
	if err != nil {
		t.Fatal(err)
	}
	var r robust.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Pairs[0].Attack != "up-square" {
		t.Fatalf("--loss up: %v, pairs %+v", err, r.Pairs)
	}
	for _, bad := range [][]string{{"--attack-param", "square:p_inti=0.3"}, {"--attack-param", "nes:p_init=0.3"}, {"--loss", "sideways"}} {
		if _, err := run(t, append(args, bad...)...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestAttackRetriesTransient: one 500 from the served model is retried
// (--retries 1) and fails no sample; without retries it fails the samples
// of that request and the run exits non-zero.
func TestAttackRetriesTransient(t *testing.T) {
	net, _, err := zoo.Default()
	if err != nil {
		t.Fatal(err)
	}
	h := (&oip.Server{Name: "fashion-cnn", Model: net}).Handler()
	for _, c := range []struct {
		retries string
		fail    bool
	}{{"1", false}, {"0", true}} {
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && n.Add(1) == 4 { // the attack's first round
				http.Error(w, "hiccup", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		}))
		_, err := run(t, "attack", "--n", "4", "--budget", "10", "--checkpoints", "10", "--calibrate", "0", "--defenses", "none",
			"--retries", c.retries, "--retry-backoff", "1ms", "--model", srv.URL+"/v2/models/fashion-cnn")
		srv.Close()
		if failed := errors.Is(err, robust.ErrFailed); failed != c.fail {
			t.Errorf("--retries %s: err %v, want failed samples %v", c.retries, err, c.fail)
		}
	}
}
