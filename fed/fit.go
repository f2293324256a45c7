package fed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/trustml/trustml/natsnet"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
)

// Options are the settings of a federated run that the server and every
// client share.
type Options struct {
	// Method is learn2pfed, fedavg or local ([MethodNames]).
	Method string
	// Spec is the network every client trains; Init, if set, its initial
	// weights followed by its buffers (default: nn.New(Spec, Seed)).
	Spec nn.Spec
	Init []float32
	// Rounds of communication; each round every client trains LocalEpochs
	// epochs of SGD (LR, Momentum, WeightDecay) in batches of Batch.
	Rounds, LocalEpochs, Batch int
	LR, Momentum, WeightDecay  float64
	// MixSteps, MixLR, Eta and Beta0 configure learn2pfed's [Mixer]: SGD
	// steps (one batch each) on the mixing per round, their step size, the
	// ADMM step η and the initial personal fraction β. MixHoldout is the
	// fraction of each client's data held out of local training for the
	// mixing steps (0: they use the training data).
	MixSteps                      int
	MixLR, Eta, Beta0, MixHoldout float64
	// MinClients is the least number of clients a round may go on with.
	MinClients int
	// RoundTimeout: a client silent (no upload, no heartbeat) this long is
	// dropped; a client that hears nothing from the server this long stops.
	RoundTimeout time.Duration
	// Seed seeds the initial model, the shuffles and the mixing batches.
	Seed uint64
	// KillClient, KillRound: fault injection; client KillClient closes its
	// connection and stops when round KillRound (≥ 1) begins.
	KillClient, KillRound int
}

// check validates o for n clients.
func (o Options) check(n int) error {
	if _, err := LookupMethod(o.Method); err != nil {
		return fmt.Errorf("fed: %w", err)
	}
	switch {
	case n < 1:
		return errors.New("fed: no clients")
	case o.Rounds < 1 || o.LocalEpochs < 1 || o.Batch < 1:
		return fmt.Errorf("fed: --rounds %d, --local-epochs %d, --batch %d: want each ≥ 1", o.Rounds, o.LocalEpochs, o.Batch)
	case !(o.LR > 0) || math.IsInf(o.LR, 0) || !(o.MixLR >= 0) || math.IsInf(o.MixLR, 0) || o.MixSteps < 0:
		return fmt.Errorf("fed: --lr %g, --mix-lr %g, --mix-steps %d: want lr > 0, mix-lr ≥ 0, mix-steps ≥ 0", o.LR, o.MixLR, o.MixSteps)
	case !(o.MixHoldout >= 0 && o.MixHoldout < 1):
		return fmt.Errorf("fed: --mix-holdout %g, want a fraction in [0, 1)", o.MixHoldout)
	case o.MinClients < 1 || o.MinClients > n:
		return fmt.Errorf("fed: --min-clients %d for %d clients, want 1…%d", o.MinClients, n, n)
	case o.RoundTimeout <= 0:
		return fmt.Errorf("fed: --round-timeout %v, want > 0", o.RoundTimeout)
	case o.KillClient >= n || (o.KillClient >= 0 && o.KillRound < 1):
		return fmt.Errorf("fed: --kill-client %d --kill-round %d: want a client below %d and a round ≥ 1", o.KillClient, o.KillRound, n)
	}
	_, err := o.initial()
	return err
}

// killRound is the round at which client j is killed, or −1.
func (o Options) killRound(j int) int {
	if o.KillClient >= 0 && j == o.KillClient && o.KillRound > 0 {
		return o.KillRound
	}
	return -1
}

// initial builds the initial network.
func (o Options) initial() (*nn.Network, error) {
	net, err := nn.New(o.Spec, o.Seed)
	if err != nil {
		return nil, fmt.Errorf("fed: %w", err)
	}
	if o.Init != nil {
		nw, nb := len(net.Weights()), len(net.BufferData())
		if len(o.Init) != nw+nb {
			return nil, fmt.Errorf("fed: initial model has %d numbers, the network %s %d weights and %d buffers", len(o.Init), o.Spec.Name, nw, nb)
		}
		copy(net.Weights(), o.Init[:nw])
		copy(net.BufferData(), o.Init[nw:])
	}
	return net, nil
}

