package dekrr

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trustml/trustml/natsnet"
)

func TestRunGoroutines(t *testing.T) {
	c := DefaultConfig()
	c.Data, c.Nodes, c.Features, c.Rounds = "diabetes", 4, 15, 60
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	for _, m := range []string{MethodDeKRR, MethodLocal, MethodCentral} {
		if v := r.RSE[m]; !(v > 0 && v < 1.5) {
			t.Errorf("%s RSE %g", m, v)
		}
	}
	if r.Result.MessagesPerRound != 8 || !strings.Contains(b.String(), "per round: 8.0 messages") {
		t.Errorf("messages per round %g", r.Result.MessagesPerRound)
	}
}

func TestRunBadInput(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Data = "iris" }, "not a regression set"},
		{func(c *Config) { c.Topology = "random:0.01"; c.Nodes = 20 }, "disconnected"},
		{func(c *Config) { c.Nodes = 1 }, "--nodes 1"},
		{func(c *Config) { c.Lambda = -1 }, "λ"},
		{func(c *Config) { c.Node = 0 }, "needs --nats and --run"},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		if _, err := Run(context.Background(), c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// TestHelperNodeProcess is a node process when started by TestProcsKill.
func TestHelperNodeProcess(t *testing.T) {
	if os.Getenv("DEKRR_HELPER_NODE") != "1" {
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

// TestProcsKill runs the nodes as OS processes, kills one with SIGKILL
// mid-run, and checks the others finish and say so.
func TestProcsKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	c := DefaultConfig()
	c.Data, c.Nodes, c.Features, c.Rounds, c.Procs = "diabetes", 4, 10, 40, true
	c.RoundTimeout, c.KillNode, c.KillRound = time.Second, 1, 15
	c.Exec = []string{os.Args[0], "-test.run=^TestHelperNodeProcess$", "--"}
	c.Env = []string{"DEKRR_HELPER_NODE=1"}
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = r.WriteText(&b)
	t.Log("\n" + b.String())
	if !reflect.DeepEqual(r.Result.Lost, []int{1}) || !reflect.DeepEqual(r.Evaluated, []int{0, 2, 3}) {
		t.Fatalf("lost %v, evaluated %v", r.Result.Lost, r.Evaluated)
	}
	for _, j := range []int{0, 2} {
		if n := r.Result.Nodes[j]; n == nil || !reflect.DeepEqual(n.Dropped, []int{1}) || n.Rounds != 40 {
			t.Errorf("node %d: %+v", j, n)
		}
	}
	if !strings.Contains(b.String(), "LOST nodes [1]") {
		t.Error("report does not say a node was lost")
	}
}

// TestProcsRejoin: a node process killed with SIGKILL mid-run and started
// again (--rejoin) rejoins; no node is lost and the run converges.
func TestProcsRejoin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	c := DefaultConfig()
	c.Data, c.Nodes, c.Features, c.Rounds, c.Procs = "diabetes", 4, 10, 200, true
	c.KillNode, c.KillRound, c.RejoinAfter = 1, 15, 100*time.Millisecond // neighbours wait up to RoundTimeout (5 s) for it
	c.Exec = []string{os.Args[0], "-test.run=^TestHelperNodeProcess$", "--"}
	c.Env = []string{"DEKRR_HELPER_NODE=1"}
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = r.WriteText(&b)
	t.Log("\n" + b.String())
	n := r.Result.Nodes[1]
	if len(r.Result.Lost) != 0 || !reflect.DeepEqual(r.Result.Rejoined, []int{1}) || n.KilledAt != 15 || n.RejoinedAt <= 15 || !r.Result.Converged {
		t.Fatalf("lost %v, rejoined %v, node 1 killed at %d rejoined at %d, converged %v", r.Result.Lost, r.Result.Rejoined, n.KilledAt, n.RejoinedAt, r.Result.Converged)
	}
	if !strings.Contains(b.String(), "node 1 was killed at round 15, restarted and rejoined from round") {
		t.Error("report does not say the node rejoined")
	}
}

// TestExternalNodes: a coordinator with --external waits for node processes
// started elsewhere (here: Run with --node in goroutines, each its own
// connection), as pods on other machines would be.
func TestExternalNodes(t *testing.T) {
	url := startServer(t)
	c := DefaultConfig()
	c.Data, c.Nodes, c.Features, c.Rounds, c.NATS, c.Run, c.External = "diabetes", 3, 8, 30, url, "ext1", true
	for j := range c.Nodes {
		nc := c
		nc.External, nc.Node = false, j
		go func() { _, _ = Run(context.Background(), nc) }()
	}
	time.Sleep(300 * time.Millisecond) // nodes up before their coordinator
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Result.Lost) != 0 || r.Result.MessagesPerRound != 6 || !(r.RSE[MethodDeKRR] > 0) {
		t.Fatalf("lost %v, %g messages per round, RSE %v", r.Result.Lost, r.Result.MessagesPerRound, r.RSE)
	}
	c.Run = ""
	if _, err := Run(context.Background(), c); err == nil || !strings.Contains(err.Error(), "--external needs --run") {
		t.Errorf("--external without --run: %v", err)
	}
}

func TestMakeShardsNonIID(t *testing.T) {
	meanAbs := func(y []float64) float64 {
		s := 0.0
		for _, v := range y {
			s += math.Abs(v)
		}
		return s / float64(len(y))
	}
	iid, err := MakeShards("diabetes", 4, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	sorted, err := MakeShards("diabetes", 4, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for j := 1; j < 4; j++ {
		if !(meanAbs(sorted.Nodes[j].Y) > meanAbs(sorted.Nodes[j-1].Y)) {
			t.Errorf("non-i.i.d. shard %d mean |y| %g not above shard %d's %g", j, meanAbs(sorted.Nodes[j].Y), j-1, meanAbs(sorted.Nodes[j-1].Y))
		}
	}
	if r, _ := iid.Nodes[0].X.Dims(); r != 442/4/2 || iid.N != sorted.N {
		t.Errorf("shard rows %d, N %d vs %d", r, iid.N, sorted.N)
	}
	if _, err := MakeShards("diabetes", 4, 1, 1.5); err == nil {
		t.Error("--non-iid 1.5 accepted")
	}
}

// TestProcsMatchGoroutines: nodes as OS processes compute exactly what
// goroutines compute (same features, same synchronous rounds).
func TestProcsMatchGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	c := DefaultConfig()
	c.Data, c.Nodes, c.Features, c.Rounds, c.NonIID = "diabetes", 3, 8, 25, 0.8
	g, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	c.Procs = true
	c.Exec = []string{os.Args[0], "-test.run=^TestHelperNodeProcess$", "--"}
	c.Env = []string{"DEKRR_HELPER_NODE=1"}
	p, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.RSE, p.RSE) {
		t.Errorf("RSE goroutines %v, processes %v", g.RSE, p.RSE)
	}
	for j := range c.Nodes {
		if !reflect.DeepEqual(g.Result.Nodes[j].Theta, p.Result.Nodes[j].Theta) {
			t.Errorf("node %d: θ differs between goroutines and processes", j)
		}
	}
}
