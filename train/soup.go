package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
)

// Model soups combine the weights of several models fine-tuned from one
// starting point into a single model of the same size (Wortsman et al.,
// "Model soups: averaging weights of multiple fine-tuned models improves
// accuracy without increasing inference time", ICML 2022). Three recipes
// are here:
//
//   - [UniformSoup]: the plain mean of the weights.
//   - [GreedySoup]: models sorted by held-out accuracy, each added to the
//     soup if the held-out accuracy of the mean does not drop.
//   - [MEHLSoup]: MEHL-Soup and MEHL-Soup+ (Li et al., "Learning Scalable
//     Model Soup on a Single GPU: An Efficient Subspace Training Strategy",
//     ECCV 2024): affine mixing coefficients, one per model (or one per
//     model and parameter tensor for MEHL-Soup+), learned on held-out data
//     by gradient descent, one model batch at a time so memory grows with
//     the batch size rather than with the number of models.
//
// The held-out data must not be the test set: the greedy and learned soups
// select on it.

// UniformSoup writes the element-wise mean of the models' weights into dst,
// accumulating in float64. It needs at least two models of len(dst)
// weights. A network with batch norm needs [UpdateBN] afterwards.
func UniformSoup(dst []float32, models [][]float32) error {
	if err := checkSoupModels(models, len(dst)); err != nil {
		return err
	}
	sum := make([]float64, len(dst))
	for _, w := range models {
		for j, v := range w {
			sum[j] += float64(v)
		}
	}
	inv := 1 / float64(len(models))
	for j, s := range sum {
		dst[j] = float32(s * inv)
	}
	return nil
}

func checkSoupModels(models [][]float32, d int) error {
	if len(models) < 2 {
		return fmt.Errorf("train: a soup needs at least 2 models, got %d", len(models))
	}
	if d == 0 {
		return fmt.Errorf("train: soup of models with no weights")
	}
	for i, w := range models {
		if len(w) != d {
			return fmt.Errorf("train: soup model %d has %d weights, want %d", i, len(w), d)
		}
	}
	return nil
}

// checkHeldOut validates held-out inputs x and labels y for net and returns
// the input size.
func checkHeldOut(net Network, x []float32, y []int) (int, error) {
	size := 1
	for _, d := range net.InputShape() {
		size *= d
	}
	if len(y) == 0 || len(x) != len(y)*size {
		return 0, fmt.Errorf("train: soup: %d held-out input values for %d labels of size %d", len(x), len(y), size)
	}
	k := net.NumClasses()
	for i, l := range y {
		if l < 0 || l >= k {
			return 0, fmt.Errorf("train: soup: held-out label %d of sample %d outside [0, %d)", l, i, k)
		}
	}
	return size, nil
}

// GreedyConfig configures [GreedySoup].
type GreedyConfig struct {
	// BatchSize is the evaluation batch size (default 256).
	BatchSize int
	// BNData, if set and the network has batch norm ([BNModel]), are
	// inputs (typically the training split) on which the batch-norm
	// statistics are recomputed with [UpdateBN] before every held-out
	// evaluation, single models included, so that every candidate is
	// scored with statistics that match its weights. Without it the
	// network's buffers are used as they are.
	BNData []float32
	// BNBatch is the batch size of those updates (default 128).
	BNBatch  int
	Progress progress.Reporter
}

// GreedyResult is the outcome of [GreedySoup].
type GreedyResult struct {
	ModelAccuracy []float64 `json:"model_accuracy"` // held-out accuracy of each model, indexed like the models
	Order         []int     `json:"order"`          // models by decreasing held-out accuracy (ties: lower index first)
	Ingredients   []int     `json:"ingredients"`    // models in the soup, in the order they were added
	Accuracy      float64   `json:"accuracy"`       // held-out accuracy of the soup
}

