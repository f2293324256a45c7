package dekrr

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// ErrDisconnected is returned for a topology whose graph is not connected:
// consensus cannot reach nodes in another component.
var ErrDisconnected = errors.New("dekrr: topology is disconnected")

// Graph is an undirected graph of nodes given by one-hop neighbour lists.
type Graph struct {
	Neighbors [][]int
}

// Ring links each of J nodes to k/2 nodes on each side (k even, ≥ 2).
func Ring(J, k int) Graph {
	g := Graph{Neighbors: make([][]int, J)}
	for j := range J {
		for s := 1; s <= k/2 && s < J; s++ {
			for _, i := range []int{(j + s) % J, (j - s + J) % J} {
				if i != j && !slices.Contains(g.Neighbors[j], i) {
					g.Neighbors[j] = append(g.Neighbors[j], i)
				}
			}
		}
		slices.Sort(g.Neighbors[j])
	}
	return g
}

// Random is an Erdős–Rényi graph: each pair of J nodes is linked with
// probability p. It may be disconnected; see [Graph.Validate].
func Random(J int, p float64, rng *rand.Rand) Graph {
	g := Graph{Neighbors: make([][]int, J)}
	for j := range J {
		for i := j + 1; i < J; i++ {
			if rng.Float64() < p {
				g.Neighbors[j] = append(g.Neighbors[j], i)
				g.Neighbors[i] = append(g.Neighbors[i], j)
			}
		}
	}
	for j := range g.Neighbors {
		slices.Sort(g.Neighbors[j])
	}
	return g
}

// randomDraws is how many Erdős–Rényi graphs ParseTopology draws looking
// for a connected one.
const randomDraws = 100

// ParseTopology makes the graph of J nodes named by spec: "ring" (two
// neighbours), "ring:k" (k neighbours), or "random:p" (Erdős–Rényi with
// link probability p, drawn from seed and conditioned on being connected:
// up to randomDraws draws are tried). The graph is validated: a
// disconnected one is an error wrapping [ErrDisconnected].
func ParseTopology(spec string, J int, seed uint64) (Graph, error) {
	if J < 2 {
		return Graph{}, fmt.Errorf("dekrr: %d nodes, want at least 2", J)
	}
	name, arg, hasArg := strings.Cut(spec, ":")
	var g Graph
	switch name {
	case "ring":
		k := 2
		if hasArg {
			v, err := strconv.Atoi(arg)
			if err != nil || v < 2 || v%2 != 0 {
				return Graph{}, fmt.Errorf("dekrr: topology %q: want ring:k with k an even number ≥ 2", spec)
			}
			k = v
		}
		g = Ring(J, k)
	case "random":
		p, err := strconv.ParseFloat(arg, 64)
		if !hasArg || err != nil || !(p > 0 && p <= 1) {
			return Graph{}, fmt.Errorf("dekrr: topology %q: want random:p with 0 < p ≤ 1", spec)
		}
		rng := rand.New(rand.NewPCG(seed, 0x70b0))
		for range randomDraws {
			if g = Random(J, p, rng); g.Validate() == nil {
				break
			}
		}
	default:
		return Graph{}, fmt.Errorf("dekrr: unknown topology %q (want ring, ring:k or random:p)", spec)
	}
	if err := g.Validate(); err != nil {
		return Graph{}, fmt.Errorf("topology %q with %d nodes: %w", spec, J, err)
	}
	return g, nil
}

// Validate checks that the graph is symmetric, has no self-loops or
// out-of-range nodes, and is connected.
func (g Graph) Validate() error {
	J := len(g.Neighbors)
	if J == 0 {
		return errors.New("dekrr: empty graph")
	}
	for j, nb := range g.Neighbors {
		for _, i := range nb {
			if i < 0 || i >= J || i == j {
				return fmt.Errorf("dekrr: node %d has neighbour %d (want 0..%d, not itself)", j, i, J-1)
			}
			if !slices.Contains(g.Neighbors[i], j) {
				return fmt.Errorf("dekrr: link %d→%d has no reverse link", j, i)
			}
		}
	}
	seen := make([]bool, J)
	stack := []int{0}
	seen[0] = true
	for len(stack) > 0 {
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, i := range g.Neighbors[j] {
			if !seen[i] {
				seen[i] = true
				stack = append(stack, i)
			}
		}
	}
	if n := slices.Index(seen, false); n >= 0 {
		return fmt.Errorf("%w: node %d cannot be reached from node 0", ErrDisconnected, n)
	}
	return nil
}

// Edges is the number of undirected links.
func (g Graph) Edges() int {
	n := 0
	for _, nb := range g.Neighbors {
		n += len(nb)
	}
	return n / 2
}
