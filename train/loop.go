package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
)

// Network is what the training loop needs of a model; [nn.Network]
// implements it.
type Network interface {
	Params
	InputShape() []int
	NumClasses() int
	Forward(x []float32, n int, train bool) []float32
	Backward(dlogits []float32, needInput bool) []float32
	ZeroGrad()
}

// Config configures [Fit].
type Config struct {
	Epochs         int     // passes over the data (ignored when Steps > 0)
	Steps          int     // total optimizer steps (batches), if set; a PairStepper's update counts 2
	BatchSize      int     // default 128
	Seed           uint64  // shuffling and augmentation
	LabelSmoothing float64 // PyTorch's label_smoothing
	Augment        Augment
	Optimizer      Optimizer // required
	Schedule       Schedule  // per-step learning rate; nil keeps the optimizer's
	Progress       progress.Reporter
	// OnEpoch, if set, is called after every epoch (for evaluation or
	// checkpoints); an error stops training and is returned.
	OnEpoch func(EpochStats) error
	// Objective, if set, replaces the softmax cross-entropy of a batch
	// (adversarial training: [NewAdversarialObjective]); LabelSmoothing is
	// then ignored. It cannot be combined with a parallel two-batch update.
	Objective Objective
}

// EpochStats summarises one epoch.
type EpochStats struct {
	Epoch        int           `json:"epoch"` // 1-based
	Step         int           `json:"step"`  // optimizer steps so far
	Loss         float64       `json:"loss"`  // mean training loss
	Accuracy     float64       `json:"accuracy"`
	LR           float64       `json:"lr"` // at the end of the epoch
	ImagesPerSec float64       `json:"images_per_sec"`
	Elapsed      time.Duration `json:"elapsed_ns"`
}

// ErrNonFiniteLoss is returned (wrapped) when the loss becomes NaN or
// infinite; the weights are left as they were before the failing step.
var ErrNonFiniteLoss = errors.New("train: loss is not finite")