// GreedySoup builds the greedy soup of Wortsman et al.: the models are
// sorted by held-out accuracy, the soup starts as the best one, and each
// further model is added (the soup being the uniform mean of its
// ingredients) when the held-out accuracy of the result is not lower than
// the soup's so far. The soup's accuracy is therefore never below the best
// single model's. The soup is left in net's weights (and, with
// cfg.BNData, its recomputed batch-norm statistics in net's buffers);
// x and y are the held-out inputs and labels, evaluated in inference mode.
func GreedySoup(ctx context.Context, net Network, models [][]float32, x []float32, y []int, cfg GreedyConfig) (*GreedyResult, error) {
	w := net.Weights()
	if err := checkSoupModels(models, len(w)); err != nil {
		return nil, err
	}
	if _, err := checkHeldOut(net, x, y); err != nil {
		return nil, err
	}
	if cfg.BatchSize < 0 || cfg.BNBatch < 0 {
		return nil, fmt.Errorf("train: greedy soup: negative batch size (%d, %d)", cfg.BatchSize, cfg.BNBatch)
	}
	bs := cfg.BatchSize
	if bs == 0 {
		bs = 256
	}
	bnBatch := cfg.BNBatch
	if bnBatch == 0 {
		bnBatch = 128
	}
	var bnNet BNModel
	if m, ok := net.(BNModel); ok && cfg.BNData != nil && len(m.Buffers()) > 0 {
		bnNet = m
	}
	score := func() (float64, error) {
		if bnNet != nil {
			if err := UpdateBN(ctx, bnNet, cfg.BNData, bnBatch); err != nil {
				return 0, err
			}
		}
		acc, _, err := heldOutEval(ctx, net, x, y, bs, 0)
		return acc, err
	}
	n := len(models)
	res := &GreedyResult{ModelAccuracy: make([]float64, n)}
	for i, m := range models {
		copy(w, m)
		acc, err := score()
		if err != nil {
			return nil, err
		}
		res.ModelAccuracy[i] = acc
		progress.Or(cfg.Progress).Update("greedy soup: scoring models", i+1, 2*n-1, fmt.Sprintf("model %d: %.2f%%", i, 100*acc))
	}
	res.Order = make([]int, n)
	for i := range res.Order {
		res.Order[i] = i
	}
	slices.SortStableFunc(res.Order, func(a, b int) int {
		switch {
		case res.ModelAccuracy[a] > res.ModelAccuracy[b]:
			return -1
		case res.ModelAccuracy[a] < res.ModelAccuracy[b]:
			return 1
		}
		return 0
	})
	best := res.Order[0]
	res.Ingredients = []int{best}
	res.Accuracy = res.ModelAccuracy[best]
	sum := make([]float64, len(w))
	for j, v := range models[best] {
		sum[j] = float64(v)
	}
	soup := slices.Clone(models[best])
	var bufs []float32
	saveBufs := func() {
		if bnNet != nil {
			bufs = bufs[:0]
			for _, b := range bnNet.Buffers() {
				bufs = append(bufs, b.Data...)
			}
		}
	}
	if bnNet != nil {
		copy(w, soup)
		if _, err := score(); err != nil {
			return nil, err
		}
		saveBufs()
	}
	for k, i := range res.Order[1:] {
		inv := 1 / float64(len(res.Ingredients)+1)
		for j, v := range models[i] {
			w[j] = float32((sum[j] + float64(v)) * inv)
		}
		acc, err := score()
		if err != nil {
			return nil, err
		}
		if acc >= res.Accuracy {
			res.Ingredients = append(res.Ingredients, i)
			res.Accuracy = acc
			for j, v := range models[i] {
				sum[j] += float64(v)
			}
			copy(soup, w)
			saveBufs()
		}
		progress.Or(cfg.Progress).Update("greedy soup", n+k+1, 2*n-1, fmt.Sprintf("%d ingredients, %.2f%%", len(res.Ingredients), 100*res.Accuracy))
	}
	copy(w, soup)
	if bnNet != nil {
		off := 0
		for _, b := range bnNet.Buffers() {
			off += copy(b.Data, bufs[off:])
		}
	}
	return res, nil
}

// heldOutEval returns the accuracy and mean cross-entropy (with label
// smoothing ls) of net on x, y in inference mode, in batches of bs.
func heldOutEval(ctx context.Context, net Network, x []float32, y []int, bs int, ls float64) (acc, loss float64, err error) {
	n, k := len(y), net.NumClasses()
	size := len(x) / n
	dl := make([]float32, min(bs, n)*k)
	var correct int
	for lo := 0; lo < n; lo += bs {
		if err := ctx.Err(); err != nil {
			return 0, 0, fmt.Errorf("train: held-out evaluation: %w", err)
		}
		hi := min(lo+bs, n)
		out := net.Forward(x[lo*size:hi*size], hi-lo, false)
		l, c := nn.SoftmaxCrossEntropy(out, dl[:(hi-lo)*k], y[lo:hi], k, ls)
		loss += l * float64(hi-lo)
		correct += c
	}
	return float64(correct) / float64(n), loss / float64(n), nil
}

