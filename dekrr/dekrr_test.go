package dekrr

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/trustml/trustml/natsnet"
	"gonum.org/v1/gonum/mat"
)

func startServer(t *testing.T) string {
	t.Helper()
	s, err := natsnet.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.URL()
}

func dense(rows [][]float64) *mat.Dense {
	m := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

// TestGoldenFixedPoint: the distributed iteration over NATS reaches the
// minimizer of the penalized problem that numpy computes by one direct
// solve (testdata/golden.py).
func TestGoldenFixedPoint(t *testing.T) {
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Lambda, C float64
		Neighbors [][]int
		X, Omega  [][][]float64
		Y, B      [][]float64
		Theta     [][]float64
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	nodes := make([]Node, len(g.X))
	for j := range nodes {
		nodes[j] = Node{X: dense(g.X[j]), Y: g.Y[j], Features: &Features{Omega: dense(g.Omega[j]), B: g.B[j]}}
	}
	m := DeKRR{Lambda: g.Lambda, C: g.C, Iters: 400, Tol: 1e-11, RoundTimeout: 5 * time.Second}
	res, err := m.Fit(context.Background(), startServer(t), nodes, Graph{Neighbors: g.Neighbors})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Converged || len(res.Lost) > 0 {
		t.Fatalf("converged %v (max change %g), lost %v", res.Converged, res.MaxDelta, res.Lost)
	}
	for j, want := range g.Theta {
		got := res.Nodes[j].Theta
		for k := range want {
			if math.Abs(got[k]-want[k]) > 1e-8 {
				t.Errorf("node %d θ[%d] = %.12g, numpy %.12g", j, k, got[k], want[k])
			}
		}
	}
	// 4 nodes × 2 neighbours, one message each per round.
	if res.MessagesPerRound != 8 {
		t.Errorf("messages per round %g, want 8", res.MessagesPerRound)
	}
	t.Logf("rounds to converge %d, %g bytes/round, setup %d bytes", res.RoundsToConverge, res.BytesPerRound, res.SetupBytes)
}

func shards(J, n, d int, seed uint64) []Node {
	rng := rand.New(rand.NewPCG(seed, 1))
	nodes := make([]Node, J)
	for j := range nodes {
		X := mat.NewDense(n, d, nil)
		y := make([]float64, n)
		for i := range n {
			s := 0.0
			for c := range d {
				v := rng.Float64()
				X.Set(i, c, v)
				s += v
			}
			y[i] = math.Sin(3*s) + 0.05*rng.NormFloat64()
		}
		nodes[j] = Node{X: X, Y: y, XTest: X}
	}
	return nodes
}

// TestKilledNode: a node stopped mid-run is reported lost; its neighbours
// declare it dropped and the others finish.
func TestKilledNode(t *testing.T) {
	nodes := shards(5, 20, 3, 1)
	m := DeKRR{D: 10, Iters: 30, RoundTimeout: 300 * time.Millisecond, KillNode: 2, KillRound: 10}
	res, err := m.Fit(context.Background(), startServer(t), nodes, Ring(5, 2))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Lost, []int{2}) {
		t.Fatalf("lost %v, want [2]", res.Lost)
	}
	for _, j := range []int{1, 3} {
		n := res.Nodes[j]
		if !slices.Equal(n.Dropped, []int{2}) || n.DroppedAt[0] != 10 || n.Rounds != 30 {
			t.Errorf("node %d: dropped %v at %v after %d rounds, want [2] at 10 after 30", j, n.Dropped, n.DroppedAt, n.Rounds)
		}
	}
	for _, j := range []int{0, 4} {
		if n := res.Nodes[j]; len(n.Dropped) != 0 || n.Rounds != 30 || n.Pred == nil {
			t.Errorf("node %d: dropped %v, %d rounds", j, n.Dropped, n.Rounds)
		}
	}
}

