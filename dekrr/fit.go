package dekrr

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/trustml/trustml/natsnet"
	"gonum.org/v1/gonum/mat"
)

// DeKRR configures decentralized KRR with data-dependent random features.
// Zero fields take the defaults named.
type DeKRR struct {
	// Lambda is the global ridge λ (default 1e-4); node j uses
	// λ_j = λN/(N_jJ).
	Lambda float64
	// Sigma is the Gaussian kernel bandwidth (default 1).
	Sigma float64
	// D is the number of features per node (default 40).
	D int
	// PoolRate: EERF draws PoolRate·D candidates (default 20).
	PoolRate int
	// C is the consensus weight c (default 1); node j uses c/|N(j)|.
	C float64
	// ProxWeight is the proximal weight in units of c_j (default 5).
	ProxWeight float64
	// Iters is the number of rounds (default 300).
	Iters int
	// Tol is the relative change of θ below which a node counts as
	// converged (default 1e-6).
	Tol float64
	// RoundTimeout is how long a node waits for a neighbour's message of a
	// round before declaring it dropped (default 5s; setup waits 5×).
	RoundTimeout time.Duration
	// Seed draws the features: node j uses the stream (Seed, j).
	Seed uint64
	// If KillRound > 0, node KillNode is stopped (its connection closed) at
	// the start of round KillRound: fault injection for tests and demos.
	// The zero value injects nothing.
	KillNode, KillRound int
	// RejoinAfter > 0 restarts the killed node that long after it stopped:
	// it reconnects and rejoins the run in progress (0: it stays down).
	RejoinAfter time.Duration

	pace time.Duration // tests: every round takes at least this long
}

func (m DeKRR) withDefaults() DeKRR {
	m.Lambda = cmp.Or(m.Lambda, 1e-4)
	m.Sigma = cmp.Or(m.Sigma, 1)
	m.D = cmp.Or(m.D, 40)
	m.PoolRate = cmp.Or(m.PoolRate, 20)
	m.C = cmp.Or(m.C, 1)
	m.ProxWeight = cmp.Or(m.ProxWeight, 5)
	m.Iters = cmp.Or(m.Iters, 300)
	m.Tol = cmp.Or(m.Tol, 1e-6)
	m.RoundTimeout = cmp.Or(m.RoundTimeout, 5*time.Second)
	return m
}

func (m DeKRR) check() error {
	switch {
	case !(m.Lambda > 0):
		return fmt.Errorf("dekrr: λ %g, want > 0", m.Lambda)
	case !(m.Sigma > 0):
		return fmt.Errorf("dekrr: σ %g, want > 0", m.Sigma)
	case m.D < 1 || m.PoolRate < 1 || m.Iters < 1:
		return fmt.Errorf("dekrr: D %d, pool rate %d, rounds %d: want each ≥ 1", m.D, m.PoolRate, m.Iters)
	case !(m.C > 0) || !(m.ProxWeight >= 0) || !(m.Tol > 0):
		return fmt.Errorf("dekrr: c %g, prox weight %g, tol %g: want c > 0, prox ≥ 0, tol > 0", m.C, m.ProxWeight, m.Tol)
	}
	return nil
}

func (m DeKRR) params(nTotal, J int) params {
	return params{lambda: m.Lambda, c: m.C, prox: m.ProxWeight, nTotal: nTotal, J: J, iters: m.Iters, timeout: m.RoundTimeout, killRound: -1, pace: m.pace}
}

// nodeFeatures returns node j's features: its fixed ones, or EERF drawn
// from the stream (seed, j).
func (m DeKRR) nodeFeatures(j int, n Node) (Features, error) {
	if n.Features != nil {
		return *n.Features, nil
	}
	return EERF(n.X, n.Y, m.D, m.PoolRate, m.Sigma, mrand.New(mrand.NewPCG(m.Seed, uint64(j))))
}

// Result is the outcome of a decentralized fit.
type Result struct {
	Nodes []*NodeResult `json:"nodes"`
	// Rounds is the number of rounds run; RoundsToConverge the first round
	// from which every surviving node's relative change stayed below Tol
	// (-1: not converged). Converged is RoundsToConverge ≥ 0.
	Rounds           int  `json:"rounds"`
	RoundsToConverge int  `json:"rounds_to_converge"`
	Converged        bool `json:"converged"`
	// MaxDelta is the largest final relative change over surviving nodes.
	MaxDelta float64 `json:"max_delta"`
	// MessagesPerRound and BytesPerRound are totals over all nodes divided
	// by the rounds; SetupBytes the one-off exchange.
	MessagesPerRound float64 `json:"messages_per_round"`
	BytesPerRound    float64 `json:"bytes_per_round"`
	SetupBytes       int     `json:"setup_bytes"`
	// Lost are nodes that stopped early (killed, failed or never reported);
	// the others continued without them. Rejoined are nodes that were
	// killed, restarted and took part again until the last round.
	Lost     []int `json:"lost,omitempty"`
	Rejoined []int `json:"rejoined,omitempty"`
	// Late, Duplicate and Corrupt total the nodes' ignored messages.
	Late      int `json:"late"`
	Duplicate int `json:"duplicate"`
	Corrupt   int `json:"corrupt"`
	// Seconds is the wall time from the start signal's setup to the last
	// node's result.
	Seconds float64 `json:"seconds"`
}

