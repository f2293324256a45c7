package dekrr

import (
	"bytes"
	"cmp"
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
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/natsnet"
	"github.com/trustml/trustml/progress"
)

// Config configures [Run]; its tagged fields are the flags of
// `trustml kernel dekrr`. [DefaultConfig] holds the defaults.
type Config struct {
	Data         string        `flag:"data" help:"regression data set: an embedded one (diabetes, boston) or a file"`
	Nodes        int           `flag:"nodes" help:"number of nodes J"`
	Topology     string        `flag:"topology" help:"graph: ring, ring:k (k neighbours) or random:p (link probability p); must be connected"`
	Features     int           `flag:"features" help:"random features per node (D)"`
	PoolRate     int           `flag:"pool-rate" help:"EERF draws pool-rate·D candidates per node"`
	Lambda       float64       `flag:"lambda" help:"global ridge λ"`
	Sigma        float64       `flag:"sigma" help:"Gaussian kernel bandwidth σ (inputs are scaled to [0,1])"`
	C            float64       `flag:"c" help:"consensus weight c"`
	Rounds       int           `flag:"rounds" help:"rounds of the decentralized iteration"`
	Tol          float64       `flag:"tol" help:"relative change of θ below which a node counts as converged"`
	RoundTimeout time.Duration `flag:"round-timeout" help:"a neighbour silent this long (no message, no heartbeat) is dropped"`
	NonIID       float64       `flag:"non-iid" help:"fraction of each node's samples taken as a contiguous slice of the data sorted by |y| (the paper: 0.8); the rest is i.i.d."`
	Seed         uint64        `flag:"seed" help:"seed of the shuffle, the shards, the topology and the features"`
	NATS         string        `flag:"nats" help:"NATS server URL to join (default: start an embedded server in this process)"`
	Procs        bool          `flag:"procs" help:"run each node as a separate OS process (trustml kernel dekrr --node i)"`
	External     bool          `flag:"external" help:"coordinate node processes started elsewhere (kernel dekrr --node i --run ID --nats URL) instead of starting them; needs --run"`
	Node         int           `flag:"node" help:"run only node i, as a process of a coordinator's run (needs --nats and --run)"`
	Run          string        `flag:"run" help:"run id: the NATS subject prefix shared by a coordinator and its node processes"`
	KillNode     int           `flag:"kill-node" help:"fault injection: kill node i (a process: SIGKILL) at round --kill-round; -1: none"`
	KillRound    int           `flag:"kill-round" help:"round (≥ 1) at which --kill-node is killed"`
	RejoinAfter  time.Duration `flag:"rejoin-after" help:"fault injection: restart --kill-node this long after it was killed; it rejoins the run in progress (0: it stays down)"`
	Rejoin       bool          `flag:"rejoin" help:"with --node: this node restarts after a crash and rejoins the run in progress"`

	// Exec is the command line that starts a node process, to which the
	// node's flags are appended (default: this executable, "kernel dekrr").
	Exec []string `json:"-"`
	// Env is added to a node process's environment.
	Env []string `json:"-"`
	// Progress, if set, receives the run's stages.
	Progress progress.Reporter `json:"-"`
}

// DefaultConfig is the configuration of `trustml kernel dekrr`.
func DefaultConfig() Config {
	return Config{Data: "boston", Nodes: 8, Topology: "ring", Features: 40, PoolRate: 20, Lambda: 1e-4, Sigma: 1, C: 1,
		Rounds: 300, Tol: 1e-6, RoundTimeout: 5 * time.Second, Seed: 1, Node: -1, KillNode: -1}
}

func (c Config) model() DeKRR {
	if c.KillNode < 0 {
		c.KillRound = 0
	}
	return DeKRR{Lambda: c.Lambda, Sigma: c.Sigma, D: c.Features, PoolRate: c.PoolRate, C: c.C, Iters: c.Rounds, Tol: c.Tol,
		RoundTimeout: c.RoundTimeout, Seed: c.Seed, KillNode: c.KillNode, KillRound: c.KillRound, RejoinAfter: c.RejoinAfter}
}

// Args returns c's tagged fields as command-line flags (--name=value).
func (c Config) Args() []string { return natsnet.Args(c) }

// Shards are the data split across the nodes.
type Shards struct {
	Nodes []Node
	// YTest are each node's test targets.
	YTest [][]float64
	// N is the total number of training samples.
	N int
}

