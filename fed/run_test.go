package fed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/natsnet"
)

// smallConfig is a run of a second or two on the embedded digits set.
func smallConfig() Config {
	c := DefaultConfig()
	c.Data, c.Clients, c.TrainSamples, c.TestPerClient, c.Rounds, c.Alpha = "digits", 4, 600, 40, 2, 0.5
	c.RoundTimeout = 5 * time.Second
	return c
}

func report(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	return b.String()
}

func TestRunMethods(t *testing.T) {
	for _, m := range MethodNames() {
		c := smallConfig()
		c.Method = m
		r, err := Run(context.Background(), c)
		if err != nil {
			t.Fatal(m, err)
		}
		out := report(t, r)
		res := r.Result
		if len(res.Evaluated()) != 4 || !(res.MeanAccuracy() > 0.2) {
			t.Errorf("%s: evaluated %v, mean accuracy %g", m, res.Evaluated(), res.MeanAccuracy())
		}
		info, _ := LookupMethod(m)
		if info.Communicates {
			// 4 global models down, 4 uploads up, each header + 4 bytes per number
			want := 8 * (headerLen + 4*r.Params)
			if res.Rounds != 2 || res.MessagesPerRound != 8 || res.BytesPerRound != float64(want) {
				t.Errorf("%s: %d rounds, %g messages, %g bytes per round; want 2, 8, %d", m, res.Rounds, res.MessagesPerRound, res.BytesPerRound, want)
			}
		} else if len(res.RoundStats) != 0 || !strings.Contains(out, "communication: none") {
			t.Errorf("%s communicates: %+v", m, res.RoundStats)
		}
		if m == MethodLearn2pFed && len(res.Clients[0].Beta) != 6 {
			t.Errorf("learn2pfed reports β for %d groups, want 6", len(res.Clients[0].Beta))
		}
	}
}

// TestLimits: learn2pfed with Λ → ∞ (β → 0, frozen) is FedAvg, with Λ → 0
// (β → 1) local training.
func TestLimits(t *testing.T) {
	run := func(method string, beta0 float64) *Result {
		c := smallConfig()
		c.Method, c.Beta0, c.MixLR = method, beta0, 0
		r, err := Run(context.Background(), c)
		if err != nil {
			t.Fatal(method, err)
		}
		return r.Result
	}
	fa, l2 := run(MethodFedAvg, 0.5), run(MethodLearn2pFed, 1e-9)
	for i := range fa.Global {
		if d := math.Abs(float64(fa.Global[i] - l2.Global[i])); d > 1e-5 {
			t.Fatalf("β → 0: global weight %d is %g, FedAvg's %g", i, l2.Global[i], fa.Global[i])
		}
	}
	lo, l2 := run(MethodLocal, 0.5), run(MethodLearn2pFed, 1-1e-9)
	for j := range lo.Clients {
		if lo.Clients[j].Accuracy != l2.Clients[j].Accuracy {
			t.Errorf("β → 1: client %d accuracy %g, local training's %g", j, l2.Clients[j].Accuracy, lo.Clients[j].Accuracy)
		}
	}
}

// TestKillClient: a client killed mid-run (its connection closed) is
// dropped after the round timeout; the others finish and the report says so.
func TestKillClient(t *testing.T) {
	c := smallConfig()
	c.Method, c.Rounds, c.RoundTimeout, c.KillClient, c.KillRound, c.MinClients = MethodFedAvg, 3, 3*time.Second, 1, 1, 2
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	out := report(t, r)
	res := r.Result
	if !reflect.DeepEqual(res.Dropped, []int{1}) || !reflect.DeepEqual(res.DroppedAt, []int{1}) || !reflect.DeepEqual(res.Evaluated(), []int{0, 2, 3}) || res.Rounds != 3 {
		t.Fatalf("dropped %v at %v, evaluated %v, %d rounds", res.Dropped, res.DroppedAt, res.Evaluated(), res.Rounds)
	}
	if res.RoundStats[2].Clients != 3 || !strings.Contains(out, "DROPPED clients [1]") || !strings.Contains(out, "n/a (dropped)") {
		t.Errorf("round stats %+v; report does not say client 1 dropped", res.RoundStats)
	}
}