// TestRejoin: a node killed mid-run and restarted rejoins; its neighbours
// take it back, nobody is lost, and every node ends at the same model as in
// a run without the fault (the iteration's fixed point does not depend on
// its history).
func TestRejoin(t *testing.T) {
	nodes := shards(5, 20, 3, 1)
	url := startServer(t)
	// Rounds take ≥ 6 ms, so a run lasts ≥ 1.8 s: the node restarted 1.3 s
	// after its neighbours dropped it (1 s of silence) finds them running.
	m := DeKRR{D: 10, Iters: 300, Tol: 1e-9, RoundTimeout: time.Second, pace: 6 * time.Millisecond}
	clean, err := m.Fit(context.Background(), url, nodes, Ring(5, 2))
	if err != nil {
		t.Fatal(err)
	}
	if len(clean.Lost) != 0 || !clean.Converged {
		t.Fatalf("fault-free run: lost %v, converged %v", clean.Lost, clean.Converged)
	}
	for _, after := range []time.Duration{50 * time.Millisecond, 1300 * time.Millisecond} { // before and after its neighbours drop it
		f := m
		f.KillNode, f.KillRound, f.RejoinAfter = 2, 10, after
		res, err := f.Fit(context.Background(), url, nodes, Ring(5, 2))
		if err != nil {
			t.Fatal(err)
		}
		n := res.Nodes[2]
		if len(res.Lost) != 0 || !slices.Equal(res.Rejoined, []int{2}) || n.KilledAt != 10 || n.RejoinedAt <= 10 || n.Rounds != 300 {
			t.Fatalf("rejoin after %v: lost %v, rejoined %v, node 2 killed at %d, rejoined at %d, %d rounds", after, res.Lost, res.Rejoined, n.KilledAt, n.RejoinedAt, n.Rounds)
		}
		for _, j := range []int{1, 3} {
			if after > m.RoundTimeout && !slices.Contains(res.Nodes[j].Dropped, 2) {
				t.Errorf("rejoin after %v: node %d never dropped node 2 (dropped %v)", after, j, res.Nodes[j].Dropped)
			}
			if !slices.Equal(res.Nodes[j].Readmitted, []int{2}) {
				t.Errorf("rejoin after %v: node %d readmitted %v, want [2]", after, j, res.Nodes[j].Readmitted)
			}
		}
		if !res.Converged {
			t.Errorf("rejoin after %v: not converged (max change %g)", after, res.MaxDelta)
		}
		for j := range nodes {
			for i, p := range res.Nodes[j].Pred {
				if d := math.Abs(p - clean.Nodes[j].Pred[i]); d > 1e-6 {
					t.Fatalf("rejoin after %v: node %d prediction %d is %g, %g without the fault", after, j, i, p, clean.Nodes[j].Pred[i])
				}
			}
		}
	}
}

// TestNotConverged: a run stopped before its tolerance is reported as not
// converged.
func TestNotConverged(t *testing.T) {
	nodes := shards(3, 15, 2, 2)
	res, err := DeKRR{D: 8, Iters: 3, Tol: 1e-12}.Fit(context.Background(), startServer(t), nodes, Ring(3, 2))
	if err != nil {
		t.Fatal(err)
	}
	if res.Converged || res.RoundsToConverge != -1 {
		t.Fatalf("3 rounds at tol 1e-12 reported converged (rounds %d, max change %g)", res.RoundsToConverge, res.MaxDelta)
	}
}

func TestTopology(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		J       int
		wantErr bool
		edges   int
	}{
		{"ring", 8, false, 8},
		{"ring:4", 8, false, 16},
		{"ring", 2, false, 1},
		{"random:1", 5, false, 10},
		{"random:0.01", 30, true, 0},
		{"random:0", 5, true, 0},
		{"ring:3", 5, true, 0},
		{"star", 5, true, 0},
		{"ring", 1, true, 0},
	} {
		g, err := ParseTopology(tc.spec, tc.J, 1)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s/%d: error %v, want error %v", tc.spec, tc.J, err, tc.wantErr)
			continue
		}
		if err == nil && g.Edges() != tc.edges {
			t.Errorf("%s/%d: %d edges, want %d", tc.spec, tc.J, g.Edges(), tc.edges)
		}
	}
	if _, err := ParseTopology("random:0.01", 30, 1); !errors.Is(err, ErrDisconnected) {
		t.Errorf("sparse random graph: %v, want ErrDisconnected", err)
	}
	if n := components(Ring(6, 2), []int{1, 4}); n != 2 {
		t.Errorf("ring of 6 without nodes 1 and 4: %d components, want 2", n)
	}
	if n := components(Ring(6, 2), nil); n != 1 {
		t.Errorf("ring of 6: %d components", n)
	}
	bad := Graph{Neighbors: [][]int{{1}, {0}, {3}, {2}}}
	if err := bad.Validate(); !errors.Is(err, ErrDisconnected) {
		t.Errorf("two components: %v", err)
	}
	if err := (Graph{Neighbors: [][]int{{1}, {}}}).Validate(); err == nil {
		t.Error("one-way link accepted")
	}
}

