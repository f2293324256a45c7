package hgnn

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// blobs draws n points per class around well-separated centres in d
// dimensions, with the given noise.
func blobs(classes, n, d int, noise float64, seed uint64) (*mat.Dense, []int) {
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([][]float64, classes)
	for c := range centres {
		centres[c] = make([]float64, d)
		for j := range centres[c] {
			centres[c][j] = 3 * r.NormFloat64()
		}
	}
	x := mat.NewDense(classes*n, d, nil)
	y := make([]int, classes*n)
	for i := range y {
		y[i] = i % classes
		for j := range d {
			x.Set(i, j, centres[y[i]][j]+noise*r.NormFloat64())
		}
	}
	return x, y
}

// checkPropagation checks that P is symmetric with eigenvalues in [0, 1].
func checkPropagation(t *testing.T, p *Sparse) {
	t.Helper()
	d := p.Dense()
	n := p.N
	for i := range n {
		for j := range i {
			if math.Abs(d.At(i, j)-d.At(j, i)) > 1e-12 {
				t.Fatalf("P[%d][%d] = %v, P[%d][%d] = %v: not symmetric", i, j, d.At(i, j), j, i, d.At(j, i))
			}
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(n, d.RawMatrix().Data), false) {
		t.Fatal("eigendecomposition failed")
	}
	for _, v := range eig.Values(nil) {
		if v < -1e-10 || v > 1+1e-10 {
			t.Fatalf("eigenvalue %v outside [0, 1]", v)
		}
	}
}

func TestPropagationProperties(t *testing.T) {
	x, _ := blobs(3, 10, 4, 1, 2)
	knn, err := KNN(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := Categorical([]string{"a", "b", "a", "", "c", "b", "a", "c", "", "b",
		"a", "a", "b", "c", "c", "a", "b", "b", "c", "a", "a", "b", "c", "a", "b", "c", "a", "b", "c", "a"})
	if err != nil {
		t.Fatal(err)
	}
	both, err := Concat(knn, cat)
	if err != nil {
		t.Fatal(err)
	}
	weighted := &Hypergraph{N: 30, Edges: both.Edges, Weights: make([]float64, len(both.Edges))}
	r := rand.New(rand.NewPCG(3, 3))
	for i := range weighted.Weights {
		weighted.Weights[i] = 0.1 + 5*r.Float64()
	}
	for name, h := range map[string]*Hypergraph{"knn": knn, "knn+loops": knn.WithSelfLoops(), "categorical": cat, "concat": both, "weighted": weighted} {
		t.Run(name, func(t *testing.T) {
			p, err := h.Propagation()
			if err != nil {
				t.Fatal(err)
			}
			checkPropagation(t, p)
		})
	}
	// A node with a missing category is isolated: its row is zero.
	p, _ := cat.Propagation()
	if p.RowPtr[4] != p.RowPtr[3] {
		t.Fatalf("isolated node 3 has %d entries in P", p.RowPtr[4]-p.RowPtr[3])
	}
}

func TestCategorical(t *testing.T) {
	h, err := Categorical([]string{"x", "y", "x", "", "z"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 2}, {1}, {4}}
	if len(h.Edges) != len(want) {
		t.Fatalf("edges %v, want %v", h.Edges, want)
	}
	for e := range want {
		if len(h.Edges[e]) != len(want[e]) || h.Edges[e][0] != want[e][0] {
			t.Fatalf("edges %v, want %v", h.Edges, want)
		}
	}
}

func TestInvalid(t *testing.T) {
	x, _ := blobs(2, 5, 2, 1, 1)
	nan := mat.DenseCopyOf(x)
	nan.Set(3, 1, math.NaN())
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"node out of range", func() error { _, err := (&Hypergraph{N: 3, Edges: [][]int{{0, 3}}}).Propagation(); return err }, "node 3"},
		{"empty edge", func() error { _, err := (&Hypergraph{N: 3, Edges: [][]int{{}}}).Propagation(); return err }, "empty"},
		{"repeated node", func() error { _, err := (&Hypergraph{N: 3, Edges: [][]int{{1, 1}}}).Propagation(); return err }, "twice"},
		{"zero weight", func() error {
			_, err := (&Hypergraph{N: 3, Edges: [][]int{{1}}, Weights: []float64{0}}).Propagation()
			return err
		}, "weight"},
		{"weights count", func() error {
			_, err := (&Hypergraph{N: 3, Edges: [][]int{{1}}, Weights: []float64{1, 2}}).Propagation()
			return err
		}, "2 weights"},
		{"k too large", func() error { _, err := KNN(x, 10); return err }, "k = 10"},
		{"nan features", func() error { _, err := KNN(nan, 2); return err }, "not finite"},
		{"concat sizes", func() error {
			_, err := Concat(&Hypergraph{N: 2}, &Hypergraph{N: 3})
			return err
		}, "3 nodes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.err()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	h, _ := KNN(x, 2)
	v, err := NewView(x, h)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]int, 10)
	for _, c := range []struct {
		name    string
		cfg     func(*Config)
		labeled []int
		y       []int
		want    string
	}{
		{"arch", func(c *Config) { c.Arch = "gcn" }, []int{0}, y, "architecture"},
		{"dropout", func(c *Config) { c.Dropout = 1 }, []int{0}, y, "dropout"},
		{"lr", func(c *Config) { c.LR = 0 }, []int{0}, y, "learning rate"},
		{"no labels", func(c *Config) {}, nil, y, "no labeled"},
		{"label range", func(c *Config) {}, []int{10}, y, "labeled node 10"},
		{"class range", func(c *Config) {}, []int{1}, []int{0, 5, 0, 0, 0, 0, 0, 0, 0, 0}, "class 5"},
		{"label count", func(c *Config) {}, []int{1}, []int{0}, "1 labels"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.cfg(&cfg)
			_, err := Train(context.Background(), []View{v}, c.y, c.labeled, 2, cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want ErrConfig containing %q", err, c.want)
			}
		})
	}
}

