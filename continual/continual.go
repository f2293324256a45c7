// Package continual is online class-incremental continual learning: a
// stream of tasks, each with classes not seen before, is trained on in a
// single pass, and the model must keep classifying every class seen so far.
//
// Three methods are offered ([Methods]):
//
//   - "las": ER-LAS, experience replay with the logit-adjusted softmax of
//     "Online Continual Learning via Logit Adjusted Softmax" (TMLR 2024).
//     During training only, τ·log(counts + 1e-50) is added to the logits,
//     counts being the labels of the last l batches (stream and replay);
//     classes absent from the window are thereby masked out of the softmax.
//     Inference uses the raw logits ([LAS]).
//   - "er": experience replay with a reservoir buffer ([Reservoir]) and plain
//     cross-entropy.
//   - "ft": fine-tuning on the stream only, no buffer (the lower bound).
//
// Every step is one SGD update (lr 0.03, no momentum) of the concatenated
// stream batch (32) and replay batch (32) through [nn.Network.ParamGrad]
// and [train.SGD]. [Run] evaluates the accuracy matrix a[i][j] (test
// accuracy on task j after training task i) and from it the final average
// accuracy and average forgetting ([AverageAccuracy], [Forgetting]).
package continual

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/train"
)

// Methods lists the method names [Run] accepts.
var Methods = []string{"las", "er", "ft"}

// ErrUnknown is wrapped by the error for an unknown method name.
var ErrUnknown = errors.New("continual: unknown method")

// Config configures [Run]. [DefaultConfig] gives the paper's defaults.
type Config struct {
	Method      string  `flag:"method" help:"las (ER-LAS), er (experience replay) or ft (fine-tuning)"` // "las", "er" or "ft"
	Buffer      int     `flag:"buffer" help:"reservoir replay buffer size (las, er)"`                   // reservoir size (las, er)
	Tau         float64 `flag:"tau" help:"LAS temperature τ"`                                           // LAS temperature τ
	Window      int     `flag:"window" help:"LAS window l: batches whose labels estimate the prior"`    // LAS window l, in batches
	StreamBatch int     // incoming samples per step
	ReplayBatch int     // replayed samples per step (las, er)
	LR          float64 // SGD learning rate (no momentum, no weight decay)
	Arch        string  // architecture, see [nn.SpecFor]
	Seed        uint64  `flag:"seed" help:"seed for initialisation, stream order and replay"` // initialisation, stream order, replay
	// Tasks lists the classes of each task; nil splits the classes into
	// consecutive pairs (5 tasks of 2 classes for Fashion-MNIST).
	Tasks [][]int
	// Train is the stream's source, Test the evaluation set; both labelled
	// with the same classes.
	Train, Test *data.Dataset
	Progress    progress.Reporter
}

// DefaultConfig returns ER-LAS with the paper's defaults: τ = 1, l = 1,
// stream and replay batches of 32, lr 0.03, a buffer of 500, on an MLP.
func DefaultConfig() Config {
	return Config{Method: "las", Buffer: 500, Tau: 1, Window: 1, StreamBatch: 32, ReplayBatch: 32, LR: 0.03, Arch: "mlp", Seed: 1}
}

// Result is the outcome of [Run].
type Result struct {
	Method string  `json:"method"`
	Data   string  `json:"data"`
	Arch   string  `json:"arch"`
	Buffer int     `json:"buffer"`
	Tau    float64 `json:"tau"`
	Window int     `json:"window"`
	Seed   uint64  `json:"seed"`
	Tasks  [][]int `json:"tasks"`
	Steps  int     `json:"steps"`
	// Acc[i][j] is the test accuracy on task j's classes after training
	// task i, for j ≤ i.
	Acc [][]float64 `json:"acc"`
	// Seen[i] is the test accuracy on all classes of tasks 0..i after task i.
	Seen []float64 `json:"seen"`
	// LastTaskShare is the fraction of the test samples of all tasks that the
	// final model assigns to the last task's classes (the recency bias LAS
	// removes; a balanced classifier gives about 1/T).
	LastTaskShare float64       `json:"last_task_share"`
	FinalAccuracy float64       `json:"final_accuracy"` // AverageAccuracy(Acc)
	Forgetting    float64       `json:"forgetting"`     // Forgetting(Acc)
	Elapsed       time.Duration `json:"elapsed_ns"`
}