// TestTooFewClients: a run that loses clients below --min-clients stops
// with an error naming them.
func TestTooFewClients(t *testing.T) {
	c := smallConfig()
	c.Clients, c.Method, c.Rounds, c.RoundTimeout, c.KillClient, c.KillRound, c.MinClients = 3, MethodLearn2pFed, 3, 3*time.Second, 0, 1, 3
	_, err := Run(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "round 1: 2 clients left (dropped [0]), fewer than --min-clients 3") {
		t.Fatalf("error %v", err)
	}
}

// TestBadInput: every invalid setting is an error naming it.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Method = "fedprox" }, `unknown federated method "fedprox"`},
		{func(c *Config) { c.Clients = 0 }, "--clients 0"},
		{func(c *Config) { c.Alpha = 0 }, "Dirichlet α 0"},
		{func(c *Config) { c.Arch = "vgg" }, `unknown architecture "vgg"`},
		{func(c *Config) { c.Data = "diabetes" }, "no class labels"},
		{func(c *Config) { c.Data = "nosuch.csv" }, "nosuch.csv"},
		{func(c *Config) { c.Clients = 100 }, "600 training samples for 100 clients"},
		{func(c *Config) { c.MinClients = 5 }, "--min-clients 5 for 4 clients"},
		{func(c *Config) { c.KillClient = 4 }, "--kill-client 4"},
		{func(c *Config) { c.Rounds = 0 }, "--rounds 0"},
		{func(c *Config) { c.MixHoldout = 1 }, "--mix-holdout 1"},
		{func(c *Config) { c.Client = 0 }, "needs --nats and --run"},
		{func(c *Config) { c.External = true }, "--external needs --run"},
		{func(c *Config) { c.TrainSamples = -1 }, "--train-samples -1"},
	} {
		c := smallConfig()
		tc.mod(&c)
		if _, err := Run(context.Background(), c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	c := smallConfig()
	c.Method = "fedprox"
	if _, err := Run(context.Background(), c); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown method: %v does not match ErrUnknown", err)
	}
}

// tinyShards are in-memory clients for the tiny MLP.
func tinyShards(n int) []Shard {
	var out []Shard
	for j := range n {
		m := 6 + 2*j
		d := &data.Dataset{Name: "tiny", Shape: []int{4}, X: make([]float32, 4*m), Y: make([]int, m), Classes: []string{"a", "b"}}
		for i := range d.X {
			d.X[i] = float32(math.Sin(float64(i*(j+3)) * 0.7))
		}
		for i := range d.Y {
			d.Y[i] = (i + j) % 2
		}
		out = append(out, Shard{Train: d, Test: d})
	}
	return out
}