// TestMessageIgnored: duplicates, late rounds and corrupt messages are
// counted and ignored, not applied.
func TestMessageIgnored(t *testing.T) {
	r := &nodeRun{res: &NodeResult{}, nb: map[int]*neighbour{1: {live: true}, 2: {live: false}}, buf: map[int]map[int]*message{}, round: 5, seen: map[int]time.Time{}}
	send := func(m *message) {
		t.Helper()
		if err := r.receive(natsMsg(m.encode()), nil); err != nil {
			t.Fatal(err)
		}
	}
	send(&message{Kind: kindRound, From: 1, Round: 5, A: 1, B: 1, Vec: []float64{1, 2}})
	send(&message{Kind: kindRound, From: 1, Round: 5, A: 1, B: 1, Vec: []float64{3, 4}}) // duplicate
	send(&message{Kind: kindRound, From: 1, Round: 4, A: 1, B: 1, Vec: []float64{3, 4}}) // late
	send(&message{Kind: kindRound, From: 2, Round: 5, A: 1, B: 1, Vec: []float64{3, 4}}) // dropped neighbour
	send(&message{Kind: kindRound, From: 9, Round: 5, A: 1, B: 1, Vec: []float64{3, 4}}) // not a neighbour
	send(&message{Kind: kindRound, From: 1, Round: 6, A: 1, B: 1, Vec: []float64{5, 6}}) // early: kept
	if err := r.receive(natsMsg([]byte{1, 3, 0}), nil); err != nil {
		t.Fatal(err)
	}
	if r.res.Duplicate != 1 || r.res.Late != 2 || r.res.Corrupt != 2 {
		t.Errorf("duplicate %d late %d corrupt %d, want 1 2 2", r.res.Duplicate, r.res.Late, r.res.Corrupt)
	}
	if r.buf[5][1].Vec[0] != 1 || r.buf[6][1].Vec[0] != 5 {
		t.Errorf("buffered %v", r.buf)
	}
}

