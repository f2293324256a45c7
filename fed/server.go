package fed

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/trustml/trustml/progress"
)

// RoundStat is the traffic of one round, counted at the server: the
// global model sent to each live client and the uploads received.
type RoundStat struct {
	Round int `json:"round"`
	// Clients is the number of uploads aggregated.
	Clients  int `json:"clients"`
	Messages int `json:"messages"`
	Bytes    int `json:"bytes"`
}

// serverRun is the aggregator's state.
type serverRun struct {
	nc     *nats.Conn
	sub    *nats.Subscription
	prefix string
	o      Options
	live   []bool
	seen   []time.Time
	res    *Result
	// onUpload, if set, is called for every accepted upload (fault
	// injection in process mode).
	onUpload func(from, round int)
}

func (s *serverRun) liveList() []int {
	var l []int
	for j, ok := range s.live {
		if ok {
			l = append(l, j)
		}
	}
	return l
}

func (s *serverRun) send(j int, m *message, count bool) error {
	b := m.encode()
	if err := s.nc.Publish(clientSubject(s.prefix, j), b); err != nil {
		return fmt.Errorf("fed: server: send to client %d: %w", j, err)
	}
	if count {
		st := &s.res.RoundStats[len(s.res.RoundStats)-1]
		st.Messages++
		st.Bytes += len(b)
	}
	return nil
}

// drop declares client j dropped at round k and tells it so, in case it is
// alive but late.
func (s *serverRun) drop(j, k int) {
	s.live[j] = false
	s.res.Dropped = append(s.res.Dropped, j)
	s.res.DroppedAt = append(s.res.DroppedAt, k)
	_ = s.send(j, &message{Kind: kindStop, From: serverID, Round: k}, false)
}

// abort stops every live client and returns the error.
func (s *serverRun) abort(k int, err error) error {
	for _, j := range s.liveList() {
		_ = s.send(j, &message{Kind: kindStop, From: serverID, Round: k}, false)
	}
	_ = s.nc.Flush()
	return err
}

// serve runs the rounds from the global model w: send w to each live
// client, wait for their uploads (dropping clients silent for the round
// timeout), aggregate w = Σ n_r u_r / Σ n_r, and after the last round send
// the final model. It stops with an error when fewer than MinClients
// remain.
func (s *serverRun) serve(ctx context.Context, w []float32, rep progress.Reporter) ([]float32, error) {
	o := s.o
	stop := make(chan struct{})
	defer close(stop)
	all := make([]int, len(s.live)) // every client: the live set changes under the loop
	for j := range all {
		all[j] = j
	}
	go heartbeat(s.nc, stop, o.RoundTimeout/10, serverID, func() []int { return all }, s.prefix)
	for j := range s.seen {
		s.seen[j] = time.Now()
	}
	for k := range o.Rounds {
		rep.Update("fed "+o.Method, k, o.Rounds, fmt.Sprintf("%d clients", len(s.liveList())))
		s.res.RoundStats = append(s.res.RoundStats, RoundStat{Round: k})
		if n := len(s.liveList()); n < o.MinClients {
			return nil, s.abort(k, fmt.Errorf("fed: round %d: %d clients left (dropped %v), fewer than --min-clients %d", k, n, s.res.Dropped, o.MinClients))
		}
		for _, j := range s.liveList() {
			if err := s.send(j, &message{Kind: kindGlobal, From: serverID, Round: k, Vec: w}, true); err != nil {
				return nil, s.abort(k, err)
			}
		}
		got := map[int]*message{}
		for {
			missing := 0
			for _, j := range s.liveList() {
				if got[j] != nil {
					continue
				}
				if time.Since(s.seen[j]) > o.RoundTimeout {
					s.drop(j, k)
					continue
				}
				missing++
			}
			if n := len(s.liveList()); n < o.MinClients {
				return nil, s.abort(k, fmt.Errorf("fed: round %d: %d clients left (dropped %v), fewer than --min-clients %d", k, n, s.res.Dropped, o.MinClients))
			}
			if missing == 0 {
				break
			}
			if err := ctx.Err(); err != nil {
				return nil, s.abort(k, err)
			}
			msg, err := s.sub.NextMsg(min(o.RoundTimeout/4, 100*time.Millisecond))
			if err == nats.ErrTimeout {
				continue
			}
			if err != nil {
				return nil, s.abort(k, fmt.Errorf("fed: server: receive: %w", err))
			}
			s.receive(msg, k, len(w), got)
		}
		var total float64
		acc := make([]float64, len(w))
		for _, j := range slices.Sorted(maps.Keys(got)) { // a fixed order: the same sums bit for bit
			m := got[j]
			total += m.Weight
			for i, v := range m.Vec {
				acc[i] += m.Weight * float64(v)
			}
		}
		if !(total > 0) {
			return nil, s.abort(k, fmt.Errorf("fed: round %d: the uploads carry no samples", k))
		}
		for i := range w {
			w[i] = float32(acc[i] / total)
		}
		st := &s.res.RoundStats[k]
		st.Clients = len(got)
		s.res.Rounds = k + 1
	}
	rep.Update("fed "+o.Method, o.Rounds, o.Rounds, "")
	for _, j := range s.liveList() {
		if err := s.send(j, &message{Kind: kindFinal, From: serverID, Round: o.Rounds, Vec: w}, false); err != nil {
			return nil, err
		}
	}
	return w, s.nc.Flush()
}

// receive handles one message to the server during round k.
func (s *serverRun) receive(msg *nats.Msg, k, n int, got map[int]*message) {
	m, err := decodeMessage(msg.Data)
	if err != nil || m.From < 0 || m.From >= len(s.live) {
		s.res.Corrupt++
		return
	}
	if !s.live[m.From] {
		s.res.Late++
		return
	}
	s.seen[m.From] = time.Now()
	switch m.Kind {
	case kindAlive:
	case kindUpload:
		switch {
		case m.Round < k:
			s.res.Late++
		case m.Round > k || len(m.Vec) != n:
			s.res.Corrupt++
		case got[m.From] != nil:
			s.res.Duplicate++
		default:
			got[m.From] = m
			st := &s.res.RoundStats[k]
			st.Messages++
			st.Bytes += len(msg.Data)
			if s.onUpload != nil {
				s.onUpload(m.From, m.Round)
			}
		}
	default:
		s.res.Corrupt++
	}
}
