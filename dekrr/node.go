package dekrr

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"gonum.org/v1/gonum/mat"
)

// Node is one node's local data: training inputs X (N_j×d) and targets Y,
// optional test inputs for [NodeResult].Pred, and optionally fixed random
// features (nil: drawn by [EERF]).
type Node struct {
	X        *mat.Dense
	Y        []float64
	XTest    *mat.Dense
	Features *Features
}

// NodeResult is what one node reports after its rounds.
type NodeResult struct {
	Node int `json:"node"`
	// Theta are the node's coefficients on its own features.
	Theta    []float64 `json:"theta"`
	Features Features  `json:"-"`
	// Pred are the node's predictions on its test inputs.
	Pred []float64 `json:"pred,omitempty"`
	// Rounds is the number of rounds completed; Deltas the relative change
	// ‖θ^{k+1} − θ^k‖/‖θ^{k+1}‖ of each (from round RejoinedAt on).
	Rounds int       `json:"rounds"`
	Deltas []float64 `json:"deltas"`
	// Dropped are the neighbours declared dropped (silent for the round
	// timeout), at the rounds in DroppedAt (-1: during setup).
	Dropped   []int `json:"dropped,omitempty"`
	DroppedAt []int `json:"dropped_at,omitempty"`
	// Late, Duplicate and Corrupt count ignored messages: of an earlier
	// round or a dropped neighbour, seen before, or undecodable/unexpected.
	Late      int `json:"late"`
	Duplicate int `json:"duplicate"`
	Corrupt   int `json:"corrupt"`
	// Messages and Bytes were sent in rounds; SetupMessages and SetupBytes
	// in the one-off exchange of features and Gram matrices.
	Messages      int `json:"messages"`
	Bytes         int `json:"bytes"`
	SetupMessages int `json:"setup_messages"`
	SetupBytes    int `json:"setup_bytes"`
	// Killed says the node was stopped by fault injection (and did not
	// rejoin).
	Killed bool   `json:"killed,omitempty"`
	Err    string `json:"error,omitempty"`
	// KilledAt and RejoinedAt are, for a node killed at round KilledAt
	// and restarted, the round from which it took part again (its Deltas
	// start at that round); both 0 otherwise.
	KilledAt   int `json:"killed_at,omitempty"`
	RejoinedAt int `json:"rejoined_at,omitempty"`
	// Readmitted are neighbours that came back after a restart, expected
	// again from the rounds in ReadmittedAt.
	Readmitted   []int `json:"readmitted,omitempty"`
	ReadmittedAt []int `json:"readmitted_at,omitempty"`
}

// params are the settings every node shares.
type params struct {
	lambda, c, prox float64
	nTotal, J       int
	iters           int
	timeout         time.Duration
	killRound       int // ≥ 0: this node stops (closes its connection) at this round
	pace            time.Duration
}

func nodeSubject(prefix string, j int) string { return prefix + ".node." + strconv.Itoa(j) }

// neighbour is what node j knows of neighbour i.
type neighbour struct {
	feat     *Features
	c        float64
	fx       *mat.Dense // Z_i(X_j), D_i×N_j
	gram     *mat.Dense // Z_j(X_i)Z_j(X_i)ᵀ, D_j×D_j, sent by i
	live     bool
	from     int  // the first round whose message is expected (a rejoined node's admission round)
	admitted bool // a rejoining node has its admission round from this neighbour
	gotFeat  bool
	gotGram  bool
	sentGram bool
}

type nodeRun struct {
	j      int
	nc     *nats.Conn
	sub    *nats.Subscription
	prefix string
	res    *NodeResult
	nb     map[int]*neighbour
	order  []int
	buf    map[int]map[int]*message // round → from → message
	round  int                      // current round; -1 in setup
	feat   *message                 // this node's features, sent once and again to a rejoining neighbour
	seen   map[int]time.Time        // when each neighbour was last heard from
	// timeout is how long a neighbour may be silent (no message, no
	// heartbeat) before it is dropped.
	timeout time.Duration
}

