package fed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/natsnet"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
)

// Config configures [Run]; its tagged fields are the flags of `trustml
// fed`. [DefaultConfig] holds the defaults.
type Config struct {
	Method        string        `flag:"method" help:"learn2pfed, fedavg or local"`
	Data          string        `flag:"data" help:"labeled image or tabular set (data.Open): fashion-mnist, fashion-mnist-small, ..."`
	Arch          string        `flag:"arch" help:"network every client trains (nn.SpecFor): mlp, cnn-small, cnn, ..."`
	Clients       int           `flag:"clients" help:"number of clients"`
	Alpha         float64       `flag:"alpha" help:"Dirichlet α of the label split (small: few classes per client)"`
	TrainSamples  int           `flag:"train-samples" help:"training samples drawn from the train split and divided among the clients (0: all)"`
	TestPerClient int           `flag:"test-per-client" help:"test samples per client, drawn with the client's label distribution"`
	Rounds        int           `flag:"rounds" help:"communication rounds"`
	LocalEpochs   int           `flag:"local-epochs" help:"local epochs per round"`
	Batch         int           `flag:"batch" help:"batch size"`
	LR            float64       `flag:"lr" help:"SGD learning rate of local training"`
	Momentum      float64       `flag:"momentum" help:"SGD momentum (reset every round)"`
	MixSteps      int           `flag:"mix-steps" help:"learn2pfed: gradient steps (one batch each) on the mixing weights per round"`
	MixLR         float64       `flag:"mix-lr" help:"learn2pfed: step size on log Λ"`
	Beta0         float64       `flag:"beta0" help:"learn2pfed: initial personal fraction β = η/(η+Λ) of every parameter group"`
	MixHoldout    float64       `flag:"mix-holdout" help:"learn2pfed: fraction of each client's data held out of local training for learning the mixing (0: learn it on the training data)"`
	MinClients    int           `flag:"min-clients" help:"stop with an error when fewer clients remain (0: half of --clients, rounded up)"`
	RoundTimeout  time.Duration `flag:"round-timeout" help:"a client silent this long (no upload, no heartbeat) is dropped"`
	Seed          uint64        `flag:"seed" help:"seed of the split, the initial model and the shuffles"`
	NATS          string        `flag:"nats" help:"NATS server URL to join (default: start an embedded server in this process)"`
	Procs         bool          `flag:"procs" help:"run each client as a separate OS process (trustml fed --client i)"`
	External      bool          `flag:"external" help:"serve client processes started elsewhere (trustml fed --client i --run ID --nats URL) instead of starting them; needs --run"`
	Client        int           `flag:"client" help:"run only client i of a server's run (needs --nats and --run); -1: run the server"`
	Run           string        `flag:"run" help:"run id: the NATS subject prefix shared by the server and its client processes"`
	KillClient    int           `flag:"kill-client" help:"fault injection: kill client i (a process: SIGKILL) at round --kill-round; -1: none"`
	KillRound     int           `flag:"kill-round" help:"round (≥ 1) at which --kill-client is killed"`

	// Exec is the command line that starts a client process, to which the
	// client's flags are appended (default: this executable, "fed").
	Exec []string `json:"-"`
	// Env is added to a client process's environment.
	Env []string `json:"-"`
	// Progress, if set, receives one update per round.
	Progress progress.Reporter `json:"-"`
}

// DefaultConfig is the configuration of `trustml fed`.
func DefaultConfig() Config {
	return Config{Method: MethodLearn2pFed, Data: "fashion-mnist", Arch: "mlp", Clients: 10, Alpha: 0.3, TrainSamples: 2000, TestPerClient: 200,
		Rounds: 10, LocalEpochs: 1, Batch: 32, LR: 0.05, MixSteps: 5, MixLR: 5, Beta0: 0.9,
		RoundTimeout: 10 * time.Second, Seed: 1, Client: -1, KillClient: -1}
}

