package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/model"
)

// BatchOptions configures dynamic batching: requests that arrive while the
// model is busy, or within MaxDelay of each other, are run through the
// model in one forward pass, as Triton's dynamic batcher does.
type BatchOptions struct {
	// MaxBatch is the largest number of images in one forward pass
	// (default [DefaultMaxBatch]); 1 disables dynamic batching. A request
	// with more images than MaxBatch runs alone, in one pass.
	MaxBatch int `flag:"max-batch" help:"most images per forward pass (1 disables dynamic batching)"`
	// MaxDelay is the longest the oldest request of a batch waits for more
	// requests to join it while the batch is not full. 0 never waits: a
	// batch is what is queued when a worker becomes free, which under load
	// is already most of the gain. The command line's default is
	// [DefaultMaxDelay].
	MaxDelay time.Duration `flag:"max-delay" help:"longest a request waits for others to join its batch"`
	// Workers is the number of forward passes that may run at the same
	// time, each on its own copy of the model (from [model.Cloner]) and of
	// the defense (default 1; more needs a model.Cloner).
	Workers int `flag:"workers" help:"forward passes run at the same time, each on its own copy of the model (default 1, 4 with --upstream)"`
	// BatchMultiple rounds batches down to a multiple of this many images
	// when more than that many are queued; the requests left over wait at
	// the head of the queue for the next batch, which starts as soon as
	// the worker is free, as with Triton's preferred batch sizes. 0 (the
	// default) takes the defense's block of rows: AAA's SIMD kernels
	// optimise 16 rows at once with AVX-512 (4 with AVX2), so a batch of 30
	// costs it as much as one of 32. 1 turns rounding off. A batch that
	// holds at most one multiple, or a request larger than the multiple,
	// is never split or held.
	BatchMultiple int `flag:"batch-multiple" help:"round batches down to a multiple of this many images, the rest waiting for the next batch (0: the defense's block of rows, 16 for AAA with AVX-512; 1: off)"`
	// QueueSize bounds the requests waiting for a worker (default 4096);
	// when it is full, requests wait for room or for their deadline.
	QueueSize int `flag:"queue" help:"requests that may wait for a worker"`
}

// Defaults of dynamic batching.
const (
	DefaultMaxBatch = 64
	DefaultMaxDelay = 2 * time.Millisecond
)

// errClosed answers requests that arrive after the server was closed.
var errClosed = errors.New("serve: server is shutting down")

// job is one request's images on their way through a worker.
type job struct {
	ctx  context.Context
	x    []float32
	n    int
	out  []float32 // n×k defended scores, written by the worker
	fs   []float32 // n×fdim features if the request wants them, else nil
	enq  time.Time
	done chan error // buffered: the worker never blocks on it
}

// batcher owns the models and defenses: only its workers call them, each
// worker its own copy, so models that are not safe for concurrent use (such
// as *nn.Network) are served safely.
type batcher struct {
	o       BatchOptions
	size, k int
	fdim    int // features per input, 0 when none are served
	queue   chan *job
	stop    chan struct{}
	exited  chan struct{}
	ctx     context.Context // cancelled by close: aborts model calls
	cancel  context.CancelFunc
	once    sync.Once
	wg      sync.WaitGroup
	metrics *instruments
	onError func(error)
}

type worker struct {
	b         *batcher
	m         model.Classifier
	fe        model.FeatureExtractor // m, when features are served
	d         defense.Defense
	pre       defense.Preprocessor
	x, logits []float32
	fs        []float32
	sizes     []int // the live jobs' rows, for a groupApplier
	batch     []*job
	held      []*job // requests held over for the next batch, the oldest last
	multiple  int    // batches round down to a multiple of this many images
	timer     *time.Timer
}

// blockRower is a defense that works on rows in blocks ([defense.AAA]'s
// SIMD kernels): a batch of a multiple of BlockRows rows leaves none of a
// block's work unused.
type blockRower interface {
	BlockRows() int
}