// MEHLConfig configures [MEHLSoup]. [DefaultMEHLConfig] gives the
// official run script's values.
type MEHLConfig struct {
	BatchModels    int        // models per model batch b (18 in the paper); capped at the number of models
	Epochs         int        // passes over the held-out data per model batch (5)
	LR             float64    // AdamW learning rate of the coefficients (0.01; weight decay 0)
	WarmupFrac     float64    // fraction of the steps of linear warm-up before the cosine decay (0.2)
	BatchSize      int        // held-out mini-batch size (128); the last partial batch of an epoch is dropped
	LayerWise      bool       // MEHL-Soup+: one coefficient per model and parameter tensor
	LabelSmoothing float64    // of the held-out cross-entropy (0)
	Rand           *rand.Rand // shuffles the models and the held-out data; required
	Progress       progress.Reporter
}

// DefaultMEHLConfig returns the configuration of the official MEHL-Soup+
// runs (b = 18, 5 epochs, AdamW lr 0.01, cosine with 20% warm-up) with a
// held-out batch of 128 and the given source of randomness.
func DefaultMEHLConfig(r *rand.Rand) MEHLConfig {
	return MEHLConfig{BatchModels: 18, Epochs: 5, LR: 0.01, WarmupFrac: 0.2, BatchSize: 128, LayerWise: true, Rand: r}
}

// TWAJournalConfig returns the configuration under which [MEHLSoup] is
// the journal version of Trainable Weight Averaging, TWA-t / TWA-v (Li et
// al., "Trainable Weight Averaging: Accelerating Training and Improving
// Generalization", ICLR 2023, journal version): all checkpoints in one
// model batch (BatchModels is the largest int, capped at the number of
// models), so the center c is the mean of all of them and X = 0 is the SWA
// point; one coefficient per checkpoint and parameter tensor; AdamW with
// learning rate 1e-3 and weight decay 0 for 10 epochs under a cosine
// schedule with 20% linear warm-up; mini-batches of 128. Pass the training
// data (TWA-t) or a held-out split of it (TWA-v) to [MEHLSoup], and run
// [UpdateBN] on the result if the network has batch norm.
func TWAJournalConfig(r *rand.Rand) MEHLConfig {
	return MEHLConfig{BatchModels: math.MaxInt, Epochs: 10, LR: 1e-3, WarmupFrac: 0.2, BatchSize: 128, LayerWise: true, Rand: r}
}

func (c *MEHLConfig) check() error {
	switch {
	case c.BatchModels < 1:
		return fmt.Errorf("train: MEHL-Soup: model batch size %d must be at least 1", c.BatchModels)
	case c.Epochs < 1:
		return fmt.Errorf("train: MEHL-Soup: %d epochs; need at least 1", c.Epochs)
	case !validPositive(c.LR):
		return fmt.Errorf("train: MEHL-Soup: learning rate %g must be positive and finite", c.LR)
	case !(c.WarmupFrac >= 0 && c.WarmupFrac < 1):
		return fmt.Errorf("train: MEHL-Soup: warm-up fraction %g outside [0, 1)", c.WarmupFrac)
	case c.BatchSize < 1:
		return fmt.Errorf("train: MEHL-Soup: held-out batch size %d must be at least 1", c.BatchSize)
	case !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 1):
		return fmt.Errorf("train: MEHL-Soup: label smoothing %g outside [0, 1)", c.LabelSmoothing)
	case c.Rand == nil:
		return fmt.Errorf("train: MEHL-Soup needs a seeded *rand.Rand")
	}
	return nil
}

// MEHLResult describes a learned soup.
type MEHLResult struct {
	Order   []int       `json:"order"`   // the shuffled model order
	Blocks  []string    `json:"blocks"`  // the L coefficient blocks: parameter tensor names (MEHL-Soup+) or "all"
	Batches []MEHLBatch `json:"batches"` // the model batches, in order
}

// MEHLBatch is one model batch of [MEHLSoup].
type MEHLBatch struct {
	Models []int       `json:"models"` // indices of the models in this batch
	Coef   [][]float64 `json:"coef"`   // Coef[i][l]: learned coefficient of Models[i] in block l
	Loss   []float64   `json:"loss"`   // mean held-out training loss of each epoch
}