// Args returns c's tagged fields as command-line flags (--name=value).
func (c Config) Args() []string { return natsnet.Args(c) }

// options returns the run's shared options for a network spec.
func (c Config) options(spec nn.Spec) Options {
	o := Options{Method: c.Method, Spec: spec, Rounds: c.Rounds, LocalEpochs: c.LocalEpochs, Batch: c.Batch, LR: c.LR, Momentum: c.Momentum,
		MixSteps: c.MixSteps, MixLR: c.MixLR, Eta: 1, Beta0: c.Beta0, MixHoldout: c.MixHoldout, MinClients: c.MinClients, RoundTimeout: c.RoundTimeout, Seed: c.Seed,
		KillClient: c.KillClient, KillRound: c.KillRound}
	if o.MinClients == 0 {
		o.MinClients = (c.Clients + 1) / 2
	}
	return o
}

// Shards loads c.Data and splits it among the clients (see
// [DirichletSplit]); every process of a run computes the same shards.
func (c Config) Shards() ([]Shard, nn.Spec, error) {
	train, err := data.Open(c.Data, data.Train, "")
	if err != nil {
		return nil, nn.Spec{}, err
	}
	var test *data.Dataset
	if officialSplit(c.Data) {
		test, err = data.Open(c.Data, data.Test, "")
	} else { // one set (a tabular set or a file): hold out 30%, stratified
		train, test, err = data.StratifiedSplit(train, 0.3, c.Seed)
	}
	if err != nil {
		return nil, nn.Spec{}, err
	}
	if c.TrainSamples < 0 {
		return nil, nn.Spec{}, fmt.Errorf("fed: --train-samples %d, want ≥ 0", c.TrainSamples)
	}
	if c.TrainSamples > 0 && c.TrainSamples < train.Len() {
		rng := rand.New(rand.NewPCG(c.Seed, 0x5a3b1e))
		idx := rng.Perm(train.Len())[:c.TrainSamples]
		slices.Sort(idx)
		train = train.Subset(idx)
	}
	spec, err := nn.SpecFor(c.Arch, train.Shape, len(train.Classes))
	if err != nil {
		return nil, nn.Spec{}, fmt.Errorf("fed: %w", err)
	}
	sh, err := DirichletSplit(train, test, SplitConfig{Clients: c.Clients, Alpha: c.Alpha, MinSamples: max(c.Batch, 10), TestPerClient: c.TestPerClient, Seed: c.Seed})
	return sh, spec, err
}

// officialSplit reports whether the built-in set name has a train/test
// split.
func officialSplit(name string) bool {
	for _, in := range data.Names() {
		if in.Name == name {
			return in.Splits
		}
	}
	return false
}

// Report is the outcome of [Run].
type Report struct {
	Config Config `json:"config"`
	// Params is the number of trainable parameters of the network.
	Params int `json:"params"`
	// Result is the federated run (nil for a client process).
	Result *Result `json:"result,omitempty"`
	// Client is a client process's own result.
	Client *ClientResult `json:"client,omitempty"`
	// Labels are each client's training class counts.
	Labels  [][]int `json:"labels,omitempty"`
	Seconds float64 `json:"seconds"`
}

