package continual

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
)

// LogFloor is added to the window counts before the logarithm, as in the
// reference code: a class absent from the window gets log(1e-50) ≈ −115 and
// is thereby masked out of the training softmax.
const LogFloor = 1e-50

// LAS is the logit adjustment of ER-LAS: the label counts of the last
// Window batches, and the adjustment τ·log(counts + [LogFloor]) they give.
// The adjustment is applied in training only; inference uses raw logits.
type LAS struct {
	Tau        float64 // temperature τ
	Window     int     // l, batches in the window (≥ 1)
	NumClasses int

	hist   [][]float64 // per-batch counts, oldest first
	counts []float64   // their sum
}

// Observe pushes the label counts of one batch (stream and replay) into the
// window, dropping the oldest batch when the window holds more than Window.
func (l *LAS) Observe(labels []int) {
	if l.counts == nil {
		l.counts = make([]float64, l.NumClasses)
	}
	c := make([]float64, l.NumClasses)
	for _, y := range labels {
		c[y]++
		l.counts[y]++
	}
	l.hist = append(l.hist, c)
	for len(l.hist) > max(l.Window, 1) {
		for i, v := range l.hist[0] {
			l.counts[i] -= v
		}
		l.hist = l.hist[1:]
	}
}

// Counts returns the label counts of the window (not a copy).
func (l *LAS) Counts() []float64 { return l.counts }

// Adjustment returns τ·log(counts + [LogFloor]) per class.
func (l *LAS) Adjustment() []float64 {
	a := make([]float64, l.NumClasses)
	for i := range a {
		c := 0.0
		if l.counts != nil {
			c = l.counts[i]
		}
		a[i] = l.Tau * math.Log(c+LogFloor)
	}
	return a
}

// Loss returns the mean cross-entropy of the adjusted logits
// (logits + [LAS.Adjustment]) against labels, as a [model.LossFunc]. Its
// gradient with respect to the raw logits equals that with respect to the
// adjusted ones, as the adjustment is constant. scratch (len ≥ n·k) holds
// the adjusted logits; nil allocates.
func (l *LAS) Loss(labels []int, scratch []float32) model.LossFunc {
	adj := l.Adjustment()
	return func(logits, dlogits []float32, n, k int) float64 {
		if n != len(labels) || k != len(adj) {
			panic(fmt.Sprintf("continual: LAS loss built for %d labels and %d classes used on %d×%d logits", len(labels), len(adj), n, k))
		}
		if len(scratch) < n*k {
			scratch = make([]float32, n*k)
		}
		z := scratch[:n*k]
		for i, v := range logits {
			z[i] = float32(float64(v) + adj[i%k])
		}
		loss, _ := nn.SoftmaxCrossEntropy(z, dlogits, labels, k, 0)
		return loss
	}
}

// Reservoir is a replay buffer filled by reservoir sampling (Vitter's
// algorithm R): after s samples have been offered, each of them is in the
// buffer with probability Size/s.
type Reservoir struct {
	size, dim int
	x         []float32
	y         []int
	seen      int
	r         *rand.Rand
	perm      []int
}

// NewReservoir returns an empty buffer of size samples of dim values,
// drawing from r.
func NewReservoir(size, dim int, r *rand.Rand) *Reservoir {
	return &Reservoir{size: size, dim: dim, r: r, x: make([]float32, 0, size*dim), y: make([]int, 0, size)}
}

// Len is the number of samples held.
func (b *Reservoir) Len() int { return len(b.y) }

// Seen is the number of samples offered so far.
func (b *Reservoir) Seen() int { return b.seen }

// Labels returns the labels held (not a copy).
func (b *Reservoir) Labels() []int { return b.y }

// Add offers one sample: while the buffer is not full it is kept; then
// j ~ U{0..seen} and it replaces slot j if j < size.
func (b *Reservoir) Add(x []float32, y int) {
	b.seen++
	if len(b.y) < b.size {
		b.x = append(b.x, x...)
		b.y = append(b.y, y)
		return
	}
	if j := b.r.IntN(b.seen); j < b.size {
		copy(b.x[j*b.dim:(j+1)*b.dim], x)
		b.y[j] = y
	}
}

// Sample draws min(len(dy), Len()) distinct samples uniformly with r into
// dx and dy and returns how many.
func (b *Reservoir) Sample(dx []float32, dy []int, r *rand.Rand) int {
	n := b.Len()
	m := min(len(dy), n)
	b.perm = b.perm[:0]
	for i := range n {
		b.perm = append(b.perm, i)
	}
	for i := 0; i < m; i++ { // partial Fisher–Yates
		j := i + r.IntN(n-i)
		b.perm[i], b.perm[j] = b.perm[j], b.perm[i]
		s := b.perm[i]
		copy(dx[i*b.dim:(i+1)*b.dim], b.x[s*b.dim:(s+1)*b.dim])
		dy[i] = b.y[s]
	}
	return m
}

// Remove drops every held sample for which drop returns true (an
// unlearning request purging forgotten samples from the buffer) and returns
// how many were dropped. The count of samples offered (Seen) is kept, so
// later samples enter with the same probability as before.
func (b *Reservoir) Remove(drop func(x []float32, y int) bool) int {
	k := 0
	for i, y := range b.y {
		x := b.x[i*b.dim : (i+1)*b.dim]
		if drop(x, y) {
			continue
		}
		copy(b.x[k*b.dim:(k+1)*b.dim], x)
		b.y[k] = y
		k++
	}
	n := len(b.y) - k
	b.x, b.y = b.x[:k*b.dim], b.y[:k]
	return n
}