// summarize fills the totals and the convergence verdict from the node
// results (nil entries are lost nodes).
func summarize(nodes []*NodeResult, iters int, tol float64) *Result {
	r := &Result{Nodes: nodes, Rounds: iters, RoundsToConverge: -1}
	var alive []*NodeResult
	msgs, bytes := 0, 0
	for j, n := range nodes {
		if n == nil {
			r.Lost = append(r.Lost, j)
			continue
		}
		msgs, bytes, r.SetupBytes = msgs+n.Messages, bytes+n.Bytes, r.SetupBytes+n.SetupBytes
		r.Late, r.Duplicate, r.Corrupt = r.Late+n.Late, r.Duplicate+n.Duplicate, r.Corrupt+n.Corrupt
		if n.Killed || n.Err != "" || n.Rounds < iters {
			r.Lost = append(r.Lost, j)
			continue
		}
		if n.RejoinedAt > 0 {
			r.Rejoined = append(r.Rejoined, j)
		}
		alive = append(alive, n)
	}
	r.MessagesPerRound, r.BytesPerRound = float64(msgs)/float64(iters), float64(bytes)/float64(iters)
	if len(alive) == 0 {
		r.MaxDelta = math.NaN()
		return r
	}
	first := 0 // rounds to converge: after the last round some node was above tol
	for k := range iters {
		mx := 0.0
		for _, n := range alive {
			if i := k - n.RejoinedAt; i >= 0 { // a rejoined node's deltas start at its rejoin
				mx = math.Max(mx, n.Deltas[i])
			}
		}
		if !(mx < tol) {
			first = k + 1
		}
		if k == iters-1 {
			r.MaxDelta = mx
		}
	}
	if first < iters {
		r.RoundsToConverge, r.Converged = first+1, true
	}
	return r
}

// NewRunID returns a random identifier for a run's NATS subjects.
func NewRunID() string { return natsnet.RunID() }

// Prefix is the subject prefix of run id.
func Prefix(run string) string { return "trustml.dekrr." + run }

// subscribeNode connects node j and subscribes it to its subject and the
// start signal, then announces it is ready.
func subscribeNode(url, prefix string, j int) (*nats.Conn, *nats.Subscription, *nats.Subscription, error) {
	nc, err := nats.Connect(url, nats.Name("trustml-dekrr-node-"+strconv.Itoa(j)), nats.NoReconnect())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("node %d: connect to %s: %w", j, url, err)
	}
	sub, err := nc.SubscribeSync(nodeSubject(prefix, j))
	var start *nats.Subscription
	if err == nil {
		_ = sub.SetPendingLimits(-1, -1)
		start, err = nc.SubscribeSync(prefix + ".start")
	}
	if err == nil {
		err = nc.Flush()
	}
	if err == nil {
		err = nc.Publish(prefix+".ready", []byte(strconv.Itoa(j)))
	}
	if err != nil {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("node %d: subscribe: %w", j, err)
	}
	return nc, sub, start, nil
}

// waitStart blocks until the coordinator's start signal, announcing node j
// ready every 200ms meanwhile (a coordinator may subscribe after the node
// started).
func waitStart(ctx context.Context, nc *nats.Conn, start *nats.Subscription, prefix string, j int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := start.NextMsg(200 * time.Millisecond); err == nil {
			return nil
		} else if err != nats.ErrTimeout {
			return fmt.Errorf("waiting for the start signal: %w", err)
		}
		if err := nc.Publish(prefix+".ready", []byte(strconv.Itoa(j))); err != nil {
			return fmt.Errorf("announce ready: %w", err)
		}
	}
	return fmt.Errorf("no start signal from the coordinator within %v", timeout)
}

// coordinate waits for J nodes to be ready on sub and sends start. Nodes not
// ready by the timeout are returned as missing (the run starts without them).
func coordinate(nc *nats.Conn, ready *nats.Subscription, prefix string, J int, timeout time.Duration) ([]int, error) {
	seen := make([]bool, J)
	n := 0
	deadline := time.Now().Add(timeout)
	for n < J && time.Now().Before(deadline) {
		msg, err := ready.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		if j, err := strconv.Atoi(string(msg.Data)); err == nil && j >= 0 && j < J && !seen[j] {
			seen[j], n = true, n+1
		}
	}
	if err := nc.Publish(prefix+".start", nil); err != nil {
		return nil, fmt.Errorf("dekrr: send start: %w", err)
	}
	var missing []int
	for j, s := range seen {
		if !s {
			missing = append(missing, j)
		}
	}
	return missing, nc.Flush()
}

