package hgnn

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
)

// ErrHypergraph is wrapped by the errors of an invalid hypergraph (a node
// index out of range, an empty hyperedge, a non-positive weight).
var ErrHypergraph = errors.New("hgnn: invalid hypergraph")

// Hypergraph is a weighted hypergraph on nodes 0..N-1: each hyperedge is a
// set of nodes. Its incidence matrix H (N×M) has H[v][e] = 1 when node v is
// in hyperedge e.
type Hypergraph struct {
	// N is the number of nodes.
	N int
	// Edges holds the nodes of each hyperedge, without repeats.
	Edges [][]int
	// Weights are the hyperedge weights (the diagonal of W), all positive;
	// nil means every weight is 1.
	Weights []float64
}

// Validate checks the node indices, that no hyperedge is empty or repeats
// a node, and the weights.
func (h *Hypergraph) Validate() error {
	if h.N < 1 {
		return fmt.Errorf("%w: %d nodes", ErrHypergraph, h.N)
	}
	if h.Weights != nil && len(h.Weights) != len(h.Edges) {
		return fmt.Errorf("%w: %d weights for %d hyperedges", ErrHypergraph, len(h.Weights), len(h.Edges))
	}
	seen := make([]int, h.N)
	for e, nodes := range h.Edges {
		if len(nodes) == 0 {
			return fmt.Errorf("%w: hyperedge %d is empty", ErrHypergraph, e)
		}
		for _, v := range nodes {
			if v < 0 || v >= h.N {
				return fmt.Errorf("%w: hyperedge %d has node %d, want 0..%d", ErrHypergraph, e, v, h.N-1)
			}
			if seen[v] == e+1 {
				return fmt.Errorf("%w: hyperedge %d has node %d twice", ErrHypergraph, e, v)
			}
			seen[v] = e + 1
		}
		if h.Weights != nil {
			if w := h.Weights[e]; !(w > 0) || math.IsInf(w, 0) {
				return fmt.Errorf("%w: hyperedge %d has weight %v, want a positive finite number", ErrHypergraph, e, w)
			}
		}
	}
	return nil
}

// weight returns the weight of hyperedge e.
func (h *Hypergraph) weight(e int) float64 {
	if h.Weights == nil {
		return 1
	}
	return h.Weights[e]
}

// KNN builds the k-nearest-neighbour hypergraph of the rows of x, as HGNN
// (Feng et al., 2019) and ResMHGNN do: one hyperedge per node, holding the
// node and its k nearest other rows in Euclidean distance (ties broken by
// the lower index), all weights 1.
func KNN(x *mat.Dense, k int) (*Hypergraph, error) {
	n, d := x.Dims()
	if k < 1 || k >= n {
		return nil, fmt.Errorf("hgnn: k-NN hypergraph: k = %d, want 1..%d for %d rows", k, n-1, n)
	}
	raw := x.RawMatrix()
	g := make([]float64, n*n)
	linalg.Dgemm(false, true, n, n, d, 1, raw.Data, raw.Stride, raw.Data, raw.Stride, 0, g, n)
	sq := make([]float64, n)
	for i := range n {
		sq[i] = g[i*n+i]
	}
	h := &Hypergraph{N: n, Edges: make([][]int, n)}
	best := make([]int, 0, k)      // the k nearest so far, nearest first
	bestD := make([]float64, 0, k) // their squared distances
	for i := range n {
		best, bestD = best[:0], bestD[:0]
		for j := range n {
			dist := sq[i] + sq[j] - 2*g[i*n+j]
			if math.IsNaN(dist) {
				return nil, fmt.Errorf("hgnn: k-NN hypergraph: row %d or %d is not finite", i, j)
			}
			if j == i || (len(best) == k && dist >= bestD[k-1]) {
				continue
			}
			// insert after the entries at most as far (ties: lower index first)
			p := len(best)
			for p > 0 && bestD[p-1] > dist {
				p--
			}
			if len(best) < k {
				best, bestD = append(best, 0), append(bestD, 0)
			}
			copy(best[p+1:], best[p:len(best)-1])
			copy(bestD[p+1:], bestD[p:len(bestD)-1])
			best[p], bestD[p] = j, dist
		}
		h.Edges[i] = append([]int{i}, best...)
	}
	return h, nil
}