func (r *nodeRun) publish(to int, m *message, setup bool) error {
	b := m.encode()
	if err := r.nc.Publish(nodeSubject(r.prefix, to), b); err != nil {
		return fmt.Errorf("node %d: publish to node %d: %w", r.j, to, err)
	}
	if setup {
		r.res.SetupMessages++
		r.res.SetupBytes += len(b)
	} else {
		r.res.Messages++
		r.res.Bytes += len(b)
	}
	return nil
}

// receive handles one incoming message: setup messages update the
// neighbour table (calling onFeatures), round messages are buffered, the
// rest counted.
func (r *nodeRun) receive(msg *nats.Msg, onFeatures func(i int, n *neighbour) error) error {
	m, err := decodeMessage(msg.Data)
	if err != nil {
		r.res.Corrupt++
		return nil
	}
	n, ok := r.nb[m.From]
	if !ok {
		r.res.Corrupt++
		return nil
	}
	if m.Kind == kindJoin {
		return r.admit(m.From, n)
	}
	if !n.live {
		r.res.Late++
		return nil
	}
	r.seen[m.From] = time.Now()
	switch m.Kind {
	case kindFeatures:
		if n.gotFeat {
			r.res.Duplicate++
			return nil
		}
		d := m.B
		f := Features{Omega: mat.NewDense(m.A, d, slices.Clone(m.Vec[:m.A*d])), B: slices.Clone(m.Vec[m.A*d : m.A*d+m.A])}
		n.feat, n.c, n.gotFeat = &f, m.Vec[len(m.Vec)-1], true
		return onFeatures(m.From, n)
	case kindGram:
		if n.gotGram {
			r.res.Duplicate++
			return nil
		}
		n.gram, n.gotGram = mat.NewDense(m.A, m.A, m.Vec), true
	case kindAlive:
	case kindAdmit:
		n.from, n.admitted = m.Round, true
	case kindRound:
		if m.Round < r.round {
			r.res.Late++
			return nil
		}
		if r.buf[m.Round] == nil {
			r.buf[m.Round] = map[int]*message{}
		}
		if _, dup := r.buf[m.Round][m.From]; dup {
			r.res.Duplicate++
			return nil
		}
		r.buf[m.Round][m.From] = m
	}
	return nil
}

// waitFor receives until missing() is empty, and drops the missing
// neighbours that have been silent (neither message nor heartbeat) for the
// timeout. A neighbour that is slow because it waits on another stays
// alive by its heartbeats. It reports whether any neighbour was dropped.
func (r *nodeRun) waitFor(ctx context.Context, missing func() []int, onFeatures func(int, *neighbour) error) (bool, error) {
	for {
		miss := missing()
		if len(miss) == 0 {
			return false, nil
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		dropped := false
		for _, i := range miss {
			if time.Since(r.seen[i]) > r.timeout {
				r.drop(i)
				dropped = true
			}
		}
		if dropped {
			return true, nil
		}
		msg, err := r.sub.NextMsg(min(r.timeout/4, 100*time.Millisecond))
		if err == nats.ErrTimeout {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("node %d: receive: %w", r.j, err)
		}
		if err := r.receive(msg, onFeatures); err != nil {
			return false, err
		}
	}
}

// heartbeat tells every neighbour this node is alive until stop is closed.
func (r *nodeRun) heartbeat(stop <-chan struct{}, every time.Duration) {
	b := (&message{Kind: kindAlive, From: r.j}).encode()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			for _, i := range r.order {
				_ = r.nc.Publish(nodeSubject(r.prefix, i), b)
			}
		}
	}
}

// admit takes back neighbour i, restarted after a crash: it gets this
// node's features again (its own features get the Gram matrix answer as at
// setup), and its messages are expected from two rounds on, by when it has
// caught up with the exchange.
func (r *nodeRun) admit(i int, n *neighbour) error {
	n.live, n.gotFeat, n.gotGram, n.from = true, false, false, r.round+2
	r.seen[i] = time.Now()
	r.res.Readmitted = append(r.res.Readmitted, i)
	r.res.ReadmittedAt = append(r.res.ReadmittedAt, n.from)
	if err := r.publish(i, r.feat, true); err != nil {
		return err
	}
	return r.publish(i, &message{Kind: kindAdmit, From: r.j, Round: n.from}, true)
}