// newBatcher starts o.Workers workers on copies of m, each with a defense
// built by newDefense(i); with fdim > 0, m is a model.FeatureExtractor with
// fdim features per input, computed for the jobs that want them.
func newBatcher(m model.Classifier, o BatchOptions, newDefense func(i int) (defense.Defense, error), mt *instruments, fdim int) (*batcher, error) {
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	if o.MaxDelay < 0 {
		return nil, fmt.Errorf("serve: negative batch delay %v", o.MaxDelay)
	}
	if o.BatchMultiple < 0 {
		return nil, fmt.Errorf("serve: negative batch multiple %d", o.BatchMultiple)
	}
	cl, canClone := m.(model.Cloner)
	if o.Workers > 1 && !canClone {
		return nil, fmt.Errorf("serve: %d workers need a model that can be cloned (model.Cloner); use 1 worker", o.Workers)
	}
	b := &batcher{
		o: o, size: model.InputSize(m), k: m.NumClasses(), fdim: fdim,
		queue: make(chan *job, o.QueueSize), stop: make(chan struct{}), exited: make(chan struct{}),
		metrics: mt,
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	ws := make([]*worker, o.Workers)
	for i := range ws {
		d, err := newDefense(i)
		if err != nil {
			return nil, err
		}
		wm := m
		if i > 0 {
			wm = cl.Clone()
		}
		w := &worker{b: b, m: wm, d: d, multiple: o.BatchMultiple, timer: time.NewTimer(time.Hour)}
		if w.multiple == 0 {
			w.multiple = 1
			if br, ok := d.(blockRower); ok {
				w.multiple = max(br.BlockRows(), 1)
			}
		}
		if fdim > 0 {
			var ok bool
			if w.fe, ok = wm.(model.FeatureExtractor); !ok {
				return nil, fmt.Errorf("serve: a copy of the model (%T) returns no features", wm)
			}
		}
		if mw, ok := d.(defense.ModelWrapper); ok { // UniG: built into the model
			if w.m, err = mw.WrapModel(wm); err != nil {
				return nil, fmt.Errorf("serve: defense %s: %w", d.Name(), err)
			}
		}
		w.timer.Stop()
		w.pre, _ = d.(defense.Preprocessor)
		ws[i] = w
	}
	b.wg.Add(len(ws))
	for _, w := range ws {
		go w.run()
	}
	go func() {
		b.wg.Wait()
		close(b.exited)
	}()
	return b, nil
}

// do runs the n images in x through a worker and returns their n×k defended
// scores and, if feats, their n×fdim (undefended) features.
func (b *batcher) do(ctx context.Context, x []float32, n int, feats bool) ([]float32, []float32, error) {
	j := &job{ctx: ctx, x: x, n: n, out: make([]float32, n*b.k), enq: time.Now(), done: make(chan error, 1)}
	if feats && b.fdim > 0 {
		j.fs = make([]float32, n*b.fdim)
	}
	select {
	case <-b.stop:
		return nil, nil, errClosed
	default:
	}
	select {
	case b.queue <- j:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-b.stop:
		return nil, nil, errClosed
	}
	select {
	case err := <-j.done:
		return j.out, j.fs, err
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-b.exited:
		// The workers drained the queue before exiting; the job may have
		// been among the last ones.
		select {
		case err := <-j.done:
			return j.out, j.fs, err
		default:
			return nil, nil, errClosed
		}
	}
}

// close stops the workers after they have answered every queued request.
// If ctx ends first, model calls in progress are cancelled.
func (b *batcher) close(ctx context.Context) error {
	b.once.Do(func() { close(b.stop) })
	select {
	case <-b.exited:
		b.cancel()
		return nil
	case <-ctx.Done():
		b.cancel()
		<-b.exited
		return ctx.Err()
	}
}

func (w *worker) run() {
	b := w.b
	defer b.wg.Done()
	for {
		first := w.popHeld()
		if first == nil {
			select {
			case first = <-b.queue:
			case <-b.stop:
				// Answer what is still queued, then exit.
				for {
					select {
					case j := <-b.queue:
						w.runBatch(append(w.batch[:0], j))
					default:
						return
					}
				}
			}
		}
		w.runBatch(w.holdOver(w.gather(first)))
	}
}

// popHeld returns the oldest request held over from the last batch, or nil.
func (w *worker) popHeld() *job {
	n := len(w.held)
	if n == 0 {
		return nil
	}
	j := w.held[n-1]
	w.held[n-1] = nil
	w.held = w.held[:n-1]
	return j
}

// hold puts jobs, oldest first, back at the head of the queue: before the
// requests already held, which are all younger.
func (w *worker) hold(jobs ...*job) {
	for i := len(jobs) - 1; i >= 0; i-- {
		w.held = append(w.held, jobs[i])
	}
}

// holdOver rounds batch down to a multiple of the worker's multiple
// (see keptJobs), holds the rest for the next batch and returns the jobs
// kept.
func (w *worker) holdOver(batch []*job) []*job {
	keep := keptJobs(batch, w.multiple)
	if w.b.metrics != nil && keep < len(batch) {
		n := 0
		for _, j := range batch[keep:] {
			n += j.n
		}
		w.b.metrics.held.Add(float64(n))
	}
	w.hold(batch[keep:]...)
	clear(batch[keep:])
	return batch[:keep]
}

// keptJobs returns how many of batch's jobs (oldest first) a batch rounded
// down to a multiple of m images keeps: all of them if they hold at most m
// images or a multiple of m, else the oldest jobs that fill the largest
// multiple of m below their total (with requests of several images,
// possibly more).
func keptJobs(batch []*job, m int) int {
	n := 0
	for _, j := range batch {
		n += j.n
	}
	if m <= 1 || n <= m || n%m == 0 {
		return len(batch)
	}
	target := n - n%m
	keep := len(batch)
	for keep > 1 && n-batch[keep-1].n >= target {
		keep--
		n -= batch[keep].n
	}
	return keep
}

// gather collects the jobs of one batch, starting with first: the jobs
// held over from the last batch, whatever is queued, then whatever arrives
// before first's deadline, up to MaxBatch images. A job that does not fit
// is held for the next batch.
func (w *worker) gather(first *job) []*job {
	b := w.b
	batch := append(w.batch[:0], first)
	n := first.n
	deadline := first.enq.Add(b.o.MaxDelay)
	for n < b.o.MaxBatch {
		j := w.popHeld()
		if j == nil {
			select {
			case j = <-b.queue:
			default:
				wait := time.Until(deadline)
				if wait <= 0 {
					return batch
				}
				w.timer.Reset(wait)
				select {
				case j = <-b.queue:
					w.timer.Stop()
				case <-w.timer.C:
					return batch
				case <-b.stop:
					w.timer.Stop()
					return batch
				}
			}
		}
		if n+j.n > b.o.MaxBatch {
			w.hold(j)
			return batch
		}
		batch = append(batch, j)
		n += j.n
	}
	return batch
}

// runBatch runs one forward pass and the defense over the batch's images and
// hands each job its rows.
func (w *worker) runBatch(batch []*job) {
	b := w.b
	live := batch[:0]
	n := 0
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil { // the client left
			j.done <- err
			continue
		}
		live = append(live, j)
		n += j.n
	}
	w.batch = batch[:0]
	if n == 0 {
		return
	}
	w.x = grow(w.x, n*b.size)
	w.logits = grow(w.logits, n*b.k)
	off := 0
	for _, j := range live {
		off += copy(w.x[off:], j.x)
	}
	var defDur time.Duration
	var err error
	if w.pre != nil {
		t := time.Now()
		err = w.pre.Preprocess(w.x, w.x)
		defDur += time.Since(t)
	}
	var fwdDur time.Duration
	if err == nil {
		t := time.Now()
		err = w.m.Logits(b.ctx, w.logits, w.x)
		if err == nil && w.fe != nil {
			err = w.features(live)
		}
		fwdDur = time.Since(t)
	}
	if err == nil {
		t := time.Now()
		err = w.applyDefense(live)
		defDur += time.Since(t)
	}
	if b.metrics != nil {
		b.metrics.batch.Observe(float64(n))
		if err == nil {
			b.metrics.forward.Observe(fwdDur.Seconds())
			b.metrics.defense.Observe(defDur.Seconds())
		}
	}
	if err != nil && b.onError != nil {
		b.onError(err)
	}
	off = 0
	for i, j := range live {
		if err == nil {
			off += copy(j.out, w.logits[off:])
		}
		j.done <- err
		live[i] = nil
	}
	clear(batch) // drop references to answered jobs
}

