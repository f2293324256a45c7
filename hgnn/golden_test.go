package hgnn

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// golden is testdata/golden.json, written by testdata/golden.py (numpy and
// PyTorch, float64).
type golden struct {
	N, Classes, K, Hidden, Layers int
	Alpha, Lambda                 float64
	X                             [][][]float64
	Y, Labeled                    []int
	Edges                         [][][]int
	P                             [][][]float64
	WeightedEdges                 [][]int     `json:"weighted_edges"`
	Weights                       []float64   `json:"weights"`
	PWeighted                     [][]float64 `json:"p_weighted"`
	Cases                         []struct {
		Name, Arch string
		Views      []int
		Params     [][]float64
		Loss       float64
		Grads      [][]float64
	}
}

func loadGolden(t *testing.T) *golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func denseOf(rows [][]float64) *mat.Dense {
	m := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

func closeTo(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func checkMatrix(t *testing.T, what string, got *mat.Dense, want [][]float64) {
	t.Helper()
	for i, row := range want {
		for j, w := range row {
			if g := got.At(i, j); !closeTo(g, w, 1e-12) {
				t.Fatalf("%s[%d][%d] = %.15g, PyTorch/numpy %.15g", what, i, j, g, w)
			}
		}
	}
}

func TestGoldenPropagation(t *testing.T) {
	g := loadGolden(t)
	for v := range g.X {
		h, err := KNN(denseOf(g.X[v]), g.K)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(h.Edges, g.Edges[v], slices.Equal[[]int]) {
			t.Fatalf("view %d: k-NN hyperedges %v, numpy %v", v, h.Edges, g.Edges[v])
		}
		p, err := h.WithSelfLoops().Propagation()
		if err != nil {
			t.Fatal(err)
		}
		checkMatrix(t, "P", p.Dense(), g.P[v])
	}
	h := &Hypergraph{N: g.N, Edges: g.WeightedEdges, Weights: g.Weights}
	p, err := h.Propagation()
	if err != nil {
		t.Fatal(err)
	}
	checkMatrix(t, "weighted P", p.Dense(), g.PWeighted)
}

// TestGoldenGradients checks one forward and backward pass of HGNN,
// ResHGNN, MultiHGNN and ResMHGNN against PyTorch's autograd.
func TestGoldenGradients(t *testing.T) {
	g := loadGolden(t)
	var views []View
	for v := range g.X {
		h, err := KNN(denseOf(g.X[v]), g.K)
		if err != nil {
			t.Fatal(err)
		}
		view, err := NewView(denseOf(g.X[v]), h.WithSelfLoops())
		if err != nil {
			t.Fatal(err)
		}
		views = append(views, view)
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Arch, cfg.Hidden, cfg.Layers, cfg.Dropout = Arch(c.Arch), g.Hidden, g.Layers, 0
			cfg.Alpha, cfg.Lambda = g.Alpha, g.Lambda
			var vs []View
			for _, v := range c.Views {
				vs = append(vs, views[v])
			}
			m, err := newModel(vs, g.Classes, cfg)
			if err != nil {
				t.Fatal(err)
			}
			tensors := m.tensors()
			if len(tensors) != len(c.Params) {
				t.Fatalf("%d weight tensors, PyTorch has %d", len(tensors), len(c.Params))
			}
			for i, p := range c.Params {
				if len(p) != len(tensors[i].w) {
					t.Fatalf("tensor %d has %d values, PyTorch's %d", i, len(tensors[i].w), len(p))
				}
				copy(tensors[i].w, p)
			}
			loss := m.step(g.Y, g.Labeled, true, true, make([]float64, g.N*g.Classes))
			if !closeTo(loss, c.Loss, 1e-12) {
				t.Fatalf("loss %.15g, PyTorch %.15g", loss, c.Loss)
			}
			for i, want := range c.Grads {
				for j, w := range want {
					if got := tensors[i].g[j]; !closeTo(got, w, 1e-10) {
						t.Fatalf("gradient of tensor %d [%d] = %.15g, PyTorch %.15g", i, j, got, w)
					}
				}
			}
		})
	}
}