// AverageAccuracy is the final average accuracy of an accuracy matrix: the
// mean over tasks j of a[T−1][j], T = len(a).
func AverageAccuracy(a [][]float64) float64 {
	if len(a) == 0 {
		return 0
	}
	last := a[len(a)-1]
	var s float64
	for _, v := range last {
		s += v
	}
	return s / float64(len(last))
}

// Forgetting is the average forgetting of an accuracy matrix (Chaudhry et
// al. 2018): the mean over the tasks j < T−1 of max_{l<T−1} a[l][j] −
// a[T−1][j]. It is 0 for fewer than two tasks.
func Forgetting(a [][]float64) float64 {
	t := len(a)
	if t < 2 {
		return 0
	}
	var s float64
	for j := 0; j < t-1; j++ {
		best := math.Inf(-1)
		for l := j; l < t-1; l++ {
			best = max(best, a[l][j])
		}
		s += best - a[t-1][j]
	}
	return s / float64(t-1)
}

// Run trains a fresh network of cfg.Arch on the class-incremental stream of
// cfg.Train in one pass with cfg.Method and evaluates it on cfg.Test after
// every task.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	tr, te := cfg.Train, cfg.Test
	k := len(tr.Classes)
	tasks := cfg.Tasks
	if tasks == nil {
		for c := 0; c < k; c += 2 {
			t := []int{c}
			if c+1 < k {
				t = append(t, c+1)
			}
			tasks = append(tasks, t)
		}
	}
	if err := checkTasks(tasks, k); err != nil {
		return nil, err
	}
	spec, err := nn.SpecFor(cfg.Arch, tr.Shape, k)
	if err != nil {
		return nil, fmt.Errorf("continual: %w", err)
	}
	net, err := nn.New(spec, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("continual: %w", err)
	}
	opt, err := train.NewSGD(cfg.LR, 0, 0, false)
	if err != nil {
		return nil, fmt.Errorf("continual: %w", err)
	}
	start := time.Now()
	r := rand.New(rand.NewPCG(cfg.Seed, 0xc0a7))
	size := tr.SampleSize()
	var buf *Reservoir
	if cfg.Method != "ft" {
		buf = NewReservoir(cfg.Buffer, size, rand.New(rand.NewPCG(cfg.Seed, 0xb0ff)))
	}
	las := &LAS{Tau: cfg.Tau, Window: cfg.Window, NumClasses: k}
	res := &Result{Method: cfg.Method, Data: tr.Name, Arch: cfg.Arch, Buffer: cfg.Buffer, Tau: cfg.Tau, Window: cfg.Window, Seed: cfg.Seed, Tasks: tasks}
	if buf == nil {
		res.Buffer = 0
	}
	if cfg.Method != "las" {
		res.Tau, res.Window = 0, 0
	}
	maxB := cfg.StreamBatch + cfg.ReplayBatch
	bx := make([]float32, 0, maxB*size)
	by := make([]int, 0, maxB)
	rx := make([]float32, cfg.ReplayBatch*size)
	ry := make([]int, cfg.ReplayBatch)
	dl := make([]float32, maxB*k)
	rep := progress.Or(cfg.Progress)
	for ti, cls := range tasks {
		idx := classIndices(tr.Y, cls)
		r.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		nb := (len(idx) + cfg.StreamBatch - 1) / cfg.StreamBatch
		for b := 0; b < nb; b++ {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("continual: stopped in task %d: %w", ti+1, err)
			}
			bx, by = bx[:0], by[:0]
			stream := idx[b*cfg.StreamBatch : min((b+1)*cfg.StreamBatch, len(idx))]
			for _, j := range stream {
				bx = append(bx, tr.Row(j)...)
				by = append(by, tr.Y[j])
			}
			if buf != nil && buf.Len() > 0 {
				m := buf.Sample(rx, ry, r)
				bx = append(bx, rx[:m*size]...)
				by = append(by, ry[:m]...)
			}
			var loss model.LossFunc
			if cfg.Method == "las" {
				las.Observe(by)
				loss = las.Loss(by, dl[:len(by)*k])
			} else {
				loss = nn.CrossEntropyLoss(by)
			}
			l, err := opt.Step(net, func() (float64, error) {
				return net.ParamGrad(ctx, net.Grads(), bx, loss)
			})
			if err == nil && (math.IsNaN(l) || math.IsInf(l, 0)) {
				err = fmt.Errorf("%w in task %d batch %d", train.ErrNonFiniteLoss, ti+1, b+1)
			}
			if err != nil {
				return nil, fmt.Errorf("continual: %w", err)
			}
			res.Steps++
			if buf != nil {
				for _, j := range stream {
					buf.Add(tr.Row(j), tr.Y[j])
				}
			}
			rep.Update(fmt.Sprintf("task %d/%d", ti+1, len(tasks)), b+1, nb, fmt.Sprintf("loss %.4f", l))
		}
		row, seen, share, err := evaluate(ctx, net, te, tasks[:ti+1])
		if err != nil {
			return nil, err
		}
		res.LastTaskShare = share
		res.Acc = append(res.Acc, row)
		res.Seen = append(res.Seen, seen)
		rep.Log("task %d/%d  accuracy on seen classes %.2f%%", ti+1, len(tasks), 100*seen)
	}
	res.FinalAccuracy = AverageAccuracy(res.Acc)
	res.Forgetting = Forgetting(res.Acc)
	res.Elapsed = time.Since(start)
	return res, nil
}