// features computes the features of the live jobs that want them, from the
// same (preprocessed) inputs as their logits, one model call per run of
// consecutive such jobs.
func (w *worker) features(live []*job) error {
	b := w.b
	off := 0 // first row of live[i]
	for i := 0; i < len(live); {
		if live[i].fs == nil {
			off += live[i].n
			i++
			continue
		}
		end, rows := i, 0
		for ; end < len(live) && live[end].fs != nil; end++ {
			rows += live[end].n
		}
		w.fs = grow(w.fs, rows*b.fdim)
		if err := w.fe.Features(b.ctx, w.fs, w.x[off*b.size:(off+rows)*b.size]); err != nil {
			return err
		}
		for r, v := range w.fs {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("serve: the model's feature %d of an input is %v, not finite", r%b.fdim, v)
			}
		}
		fo := 0
		for ; i < end; i++ {
			fo += copy(live[i].fs, w.fs[fo:])
		}
		off += rows
	}
	return nil
}

// batchSizeDependent is implemented by defenses whose output for a row
// depends on how many rows one Apply call holds (AAA's official batch-mean
// update).
type batchSizeDependent interface{ BatchSizeDependent() bool }

// groupApplier is implemented by defenses that apply themselves once per
// group of rows in one call (defense.AAA.ApplyGroups), as one Apply per
// request would.
type groupApplier interface {
	ApplyGroups(dst, logits []float32, k int, sizes []int) error
}

// applyDefense runs the defense over the logits of the live jobs. A defense
// whose rows depend on the batch size runs once per request, so that a
// client's answer depends only on its own request, never on which other
// requests the dynamic batch joined it with.
func (w *worker) applyDefense(live []*job) error {
	k := w.b.k
	if d, ok := w.d.(batchSizeDependent); !ok || !d.BatchSizeDependent() {
		return w.d.Apply(w.logits, w.logits, k)
	}
	if g, ok := w.d.(groupApplier); ok {
		w.sizes = w.sizes[:0]
		for _, j := range live {
			w.sizes = append(w.sizes, j.n)
		}
		return g.ApplyGroups(w.logits, w.logits, k, w.sizes)
	}
	off := 0
	for _, j := range live {
		rows := w.logits[off*k : (off+j.n)*k]
		if err := w.d.Apply(rows, rows, k); err != nil {
			return err
		}
		off += j.n
	}
	return nil
}

func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}