// TestFiniteDifferences checks the gradients of every architecture, with
// deeper networks and weight tying of views, against central differences.
func TestFiniteDifferences(t *testing.T) {
	x1, y := blobs(3, 6, 4, 2, 5)
	x2, _ := blobs(3, 6, 3, 2, 6)
	var views []View
	for _, x := range []*mat.Dense{x1, x2} {
		h, _ := KNN(x, 3)
		v, err := NewView(x, h)
		if err != nil {
			t.Fatal(err)
		}
		views = append(views, v)
	}
	labeled := []int{0, 1, 2, 4, 8, 11, 15}
	for _, arch := range []Arch{MLP, HGNN, ResHGNN} {
		for _, layers := range []int{1, 3} {
			cfg := DefaultConfig()
			cfg.Arch, cfg.Layers, cfg.Hidden, cfg.Dropout = arch, layers, 5, 0
			m, err := newModel(views, 3, cfg)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float64, 18*3)
			m.step(y, labeled, true, true, out)
			grad := append([]float64(nil), m.grads...)
			const h = 1e-6
			for i := range m.params {
				w := m.params[i]
				m.params[i] = w + h
				lp := m.step(y, labeled, true, false, out)
				m.params[i] = w - h
				lm := m.step(y, labeled, true, false, out)
				m.params[i] = w
				if fd := (lp - lm) / (2 * h); math.Abs(fd-grad[i]) > 1e-6*(1+math.Abs(fd)) {
					t.Fatalf("%s, %d layers: parameter %d: gradient %v, finite difference %v", arch, layers, i, grad[i], fd)
				}
			}
		}
	}
}

// TestTrainLearns checks that every architecture fits separable blobs from
// a few labels and that the hypergraph networks use the unlabeled nodes.
func TestTrainLearns(t *testing.T) {
	x, y := blobs(4, 30, 6, 1.5, 9)
	h, _ := KNN(x, 5)
	v, err := NewView(x, h.WithSelfLoops())
	if err != nil {
		t.Fatal(err)
	}
	labeled := SampleLabels(y, 2, 1)
	if len(labeled) != 8 {
		t.Fatalf("%d labeled nodes, want 8", len(labeled))
	}
	for _, arch := range []Arch{MLP, HGNN, ResHGNN} {
		cfg := DefaultConfig()
		cfg.Arch, cfg.Epochs = arch, 100
		m, err := Train(context.Background(), []View{v, v}, y, labeled, 4, cfg)
		if err != nil {
			t.Fatal(err)
		}
		acc := Accuracy(m.Predict(), y, Unlabeled(len(y), labeled))
		if acc < 0.9 {
			t.Errorf("%s: accuracy %.3f on the unlabeled nodes, want ≥ 0.9", arch, acc)
		}
		if l := m.Losses; l[len(l)-1] > l[0]/2 {
			t.Errorf("%s: loss %v → %v, did not halve", arch, l[0], l[len(l)-1])
		}
	}
}

func TestTrainDeterministic(t *testing.T) {
	x, y := blobs(3, 10, 3, 2, 4)
	h, _ := KNN(x, 3)
	v, _ := NewView(x, h)
	cfg := DefaultConfig()
	cfg.Epochs = 20
	a, err := Train(context.Background(), []View{v}, y, []int{0, 1, 2}, 3, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Train(context.Background(), []View{v}, y, []int{0, 1, 2}, 3, cfg)
	for i := range a.params {
		if a.params[i] != b.params[i] {
			t.Fatalf("parameter %d differs between runs with the same seed", i)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, []View{v}, y, []int{0}, 3, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled training returned %v", err)
	}
}

// FuzzPropagation builds hypergraphs from bytes: Propagation must return
// an error or a symmetric matrix whose rows sum to at most 1 after
// scaling, never panic.
func FuzzPropagation(f *testing.F) {
	f.Add([]byte{5, 0, 1, 255, 2, 3, 4, 255, 0})
	f.Add([]byte{3, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 1 || len(b) > 200 {
			return
		}
		h := &Hypergraph{N: int(b[0] % 16)}
		var e []int
		for _, c := range b[1:] {
			if c == 255 {
				h.Edges = append(h.Edges, e)
				e = nil
				continue
			}
			e = append(e, int(c%20))
		}
		if e != nil {
			h.Edges = append(h.Edges, e)
		}
		p, err := h.Propagation()
		if err != nil {
			if !errors.Is(err, ErrHypergraph) {
				t.Fatalf("error %v does not wrap ErrHypergraph", err)
			}
			return
		}
		d := p.Dense()
		for i := range p.N {
			for j := range p.N {
				if v := d.At(i, j); v < 0 || v > 1+1e-12 || math.Abs(v-d.At(j, i)) > 1e-12 {
					t.Fatalf("P[%d][%d] = %v, P[%d][%d] = %v", i, j, v, j, i, d.At(j, i))
				}
			}
		}
	})
}
