package unlearn

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/continual"
	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/train"
)

// CLUMethods are the ways [CLU] handles an unlearning request: "ug-clu"
// (the SFR-on loop with retain batches replayed from the buffer, then the
// forgotten samples purged from it) and the baseline "er-ft" (purge the
// buffer, then fine-tune on it).
var CLUMethods = []string{"ug-clu", "er-ft"}

// CLURequest is one request of a continual learning–unlearning stream.
type CLURequest struct {
	Learn   bool  // learn a new task, or unlearn
	Classes []int // learn: the task's classes
	// Unlearn: "class" (one class, possibly of an earlier task), "task"
	// (every class of the Task-th learned task, 1-based) or "random"
	// (a Fraction of the samples learned and kept so far).
	Kind     string
	Class    int
	Task     int
	Fraction float64
	Text     string
}

// ParseCLURequest parses "learn:C,C,...", "unlearn:class:C",
// "unlearn:task:I" or "unlearn:random:F".
func ParseCLURequest(s string) (CLURequest, error) {
	r := CLURequest{Text: s}
	bad := func(format string, args ...any) (CLURequest, error) {
		return CLURequest{}, fmt.Errorf("unlearn: request %q: %s (want learn:C,C,..., unlearn:class:C, unlearn:task:I or unlearn:random:F)", s, fmt.Sprintf(format, args...))
	}
	verb, arg, _ := strings.Cut(s, ":")
	switch verb {
	case "learn":
		r.Learn = true
		for _, f := range strings.Split(arg, ",") {
			c, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || c < 0 {
				return bad("class %q is not a class number", f)
			}
			if slices.Contains(r.Classes, c) {
				return bad("class %d twice", c)
			}
			r.Classes = append(r.Classes, c)
		}
	case "unlearn":
		kind, v, _ := strings.Cut(arg, ":")
		r.Kind = kind
		switch kind {
		case "class", "task":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || (kind == "task" && n < 1) {
				return bad("%s %q is not a valid number", kind, v)
			}
			r.Class, r.Task = n, n
		case "random":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f > 0 && f < 1) {
				return bad("fraction %q outside (0, 1)", v)
			}
			r.Fraction = f
		default:
			return bad("unknown unlearning kind %q", kind)
		}
	default:
		return bad("unknown verb %q", verb)
	}
	return r, nil
}

// CLUConfig configures [CLU]: a network trained online, one pass per
// learning request (experience replay with a reservoir buffer, as package
// continual's "er"), and unlearning requests handled by Method.
type CLUConfig struct {
	Method      string
	Requests    []string // [ParseCLURequest]
	Arch        string
	Buffer      int
	StreamBatch int
	ReplayBatch int
	LR          float64 // SGD, no momentum (continual's)
	// UnlearnLR and SFR drive the unlearning loops (SFR.Iters 0: 100);
	// FTSteps is er-ft's number of fine-tuning steps (0: SFR's Iters).
	UnlearnLR float64
	SFR       SFRConfig
	FTSteps   int
	Seed      uint64
	// Train is the stream's source, Test the evaluation set.
	Train, Test *data.Dataset
	Progress    progress.Reporter
}

// DefaultCLUConfig is the toy of training.md §14 on split Fashion-MNIST:
// learn tasks of two classes, with a class-level, a task-level and a
// sample-level unlearning request in between.
func DefaultCLUConfig() CLUConfig {
	sfr := DefaultSFRConfig()
	sfr.Iters, sfr.ForgetFreq, sfr.Alpha = 100, 2, 5
	return CLUConfig{Method: "ug-clu", Arch: "mlp", Buffer: 500, StreamBatch: 32, ReplayBatch: 32, LR: 0.03, UnlearnLR: 0.01, SFR: sfr, Seed: 1,
		Requests: []string{"learn:0,1", "learn:2,3", "unlearn:class:1", "learn:4,5", "unlearn:task:2", "learn:6,7", "unlearn:random:0.1", "learn:8,9"}}
}

// CLUStep is the state after one request.
type CLUStep struct {
	Request string `json:"request"`
	// Kept is the test accuracy on the classes learned and not unlearned.
	Kept float64 `json:"kept_test_acc"`
	// Forget is the accuracy on all training samples unlearned so far,
	// ForgetTest the test accuracy on the unlearned classes (nil when none).
	Forget     *float64 `json:"forget_acc,omitempty"`
	ForgetTest *float64 `json:"forget_test_acc,omitempty"`
	// MIA is the loss-based membership AUC of this request's forget set
	// against unseen test samples like it (unlearning requests only).
	MIA     *float64 `json:"mia_auc,omitempty"`
	Buffer  int      `json:"buffer"`
	Seconds float64  `json:"seconds"`
}

// CLUResult is what [CLU] returns.
type CLUResult struct {
	Method string    `json:"method"`
	Data   string    `json:"data"`
	Seed   uint64    `json:"seed"`
	Steps  []CLUStep `json:"steps"`
}

func sampleHash(x []float32) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, v := range x {
		u := math.Float32bits(v)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:])
	}
	return h.Sum64()
}

