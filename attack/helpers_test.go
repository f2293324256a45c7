package attack

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// The tests check the values of every query the attacks make.
func init() { checkTrusted = true }

// Small classifiers for the tests. They use plain loops (no BLAS) so that
// results are identical under every build.

// linearModel is a softmax-linear classifier z = W·x + b on inputs of a
// given shape; it implements model.InputGrader.
type linearModel struct {
	shape []int
	d, k  int
	w, b  []float32 // k×d, k
}

var _ model.InputGrader = (*linearModel)(nil)

// newLinear draws W ~ N(0, scale²) and b ~ N(0, 1) from a fixed seed.
func newLinear(seed uint64, shape []int, k int, scale float64) *linearModel {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := 1
	for _, s := range shape {
		d *= s
	}
	m := &linearModel{shape: shape, d: d, k: k, w: make([]float32, k*d), b: make([]float32, k)}
	for i := range m.w {
		m.w[i] = float32(rng.NormFloat64() * scale)
	}
	for i := range m.b {
		m.b[i] = float32(rng.NormFloat64())
	}
	return m
}

func (m *linearModel) InputShape() []int { return m.shape }
func (m *linearModel) NumClasses() int   { return m.k }

func (m *linearModel) Logits(ctx context.Context, dst, x []float32) error {
	n, err := model.CheckBatch(m, dst, x, m.k)
	if err != nil {
		return err
	}
	for i := range n {
		xi := x[i*m.d : (i+1)*m.d]
		for c := range m.k {
			s := m.b[c]
			for j, v := range m.w[c*m.d : (c+1)*m.d] {
				s += v * xi[j]
			}
			dst[i*m.k+c] = s
		}
	}
	return nil
}

func (m *linearModel) InputGrad(ctx context.Context, gx, x []float32, loss model.LossFunc) (float64, error) {
	n, err := model.CheckBatch(m, nil, x, 0)
	if err != nil {
		return 0, err
	}
	z := make([]float32, n*m.k)
	dz := make([]float32, n*m.k)
	if err := m.Logits(ctx, z, x); err != nil {
		return 0, err
	}
	l := loss(z, dz, n, m.k)
	clear(gx)
	for i := range n {
		g := gx[i*m.d : (i+1)*m.d]
		for c := range m.k {
			f := dz[i*m.k+c]
			for j, v := range m.w[c*m.d : (c+1)*m.d] {
				g[j] += f * v
			}
		}
	}
	return l, nil
}

// newSmoothLinear is newLinear with spatially smooth weights: each class's
// weight image is a random g×g grid upsampled to the image size (nearest),
// like the smooth input gradients of image CNNs that Square and SimBA-DCT
// exploit.
func newSmoothLinear(seed uint64, c, h, w, g, k int, scale float64) *linearModel {
	m := newLinear(seed, []int{c, h, w}, k, scale)
	rng := rand.New(rand.NewPCG(seed, 13))
	grid := make([]float32, g*g)
	for cl := range k {
		for ch := range c {
			for j := range grid {
				grid[j] = float32(rng.NormFloat64() * scale)
			}
			for r := range h {
				for cc := range w {
					m.w[cl*m.d+ch*h*w+r*w+cc] = grid[(r*g/h)*g+cc*g/w]
				}
			}
		}
	}
	return m
}

// mlpModel is z = W2·tanh(W1·x + b1) + b2, a small non-linear InputGrader.
type mlpModel struct {
	shape     []int
	d, h, k   int
	w1, b1    []float32
	w2, b2    []float32
	hid, dhid []float32
}

func newMLP(seed uint64, shape []int, hidden, k int) *mlpModel {
	rng := rand.New(rand.NewPCG(seed, 11))
	d := 1
	for _, s := range shape {
		d *= s
	}
	m := &mlpModel{shape: shape, d: d, h: hidden, k: k,
		w1: make([]float32, hidden*d), b1: make([]float32, hidden),
		w2: make([]float32, k*hidden), b2: make([]float32, k)}
	for i := range m.w1 {
		m.w1[i] = float32(rng.NormFloat64() * 3 / math.Sqrt(float64(d)))
	}
	for i := range m.b1 {
		m.b1[i] = float32(rng.NormFloat64())
	}
	for i := range m.w2 {
		m.w2[i] = float32(rng.NormFloat64() * 3)
	}
	return m
}

func (m *mlpModel) InputShape() []int { return m.shape }
func (m *mlpModel) NumClasses() int   { return m.k }

func (m *mlpModel) forward(dst, x []float32, n int) {
	if len(m.hid) < n*m.h {
		m.hid = make([]float32, n*m.h)
	}
	for i := range n {
		xi := x[i*m.d : (i+1)*m.d]
		hi := m.hid[i*m.h : (i+1)*m.h]
		for u := range m.h {
			s := m.b1[u]
			for j, v := range m.w1[u*m.d : (u+1)*m.d] {
				s += v * xi[j]
			}
			hi[u] = float32(math.Tanh(float64(s)))
		}
		for c := range m.k {
			s := m.b2[c]
			for u, v := range m.w2[c*m.h : (c+1)*m.h] {
				s += v * hi[u]
			}
			dst[i*m.k+c] = s
		}
	}
}