// Fit trains net on the n inputs x (NCHW, n×InputSize values) with labels y
// using softmax cross-entropy, and returns the per-epoch statistics.
// Shuffling and augmentation are seeded by cfg.Seed, so a run is
// reproducible bit for bit on the same build.
func Fit(ctx context.Context, net Network, x []float32, y []int, cfg Config) ([]EpochStats, error) {
	shape := net.InputShape()
	size := 1
	for _, d := range shape {
		size *= d
	}
	n := len(y)
	k := net.NumClasses()
	switch {
	case cfg.Optimizer == nil:
		return nil, fmt.Errorf("train: no optimizer")
	case n == 0 || len(x) != n*size:
		return nil, fmt.Errorf("train: %d input values for %d labels of size %d", len(x), n, size)
	case !(cfg.Augment.NoiseSigma >= 0): // also NaN
		return nil, fmt.Errorf("train: --noise-sigma %g, want σ ≥ 0", cfg.Augment.NoiseSigma)
	case cfg.Augment.Enabled() && len(shape) != 3:
		return nil, fmt.Errorf("train: augmentation needs image inputs, shape is %v", shape)
	}
	for i, l := range y {
		if l < 0 || l >= k {
			return nil, fmt.Errorf("train: label %d of sample %d outside [0, %d)", l, i, k)
		}
	}
	bs := cfg.BatchSize
	if bs <= 0 {
		bs = 128
	}
	bs = min(bs, n)
	perEpoch := n / bs // drop the last partial batch, as drop_last=True
	// A PairStepper with a replica takes two batches per update and
	// evaluates them concurrently, the second on the replica; an odd last
	// batch of an epoch is dropped.
	pair, _ := cfg.Optimizer.(PairStepper)
	if pair != nil && pair.Replica() == nil {
		pair = nil
	}
	per := 1
	if pair != nil {
		per = 2
		if perEpoch < 2 {
			return nil, fmt.Errorf("train: %d samples make %d batch of %d per epoch; the parallel two-batch update needs 2", n, perEpoch, bs)
		}
		perEpoch -= perEpoch % 2
		if cfg.Objective != nil {
			return nil, fmt.Errorf("train: the parallel two-batch update (rwp/marwp with a replica) cannot be combined with an objective such as adversarial training; turn the replica off (--rwp-parallel=false)")
		}
	}
	total := cfg.Steps
	epochs := cfg.Epochs
	if total <= 0 {
		if epochs <= 0 {
			return nil, fmt.Errorf("train: set Epochs or Steps")
		}
		total = epochs * perEpoch
	} else {
		epochs = (total + perEpoch - 1) / perEpoch
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	batches := []*batchEval{newBatchEval(net, bs, size, k)}
	if pair != nil {
		batches = append(batches, newBatchEval(pair.Replica(), bs, size, k))
	}
	backup := make([]float32, len(net.Weights()))
	var hist []EpochStats
	step := 0
	for ep := 1; ep <= epochs && step+per <= total; ep++ {
		start := time.Now()
		perm := r.Perm(n)
		var lossSum float64
		var correct, seen int
		for b := 0; b+per <= perEpoch && step+per <= total; b += per {
			if err := ctx.Err(); err != nil {
				return hist, fmt.Errorf("train: Fit stopped at epoch %d, step %d: %w", ep, step, err)
			}
			closures := make([]Closure, per)
			for i, be := range batches {
				be.load(x, y, perm[(b+i)*bs:(b+i+1)*bs], shape, cfg.Augment, r)
				be.ctx, be.obj = ctx, cfg.Objective
				closures[i] = be.closure(cfg.LabelSmoothing, ep, step+i)
			}
			if bo, ok := cfg.Optimizer.(BatchObserver); ok && pair == nil && cfg.Objective == nil {
				bo.ObserveBatch(Batch{X: batches[0].in, Y: batches[0].by, Index: perm[b*bs : (b+1)*bs], Epoch: ep, Smoothing: cfg.LabelSmoothing})
			}
			if cfg.Schedule != nil {
				// a pair update happens where the sequential form's second step would
				cfg.Optimizer.SetLR(cfg.Schedule.LR(step+per-1, total))
			}
			copy(backup, net.Weights())
			var losses [2]float64
			var err error
			if pair != nil {
				losses[0], losses[1], err = pair.StepPair(net, closures[0], closures[1])
			} else {
				losses[0], err = cfg.Optimizer.Step(net, closures[0])
			}
			if err == nil && !finite(net.Weights()) {
				err = fmt.Errorf("%w: weights became non-finite at epoch %d step %d", ErrNonFiniteLoss, ep, step)
			}
			if err != nil {
				copy(net.Weights(), backup)
				return hist, err
			}
			step += per
			for i, be := range batches {
				lossSum += losses[i] * float64(bs)
				correct += be.correct
				seen += bs
			}
			el := time.Since(start).Seconds()
			progress.Or(cfg.Progress).Update(fmt.Sprintf("epoch %d/%d", ep, epochs), b+per, perEpoch,
				fmt.Sprintf("loss %.4f acc %.2f%% %.0f img/s", lossSum/float64(seen), 100*float64(correct)/float64(seen), float64(seen)/el))
		}
		el := time.Since(start)
		st := EpochStats{
			Epoch: ep, Step: step, Loss: lossSum / float64(seen), Accuracy: float64(correct) / float64(seen),
			LR: cfg.Optimizer.LR(), ImagesPerSec: float64(seen) / el.Seconds(), Elapsed: el,
		}
		hist = append(hist, st)
		progress.Or(cfg.Progress).Log("epoch %d/%d  loss %.4f  train acc %.2f%%  lr %.4g  %.0f img/s  %s",
			ep, epochs, st.Loss, 100*st.Accuracy, st.LR, st.ImagesPerSec, el.Round(time.Millisecond))
		if cfg.OnEpoch != nil {
			if err := cfg.OnEpoch(st); err != nil {
				return hist, err
			}
		}
	}
	return hist, nil
}

// batchEval holds one mini-batch and the buffers to evaluate a network on
// it.
type batchEval struct {
	net     Network
	bx, ax  []float32
	in      []float32 // bx or its augmented copy ax
	by      []int
	dl      []float32
	size, k int
	correct int // correct predictions of the closure's first call
	ctx     context.Context
	obj     Objective // nil: cross-entropy
}

func newBatchEval(net Network, bs, size, k int) *batchEval {
	return &batchEval{net: net, bx: make([]float32, bs*size), ax: make([]float32, bs*size),
		by: make([]int, bs), dl: make([]float32, bs*k), size: size, k: k}
}

// load copies the samples idx of x, y into the batch and augments them.
func (b *batchEval) load(x []float32, y []int, idx []int, shape []int, aug Augment, r *rand.Rand) {
	size := b.size
	for i, j := range idx {
		copy(b.bx[i*size:(i+1)*size], x[j*size:(j+1)*size])
		b.by[i] = y[j]
	}
	b.in = b.bx
	if aug.Enabled() {
		aug.Apply(b.ax, b.bx, len(idx), shape[0], shape[1], shape[2], r)
		b.in = b.ax
	}
}

// closure returns the forward/backward pass on the batch. Two-pass
// optimizers call it again at perturbed weights; accuracy is counted on
// the first (clean) call only.
func (b *batchEval) closure(smoothing float64, ep, step int) Closure {
	calls := 0
	b.correct = 0
	return func() (float64, error) {
		net := b.net
		net.ZeroGrad()
		if b.obj != nil {
			l, c, err := b.obj.BatchLoss(b.ctx, net, b.in, b.by, calls == 0)
			if err == nil && (math.IsNaN(l) || math.IsInf(l, 0)) {
				err = fmt.Errorf("%w at epoch %d step %d (loss %v)", ErrNonFiniteLoss, ep, step, l)
			}
			if calls == 0 {
				b.correct = c
			}
			calls++
			return l, err
		}
		bs := len(b.by)
		out := net.Forward(b.in, bs, true)
		l, c := nn.SoftmaxCrossEntropy(out, b.dl, b.by, b.k, smoothing)
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return l, fmt.Errorf("%w at epoch %d step %d (loss %v)", ErrNonFiniteLoss, ep, step, l)
		}
		if calls == 0 {
			b.correct = c
		}
		calls++
		net.Backward(b.dl, false)
		return l, nil
	}
}

func finite(w []float32) bool {
	for _, v := range w {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			return false
		}
	}
	return true
}