func TestWireRoundTrip(t *testing.T) {
	m := &message{Kind: kindFeatures, From: 3, Round: 0, A: 2, B: 1, Vec: []float64{1, 2, 3, 4, 0.5}}
	got, err := decodeMessage(m.encode())
	if err != nil || !slices.Equal(got.Vec, m.Vec) || got.From != 3 || got.A != 2 {
		t.Fatalf("%+v, %v", got, err)
	}
	b := m.encode()
	for _, bad := range [][]byte{b[:len(b)-1], append([]byte{9}, b[1:]...), {1, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, err := decodeMessage(bad); err == nil {
			t.Errorf("decoded corrupt message % x", bad)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add((&message{Kind: kindRound, From: 1, Round: 2, A: 1, B: 2, Vec: []float64{1, 2, 3}}).encode())
	f.Add((&message{Kind: kindGram, A: 1, B: 1, Vec: []float64{1}}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		if again, err := decodeMessage(m.encode()); err != nil || !slices.Equal(again.Vec, m.Vec) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func TestEERF(t *testing.T) {
	nodes := shards(1, 50, 2, 3)
	f, err := EERF(nodes[0].X, nodes[0].Y, 6, 10, 1, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if f.D() != 6 {
		t.Fatalf("D %d", f.D())
	}
	// Selected features score at least as high as random candidates on average.
	Z := f.Map(nodes[0].X)
	for k := range 6 {
		v := Z.RawRowView(k)
		for _, x := range v {
			if math.Abs(x) > math.Sqrt(2.0/6)+1e-12 {
				t.Fatalf("feature value %g beyond √(2/D)", x)
			}
		}
	}
	if _, err := EERF(nodes[0].X, nodes[0].Y[:3], 6, 10, 1, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("mismatched targets accepted")
	}
}

// TestDuplicatedAndLateMessages: a chaos client on the same NATS server
// re-sends every node message twice, once at once and once 50 ms later
// (rounds are paced at 5 ms, so a round or more late), and the fit is bit
// for bit the clean one. How many of the copies reach a node before it
// finishes depends on scheduling, so the counts are logged, not asserted:
// TestMessageIgnored checks the counting itself message by message.
func TestDuplicatedAndLateMessages(t *testing.T) {
	url := startServer(t)
	nodes := shards(4, 15, 2, 4)
	m := DeKRR{D: 8, Iters: 40, Seed: 3, pace: 5 * time.Millisecond}
	clean, err := m.Fit(context.Background(), url, nodes, Ring(4, 2))
	if err != nil {
		t.Fatal(err)
	}
	chaos, err := nats.Connect(url, nats.NoEcho())
	if err != nil {
		t.Fatal(err)
	}
	defer chaos.Close()
	var resent atomic.Int64
	if _, err := chaos.Subscribe("trustml.dekrr.*.node.*", func(msg *nats.Msg) {
		if mm, err := decodeMessage(msg.Data); err != nil || mm.Kind == kindAlive {
			return
		}
		resent.Add(1)
		_ = chaos.Publish(msg.Subject, msg.Data)
		time.AfterFunc(50*time.Millisecond, func() { _ = chaos.Publish(msg.Subject, msg.Data) })
	}); err != nil {
		t.Fatal(err)
	}
	if err := chaos.Flush(); err != nil {
		t.Fatal(err)
	}
	noisy, err := m.Fit(context.Background(), url, nodes, Ring(4, 2))
	if err != nil {
		t.Fatal(err)
	}
	if resent.Load() == 0 || len(noisy.Lost) > 0 {
		t.Errorf("chaos client resent %d messages; lost %v", resent.Load(), noisy.Lost)
	}
	for j := range nodes {
		if !slices.Equal(clean.Nodes[j].Theta, noisy.Nodes[j].Theta) {
			t.Errorf("node %d: θ changed by duplicated/late messages", j)
		}
	}
	t.Logf("resent %d messages twice; the nodes ignored %d duplicate, %d late", resent.Load(), noisy.Duplicate, noisy.Late)
}

// TestDKLAFixedPoint: DKLA's nodes agree, on ridge regression of the pooled
// data with the shared features (ZZᵀ + λN I)θ = ZY, solved directly here.
func TestDKLAFixedPoint(t *testing.T) {
	nodes := shards(4, 20, 3, 5)
	g := Ring(4, 2)
	m := DKLA{D: 12, Lambda: 1e-3, Iters: 20000, Rho: 0.05, RhoDoubling: 1 << 30, Seed: 3}
	res, err := m.Fit(context.Background(), nodes, g)
	if err != nil {
		t.Fatal(err)
	}
	var X *mat.Dense
	var y []float64
	for _, n := range nodes {
		if X == nil {
			X = mat.DenseCopyOf(n.X)
		} else {
			var s mat.Dense
			s.Stack(X, n.X)
			X = &s
		}
		y = append(y, n.Y...)
	}
	want, err := ridge(res.Features.Map(X), y, m.Lambda*float64(len(y)))
	if err != nil {
		t.Fatal(err)
	}
	for j, th := range res.Theta {
		for k := range th {
			if math.Abs(th[k]-want[k]) > 1e-6*(1+math.Abs(want[k])) {
				t.Fatalf("node %d θ[%d] = %g, pooled ridge %g (disagreement %g)", j, k, th[k], want[k], res.Disagreement)
			}
		}
	}
	if res.MessagesPerRound != 8 || res.BytesPerRound != 8*float64(headerLen+8*12) {
		t.Errorf("per round %g messages, %g bytes", res.MessagesPerRound, res.BytesPerRound)
	}
	if _, err := (DKLA{Rho: -1}).Fit(context.Background(), nodes, g); err == nil {
		t.Error("ρ < 0 accepted")
	}
}