// Run is the library call of `trustml fed`: it splits the data among the
// clients (Dirichlet α label split), runs the server and the clients
// (goroutines, or OS processes with Procs) over NATS and reports each
// client's personalized test accuracy and the traffic. With Client ≥ 0 it
// runs that one client of a server's run.
func Run(ctx context.Context, c Config) (*Report, error) {
	begin := time.Now()
	if _, err := LookupMethod(c.Method); err != nil {
		return nil, fmt.Errorf("fed: --method: %w", err)
	}
	if c.Clients < 1 {
		return nil, fmt.Errorf("fed: --clients %d, want ≥ 1", c.Clients)
	}
	if c.External && (c.Run == "" || c.KillClient >= 0) {
		return nil, errors.New("fed: --external needs --run (the id its client processes are given) and cannot --kill-client")
	}
	shards, spec, err := c.Shards()
	if err != nil {
		return nil, err
	}
	o := c.options(spec)
	if err := o.check(len(shards)); err != nil {
		return nil, err
	}
	r := &Report{Config: c}
	r.Config.Exec, r.Config.Env = nil, nil
	if net, err := o.initial(); err == nil {
		r.Params = net.NumParams()
	}
	if c.Client >= 0 {
		r.Client, err = runClientProcess(ctx, c, o, shards)
		r.Seconds = time.Since(begin).Seconds()
		return r, err
	}
	for _, sh := range shards {
		r.Labels = append(r.Labels, sh.Train.ClassCounts())
	}
	url := c.NATS
	if url == "" {
		srv, err := natsnet.Start()
		if err != nil {
			return nil, err
		}
		defer srv.Close()
		url = srv.URL()
	}
	if c.Procs || c.External {
		r.Result, err = runProcs(ctx, c, o, url)
	} else {
		r.Result, err = Fit(ctx, url, shards, o, c.Progress)
	}
	r.Seconds = time.Since(begin).Seconds()
	return r, err
}

// runClientProcess runs client c.Client of the server's run c.Run and
// publishes its result (JSON) on <prefix>.result.
func runClientProcess(ctx context.Context, c Config, o Options, shards []Shard) (*ClientResult, error) {
	j := c.Client
	if j >= c.Clients {
		return nil, fmt.Errorf("fed: --client %d of %d clients", j, c.Clients)
	}
	if c.NATS == "" || c.Run == "" {
		return nil, errors.New("fed: a client process (--client) needs --nats and --run from its server")
	}
	prefix := Prefix(c.Run)
	nc, sub, err := joinRun(ctx, c.NATS, prefix, j, 10*time.Minute)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	res, err := runClient(ctx, nc, sub, prefix, j, shards[j], o)
	if err != nil {
		res.Err = err.Error()
	}
	if res.Killed {
		return res, err
	}
	b, jerr := json.Marshal(res)
	if jerr == nil {
		jerr = nc.Publish(prefix+".result", b)
	}
	if jerr == nil {
		jerr = nc.Flush()
	}
	return res, errors.Join(err, jerr)
}