func (m *mlpModel) Logits(ctx context.Context, dst, x []float32) error {
	n, err := model.CheckBatch(m, dst, x, m.k)
	if err != nil {
		return err
	}
	m.forward(dst, x, n)
	return nil
}

func (m *mlpModel) InputGrad(ctx context.Context, gx, x []float32, loss model.LossFunc) (float64, error) {
	n, err := model.CheckBatch(m, nil, x, 0)
	if err != nil {
		return 0, err
	}
	z := make([]float32, n*m.k)
	dz := make([]float32, n*m.k)
	m.forward(z, x, n)
	l := loss(z, dz, n, m.k)
	clear(gx)
	dh := make([]float32, m.h)
	for i := range n {
		hi := m.hid[i*m.h : (i+1)*m.h]
		clear(dh)
		for c := range m.k {
			f := dz[i*m.k+c]
			for u, v := range m.w2[c*m.h : (c+1)*m.h] {
				dh[u] += f * v
			}
		}
		g := gx[i*m.d : (i+1)*m.d]
		for u := range m.h {
			f := dh[u] * (1 - hi[u]*hi[u])
			for j, v := range m.w1[u*m.d : (u+1)*m.d] {
				g[j] += f * v
			}
		}
	}
	return l, nil
}

// constModel returns the same logits for every input: it can never be
// fooled, so attacks spend their whole budget on it.
type constModel struct {
	shape []int
	z     []float32
}

func (m *constModel) InputShape() []int { return m.shape }
func (m *constModel) NumClasses() int   { return len(m.z) }
func (m *constModel) Logits(ctx context.Context, dst, x []float32) error {
	n, err := model.CheckBatch(m, dst, x, len(m.z))
	if err != nil {
		return err
	}
	for i := range n {
		copy(dst[i*len(m.z):], m.z)
	}
	return nil
}
func (m *constModel) InputGrad(ctx context.Context, gx, x []float32, loss model.LossFunc) (float64, error) {
	n, err := model.CheckBatch(m, nil, x, 0)
	if err != nil {
		return 0, err
	}
	k := len(m.z)
	z := make([]float32, n*k)
	for i := range n {
		copy(z[i*k:], m.z)
	}
	clear(gx)
	return loss(z, make([]float32, n*k), n, k), nil
}

// probe wraps a classifier: it counts calls and inputs, can cancel a
// context after a number of calls, can fail a call, and returns NaN logits
// for inputs whose first value is exactly nanMark.
type probe struct {
	c          model.InputGrader
	calls      int
	inputs     int
	cancelAt   int // cancel after this many calls (0: never)
	cancel     context.CancelFunc
	afterCanc  int // calls made after cancel
	failAt     int // return an error on this call (0: never)
	nanMark    float32
	useNanMark bool
}

var errInjected = errors.New("injected model failure")

func (p *probe) InputShape() []int { return p.c.InputShape() }
func (p *probe) NumClasses() int   { return p.c.NumClasses() }

func (p *probe) hook(x []float32) error {
	if p.cancelAt > 0 && p.calls > p.cancelAt {
		p.afterCanc++
	}
	p.calls++
	p.inputs += len(x) / model.InputSize(p.c)
	if p.cancelAt > 0 && p.calls == p.cancelAt {
		p.cancel()
	}
	if p.failAt > 0 && p.calls == p.failAt {
		return errInjected
	}
	return nil
}

func (p *probe) poison(dst, x []float32) {
	if !p.useNanMark {
		return
	}
	d, k := model.InputSize(p.c), p.c.NumClasses()
	for i := 0; i < len(x)/d; i++ {
		if x[i*d] == p.nanMark {
			dst[i*k] = float32(math.NaN())
		}
	}
}

func (p *probe) Logits(ctx context.Context, dst, x []float32) error {
	if err := p.hook(x); err != nil {
		return err
	}
	if err := p.c.Logits(ctx, dst, x); err != nil {
		return err
	}
	p.poison(dst, x)
	return nil
}

func (p *probe) InputGrad(ctx context.Context, gx, x []float32, loss model.LossFunc) (float64, error) {
	if err := p.hook(x); err != nil {
		return 0, err
	}
	return p.c.InputGrad(ctx, gx, x, loss)
}

// dataset draws n inputs uniformly in [0, 1] whose clean top margin under
// m is at least minMargin, labelled with m's predictions, so that every
// sample is correctly classified.
func dataset(m model.Classifier, n int, seed uint64, minMargin float64) ([]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 3))
	d, k := model.InputSize(m), m.NumClasses()
	x := make([]float32, 0, n*d)
	y := make([]int, 0, n)
	v := make([]float32, d)
	z := make([]float32, k)
	for len(y) < n {
		for j := range v {
			v[j] = rng.Float32()
		}
		if err := m.Logits(context.Background(), z, v); err != nil {
			panic(err)
		}
		c := metrics.Argmax(z)
		if Margin(z, c) < minMargin {
			continue
		}
		x = append(x, v...)
		y = append(y, c)
	}
	return x, y
}

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }
