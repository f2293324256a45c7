package fed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/train"
)

// ClientResult is what one client reports after the run.
type ClientResult struct {
	Client int `json:"client"`
	// Train and Test are the client's sample counts.
	Train int `json:"train"`
	Test  int `json:"test"`
	// Accuracy is the personalized test accuracy in [0, 1]: the client's
	// model (learn2pfed, local) or the final global model (fedavg) on the
	// client's own test set.
	Accuracy float64 `json:"accuracy"`
	// Rounds is the number of rounds the client trained in.
	Rounds int `json:"rounds"`
	// Messages and Bytes are what the client sent in rounds (uploads).
	Messages int `json:"messages"`
	Bytes    int `json:"bytes"`
	// Late, Duplicate and Corrupt count ignored messages.
	Late      int `json:"late"`
	Duplicate int `json:"duplicate"`
	Corrupt   int `json:"corrupt"`
	// Beta are learn2pfed's final personal fractions β_g per parameter
	// group (in the order of the network's parameters).
	Beta []float64 `json:"beta,omitempty"`
	// Killed says the client was stopped by fault injection; Dropped that
	// the server dropped it (it then has no accuracy).
	Killed  bool   `json:"killed,omitempty"`
	Dropped bool   `json:"dropped,omitempty"`
	Err     string `json:"error,omitempty"`
}

// clientRun is one client's state.
type clientRun struct {
	j      int
	nc     *nats.Conn
	sub    *nats.Subscription
	prefix string
	o      Options
	info   MethodInfo
	shard  Shard
	// fit is the data of local training, mix that of the mixing steps
	// (learn2pfed holds out MixHoldout of the client's data for them).
	fit, mix *data.Dataset
	net      *nn.Network
	res      *ClientResult
}

// runClient runs client j, already subscribed (sub) to its subject and
// started. It returns the client's result; the error is the client's own
// failure (not being dropped).
func runClient(ctx context.Context, nc *nats.Conn, sub *nats.Subscription, prefix string, j int, sh Shard, o Options) (*ClientResult, error) {
	res := &ClientResult{Client: j, Train: sh.Train.Len(), Test: sh.Test.Len()}
	info, err := LookupMethod(o.Method)
	if err != nil {
		return res, err
	}
	net, err := o.initial()
	if err != nil {
		return res, err
	}
	c := &clientRun{j: j, nc: nc, sub: sub, prefix: prefix, o: o, info: info, shard: sh, net: net, res: res, fit: sh.Train, mix: sh.Train}
	if n := sh.Train.Len(); info.Learned && o.MixHoldout > 0 {
		h := int(math.Ceil(o.MixHoldout * float64(n)))
		if h < 1 || h >= n {
			return res, fmt.Errorf("client %d: holding out %g of %d samples for the mixing leaves none for one side", j, o.MixHoldout, n)
		}
		c.fit, c.mix = sh.Train.Subset(seq(0, n-h)), sh.Train.Subset(seq(n-h, n))
	}
	if info.Communicates {
		stop := make(chan struct{})
		defer close(stop)
		go heartbeat(nc, stop, o.RoundTimeout/10, j, func() []int { return []int{-1} }, prefix)
		if done, err := c.rounds(ctx); err != nil || !done {
			return res, err
		}
	} else {
		for k := range o.Rounds {
			if k == o.killRound(j) {
				res.Killed = true
				return res, nil
			}
			if err := c.localTrain(ctx, k); err != nil {
				return res, err
			}
			res.Rounds = k + 1
		}
	}
	ev, _, err := metrics.EvaluateClassifier(ctx, c.net, sh.Test.X, sh.Test.Y)
	if err != nil {
		return res, fmt.Errorf("client %d: evaluate: %w", j, err)
	}
	res.Accuracy = ev.Accuracy
	return res, nil
}

// localTrain runs the local epochs of round k on the client's data.
func (c *clientRun) localTrain(ctx context.Context, k int) error {
	opt, err := train.NewSGD(c.o.LR, c.o.Momentum, c.o.WeightDecay, false)
	if err != nil {
		return err
	}
	_, err = train.Fit(ctx, c.net, c.fit.X, c.fit.Y, train.Config{Epochs: c.o.LocalEpochs, BatchSize: c.o.Batch,
		Seed: c.o.Seed ^ uint64(c.j)<<32 ^ uint64(k)<<8 ^ 0xc1, Optimizer: opt})
	if err != nil {
		return fmt.Errorf("client %d round %d: %w", c.j, k, err)
	}
	return nil
}

// errDropped ends a client the server dropped or stopped.
var errDropped = errors.New("dropped")

// rounds takes part in the server's rounds until the final model arrives
// (done) or the client is dropped or killed (not done, nil error).
func (c *clientRun) rounds(ctx context.Context) (done bool, err error) {
	nw, nb := len(c.net.Weights()), len(c.net.BufferData())
	var mixer *Mixer
	if c.info.Learned {
		if mixer, err = NewMixer(c.net, c.o.Eta, c.o.Beta0); err != nil {
			return false, err
		}
	}
	var prev []float32 // the personal model after the last round's training
	rng := rand.New(rand.NewPCG(c.o.Seed^uint64(c.j), 0x3117))
	heard := time.Now()
	for next := 0; ; {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if time.Since(heard) > c.o.RoundTimeout {
			return false, fmt.Errorf("client %d: no message from the server for %v (waiting for round %d)", c.j, c.o.RoundTimeout, next)
		}
		msg, err := c.sub.NextMsg(min(c.o.RoundTimeout/4, 100*time.Millisecond))
		if err == nats.ErrTimeout {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("client %d: receive: %w", c.j, err)
		}
		m, err := decodeMessage(msg.Data)
		if err != nil || m.From != serverID {
			c.res.Corrupt++
			continue
		}
		heard = time.Now()
		switch m.Kind {
		case kindAlive:
			continue
		case kindStop:
			c.res.Dropped = true
			c.res.Err = fmt.Sprintf("stopped by the server at round %d", m.Round)
			return false, nil
		case kindGlobal, kindFinal:
		default:
			c.res.Corrupt++
			continue
		}
		if m.Round < next {
			if m.Round == next-1 && m.Kind == kindGlobal {
				c.res.Duplicate++
			} else {
				c.res.Late++
			}
			continue
		}
		if len(m.Vec) != nw+nb {
			return false, fmt.Errorf("client %d: round %d global model has %d numbers, this client's network %d", c.j, m.Round, len(m.Vec), nw+nb)
		}
		w, wb := m.Vec[:nw], m.Vec[nw:]
		if m.Kind == kindFinal {
			if !c.info.Personal {
				copy(c.net.Weights(), w)
				copy(c.net.BufferData(), wb)
			}
			if mixer != nil {
				c.res.Beta = mixer.Betas()
			}
			return true, nil
		}
		k := m.Round
		if k == c.o.killRound(c.j) {
			c.res.Killed = true
			c.nc.Close()
			return false, nil
		}
		if mixer == nil || prev == nil {
			copy(c.net.Weights(), w)
			copy(c.net.BufferData(), wb) // learn2pfed keeps its own batch-norm statistics after round 0
		} else {
			if err := c.learnMix(ctx, mixer, w, prev, rng); err != nil {
				return false, fmt.Errorf("client %d round %d: %w", c.j, k, err)
			}
			mixer.Personalize(c.net.Weights(), w, prev)
		}
		if err := c.localTrain(ctx, k); err != nil {
			return false, err
		}
		up := slices.Concat(c.net.Weights(), c.net.BufferData())
		if mixer != nil {
			prev = slices.Clone(c.net.Weights())
			mixer.Share(up[:nw], w, prev)
		}
		b := (&message{Kind: kindUpload, From: c.j, Round: k, Weight: float64(c.fit.Len()), Vec: up}).encode()
		if err := c.nc.Publish(serverSubject(c.prefix), b); err != nil {
			return false, fmt.Errorf("client %d: upload round %d: %w", c.j, k, err)
		}
		c.res.Messages++
		c.res.Bytes += len(b)
		c.res.Rounds = k + 1
		next = k + 1
	}
}

// learnMix takes MixSteps steps on the mixing weights, each on a random
// batch of the client's training data.
func (c *clientRun) learnMix(ctx context.Context, m *Mixer, w, prev []float32, rng *rand.Rand) error {
	d := c.mix
	size := d.SampleSize()
	bs := min(c.o.Batch, d.Len())
	x := make([]float32, bs*size)
	y := make([]int, bs)
	for range c.o.MixSteps {
		if err := ctx.Err(); err != nil {
			return err
		}
		for i, p := range rng.Perm(d.Len())[:bs] {
			copy(x[i*size:(i+1)*size], d.X[p*size:(p+1)*size])
			y[i] = d.Y[p]
		}
		if _, err := m.MixStep(c.net, w, prev, x, y, c.o.MixLR); err != nil {
			return err
		}
	}
	return nil
}

// heartbeat publishes an alive message from `from` to the subjects of
// to() (−1: the server) every period until stop is closed.
func heartbeat(nc *nats.Conn, stop <-chan struct{}, every time.Duration, from int, to func() []int, prefix string) {
	b := (&message{Kind: kindAlive, From: from}).encode()
	t := time.NewTicker(max(every, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			for _, i := range to() {
				subj := serverSubject(prefix)
				if i >= 0 {
					subj = clientSubject(prefix, i)
				}
				_ = nc.Publish(subj, b)
			}
		}
	}
}

// seq returns lo, lo+1, …, hi−1.
func seq(lo, hi int) []int {
	out := make([]int, hi-lo)
	for i := range out {
		out[i] = lo + i
	}
	return out
}