// Result is the outcome of a federated run.
type Result struct {
	Method string `json:"method"`
	// Rounds is the number of rounds the server completed.
	Rounds int `json:"rounds"`
	// Clients holds each client's result (nil: the client never reported).
	Clients []*ClientResult `json:"clients"`
	// Dropped are the clients the server dropped (silent for the round
	// timeout, or never joined), at the rounds in DroppedAt.
	Dropped   []int `json:"dropped,omitempty"`
	DroppedAt []int `json:"dropped_at,omitempty"`
	// RoundStats is the traffic of each round.
	RoundStats []RoundStat `json:"round_stats,omitempty"`
	// MessagesPerRound and BytesPerRound average RoundStats.
	MessagesPerRound float64 `json:"messages_per_round"`
	BytesPerRound    float64 `json:"bytes_per_round"`
	// Late, Duplicate and Corrupt count the messages the server ignored.
	Late      int `json:"late"`
	Duplicate int `json:"duplicate"`
	Corrupt   int `json:"corrupt"`
	// Global is the final global model (weights, then buffers; nil for
	// local training).
	Global  []float32 `json:"-"`
	Seconds float64   `json:"seconds"`
}

// summarize fills the per-round averages.
func (r *Result) summarize() {
	if len(r.RoundStats) == 0 {
		return
	}
	var m, b int
	for _, s := range r.RoundStats {
		m += s.Messages
		b += s.Bytes
	}
	r.MessagesPerRound = float64(m) / float64(len(r.RoundStats))
	r.BytesPerRound = float64(b) / float64(len(r.RoundStats))
}

// NewRunID returns a random identifier for a run's NATS subjects.
func NewRunID() string { return natsnet.RunID() }

// Prefix is the subject prefix of run id.
func Prefix(run string) string { return "trustml.fed." + run }

// joinRun connects client j, subscribes it to its subject and the start
// signal and waits for the start, announcing itself ready every 200ms.
func joinRun(ctx context.Context, url, prefix string, j int, timeout time.Duration) (*nats.Conn, *nats.Subscription, error) {
	nc, err := nats.Connect(url, nats.Name("trustml-fed-client-"+strconv.Itoa(j)), nats.NoReconnect())
	if err != nil {
		return nil, nil, fmt.Errorf("client %d: connect to %s: %w", j, url, err)
	}
	sub, err := nc.SubscribeSync(clientSubject(prefix, j))
	var start *nats.Subscription
	if err == nil {
		_ = sub.SetPendingLimits(-1, -1)
		start, err = nc.SubscribeSync(prefix + ".start")
	}
	if err == nil {
		err = nc.Flush()
	}
	deadline := time.Now().Add(timeout)
	for err == nil {
		if err = nc.Publish(prefix+".ready", []byte(strconv.Itoa(j))); err != nil {
			break
		}
		var msg *nats.Msg
		if msg, err = start.NextMsg(200 * time.Millisecond); err == nil {
			if !startsWith(msg.Data, j) {
				err = errors.New("the run started without this client (it was not ready within the server's join timeout)")
				break
			}
			return nc, sub, nil
		} else if err == nats.ErrTimeout {
			err = ctx.Err()
			if err == nil && time.Now().After(deadline) {
				err = fmt.Errorf("no start signal from the server within %v", timeout)
			}
		}
	}
	nc.Close()
	return nil, nil, fmt.Errorf("client %d: join run: %w", j, err)
}

// startsWith reports whether the start signal b, the comma-separated
// clients that joined, lists client j.
func startsWith(b []byte, j int) bool {
	for f := range strings.SplitSeq(string(b), ",") {
		if f == strconv.Itoa(j) {
			return true
		}
	}
	return false
}

// startList is the start signal: the clients that joined.
func startList(joined []bool) []byte {
	var l []string
	for j, ok := range joined {
		if ok {
			l = append(l, strconv.Itoa(j))
		}
	}
	return []byte(strings.Join(l, ","))
}

// coordinate waits (up to timeout) for n clients to be ready on sub, sends
// start (the list of clients that joined) and returns which joined. A
// client ready later is sent the list again by lateJoiners.
func coordinate(nc *nats.Conn, ready *nats.Subscription, prefix string, n int, timeout time.Duration) ([]bool, error) {
	joined := make([]bool, n)
	count := 0
	deadline := time.Now().Add(timeout)
	for count < n && time.Now().Before(deadline) {
		msg, err := ready.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		if j, err := strconv.Atoi(string(msg.Data)); err == nil && j >= 0 && j < n && !joined[j] {
			joined[j], count = true, count+1
		}
	}
	if err := nc.Publish(prefix+".start", startList(joined)); err != nil {
		return nil, fmt.Errorf("fed: send start: %w", err)
	}
	return joined, nc.Flush()
}