// MEHLSoup learns an affine soup of the models on held-out data x, y,
// leaving it in net's weights: MEHL-Soup, or MEHL-Soup+ when
// cfg.LayerWise is set (Li et al., ECCV 2024). The model indices are
// shuffled and split into batches of cfg.BatchModels. For each batch the
// center c is the mean of its models (first batch) or the soup so far
// (later batches), the directions are Q_{i,l} = (w_i − c)_l/‖(w_i − c)_l‖
// for each model i of the batch and block l (one block per parameter
// tensor of [TensorParams] for MEHL-Soup+, one block of all weights
// otherwise; a zero difference gives a zero direction), and the soup is
//
//	w(X) = c + Σ_i Σ_l X[i,l]·Q_{i,l},   X = 0 at the start,
//
// so coefficients may be negative (extrapolation). X is trained with AdamW
// (weight decay 0) under a cosine schedule with linear warm-up, for
// cfg.Epochs passes over the held-out mini-batches, with the gradient
// ∂L/∂X[i,l] = ⟨Q_{i,l}, ∇_w L⟩ accumulated in float64. The network runs
// in training mode (batch statistics, active dropout) with batch-norm
// momentum 0 when it supports [BNController], so its running statistics
// are left untouched: they do not match the soup, and callers must run
// [UpdateBN] on the result before evaluating it.
//
// With all models in one batch this is also the journal version of
// Trainable Weight Averaging (TWA-t / TWA-v) over training checkpoints,
// whose start X = 0 is their SWA mean: see [TWAJournalConfig].
//
// Memory is the center plus b directions of the network's size. On error
// (cancelled context, non-finite loss) net holds the soup of the last step.
func MEHLSoup(ctx context.Context, net Network, models [][]float32, x []float32, y []int, cfg MEHLConfig) (*MEHLResult, error) {
	w := net.Weights()
	d := len(w)
	if err := checkSoupModels(models, d); err != nil {
		return nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	size, err := checkHeldOut(net, x, y)
	if err != nil {
		return nil, err
	}
	bounds, names, err := soupBlocks(net, d, cfg.LayerWise)
	if err != nil {
		return nil, err
	}
	if bn, ok := net.(BNController); ok {
		m := bn.BNMomentum()
		bn.SetBNMomentum(0)
		defer bn.SetBNMomentum(m)
	}
	nm, nh, k := len(models), len(y), net.NumClasses()
	b := min(cfg.BatchModels, nm)
	bs := min(cfg.BatchSize, nh)
	perEpoch := nh / bs
	total := perEpoch * cfg.Epochs
	sched := Cosine{Base: cfg.LR, Warmup: int(cfg.WarmupFrac * float64(total))}
	r := cfg.Rand
	res := &MEHLResult{Order: r.Perm(nm), Blocks: names}
	L := len(names)
	st := &mehlState{d: d, bounds: bounds, c: make([]float64, d), acc: make([]float64, d), q: make([]float32, b*d)}
	X := make([]float32, b*L)
	G := make([]float32, b*L)
	bx := make([]float32, bs*size)
	by := make([]int, bs)
	dl := make([]float32, bs*k)
	nBatches := (nm + b - 1) / b
	for bi, lo := 0, 0; lo < nm; bi, lo = bi+1, lo+b {
		idx := res.Order[lo:min(lo+b, nm)]
		ws := make([][]float32, len(idx))
		for i, m := range idx {
			ws[i] = models[m]
		}
		if lo == 0 {
			clear(st.c)
			for _, m := range ws {
				for j, v := range m {
					st.c[j] += float64(v)
				}
			}
			for j := range st.c {
				st.c[j] /= float64(len(ws))
			}
		} else {
			for j, v := range w {
				st.c[j] = float64(v)
			}
		}
		st.setDirections(ws)
		xc := X[:len(ws)*L]
		gc := G[:len(ws)*L]
		clear(xc)
		st.weights(w, xc)
		opt := NewAdamW(cfg.LR, 0)
		batch := MEHLBatch{Models: slices.Clone(idx)}
		step := 0
		for ep := 1; ep <= cfg.Epochs; ep++ {
			perm := r.Perm(nh)
			var lossSum float64
			for s := range perEpoch {
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("train: MEHLSoup: %w", err)
				}
				for i, j := range perm[s*bs : (s+1)*bs] {
					copy(bx[i*size:(i+1)*size], x[j*size:(j+1)*size])
					by[i] = y[j]
				}
				net.ZeroGrad()
				out := net.Forward(bx, bs, true)
				l, _ := nn.SoftmaxCrossEntropy(out, dl, by, k, cfg.LabelSmoothing)
				if math.IsNaN(l) || math.IsInf(l, 0) {
					return nil, fmt.Errorf("%w: MEHL-Soup model batch %d epoch %d step %d (loss %v)", ErrNonFiniteLoss, bi+1, ep, s, l)
				}
				net.Backward(dl, false)
				st.grad(gc, net.Grads(), len(ws))
				opt.SetLR(sched.LR(step, total))
				opt.Update(xc, gc)
				st.weights(w, xc)
				step++
				lossSum += l
				progress.Or(cfg.Progress).Update(fmt.Sprintf("soup batch %d/%d epoch %d/%d", bi+1, nBatches, ep, cfg.Epochs), s+1, perEpoch,
					fmt.Sprintf("loss %.4f", lossSum/float64(s+1)))
			}
			batch.Loss = append(batch.Loss, lossSum/float64(perEpoch))
		}
		batch.Coef = make([][]float64, len(ws))
		for i := range ws {
			batch.Coef[i] = make([]float64, L)
			for l := range L {
				batch.Coef[i][l] = float64(xc[i*L+l])
			}
		}
		res.Batches = append(res.Batches, batch)
		progress.Or(cfg.Progress).Log("soup batch %d/%d (%d models): held-out loss %.4f → %.4f", bi+1, nBatches, len(ws), batch.Loss[0], batch.Loss[len(batch.Loss)-1])
	}
	return res, nil
}