// MakeShards loads the regression set name, scales inputs to [0,1] and
// targets to [−1,1] (kernels.md §8.4), shuffles with seed and splits it
// into J equal shards, each half training, half test. With nonIID > 0, that
// fraction of each shard is a contiguous slice of the data sorted by |y|
// (node 0 the smallest), the rest drawn at random (the paper's Fig. 1
// protocol with nonIID 0.8).
func MakeShards(name string, J int, seed uint64, nonIID float64) (*Shards, error) {
	if !(nonIID >= 0 && nonIID <= 1) {
		return nil, fmt.Errorf("dekrr: --non-iid %g, want a fraction in [0,1]", nonIID)
	}
	d, err := data.Open(name, data.Train, "")
	if err != nil {
		return nil, err
	}
	if !d.IsRegression() {
		return nil, fmt.Errorf("dekrr: data set %s is not a regression set (it has classes, not targets)", d.Name)
	}
	if len(d.Shape) != 1 {
		return nil, fmt.Errorf("dekrr: data set %s has samples of shape %v, want feature vectors", d.Name, d.Shape)
	}
	X := d.Float64()
	n, p := X.Dims()
	if n/J < 4 {
		return nil, fmt.Errorf("dekrr: data set %s has %d samples: too few for %d nodes (want ≥ 4 each)", d.Name, n, J)
	}
	for c := range p {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range n {
			lo, hi = math.Min(lo, X.At(i, c)), math.Max(hi, X.At(i, c))
		}
		for i := range n {
			if hi > lo {
				X.Set(i, c, (X.At(i, c)-lo)/(hi-lo))
			} else {
				X.Set(i, c, 0)
			}
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, t := range d.Target {
		lo, hi = math.Min(lo, t), math.Max(hi, t)
	}
	if !(hi > lo) {
		return nil, fmt.Errorf("dekrr: data set %s has constant targets", d.Name)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ead))
	perm := rng.Perm(n)
	per := n / J
	k := int(math.Round(nonIID * float64(per))) // sorted slice per node
	sorted := slices.Clone(perm[:J*k])
	slices.SortStableFunc(sorted, func(a, b int) int {
		return cmp.Compare(math.Abs(scaled(d.Target[a], lo, hi)), math.Abs(scaled(d.Target[b], lo, hi)))
	})
	common := perm[J*k:]
	s := &Shards{}
	for j := range J {
		idx := append(slices.Clone(sorted[j*k:(j+1)*k]), common[j*(per-k):(j+1)*(per-k)]...)
		if k > 0 {
			rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		}
		ntr := per / 2
		pick := func(rows []int) (*mat.Dense, []float64) {
			m := mat.NewDense(len(rows), p, nil)
			y := make([]float64, len(rows))
			for k, i := range rows {
				m.SetRow(k, X.RawRowView(i))
				y[k] = scaled(d.Target[i], lo, hi)
			}
			return m, y
		}
		Xtr, ytr := pick(idx[:ntr])
		Xte, yte := pick(idx[ntr:])
		s.Nodes = append(s.Nodes, Node{X: Xtr, Y: ytr, XTest: Xte})
		s.YTest = append(s.YTest, yte)
		s.N += ntr
	}
	return s, nil
}

// scaled maps t from [lo, hi] to [−1, 1].
func scaled(t, lo, hi float64) float64 { return 2*(t-lo)/(hi-lo) - 1 }

// Report is the outcome of [Run].
type Report struct {
	Config Config `json:"config"`
	Edges  int    `json:"edges"`
	// Result is the decentralized fit (nil for a node process).
	Result *Result `json:"result,omitempty"`
	// Node is a node process's own result.
	Node *NodeResult `json:"node,omitempty"`
	// Errors of the decentralized, local-only and centralized models on
	// the pooled test data of the nodes that finished: relative squared
	// error Σ(pred−y)²/Σ(y−ȳ)² and RMSE (targets scaled to [−1,1]).
	RSE  map[string]float64 `json:"rse,omitempty"`
	RMSE map[string]float64 `json:"rmse,omitempty"`
	// Evaluated are the nodes whose test data were pooled.
	Evaluated []int `json:"evaluated,omitempty"`
	// Components is the number of connected components the surviving nodes
	// form (1 unless lost nodes split the graph: then each component
	// reached consensus only within itself).
	Components int `json:"components,omitempty"`
	// DKLA is the coefficient-consensus baseline run on the same shards
	// and graph with 2·D shared features, so that its messages carry as
	// many numbers per round as DeKRR-DDRF's (simulated in-process).
	DKLA    *DKLAResult `json:"-"`
	Seconds float64     `json:"seconds"`
}

// Method names in Report.RSE and Report.RMSE.
const (
	MethodDeKRR   = "DeKRR-DDRF"
	MethodLocal   = "local-only RF ridge"
	MethodCentral = "centralized KRR"
	MethodDKLA    = "DKLA (ADMM, shared RFF)"
)

// Run is the library call of `trustml kernel dekrr`: it shards the data,
// runs the nodes (goroutines, or OS processes with Procs) over NATS and
// compares the decentralized model with local-only ridge regression on each
// node's own features and centralized KRR on the pooled training data.
// With Node ≥ 0 it runs that one node of a coordinator's run.
func Run(ctx context.Context, c Config) (*Report, error) {
	start := time.Now()
	rep := progress.Or(c.Progress)
	m := c.model().withDefaults()
	if err := m.check(); err != nil {
		return nil, err
	}
	if c.Nodes < 2 {
		return nil, fmt.Errorf("dekrr: --nodes %d, want ≥ 2", c.Nodes)
	}
	if c.External && (c.Run == "" || c.KillNode >= 0) {
		return nil, errors.New("dekrr: --external needs --run (the id its node processes are given) and cannot --kill-node")
	}
	if c.RejoinAfter < 0 || (c.RejoinAfter > 0 && c.KillNode < 0) {
		return nil, fmt.Errorf("dekrr: --rejoin-after %v: want a positive delay, with --kill-node", c.RejoinAfter)
	}
	if c.KillNode >= c.Nodes || (c.KillNode >= 0 && c.KillRound < 1) {
		return nil, fmt.Errorf("dekrr: --kill-node %d --kill-round %d: want a node below %d and a round ≥ 1", c.KillNode, c.KillRound, c.Nodes)
	}
	g, err := ParseTopology(c.Topology, c.Nodes, c.Seed)
	if err != nil {
		return nil, err
	}
	sh, err := MakeShards(c.Data, c.Nodes, c.Seed, c.NonIID)
	if err != nil {
		return nil, err
	}
	r := &Report{Config: c, Edges: g.Edges()}
	r.Config.Exec, r.Config.Env = nil, nil
	if c.Node >= 0 {
		r.Node, err = runNodeProcess(ctx, c, m, sh, g)
		r.Seconds = time.Since(start).Seconds()
		return r, err
	}
	rep.Update("dekrr", 0, 2, fmt.Sprintf("%d nodes, %s", c.Nodes, c.Topology))
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
		r.Result, err = runProcs(ctx, c, m, sh, url, rep)
	} else {
		r.Result, err = m.Fit(ctx, url, sh.Nodes, g)
	}
	if err != nil {
		return nil, err
	}
	rep.Update("dekrr", 1, 2, "baselines")
	if err := r.evaluate(ctx, m, sh, g); err != nil {
		return nil, err
	}
	r.Components = components(g, r.Result.Lost)
	rep.Update("dekrr", 2, 2, "")
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// evaluate pools the test predictions of the nodes that finished.
func (r *Report) evaluate(ctx context.Context, m DeKRR, sh *Shards, g Graph) error {
	var y, pd, pl, pc, pk []float64
	var err error
	r.DKLA, err = DKLA{Lambda: m.Lambda, Sigma: m.Sigma, D: 2 * m.D, Iters: m.Iters, Seed: m.Seed}.Fit(ctx, sh.Nodes, g)
	if err != nil {
		return err
	}
	var Xtr *mat.Dense
	var ytr []float64
	for _, n := range sh.Nodes {
		if Xtr == nil {
			Xtr = mat.DenseCopyOf(n.X)
		} else {
			var s mat.Dense
			s.Stack(Xtr, n.X)
			Xtr = &s
		}
		ytr = append(ytr, n.Y...)
	}
	krr := &kernel.KRR{Kernel: kernel.RBF{Gamma: 1 / (2 * m.Sigma * m.Sigma)}, Lambda: m.Lambda, ScaleByN: true}
	if err := krr.Fit(ctx, Xtr, ytr); err != nil {
		return fmt.Errorf("centralized KRR: %w", err)
	}
	lost := map[int]bool{}
	for _, j := range r.Result.Lost {
		lost[j] = true
	}
	for j, n := range sh.Nodes {
		if lost[j] {
			continue
		}
		r.Evaluated = append(r.Evaluated, j)
		y = append(y, sh.YTest[j]...)
		pd = append(pd, r.Result.Nodes[j].Pred...)
		f, err := m.nodeFeatures(j, n)
		if err != nil {
			return err
		}
		th, err := ridge(f.Map(n.X), n.Y, m.Lambda*float64(sh.N)/float64(len(sh.Nodes)))
		if err != nil {
			return fmt.Errorf("node %d local ridge: %w", j, err)
		}
		pl = append(pl, predict(f, th, n.XTest)...)
		p, err := krr.Predict(n.XTest)
		if err != nil {
			return fmt.Errorf("centralized KRR: %w", err)
		}
		pc = append(pc, p...)
		pk = append(pk, r.DKLA.PredictNode(j, n.XTest)...)
	}
	if len(pd) != len(y) {
		return fmt.Errorf("dekrr: %d test predictions for %d targets", len(pd), len(y))
	}
	r.RSE, r.RMSE = map[string]float64{}, map[string]float64{}
	for name, p := range map[string][]float64{MethodDeKRR: pd, MethodLocal: pl, MethodCentral: pc, MethodDKLA: pk} {
		r.RSE[name], r.RMSE[name] = errors2(y, p)
	}
	return nil
}

// ridge solves (ZZᵀ + nλ'I)θ = ZY with nλ' = ridgeN.
func ridge(Z *mat.Dense, y []float64, ridgeN float64) ([]float64, error) {
	D, _ := Z.Dims()
	A := mat.NewSymDense(D, nil)
	A.SymOuterK(1, Z)
	for k := range D {
		A.SetSym(k, k, A.At(k, k)+ridgeN)
	}
	var ch mat.Cholesky
	if !ch.Factorize(A) {
		return nil, errors.New("not positive definite")
	}
	b := mat.NewVecDense(D, nil)
	b.MulVec(Z, mat.NewVecDense(len(y), y))
	th := mat.NewVecDense(D, nil)
	if err := ch.SolveVecTo(th, b); err != nil {
		return nil, err
	}
	return th.RawVector().Data, nil
}

// errors2 returns the relative squared error and the RMSE of p against y.
func errors2(y, p []float64) (rse, rmse float64) {
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var num, den float64
	for i, v := range y {
		num += (p[i] - v) * (p[i] - v)
		den += (v - mean) * (v - mean)
	}
	return num / den, math.Sqrt(num / float64(len(y)))
}

// WriteText writes the report as a short table.
func (r *Report) WriteText(w io.Writer) error {
	c := r.Config
	if r.Node != nil {
		n := r.Node
		_, err := fmt.Fprintf(w, "node %d: %d rounds, dropped %v, killed %v, %d messages, %d bytes, late %d, duplicate %d\n",
			n.Node, n.Rounds, n.Dropped, n.Killed, n.Messages, n.Bytes, n.Late, n.Duplicate)
		return err
	}
	res := r.Result
	mode := "goroutines"
	if c.Procs {
		mode = "OS processes"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if c.NonIID > 0 {
		mode += fmt.Sprintf(", %g non-i.i.d.", c.NonIID)
	}
	fmt.Fprintf(tw, "DeKRR-DDRF on %s: %d nodes (%s), topology %s (%d links), D=%d per node, λ=%g, σ=%g, c=%g, %d rounds\n",
		c.Data, c.Nodes, mode, c.Topology, r.Edges, c.Features, c.Lambda, c.Sigma, c.C, res.Rounds)
	fmt.Fprintf(tw, "method\ttest RSE\ttest RMSE\n")
	for _, m := range []string{MethodDeKRR, MethodDKLA, MethodLocal, MethodCentral} {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\n", m, r.RSE[m], r.RMSE[m])
	}
	conv := "NOT converged"
	if res.Converged {
		conv = fmt.Sprintf("converged in %d rounds", res.RoundsToConverge)
	}
	fmt.Fprintf(tw, "%s (tol %g; final max relative change %.3g)\n", conv, c.Tol, res.MaxDelta)
	fmt.Fprintf(tw, "per round: %.1f messages, %.0f bytes; setup (features, Gram matrices): %d bytes; %.1fs\n",
		res.MessagesPerRound, res.BytesPerRound, res.SetupBytes, res.Seconds)
	fmt.Fprintf(tw, "ignored messages: %d late, %d duplicate, %d corrupt\n", res.Late, res.Duplicate, res.Corrupt)
	if k := r.DKLA; k != nil {
		fmt.Fprintf(tw, "DKLA (simulated in-process): D=%d shared features, %.0f bytes per round, final disagreement max‖θ_j−θ̄‖/‖θ̄‖ %.3g\n",
			k.Features.D(), k.BytesPerRound, k.Disagreement)
	}
	for _, n := range res.Nodes {
		if n != nil && n.RejoinedAt > 0 {
			var back []int
			for _, o := range res.Nodes {
				if o != nil && slices.Contains(o.Readmitted, n.Node) {
					back = append(back, o.Node)
				}
			}
			fmt.Fprintf(tw, "node %d was killed at round %d, restarted and rejoined from round %d (neighbours %v took it back)\n", n.Node, n.KilledAt, n.RejoinedAt, back)
		}
	}
	if len(res.Lost) > 0 {
		fmt.Fprintf(tw, "LOST nodes %v: the others continued without them; errors are over the test data of nodes %v\n", res.Lost, r.Evaluated)
		if r.Components > 1 {
			fmt.Fprintf(tw, "the surviving nodes form %d disconnected groups: each reached consensus only within its group\n", r.Components)
		}
		for _, n := range res.Nodes {
			if n != nil && len(n.Dropped) > 0 {
				fmt.Fprintf(tw, "  node %d dropped neighbours %v at rounds %v\n", n.Node, n.Dropped, n.DroppedAt)
			}
		}
	}
	return tw.Flush()
}

// runNodeProcess runs node c.Node of the coordinator's run c.Run and
// publishes its result (JSON) on <prefix>.result.
func runNodeProcess(ctx context.Context, c Config, m DeKRR, sh *Shards, g Graph) (*NodeResult, error) {
	j := c.Node
	if j >= c.Nodes {
		return nil, fmt.Errorf("dekrr: --node %d of %d nodes", j, c.Nodes)
	}
	if c.NATS == "" || c.Run == "" {
		return nil, errors.New("dekrr: a node process (--node) needs --nats and --run from its coordinator")
	}
	prefix := Prefix(c.Run)
	feat, err := m.nodeFeatures(j, sh.Nodes[j])
	if err != nil {
		return nil, err
	}
	nc, sub, st, err := subscribeNode(c.NATS, prefix, j)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	p := m.params(sh.N, c.Nodes)
	if c.Rejoin {
		p.killRound = -1
	} else if err := waitStart(ctx, nc, st, prefix, j, 10*time.Minute); err != nil {
		return nil, fmt.Errorf("node %d: %w", j, err)
	}
	res, err := runNode(ctx, nc, sub, prefix, j, sh.Nodes[j], feat, g.Neighbors[j], p, c.Rejoin)
	if err != nil {
		res.Err = err.Error()
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

// runProcs starts one OS process per node, kills c.KillNode with SIGKILL
// when it reaches round c.KillRound, and collects the node results.
//
// With c.External it starts nothing and coordinates the node processes
// started elsewhere with --run c.Run.
func runProcs(ctx context.Context, c Config, m DeKRR, sh *Shards, url string, rep progress.Reporter) (*Result, error) {
	start := time.Now()
	run := c.Run
	if run == "" {
		run = NewRunID()
	}
	prefix := Prefix(run)
	nc, err := nats.Connect(url, nats.Name("trustml-dekrr-coordinator"))
	if err != nil {
		return nil, fmt.Errorf("dekrr: connect to %s: %w", url, err)
	}
	defer nc.Close()
	ready, err := nc.SubscribeSync(prefix + ".ready")
	if err != nil {
		return nil, err
	}
	resCh := make(chan *nats.Msg, 4*c.Nodes)
	if _, err := nc.ChanSubscribe(prefix+".result", resCh); err != nil {
		return nil, err
	}
	exe := c.Exec
	if len(exe) == 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("dekrr: cannot find this executable to start node processes: %w", err)
		}
		exe = []string{self, "kernel", "dekrr"}
	}
	procs := make([]*exec.Cmd, c.Nodes)
	stderr := make([]bytes.Buffer, c.Nodes)
	var wg sync.WaitGroup
	exitErr := make([]error, c.Nodes)
	if c.External {
		rep.Log("dekrr: waiting for %d nodes: trustml kernel dekrr --run %s --nats %s --node i (same data flags)", c.Nodes, run, url)
	}
	for j := range c.Nodes {
		if c.External {
			break
		}
		nodeCfg := c
		nodeCfg.Node, nodeCfg.NATS, nodeCfg.Run, nodeCfg.Procs, nodeCfg.KillNode, nodeCfg.RejoinAfter = j, url, run, false, -1, 0
		cmd := exec.CommandContext(ctx, exe[0], append(exe[1:len(exe):len(exe)], nodeCfg.Args()...)...)
		cmd.Env = append(os.Environ(), c.Env...)
		cmd.Stderr = &stderr[j]
		if err := cmd.Start(); err != nil {
			for _, p := range procs[:j] {
				_ = p.Process.Kill()
			}
			return nil, fmt.Errorf("dekrr: start node %d (%s): %w", j, strings.Join(exe, " "), err)
		}
		procs[j] = cmd
		wg.Go(func() { exitErr[j] = cmd.Wait() })
	}
	var restartErr error
	if c.KillNode >= 0 && c.KillNode < c.Nodes && c.KillRound > 0 {
		var once sync.Once
		watch, err := nc.Subscribe(prefix+".node.*", func(msg *nats.Msg) {
			if mm, err := decodeMessage(msg.Data); err == nil && mm.Kind == kindRound && mm.From == c.KillNode && mm.Round+1 >= c.KillRound {
				once.Do(func() {
					_ = procs[c.KillNode].Process.Kill()
					if c.RejoinAfter > 0 { // restart it: it rejoins the run
						nodeCfg := c
						nodeCfg.Node, nodeCfg.NATS, nodeCfg.Run, nodeCfg.Procs, nodeCfg.KillNode, nodeCfg.RejoinAfter, nodeCfg.Rejoin = c.KillNode, url, run, false, -1, 0, true
						wg.Go(func() {
							time.Sleep(c.RejoinAfter)
							var out bytes.Buffer
							cmd := exec.CommandContext(ctx, exe[0], append(exe[1:len(exe):len(exe)], nodeCfg.Args()...)...)
							cmd.Env, cmd.Stderr = append(os.Environ(), c.Env...), &out
							if err := cmd.Run(); err != nil {
								restartErr = fmt.Errorf("restarted node %d: %w: %s", c.KillNode, err, strings.TrimSpace(out.String()))
							}
						})
					}
				})
			}
		})
		if err != nil {
			return nil, err
		}
		defer watch.Unsubscribe()
	}
	missing, err := coordinate(nc, ready, prefix, c.Nodes, 60*time.Second)
	if err != nil {
		return nil, err
	}
	// A node that never joined is dropped by its neighbours and never
	// reports. Spawned processes have all reported when they have exited;
	// external ones are waited for until all have, or for 5 round timeouts
	// after the last report.
	expect := c.Nodes - len(missing)
	idle := 500 * time.Millisecond
	if c.External {
		idle = 5 * m.RoundTimeout
	} else {
		wg.Wait()
	}
	results := make([]*NodeResult, c.Nodes)
	var errs []error
	for got, done := 0, false; !done && got < expect; {
		select {
		case msg := <-resCh:
			var nr NodeResult
			if err := json.Unmarshal(msg.Data, &nr); err == nil && nr.Node >= 0 && nr.Node < c.Nodes && results[nr.Node] == nil {
				results[nr.Node] = &nr
				got++
			}
		case <-time.After(idle):
			done = got > 0 || !c.External
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	for j, e := range exitErr {
		if e != nil && j != c.KillNode {
			errs = append(errs, fmt.Errorf("node %d: %w: %s", j, e, strings.TrimSpace(stderr[j].String())))
		}
	}
	if restartErr != nil {
		errs = append(errs, restartErr)
	}
	if c.KillNode >= 0 && results[c.KillNode] != nil {
		results[c.KillNode].KilledAt = c.KillRound
	}
	res := summarize(results, m.Iters, m.Tol)
	res.Seconds = time.Since(start).Seconds()
	if len(res.Lost) == c.Nodes {
		return nil, fmt.Errorf("dekrr: every node process failed: %w", errors.Join(errs...))
	}
	return res, nil
}

// components counts the connected components of g without the lost nodes.
func components(g Graph, lost []int) int {
	gone := make([]bool, len(g.Neighbors))
	for _, j := range lost {
		gone[j] = true
	}
	n := 0
	for s := range g.Neighbors {
		if gone[s] {
			continue
		}
		n++
		stack := []int{s}
		gone[s] = true
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, i := range g.Neighbors[j] {
				if !gone[i] {
					gone[i] = true
					stack = append(stack, i)
				}
			}
		}
	}
	return n
}