// CLU runs the request stream and evaluates after every request.
func CLU(ctx context.Context, cfg CLUConfig) (*CLUResult, error) {
	if !slices.Contains(CLUMethods, cfg.Method) {
		return nil, fmt.Errorf("unlearn: %w: continual-unlearning method %q (known: %s)", ErrUnknown, cfg.Method, strings.Join(CLUMethods, ", "))
	}
	tr, te := cfg.Train, cfg.Test
	switch {
	case tr == nil || te == nil || !tr.IsLabeled() || !te.IsLabeled():
		return nil, fmt.Errorf("unlearn: CLU needs labelled training and test sets")
	case cfg.Buffer < 1 || cfg.StreamBatch < 1 || cfg.ReplayBatch < 1 || !(cfg.LR > 0) || !(cfg.UnlearnLR > 0):
		return nil, fmt.Errorf("unlearn: CLU needs a buffer, batches and learning rates > 0")
	}
	if err := cfg.SFR.check(); err != nil {
		return nil, err
	}
	k := len(tr.Classes)
	var reqs []CLURequest
	for _, s := range cfg.Requests {
		r, err := ParseCLURequest(s)
		if err != nil {
			return nil, err
		}
		for _, c := range append(r.Classes, r.Class) {
			if c >= k {
				return nil, fmt.Errorf("unlearn: request %q: class %d outside [0, %d)", s, c, k)
			}
		}
		reqs = append(reqs, r)
	}
	spec, err := nn.SpecFor(cfg.Arch, tr.Shape, k)
	if err != nil {
		return nil, fmt.Errorf("unlearn: %w", err)
	}
	net, err := nn.New(spec, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("unlearn: %w", err)
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0xc1a))
	buf := continual.NewReservoir(cfg.Buffer, tr.SampleSize(), rand.New(rand.NewPCG(cfg.Seed, 0xb0f)))
	opt, _ := train.NewSGD(cfg.LR, 0, 0, false)
	var tasks [][]int
	learned := map[int]bool{}   // training indices learned and kept
	forgotten := map[int]bool{} // training indices unlearned
	goneClass := map[int]bool{} // classes unlearned
	res := &CLUResult{Method: cfg.Method, Data: tr.Name, Seed: cfg.Seed}
	size := tr.SampleSize()
	dl := make([]float32, (cfg.StreamBatch+cfg.ReplayBatch)*k)
	for ri, req := range reqs {
		start := time.Now()
		var fidx []int // this request's forget set
		if req.Learn {
			tasks = append(tasks, req.Classes)
			var idx []int
			for i, y := range tr.Y {
				if slices.Contains(req.Classes, y) {
					idx = append(idx, i)
					learned[i] = true
				}
			}
			r.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
			rx := make([]float32, cfg.ReplayBatch*size)
			ry := make([]int, cfg.ReplayBatch)
			for lo := 0; lo < len(idx); lo += cfg.StreamBatch {
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("unlearn: CLU: %w", err)
				}
				part := idx[lo:min(lo+cfg.StreamBatch, len(idx))]
				var bx []float32
				var by []int
				for _, i := range part {
					bx = append(bx, tr.Row(i)...)
					by = append(by, tr.Y[i])
				}
				if buf.Len() > 0 {
					m := buf.Sample(rx, ry, r)
					bx = append(bx, rx[:m*size]...)
					by = append(by, ry[:m]...)
				}
				trainGrad(net, bx, len(by), nn.CrossEntropyLoss(by), dl)
				opt.Update(net.Weights(), net.Grads())
				for _, i := range part {
					buf.Add(tr.Row(i), tr.Y[i])
				}
			}
		} else {
			var drop func(i int) bool
			switch req.Kind {
			case "class":
				drop = func(i int) bool { return tr.Y[i] == req.Class }
				goneClass[req.Class] = true
			case "task":
				if req.Task > len(tasks) {
					return nil, fmt.Errorf("unlearn: request %q: only %d tasks learned so far", req.Text, len(tasks))
				}
				cls := tasks[req.Task-1]
				drop = func(i int) bool { return slices.Contains(cls, tr.Y[i]) }
				for _, c := range cls {
					goneClass[c] = true
				}
			case "random":
				chosen := map[int]bool{}
				var cand []int
				for i := range tr.Len() {
					if learned[i] {
						cand = append(cand, i)
					}
				}
				r.Shuffle(len(cand), func(a, b int) { cand[a], cand[b] = cand[b], cand[a] })
				for _, i := range cand[:int(math.Round(req.Fraction*float64(len(cand))))] {
					chosen[i] = true
				}
				drop = func(i int) bool { return chosen[i] }
			}
			hashes := map[uint64]bool{}
			for i := range tr.Len() {
				if learned[i] && drop(i) {
					fidx = append(fidx, i)
					hashes[sampleHash(tr.Row(i))] = true
				}
			}
			if len(fidx) == 0 {
				return nil, fmt.Errorf("unlearn: request %q selects no learned sample", req.Text)
			}
			if err := cluUnlearn(ctx, net, &cfg, tr.Subset(fidx), buf, hashes, r); err != nil {
				return nil, fmt.Errorf("unlearn: request %q: %w", req.Text, err)
			}
			for _, i := range fidx {
				delete(learned, i)
				forgotten[i] = true
			}
		}
		st, err := cluEvaluate(ctx, net, tr, te, learned, forgotten, goneClass, fidx, req)
		if err != nil {
			return nil, err
		}
		st.Request, st.Buffer, st.Seconds = req.Text, buf.Len(), time.Since(start).Seconds()
		res.Steps = append(res.Steps, st)
		progress.Or(cfg.Progress).Log("request %d/%d %s: kept test acc %.2f%%", ri+1, len(reqs), req.Text, 100*st.Kept)
	}
	return res, nil
}