func (c *Config) check() error {
	switch {
	case !slices.Contains(Methods, c.Method):
		return fmt.Errorf("%w %q (known: %s)", ErrUnknown, c.Method, strings.Join(Methods, ", "))
	case c.Train == nil || c.Test == nil:
		return fmt.Errorf("continual: need a training and a test set")
	case c.Train.Y == nil || c.Test.Y == nil:
		return fmt.Errorf("continual: %s and %s must be labelled classification sets", c.Train.Name, c.Test.Name)
	case len(c.Train.Classes) != len(c.Test.Classes) || !slices.Equal(c.Train.Shape, c.Test.Shape):
		return fmt.Errorf("continual: training set %s (%d classes, shape %v) and test set %s (%d classes, shape %v) differ",
			c.Train.Name, len(c.Train.Classes), c.Train.Shape, c.Test.Name, len(c.Test.Classes), c.Test.Shape)
	case c.StreamBatch <= 0:
		return fmt.Errorf("continual: stream batch %d, want > 0", c.StreamBatch)
	case c.Method != "ft" && (c.Buffer <= 0 || c.ReplayBatch <= 0):
		return fmt.Errorf("continual: method %s needs a buffer (%d) and a replay batch (%d) > 0", c.Method, c.Buffer, c.ReplayBatch)
	case c.Method == "las" && (c.Window <= 0 || c.Tau < 0 || math.IsNaN(c.Tau) || math.IsInf(c.Tau, 0)):
		return fmt.Errorf("continual: LAS needs a window ≥ 1 (got %d) and a finite τ ≥ 0 (got %g)", c.Window, c.Tau)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("continual: learning rate %g, want > 0", c.LR)
	}
	return nil
}