// active lists the neighbours whose round-k messages are expected.
func (r *nodeRun) active(k int) []int {
	var l []int
	for _, i := range r.order {
		if n := r.nb[i]; n.live && k >= n.from {
			l = append(l, i)
		}
	}
	return l
}

func (r *nodeRun) drop(i int) {
	r.nb[i].live = false
	r.res.Dropped = append(r.res.Dropped, i)
	r.res.DroppedAt = append(r.res.DroppedAt, r.round)
}

func (r *nodeRun) live() []int {
	var l []int
	for _, i := range r.order {
		if r.nb[i].live {
			l = append(l, i)
		}
	}
	return l
}

// runNode runs node j: it must already be subscribed (sub) to its subject.
// It returns the node's result; an error is returned only for a failure of
// the node itself (not of a neighbour). With rejoin, j restarts after a
// crash in a run in progress: it asks its neighbours to take it back and
// starts at the earliest round one of them admits it from.
func runNode(ctx context.Context, nc *nats.Conn, sub *nats.Subscription, prefix string, j int, node Node, feat Features, nbs []int, p params, rejoin bool) (*NodeResult, error) {
	X, Y := node.X, node.Y
	nj, d := X.Dims()
	D := feat.D()
	res := &NodeResult{Node: j, Features: feat}
	r := &nodeRun{j: j, nc: nc, sub: sub, prefix: prefix, res: res, nb: map[int]*neighbour{}, order: slices.Clone(nbs),
		buf: map[int]map[int]*message{}, round: -1, seen: map[int]time.Time{}, timeout: p.timeout}
	for _, i := range nbs {
		r.nb[i] = &neighbour{live: true, admitted: !rejoin}
		r.seen[i] = time.Now()
	}
	stop := make(chan struct{})
	defer close(stop)
	go r.heartbeat(stop, p.timeout/10)
	cj := p.c / float64(len(nbs))
	lamj := p.lambda * float64(p.nTotal) / (float64(nj) * float64(p.J))
	Z := feat.Map(X) // D×N_j

	// Setup: send our features, answer each neighbour's with the Gram of its
	// features on our inputs.
	fv := make([]float64, 0, D*d+D+1)
	fv = append(append(append(fv, feat.Omega.RawMatrix().Data...), feat.B...), cj)
	r.feat = &message{Kind: kindFeatures, From: j, A: D, B: d, Vec: fv}
	for _, i := range nbs {
		if rejoin {
			if err := r.publish(i, &message{Kind: kindJoin, From: j}, true); err != nil {
				return res, err
			}
		}
		if err := r.publish(i, r.feat, true); err != nil {
			return res, err
		}
	}
	onFeatures := func(i int, n *neighbour) error {
		if _, di := n.feat.Omega.Dims(); di != d {
			r.res.Corrupt++
			n.gotFeat = false
			return nil
		}
		n.fx = n.feat.Map(X)
		Di := n.feat.D()
		G := mat.NewDense(Di, Di, nil)
		G.Mul(n.fx, n.fx.T())
		n.sentGram = true
		return r.publish(i, &message{Kind: kindGram, From: j, A: Di, B: Di, Vec: G.RawMatrix().Data}, true)
	}
	setupMissing := func() (miss []int) {
		for _, i := range r.live() {
			if n := r.nb[i]; !(n.gotFeat && n.gotGram && n.admitted) {
				miss = append(miss, i)
			}
		}
		return miss
	}
	for {
		dropped, err := r.waitFor(ctx, setupMissing, onFeatures)
		if err != nil {
			return res, err
		}
		if !dropped {
			break
		}
	}

	ZZ := mat.NewSymDense(D, nil)
	ZZ.SymOuterK(1, Z)
	ZY := mat.NewVecDense(D, nil)
	ZY.MulVec(Z, mat.NewVecDense(nj, Y))
	rho := p.prox * cj
	var chol mat.Cholesky
	var factored []int // the neighbours chol includes
	factor := func(live []int) error {
		factored = live
		A := mat.NewSymDense(D, nil)
		A.ScaleSym(1+cj*float64(len(live))+rho, ZZ)
		for k := range D {
			A.SetSym(k, k, A.At(k, k)+float64(nj)*lamj)
		}
		for _, i := range live {
			g := r.nb[i].gram
			for a := range D {
				for b := a; b < D; b++ {
					A.SetSym(a, b, A.At(a, b)+r.nb[i].c*g.At(a, b))
				}
			}
		}
		if !chol.Factorize(A) {
			return fmt.Errorf("node %d: system matrix is not positive definite (λ too small?)", j)
		}
		return nil
	}
	first := 0
	if rejoin {
		first = p.iters
		for _, i := range r.live() {
			first = min(first, r.nb[i].from)
		}
		if first >= p.iters {
			return res, fmt.Errorf("node %d: no neighbour took it back before the last round %d", j, p.iters-1)
		}
		res.RejoinedAt = first
	}
	if err := factor(r.active(first)); err != nil {
		return res, err
	}

	theta := mat.NewVecDense(D, nil)
	next := mat.NewVecDense(D, nil)
	rhs := mat.NewVecDense(D, nil)
	f := mat.NewVecDense(nj, nil)
	tmpN := mat.NewVecDense(nj, nil)
	tmpD := mat.NewVecDense(D, nil)
	for k := first; k < p.iters; k++ {
		r.round = k
		delete(r.buf, k-1)
		if k == p.killRound {
			res.Killed, res.KilledAt = true, k
			nc.Close()
			return res, nil
		}
		time.Sleep(p.pace)
		f.MulVec(Z.T(), theta)
		for _, i := range r.active(k) {
			n := r.nb[i]
			Di := n.feat.D()
			u := mat.NewVecDense(Di, nil)
			u.MulVec(n.fx, f) // Z_i(X_j) f_j(X_j)
			vec := append(slices.Clone(theta.RawVector().Data), u.RawVector().Data...)
			if err := r.publish(i, &message{Kind: kindRound, From: j, Round: k, A: D, B: Di, Vec: vec}, false); err != nil {
				return res, err
			}
		}
		roundMissing := func() (miss []int) {
			for _, i := range r.active(k) {
				if _, ok := r.buf[k][i]; !ok || !r.nb[i].gotGram {
					miss = append(miss, i)
				}
			}
			return miss
		}
		for {
			dropped, err := r.waitFor(ctx, roundMissing, onFeatures)
			if err != nil {
				return res, err
			}
			if !dropped {
				break
			}
		}
		if live := r.active(k); !slices.Equal(live, factored) { // a neighbour dropped or came back
			if err := factor(live); err != nil {
				return res, err
			}
		}
		rhs.CopyVec(ZY)
		tmpD.MulVec(ZZ, theta)
		rhs.AddScaledVec(rhs, rho, tmpD)
		for _, i := range r.active(k) {
			n, m := r.nb[i], r.buf[k][i]
			Di := n.feat.D()
			if m.A != Di || m.B != D {
				return res, fmt.Errorf("node %d: round %d message from node %d has shape %d+%d, want %d+%d", j, k, i, m.A, m.B, Di, D)
			}
			tmpN.MulVec(n.fx.T(), mat.NewVecDense(Di, m.Vec[:Di])) // f_i(X_j)
			tmpD.MulVec(Z, tmpN)
			rhs.AddScaledVec(rhs, cj, tmpD)
			rhs.AddScaledVec(rhs, n.c, mat.NewVecDense(D, m.Vec[Di:]))
		}
		if err := chol.SolveVecTo(next, rhs); err != nil {
			return res, fmt.Errorf("node %d: round %d: %w", j, k, err)
		}
		tmpD.SubVec(next, theta)
		res.Deltas = append(res.Deltas, mat.Norm(tmpD, 2)/math.Max(mat.Norm(next, 2), 1e-300))
		theta.CopyVec(next)
		res.Rounds = k + 1
	}
	res.Theta = slices.Clone(theta.RawVector().Data)
	if node.XTest != nil {
		res.Pred = predict(feat, res.Theta, node.XTest)
	}
	return res, nil
}

// predict evaluates f(x) = z(x)ᵀθ on the rows of X.
func predict(f Features, theta []float64, X *mat.Dense) []float64 {
	n, _ := X.Dims()
	out := mat.NewVecDense(n, nil)
	out.MulVec(f.Map(X).T(), mat.NewVecDense(len(theta), theta))
	return out.RawVector().Data
}