// newServer connects the server and subscribes it to the server subject
// and the ready announcements of run prefix.
func newServer(url, prefix string, o Options, n int) (*serverRun, *nats.Subscription, error) {
	nc, err := nats.Connect(url, nats.Name("trustml-fed-server"))
	if err != nil {
		return nil, nil, fmt.Errorf("fed: connect to %s: %w", url, err)
	}
	sub, err := nc.SubscribeSync(serverSubject(prefix))
	var ready *nats.Subscription
	if err == nil {
		_ = sub.SetPendingLimits(-1, -1)
		ready, err = nc.SubscribeSync(prefix + ".ready")
	}
	if err == nil {
		err = nc.Flush()
	}
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("fed: subscribe: %w", err)
	}
	return &serverRun{nc: nc, sub: sub, prefix: prefix, o: o, live: make([]bool, n), seen: make([]time.Time, n),
		res: &Result{Method: o.Method, Clients: make([]*ClientResult, n)}}, ready, nil
}

// start waits for the clients to join and runs the rounds (for methods
// that communicate).
func (s *serverRun) start(ctx context.Context, ready *nats.Subscription, joinTimeout time.Duration, rep progress.Reporter) error {
	joined, err := coordinate(s.nc, ready, s.prefix, len(s.live), joinTimeout)
	if err != nil {
		return err
	}
	copy(s.live, joined)
	stopLate := make(chan struct{})
	defer close(stopLate)
	go lateJoiners(s.nc, ready, s.prefix, startList(joined), stopLate)
	for j, ok := range joined {
		if !ok {
			s.res.Dropped = append(s.res.Dropped, j)
			s.res.DroppedAt = append(s.res.DroppedAt, -1)
		}
	}
	info, _ := LookupMethod(s.o.Method)
	if !info.Communicates {
		return nil
	}
	net, err := s.o.initial()
	if err != nil {
		return s.abort(0, err)
	}
	w := append(append([]float32(nil), net.Weights()...), net.BufferData()...)
	s.res.Global, err = s.serve(ctx, w, rep)
	return err
}

// lateJoiners answers every ready announcement after the start with the
// start list again, so a client that was too late learns it was left out
// and stops, until stop is closed.
func lateJoiners(nc *nats.Conn, ready *nats.Subscription, prefix string, list []byte, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if _, err := ready.NextMsg(200 * time.Millisecond); err == nil {
			_ = nc.Publish(prefix+".start", list)
		} else if err != nats.ErrTimeout {
			return
		}
	}
}

// Fit runs a federated training of the clients holding shards, each a
// goroutine with its own connection to the NATS server at url, and a
// server (aggregator) in this goroutine. A client that fails or is
// killed is dropped after the round timeout and the others continue; Fit
// returns an error when fewer than MinClients remain or the configuration
// is invalid.
func Fit(ctx context.Context, url string, shards []Shard, o Options, rep progress.Reporter) (*Result, error) {
	rep = progress.Or(rep)
	if err := o.check(len(shards)); err != nil {
		return nil, err
	}
	for j, sh := range shards {
		if sh.Train == nil || sh.Test == nil || sh.Train.Len() == 0 || sh.Test.Len() == 0 {
			return nil, fmt.Errorf("fed: client %d has no training or no test data", j)
		}
	}
	begin := time.Now()
	prefix := Prefix(NewRunID())
	s, ready, err := newServer(url, prefix, o, len(shards))
	if err != nil {
		return nil, err
	}
	defer s.nc.Close()
	results := make([]*ClientResult, len(shards))
	errs := make([]error, len(shards))
	var wg sync.WaitGroup
	for j := range shards {
		wg.Go(func() {
			nc, sub, err := joinRun(ctx, url, prefix, j, 30*time.Second)
			if err != nil {
				errs[j] = err
				return
			}
			defer nc.Close()
			results[j], errs[j] = runClient(ctx, nc, sub, prefix, j, shards[j], o)
			if errs[j] != nil {
				results[j].Err = errs[j].Error()
			}
		})
	}
	err = s.start(ctx, ready, 30*time.Second, rep)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := s.res
	copy(r.Clients, results)
	r.summarize()
	r.Seconds = time.Since(begin).Seconds()
	if len(r.Evaluated()) == 0 {
		return r, fmt.Errorf("fed: no client finished: %w", errors.Join(errs...))
	}
	return r, nil
}

// Evaluated lists the clients that finished with an accuracy.
func (r *Result) Evaluated() []int {
	var out []int
	for j, c := range r.Clients {
		if c != nil && c.Err == "" && !c.Killed && !c.Dropped && !r.isDropped(j) {
			out = append(out, j)
		}
	}
	return out
}

func (r *Result) isDropped(j int) bool {
	for _, d := range r.Dropped {
		if d == j {
			return true
		}
	}
	return false
}

// MeanAccuracy is the mean personalized test accuracy over the evaluated
// clients (NaN when none).
func (r *Result) MeanAccuracy() float64 {
	ev := r.Evaluated()
	if len(ev) == 0 {
		return math.NaN()
	}
	var s float64
	for _, j := range ev {
		s += r.Clients[j].Accuracy
	}
	return s / float64(len(ev))
}