func checkTasks(tasks [][]int, k int) error {
	used := make([]bool, k)
	for i, t := range tasks {
		if len(t) == 0 {
			return fmt.Errorf("continual: task %d has no classes", i+1)
		}
		for _, c := range t {
			if c < 0 || c >= k {
				return fmt.Errorf("continual: task %d: class %d outside [0, %d)", i+1, c, k)
			}
			if used[c] {
				return fmt.Errorf("continual: task %d: class %d already in an earlier task (class-incremental tasks are disjoint)", i+1, c)
			}
			used[c] = true
		}
	}
	if len(tasks) == 0 {
		return fmt.Errorf("continual: no tasks")
	}
	return nil
}

// classIndices returns the indices of the samples whose label is in cls.
func classIndices(y []int, cls []int) []int {
	var idx []int
	for i, l := range y {
		if slices.Contains(cls, l) {
			idx = append(idx, i)
		}
	}
	return idx
}

// evaluate returns the accuracy on each task's test samples and on all of
// them, predicting with the argmax of the raw logits over all classes, and
// the fraction of predictions in the last task's classes.
func evaluate(ctx context.Context, net *nn.Network, te *data.Dataset, tasks [][]int) ([]float64, float64, float64, error) {
	row := make([]float64, len(tasks))
	var okAll, nAll, last int
	lastCls := tasks[len(tasks)-1]
	k := net.NumClasses()
	for j, cls := range tasks {
		idx := classIndices(te.Y, cls)
		if len(idx) == 0 {
			return nil, 0, 0, fmt.Errorf("continual: test set %s has no samples of task %d's classes %v", te.Name, j+1, cls)
		}
		ok := 0
		const chunk = 256
		x := make([]float32, 0, chunk*te.SampleSize())
		for lo := 0; lo < len(idx); lo += chunk {
			x = x[:0]
			part := idx[lo:min(lo+chunk, len(idx))]
			for _, i := range part {
				x = append(x, te.Row(i)...)
			}
			lg := make([]float32, len(part)*k)
			if err := net.Logits(ctx, lg, x); err != nil {
				return nil, 0, 0, fmt.Errorf("continual: evaluating task %d: %w", j+1, err)
			}
			for p, i := range part {
				pred := metrics.Argmax(lg[p*k : (p+1)*k])
				if pred == te.Y[i] {
					ok++
				}
				if slices.Contains(lastCls, pred) {
					last++
				}
			}
		}
		row[j] = float64(ok) / float64(len(idx))
		okAll += ok
		nAll += len(idx)
	}
	return row, float64(okAll) / float64(nAll), float64(last) / float64(nAll), nil
}

// WriteText writes the accuracy matrix and the summary.
func (r *Result) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "method %s  data %s  arch %s  buffer %d", r.Method, r.Data, r.Arch, r.Buffer)
	if r.Method == "las" {
		fmt.Fprintf(w, "  τ %g  window %d", r.Tau, r.Window)
	}
	fmt.Fprintf(w, "  seed %d  steps %d  %s\n", r.Seed, r.Steps, r.Elapsed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hdr := []string{"after task"}
	for j, c := range r.Tasks {
		hdr = append(hdr, fmt.Sprintf("task %d %v", j+1, c))
	}
	fmt.Fprintln(tw, strings.Join(append(hdr, "seen classes"), "\t"))
	for i, row := range r.Acc {
		cells := []string{fmt.Sprint(i + 1)}
		for j := range r.Tasks {
			s := ""
			if j < len(row) {
				s = fmt.Sprintf("%.2f%%", 100*row[j])
			}
			cells = append(cells, s)
		}
		fmt.Fprintln(tw, strings.Join(append(cells, fmt.Sprintf("%.2f%%", 100*r.Seen[i])), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "final average accuracy %.2f%%  average forgetting %.2f%%  predictions in the last task's classes %.2f%%\n",
		100*r.FinalAccuracy, 100*r.Forgetting, 100*r.LastTaskShare)
	return err
}