// cluUnlearn handles one unlearning request: the buffer is purged of the
// forgotten samples, then ug-clu runs SFR-on's loop with forget batches
// from fs and retain batches from the buffer (the mask from their Fisher
// ratio), er-ft fine-tunes on the buffer.
func cluUnlearn(ctx context.Context, net *nn.Network, cfg *CLUConfig, fs *data.Dataset, buf *continual.Reservoir, hashes map[uint64]bool, r *rand.Rand) error {
	buf.Remove(func(x []float32, _ int) bool { return hashes[sampleHash(x)] })
	if buf.Len() == 0 {
		return fmt.Errorf("nothing is left in the replay buffer to retain")
	}
	rs := &data.Dataset{Name: "replay buffer", Shape: fs.Shape, Classes: fs.Classes}
	rs.X, rs.Y = make([]float32, buf.Len()*fs.SampleSize()), make([]int, buf.Len())
	buf.Sample(rs.X, rs.Y, r)
	c := cfg.SFR
	if c.Iters == 0 {
		c.Iters = 100
	}
	bs := cfg.StreamBatch + cfg.ReplayBatch
	opt := sgd(cfg.UnlearnLR)
	if cfg.Method == "er-ft" {
		if cfg.FTSteps > 0 {
			c.Iters = cfg.FTSteps
		}
		return sfrLoop(ctx, net, opt, newBatcher(fs, bs, r), newBatcher(rs, bs, r), nil, c, nil)
	}
	mask, err := FisherMask(ctx, net, fs, rs, bs, c.Gamma)
	if err != nil {
		return err
	}
	return sfrLoop(ctx, net, opt, newBatcher(fs, bs, r), newBatcher(rs, bs, r), mask, c, nil)
}

func cluEvaluate(ctx context.Context, net *nn.Network, tr, te *data.Dataset, learned, forgotten, gone map[int]bool, fidx []int, req CLURequest) (CLUStep, error) {
	var st CLUStep
	keptCls := map[int]bool{}
	for i := range learned {
		keptCls[tr.Y[i]] = true
	}
	var keep, goneTest []int
	for i, y := range te.Y {
		switch {
		case keptCls[y]:
			keep = append(keep, i)
		case gone[y]:
			goneTest = append(goneTest, i)
		}
	}
	if len(keep) > 0 {
		a, _, err := accLoss(ctx, net, te, keep)
		if err != nil {
			return st, err
		}
		st.Kept = a
	}
	if len(forgotten) > 0 {
		idx := make([]int, 0, len(forgotten))
		for i := range forgotten {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		a, _, err := accLoss(ctx, net, tr, idx)
		if err != nil {
			return st, err
		}
		st.Forget = &a
	}
	if len(goneTest) > 0 {
		a, _, err := accLoss(ctx, net, te, goneTest)
		if err != nil {
			return st, err
		}
		st.ForgetTest = &a
	}
	if len(fidx) > 0 {
		_, fl, err := accLoss(ctx, net, tr, fidx)
		if err != nil {
			return st, err
		}
		cmp := keep
		if req.Kind != "random" {
			cls := map[int]bool{}
			for _, j := range fidx {
				cls[tr.Y[j]] = true
			}
			cmp = nil
			for i, y := range te.Y {
				if cls[y] {
					cmp = append(cmp, i)
				}
			}
		}
		if len(cmp) > 0 {
			_, tl, err := accLoss(ctx, net, te, cmp)
			if err != nil {
				return st, err
			}
			m, err := MIA(fl, tl)
			if err != nil {
				return st, err
			}
			st.MIA = &m
		}
	}
	return st, nil
}

// WriteText prints one line per request.
func (r *CLUResult) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "continual learning and unlearning (%s) on %s, seed %d\n", r.Method, r.Data, r.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "request\tkept-classes test acc\tforgotten train acc\tforgotten-classes test acc\tMIA AUC\tbuffer\tseconds")
	opt := func(v *float64, pctv bool) string {
		switch {
		case v == nil:
			return "-"
		case pctv:
			return pct(*v)
		}
		return fmt.Sprintf("%.3f", *v)
	}
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.1f\n", s.Request, pct(s.Kept), opt(s.Forget, true), opt(s.ForgetTest, true), opt(s.MIA, false), s.Buffer, s.Seconds)
	}
	return tw.Flush()
}