// runProcs starts one OS process per client, kills c.KillClient with
// SIGKILL once it has uploaded round c.KillRound−1, serves the rounds and
// collects the client results. With c.External it starts nothing and
// serves the client processes started elsewhere with --run c.Run.
func runProcs(ctx context.Context, c Config, o Options, url string) (*Result, error) {
	begin := time.Now()
	rep := progress.Or(c.Progress)
	run := c.Run
	if run == "" {
		run = NewRunID()
	}
	prefix := Prefix(run)
	s, ready, err := newServer(url, prefix, o, c.Clients)
	if err != nil {
		return nil, err
	}
	defer s.nc.Close()
	resCh := make(chan *nats.Msg, 4*c.Clients)
	if _, err := s.nc.ChanSubscribe(prefix+".result", resCh); err != nil {
		return nil, fmt.Errorf("fed: subscribe: %w", err)
	}
	exe := c.Exec
	if len(exe) == 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("fed: cannot find this executable to start client processes: %w", err)
		}
		exe = []string{self, "fed"}
	}
	procs := make([]*exec.Cmd, c.Clients)
	stderr := make([]bytes.Buffer, c.Clients)
	exitErr := make([]error, c.Clients)
	var wg sync.WaitGroup
	if c.External {
		rep.Log("fed: waiting for %d clients: trustml fed --run %s --nats %s --client i (same data flags)", c.Clients, run, url)
	}
	for j := range c.Clients {
		if c.External {
			break
		}
		cc := c
		cc.Client, cc.NATS, cc.Run, cc.Procs, cc.KillClient = j, url, run, false, -1
		cmd := exec.CommandContext(ctx, exe[0], append(slices.Clone(exe[1:]), cc.Args()...)...)
		cmd.Env = append(os.Environ(), c.Env...)
		cmd.Stderr = &stderr[j]
		if err := cmd.Start(); err != nil {
			for _, p := range procs[:j] {
				_ = p.Process.Kill()
			}
			return nil, fmt.Errorf("fed: start client %d (%s): %w", j, strings.Join(exe, " "), err)
		}
		procs[j] = cmd
		wg.Go(func() { exitErr[j] = cmd.Wait() })
	}
	if k := c.KillClient; k >= 0 && procs[k] != nil {
		var once sync.Once
		s.onUpload = func(from, round int) {
			if from == k && round+1 >= c.KillRound {
				once.Do(func() { _ = procs[k].Process.Kill() })
			}
		}
		if info, _ := LookupMethod(c.Method); !info.Communicates {
			_ = procs[k].Process.Kill()
		}
	}
	joinTimeout := 3 * time.Minute // ten processes each loading the data on a busy machine
	if c.External {
		joinTimeout = 10 * time.Minute
	}
	serr := s.start(ctx, ready, joinTimeout, rep)
	expect := 0
	for _, ok := range s.live {
		if ok {
			expect++
		}
	}
	if !c.External {
		exited := make(chan struct{})
		go func() { wg.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(2*o.RoundTimeout + 10*time.Second): // a process that hangs does not hang the run
			for j, p := range procs {
				if p != nil && p.ProcessState == nil {
					rep.Log("fed: client process %d did not exit after the run; killing it", j)
					_ = p.Process.Kill()
				}
			}
			<-exited
		}
	}
	idle := 500 * time.Millisecond
	if c.External {
		idle = 5 * o.RoundTimeout
	}
	for got, done := 0, false; !done && got < expect; {
		select {
		case msg := <-resCh:
			var cr ClientResult
			if err := json.Unmarshal(msg.Data, &cr); err == nil && cr.Client >= 0 && cr.Client < c.Clients && s.res.Clients[cr.Client] == nil {
				s.res.Clients[cr.Client] = &cr
				got++
			}
		case <-time.After(idle):
			done = true
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var errs []error
	for j, e := range exitErr {
		if e != nil && j != c.KillClient {
			errs = append(errs, fmt.Errorf("client %d: %w: %s", j, e, strings.TrimSpace(stderr[j].String())))
		}
	}
	if serr != nil {
		return nil, errors.Join(append([]error{serr}, errs...)...)
	}
	r := s.res
	r.summarize()
	r.Seconds = time.Since(begin).Seconds()
	if len(r.Evaluated()) == 0 {
		return r, fmt.Errorf("fed: no client process finished: %w", errors.Join(errs...))
	}
	return r, nil
}

// WriteText writes the report: each client's personalized test accuracy,
// the mean, the traffic and what went wrong.
func (r *Report) WriteText(w io.Writer) error {
	c := r.Config
	if r.Client != nil {
		cr := r.Client
		_, err := fmt.Fprintf(w, "client %d: %d rounds, accuracy %.4f, %d messages, %d bytes, late %d, duplicate %d, dropped %v, killed %v\n",
			cr.Client, cr.Rounds, cr.Accuracy, cr.Messages, cr.Bytes, cr.Late, cr.Duplicate, cr.Dropped, cr.Killed)
		return err
	}
	res := r.Result
	if res == nil {
		return errors.New("fed: empty report")
	}
	mode := "goroutines"
	if c.Procs {
		mode = "OS processes"
	} else if c.External {
		mode = "external processes"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s on %s: %d clients (%s), Dirichlet α=%g, %s (%d parameters), %d rounds × %d local epochs\n",
		c.Method, c.Data, c.Clients, mode, c.Alpha, c.Arch, r.Params, res.Rounds, c.LocalEpochs)
	fmt.Fprintf(tw, "client\ttrain\ttest\tclasses (≥5%%)\taccuracy %%\n")
	ev := map[int]bool{}
	for _, j := range res.Evaluated() {
		ev[j] = true
	}
	for j := range c.Clients {
		cl := ""
		if j < len(r.Labels) {
			cl = majorClasses(r.Labels[j])
		}
		acc := "n/a"
		cr := res.Clients[j]
		if ev[j] {
			acc = fmt.Sprintf("%.2f", 100*cr.Accuracy)
		} else if cr != nil && (cr.Killed || cr.Dropped) {
			acc = "n/a (dropped)"
		} else if res.isDropped(j) {
			acc = "n/a (dropped)"
		}
		ntr, nte := "-", "-"
		if cr != nil {
			ntr, nte = strconv.Itoa(cr.Train), strconv.Itoa(cr.Test)
		} else if j < len(r.Labels) {
			ntr = strconv.Itoa(sum(r.Labels[j]))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", j, ntr, nte, cl, acc)
	}
	mean := res.MeanAccuracy()
	ms := "n/a"
	if !math.IsNaN(mean) {
		ms = fmt.Sprintf("%.2f", 100*mean)
	}
	fmt.Fprintf(tw, "mean\t\t\t\t%s  (over %d clients)\n", ms, len(res.Evaluated()))
	if len(res.RoundStats) > 0 {
		var tb int
		for _, s := range res.RoundStats {
			tb += s.Bytes
		}
		fmt.Fprintf(tw, "communication: %.1f messages, %.0f bytes per round (%d bytes in all); %.1fs\n", res.MessagesPerRound, res.BytesPerRound, tb, res.Seconds)
	} else {
		fmt.Fprintf(tw, "communication: none; %.1fs\n", res.Seconds)
	}
	if res.Late+res.Duplicate+res.Corrupt > 0 {
		fmt.Fprintf(tw, "ignored messages at the server: %d late, %d duplicate, %d corrupt\n", res.Late, res.Duplicate, res.Corrupt)
	}
	if len(res.Dropped) > 0 {
		fmt.Fprintf(tw, "DROPPED clients %v at rounds %v (-1: never joined): the rounds continued with the others; the mean is over the clients that finished\n", res.Dropped, res.DroppedAt)
	}
	for _, cr := range res.Clients {
		if cr != nil && cr.Killed {
			fmt.Fprintf(tw, "client %d was killed at round %d (fault injection)\n", cr.Client, c.KillRound)
		}
	}
	if c.Method == MethodLearn2pFed {
		if b := meanBeta(res); b != "" {
			fmt.Fprintf(tw, "learned personal fraction β per parameter group (mean over clients): %s\n", b)
		}
	}
	return tw.Flush()
}

func sum(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

// majorClasses lists the classes holding at least 5% of counts.
func majorClasses(counts []int) string {
	var n int
	for _, v := range counts {
		n += v
	}
	var out []string
	for c, v := range counts {
		if n > 0 && float64(v) >= 0.05*float64(n) {
			out = append(out, strconv.Itoa(c))
		}
	}
	return strings.Join(out, ",")
}

// meanBeta formats the mean β per group over the evaluated clients.
func meanBeta(res *Result) string {
	var sum []float64
	n := 0
	for _, j := range res.Evaluated() {
		b := res.Clients[j].Beta
		if sum == nil {
			sum = make([]float64, len(b))
		}
		if len(b) != len(sum) {
			return ""
		}
		for g, v := range b {
			sum[g] += v
		}
		n++
	}
	if n == 0 {
		return ""
	}
	parts := make([]string, len(sum))
	for g, v := range sum {
		parts[g] = fmt.Sprintf("%.2f", v/float64(n))
	}
	return strings.Join(parts, " ")
}