// Fit runs the nodes as goroutines in this process, each with its own
// connection to the NATS server at url, on graph g. Nodes that fail or are
// killed are listed in Result.Lost and the others continue; Fit returns an
// error only when no node finishes or the configuration is invalid.
func (m DeKRR) Fit(ctx context.Context, url string, nodes []Node, g Graph) (*Result, error) {
	m = m.withDefaults()
	if err := m.check(); err != nil {
		return nil, err
	}
	J := len(nodes)
	if len(g.Neighbors) != J {
		return nil, fmt.Errorf("dekrr: graph of %d nodes for %d data shards", len(g.Neighbors), J)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	nTotal := 0
	for j, n := range nodes {
		if n.X == nil {
			return nil, fmt.Errorf("dekrr: node %d has no data", j)
		}
		if r, _ := n.X.Dims(); r != len(n.Y) || r == 0 {
			return nil, fmt.Errorf("dekrr: node %d has %d rows and %d targets", j, r, len(n.Y))
		}
		nTotal += len(n.Y)
	}
	feats := make([]Features, J)
	for j, n := range nodes {
		var err error
		if feats[j], err = m.nodeFeatures(j, n); err != nil {
			return nil, fmt.Errorf("node %d: %w", j, err)
		}
	}
	start := time.Now()
	prefix := Prefix(NewRunID())
	coord, err := nats.Connect(url, nats.Name("trustml-dekrr-coordinator"))
	if err != nil {
		return nil, fmt.Errorf("dekrr: connect to %s: %w", url, err)
	}
	defer coord.Close()
	ready, err := coord.SubscribeSync(prefix + ".ready")
	if err != nil {
		return nil, fmt.Errorf("dekrr: subscribe: %w", err)
	}
	results := make([]*NodeResult, J)
	errs := make([]error, J)
	var wg sync.WaitGroup
	for j := range J {
		wg.Go(func() {
			nc, sub, st, err := subscribeNode(url, prefix, j)
			if err != nil {
				errs[j] = err
				return
			}
			defer nc.Close()
			if err := waitStart(ctx, nc, st, prefix, j, 30*time.Second); err != nil {
				errs[j] = fmt.Errorf("node %d: %w", j, err)
				return
			}
			p := m.params(nTotal, J)
			if m.KillRound > 0 && j == m.KillNode {
				p.killRound = m.KillRound
			}
			results[j], errs[j] = runNode(ctx, nc, sub, prefix, j, nodes[j], feats[j], g.Neighbors[j], p, false)
			if errs[j] == nil && results[j].Killed && m.RejoinAfter > 0 {
				results[j], errs[j] = m.rejoin(ctx, url, prefix, j, nodes[j], feats[j], g.Neighbors[j], p, results[j])
			}
			if errs[j] != nil {
				results[j].Err = errs[j].Error()
			}
		})
	}
	if _, err := coordinate(coord, ready, prefix, J, 30*time.Second); err != nil {
		wg.Wait()
		return nil, err
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := summarize(results, m.Iters, m.Tol)
	res.Seconds = time.Since(start).Seconds()
	if len(res.Lost) == J {
		return res, fmt.Errorf("dekrr: every node failed: %w", errors.Join(errs...))
	}
	for j, r := range results {
		if r != nil && r.Err == "" {
			r.Features = feats[j]
		}
	}
	return res, nil
}

// rejoin restarts node j, killed with result killed, after m.RejoinAfter:
// a new connection, and the node asks its neighbours to take it back. The
// result counts the messages of both lives.
func (m DeKRR) rejoin(ctx context.Context, url, prefix string, j int, node Node, feat Features, nbs []int, p params, killed *NodeResult) (*NodeResult, error) {
	select {
	case <-ctx.Done():
		return killed, ctx.Err()
	case <-time.After(m.RejoinAfter):
	}
	nc, sub, _, err := subscribeNode(url, prefix, j)
	if err != nil {
		return killed, err
	}
	defer nc.Close()
	p.killRound = -1
	res, err := runNode(ctx, nc, sub, prefix, j, node, feat, nbs, p, true)
	res.KilledAt = killed.KilledAt
	res.Messages, res.Bytes = res.Messages+killed.Messages, res.Bytes+killed.Bytes
	res.SetupMessages, res.SetupBytes = res.SetupMessages+killed.SetupMessages, res.SetupBytes+killed.SetupBytes
	return res, err
}

// PredictNode evaluates node j's decision function on the rows of X.
func (r *Result) PredictNode(j int, X *mat.Dense) ([]float64, error) {
	if j < 0 || j >= len(r.Nodes) || r.Nodes[j] == nil || r.Nodes[j].Theta == nil {
		return nil, fmt.Errorf("dekrr: node %d has no fitted model", j)
	}
	n := r.Nodes[j]
	_, want := n.Features.Omega.Dims()
	if _, d := X.Dims(); d != want {
		return nil, fmt.Errorf("dekrr: predict node %d: %d input columns, the model has %d", j, d, want)
	}
	return predict(n.Features, n.Theta, X), nil
}