// Categorical builds one hyperedge per distinct value of a categorical
// column (in sorted order of the values), holding the nodes with that
// value; the empty string marks a missing value, whose node joins no
// hyperedge.
func Categorical(values []string) (*Hypergraph, error) {
	if len(values) == 0 {
		return nil, fmt.Errorf("hgnn: categorical hypergraph: no values")
	}
	byValue := map[string][]int{}
	for i, v := range values {
		if v != "" {
			byValue[v] = append(byValue[v], i)
		}
	}
	keys := make([]string, 0, len(byValue))
	for k := range byValue {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := &Hypergraph{N: len(values)}
	for _, k := range keys {
		h.Edges = append(h.Edges, byValue[k])
	}
	return h, nil
}

// WithSelfLoops returns a copy of h with a hyperedge {v} of weight 1 added
// for every node v, as the ResMHGNN code does, so that no node is isolated.
func (h *Hypergraph) WithSelfLoops() *Hypergraph {
	out := &Hypergraph{N: h.N, Edges: slices.Clone(h.Edges)}
	if h.Weights != nil {
		out.Weights = slices.Clone(h.Weights)
	}
	for v := range h.N {
		out.Edges = append(out.Edges, []int{v})
		if out.Weights != nil {
			out.Weights = append(out.Weights, 1)
		}
	}
	return out
}

// Concat joins hypergraphs on the same nodes into one whose hyperedges
// are all of theirs (HGNN's "hyperedge concatenation" of several
// modalities).
func Concat(hs ...*Hypergraph) (*Hypergraph, error) {
	if len(hs) == 0 {
		return nil, fmt.Errorf("hgnn: concat: no hypergraphs")
	}
	out := &Hypergraph{N: hs[0].N}
	weighted := false
	for _, h := range hs {
		weighted = weighted || h.Weights != nil
	}
	for i, h := range hs {
		if h.N != out.N {
			return nil, fmt.Errorf("hgnn: concat: hypergraph %d has %d nodes, hypergraph 0 has %d", i, h.N, out.N)
		}
		out.Edges = append(out.Edges, h.Edges...)
		if weighted {
			for e := range h.Edges {
				out.Weights = append(out.Weights, h.weight(e))
			}
		}
	}
	return out, nil
}

// Sparse is a square matrix in compressed sparse row form.
type Sparse struct {
	N      int
	RowPtr []int // row i's entries are Col[RowPtr[i]:RowPtr[i+1]]
	Col    []int
	Val    []float64
}

// MulTo sets dst (N×c, row-major) to the product of the matrix with x
// (N×c, row-major); dst and x must not overlap.
func (s *Sparse) MulTo(dst, x []float64, c int) {
	for i := range s.N {
		row := dst[i*c : (i+1)*c]
		clear(row)
		for p := s.RowPtr[i]; p < s.RowPtr[i+1]; p++ {
			v, xr := s.Val[p], x[s.Col[p]*c:(s.Col[p]+1)*c]
			for j, xv := range xr {
				row[j] += v * xv
			}
		}
	}
}

// Dense returns the matrix as a dense N×N one.
func (s *Sparse) Dense() *mat.Dense {
	d := mat.NewDense(s.N, s.N, nil)
	for i := range s.N {
		for p := s.RowPtr[i]; p < s.RowPtr[i+1]; p++ {
			d.Set(i, s.Col[p], s.Val[p])
		}
	}
	return d
}

// Propagation returns HGNN's normalized propagation matrix
//
//	P = D_v^{-1/2} H W D_e^{-1} Hᵀ D_v^{-1/2},
//
// with D_v the weighted node degrees (Σ_e w(e) H[v][e]) and D_e the
// hyperedge sizes. P is symmetric positive semi-definite with eigenvalues
// in [0, 1] (D_v^{-1} H W D_e^{-1} Hᵀ, similar to P, is row-stochastic);
// the row and column of a node in no hyperedge are zero.
func (h *Hypergraph) Propagation() (*Sparse, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	dv := make([]float64, h.N)
	member := make([][]int, h.N) // hyperedges of each node
	for e, nodes := range h.Edges {
		for _, v := range nodes {
			dv[v] += h.weight(e)
			member[v] = append(member[v], e)
		}
	}
	for v := range dv {
		if dv[v] > 0 {
			dv[v] = 1 / math.Sqrt(dv[v])
		}
	}
	s := &Sparse{N: h.N, RowPtr: make([]int, h.N+1)}
	acc := make([]float64, h.N)
	mark := make([]bool, h.N)
	var touched []int
	for u := range h.N {
		touched = touched[:0]
		for _, e := range member[u] {
			c := h.weight(e) / float64(len(h.Edges[e]))
			for _, v := range h.Edges[e] {
				if !mark[v] {
					mark[v] = true
					touched = append(touched, v)
				}
				acc[v] += c
			}
		}
		slices.Sort(touched)
		for _, v := range touched {
			s.Col = append(s.Col, v)
			s.Val = append(s.Val, acc[v]*dv[u]*dv[v])
			acc[v], mark[v] = 0, false
		}
		s.RowPtr[u+1] = len(s.Col)
	}
	return s, nil
}