// TestDuplicateLateCorrupt: a rogue connection repeats every upload, sends
// an upload of an old round and garbage; the server ignores and counts
// them, and the model is bit for bit that of a clean run.
func TestDuplicateLateCorrupt(t *testing.T) {
	url := startServer(t)
	o := Options{Method: MethodLearn2pFed, Spec: tinySpec, Rounds: 4, LocalEpochs: 1, Batch: 4, LR: 0.1, MixSteps: 2, MixLR: 1, Eta: 1, Beta0: 0.5,
		MinClients: 3, RoundTimeout: 2 * time.Second, Seed: 3, KillClient: -1}
	clean, err := Fit(context.Background(), url, tinyShards(3), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := nats.Connect(url, nats.NoEcho())
	if err != nil {
		t.Fatal(err)
	}
	defer rogue.Close()
	var repeated atomic.Int64
	_, err = rogue.Subscribe("trustml.fed.*.server", func(msg *nats.Msg) {
		m, err := decodeMessage(msg.Data)
		if err != nil || m.Kind != kindUpload {
			return
		}
		repeated.Add(1)
		_ = rogue.Publish(msg.Subject, msg.Data) // duplicate (or late, once the round is over)
		if m.Round > 0 {
			old := *m
			old.Round--
			_ = rogue.Publish(msg.Subject, old.encode()) // late
		}
		_ = rogue.Publish(msg.Subject, msg.Data[:headerLen+3]) // corrupt
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = rogue.Flush()
	got, err := Fit(context.Background(), url, tinyShards(3), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Global, clean.Global) {
		t.Error("repeated, late and corrupt messages changed the model")
	}
	for j := range got.Clients {
		if got.Clients[j].Accuracy != clean.Clients[j].Accuracy {
			t.Errorf("client %d accuracy %g, clean run %g", j, got.Clients[j].Accuracy, clean.Clients[j].Accuracy)
		}
	}
	// The rogue sees every upload (its subscription was flushed before the
	// run), though its copies may reach the server only after it stopped
	// reading: which copies are counted depends on scheduling, so the
	// counting itself is checked by TestReceive.
	deadline := time.Now().Add(10 * time.Second)
	for repeated.Load() < 12 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := repeated.Load(); n != 12 {
		t.Errorf("the rogue saw %d uploads, want 12 (3 clients × 4 rounds)", n)
	}
	if ignored := got.Duplicate + got.Late + got.Corrupt; ignored > 3*12 {
		t.Errorf("server ignored %d messages, more than the rogue's %d", ignored, 3*12)
	}
}

// TestReceive: the server accepts one upload per live client and round and
// counts every other message as duplicate, late or corrupt.
func TestReceive(t *testing.T) {
	const n = 3 // numbers per upload
	up := func(from, round, count int) []byte {
		return (&message{Kind: kindUpload, From: from, Round: round, Weight: 1, Vec: make([]float32, count)}).encode()
	}
	good := up(0, 2, n)
	tests := []struct {
		name                     string
		msgs                     [][]byte
		accepted                 []int
		duplicate, late, corrupt int
	}{
		{"one upload each", [][]byte{up(0, 2, n), up(1, 2, n)}, []int{0, 1}, 0, 0, 0},
		{"repeated upload", [][]byte{good, good, good}, []int{0}, 2, 0, 0},
		{"old round", [][]byte{up(1, 1, n), up(1, 0, n)}, nil, 0, 2, 0},
		{"future round", [][]byte{up(1, 3, n)}, nil, 0, 0, 1},
		{"wrong length", [][]byte{up(1, 2, n+1)}, nil, 0, 0, 1},
		{"truncated", [][]byte{good[:headerLen+3]}, nil, 0, 0, 1},
		{"unknown sender", [][]byte{up(7, 2, n)}, nil, 0, 0, 1},
		{"dropped sender", [][]byte{up(2, 2, n)}, nil, 0, 1, 0},
		{"server's own kind", [][]byte{(&message{Kind: kindGlobal, From: 1, Round: 2}).encode()}, nil, 0, 0, 1},
		{"heartbeat", [][]byte{(&message{Kind: kindAlive, From: 1, Round: 2}).encode()}, nil, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := &Result{RoundStats: make([]RoundStat, 3)}
			s := &serverRun{live: []bool{true, true, false}, seen: make([]time.Time, 3), res: res}
			got := map[int]*message{}
			for _, b := range tc.msgs {
				s.receive(&nats.Msg{Data: b}, 2, n, got)
			}
			if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, tc.accepted) {
				t.Errorf("accepted uploads from %v, want %v", keys, tc.accepted)
			}
			if res.Duplicate != tc.duplicate || res.Late != tc.late || res.Corrupt != tc.corrupt {
				t.Errorf("counted %d duplicate, %d late, %d corrupt; want %d, %d, %d",
					res.Duplicate, res.Late, res.Corrupt, tc.duplicate, tc.late, tc.corrupt)
			}
			if st := res.RoundStats[2]; st.Messages != len(tc.accepted) {
				t.Errorf("round stats count %d messages, want %d", st.Messages, len(tc.accepted))
			}
		})
	}
}

// TestHelperClientProcess is a client process when started by the
// process tests.
func TestHelperClientProcess(t *testing.T) {
	if os.Getenv("FED_HELPER_CLIENT") != "1" {
		t.Skip("helper process")
	}
	var c Config
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	if err := natsnet.SetArgs(&c, args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := Run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestProcs: clients as OS processes compute what goroutines compute; one
// killed with SIGKILL mid-run is dropped and the others finish.
func TestProcs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	c := smallConfig()
	c.Clients, c.Method, c.Rounds, c.MinClients = 3, MethodLearn2pFed, 3, 2
	g, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	c.Procs = true
	c.Exec = []string{os.Args[0], "-test.run=^TestHelperClientProcess$", "--"}
	c.Env = []string{"FED_HELPER_CLIENT=1"}
	p, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	report(t, p)
	if !slices.Equal(g.Result.Global, p.Result.Global) || g.Result.BytesPerRound != p.Result.BytesPerRound {
		t.Error("processes computed another model than goroutines")
	}
	for j := range c.Clients {
		if g.Result.Clients[j].Accuracy != p.Result.Clients[j].Accuracy {
			t.Errorf("client %d: accuracy %g in a goroutine, %g in a process", j, g.Result.Clients[j].Accuracy, p.Result.Clients[j].Accuracy)
		}
	}
	c.Method, c.KillClient, c.KillRound, c.RoundTimeout = MethodFedAvg, 2, 2, 3*time.Second
	k, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	out := report(t, k)
	if !reflect.DeepEqual(k.Result.Dropped, []int{2}) || !reflect.DeepEqual(k.Result.Evaluated(), []int{0, 1}) || !strings.Contains(out, "DROPPED clients [2]") {
		t.Errorf("killed process: dropped %v, evaluated %v", k.Result.Dropped, k.Result.Evaluated())
	}
}

// TestLateJoiner: a client ready after the start learns that the run went
// on without it, instead of waiting.
func TestLateJoiner(t *testing.T) {
	url := startServer(t)
	o := Options{Method: MethodFedAvg, Spec: tinySpec, Rounds: 1, LocalEpochs: 1, Batch: 4, LR: 0.1, MinClients: 1, RoundTimeout: time.Second, KillClient: -1}
	s, ready, err := newServer(url, "trustml.fed.late", o, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.nc.Close()
	joined, err := coordinate(s.nc, ready, s.prefix, 2, 200*time.Millisecond)
	if err != nil || joined[0] || joined[1] {
		t.Fatalf("joined %v, %v", joined, err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go lateJoiners(s.nc, ready, s.prefix, startList([]bool{true, false}), stop)
	if _, _, err := joinRun(context.Background(), url, s.prefix, 1, 5*time.Second); err == nil || !strings.Contains(err.Error(), "started without this client") {
		t.Errorf("late client 1: %v", err)
	}
	nc, _, err := joinRun(context.Background(), url, s.prefix, 0, 5*time.Second)
	if err != nil {
		t.Fatalf("client 0 on the start list: %v", err)
	}
	nc.Close()
}

// TestExternalClients: a server with --external serves client processes
// started elsewhere (here: Run with --client in goroutines, each its own
// connection), as pods on other machines would be.
func TestExternalClients(t *testing.T) {
	url := startServer(t)
	c := smallConfig()
	c.Clients, c.Method, c.NATS, c.Run, c.External = 3, MethodLearn2pFed, url, "ext1", true
	for j := range c.Clients {
		cc := c
		cc.External, cc.Client = false, j
		go func() { _, _ = Run(context.Background(), cc) }()
	}
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if out := report(t, r); len(r.Result.Evaluated()) != 3 || r.Result.MessagesPerRound != 6 || !strings.Contains(out, "(external processes)") {
		t.Fatalf("evaluated %v, %g messages per round", r.Result.Evaluated(), r.Result.MessagesPerRound)
	}
}