// soupBlocks returns the block boundaries of the coefficient layout: one
// block per parameter tensor when layerWise, otherwise one block.
func soupBlocks(net Network, d int, layerWise bool) ([]int, []string, error) {
	if !layerWise {
		return []int{0, d}, []string{"all"}, nil
	}
	tp, ok := net.(TensorParams)
	if !ok {
		return nil, nil, fmt.Errorf("train: MEHL-Soup+ needs a model that exposes its parameter tensors (TensorParams)")
	}
	bounds := []int{0}
	var names []string
	for _, p := range tp.Params() {
		if p.Size() == 0 {
			continue
		}
		bounds = append(bounds, bounds[len(bounds)-1]+p.Size())
		names = append(names, p.Name)
	}
	if bounds[len(bounds)-1] != d {
		return nil, nil, fmt.Errorf("train: MEHL-Soup+: the parameter tensors hold %d values, the weights %d", bounds[len(bounds)-1], d)
	}
	return bounds, names, nil
}

// mehlState holds one model batch of MEHL-Soup: the center c (float64),
// the b×D directions Q (float32, unit norm per block) and a float64
// accumulator for w(X).
type mehlState struct {
	d      int
	bounds []int // block l covers [bounds[l], bounds[l+1])
	c, acc []float64
	q      []float32
}

func (s *mehlState) blocks() int { return len(s.bounds) - 1 }

// setDirections sets Q_{i,l} = (w_i − c)_l/‖(w_i − c)_l‖, or 0 where the
// difference is 0.
func (s *mehlState) setDirections(ws [][]float32) {
	for i, w := range ws {
		row := s.q[i*s.d : (i+1)*s.d]
		for l := range s.blocks() {
			lo, hi := s.bounds[l], s.bounds[l+1]
			var ss float64
			for j := lo; j < hi; j++ {
				v := float64(w[j]) - s.c[j]
				ss += v * v
			}
			inv := 0.0
			if ss > 0 {
				inv = 1 / math.Sqrt(ss)
			}
			for j := lo; j < hi; j++ {
				row[j] = float32((float64(w[j]) - s.c[j]) * inv)
			}
		}
	}
}

// weights writes w(X) = c + Σ X[i,l] Q_{i,l} into dst; X has len(X)/L rows.
func (s *mehlState) weights(dst []float32, X []float32) {
	L := s.blocks()
	copy(s.acc, s.c)
	for i := range len(X) / L {
		row := s.q[i*s.d : (i+1)*s.d]
		for l := range L {
			xv := float64(X[i*L+l])
			if xv == 0 {
				continue
			}
			lo, hi := s.bounds[l], s.bounds[l+1]
			acc, q := s.acc[lo:hi], row[lo:hi]
			for j, v := range q {
				acc[j] += xv * float64(v)
			}
		}
	}
	for j, v := range s.acc {
		dst[j] = float32(v)
	}
}

// grad writes ∂L/∂X[i,l] = ⟨Q_{i,l}, g_l⟩ for the first b models into G.
func (s *mehlState) grad(G []float32, g []float32, b int) {
	L := s.blocks()
	for i := range b {
		row := s.q[i*s.d : (i+1)*s.d]
		for l := range L {
			lo, hi := s.bounds[l], s.bounds[l+1]
			var dot float64
			for j, v := range row[lo:hi] {
				dot += float64(v) * float64(g[lo+j])
			}
			G[i*L+l] = float32(dot)
		}
	}
}
