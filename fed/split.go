package fed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/trustml/trustml/data"
)

// Shard is one client's data: its training samples and a test set drawn
// with the label distribution of its training samples (personalized test
// accuracy).
type Shard struct {
	Train, Test *data.Dataset
}

// SplitConfig configures [DirichletSplit].
type SplitConfig struct {
	// Clients is the number of clients.
	Clients int
	// Alpha is the concentration of the Dirichlet label split: each class
	// is divided among the clients in proportions drawn from Dir(α·1);
	// small α gives each client few classes, large α approaches i.i.d.
	Alpha float64
	// MinSamples is the least training samples a client may get; draws
	// that give a client fewer are redrawn (at most 100 times).
	MinSamples int
	// TestPerClient is the size of each client's test set.
	TestPerClient int
	// Seed seeds the draws.
	Seed uint64
}

// DirichletSplit divides train among cfg.Clients clients by the Dirichlet
// label split (for each class c, proportions p_c ~ Dir(α·1) over clients;
// the class's samples, shuffled, are cut in those proportions) and draws
// each client a test set of cfg.TestPerClient samples from test whose
// class counts follow the client's training label distribution (largest
// remainder rounding; samples of a class are drawn without replacement, or
// with replacement when the class has fewer test samples than needed).
func DirichletSplit(train, test *data.Dataset, cfg SplitConfig) ([]Shard, error) {
	if cfg.Clients < 1 {
		return nil, fmt.Errorf("fed: %d clients, want ≥ 1", cfg.Clients)
	}
	if !(cfg.Alpha > 0) || math.IsInf(cfg.Alpha, 0) {
		return nil, fmt.Errorf("fed: Dirichlet α %g, want a finite number > 0", cfg.Alpha)
	}
	if cfg.TestPerClient < 1 {
		return nil, fmt.Errorf("fed: %d test samples per client, want ≥ 1", cfg.TestPerClient)
	}
	if train.Y == nil || test.Y == nil {
		return nil, fmt.Errorf("fed: data set %s has no class labels: federated classification needs a labeled set", train.Name)
	}
	k := len(train.Classes)
	if k < 2 || len(test.Classes) != k {
		return nil, fmt.Errorf("fed: data set %s has %d train and %d test classes, want the same ≥ 2", train.Name, k, len(test.Classes))
	}
	minS := max(cfg.MinSamples, 1)
	if train.Len() < cfg.Clients*minS {
		return nil, fmt.Errorf("fed: %d training samples for %d clients of at least %d samples each", train.Len(), cfg.Clients, minS)
	}
	byClass := func(d *data.Dataset) [][]int {
		out := make([][]int, k)
		for i, y := range d.Y {
			out[y] = append(out[y], i)
		}
		return out
	}
	trainBy, testBy := byClass(train), byClass(test)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xfed))
	gamma := distuv.Gamma{Alpha: cfg.Alpha, Beta: 1, Src: rng}
	var idx [][]int
	ok := false
	for try := 0; try < 100 && !ok; try++ {
		idx = make([][]int, cfg.Clients)
		for c := range k {
			rows := slices.Clone(trainBy[c])
			rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
			p := make([]float64, cfg.Clients)
			var s float64
			for j := range p {
				p[j] = gamma.Rand()
				s += p[j]
			}
			if !(s > 0) { // every draw underflowed (tiny α): give the class to one client
				p[rng.IntN(cfg.Clients)], s = 1, 1
			}
			cum, lo := 0.0, 0
			for j := range p {
				cum += p[j] / s
				hi := int(math.Round(cum * float64(len(rows))))
				if j == cfg.Clients-1 {
					hi = len(rows)
				}
				hi = min(max(hi, lo), len(rows))
				idx[j] = append(idx[j], rows[lo:hi]...)
				lo = hi
			}
		}
		ok = true
		for _, r := range idx {
			if len(r) < minS {
				ok = false
			}
		}
	}
	if !ok {
		return nil, fmt.Errorf("fed: 100 Dirichlet(α=%g) draws each left a client with fewer than %d samples: raise --alpha or the data, or lower --clients", cfg.Alpha, minS)
	}
	shards := make([]Shard, cfg.Clients)
	for j, rows := range idx {
		slices.Sort(rows)
		rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
		counts := make([]int, k)
		for _, i := range rows {
			counts[train.Y[i]]++
		}
		var tIdx []int
		for c, n := range apportion(counts, cfg.TestPerClient) {
			pool := testBy[c]
			if n == 0 {
				continue
			}
			if len(pool) == 0 {
				return nil, fmt.Errorf("fed: client %d needs %d test samples of class %d, which the test split lacks", j, n, c)
			}
			if n <= len(pool) {
				for _, p := range rng.Perm(len(pool))[:n] {
					tIdx = append(tIdx, pool[p])
				}
			} else {
				for range n {
					tIdx = append(tIdx, pool[rng.IntN(len(pool))])
				}
			}
		}
		shards[j] = Shard{Train: train.Subset(rows), Test: test.Subset(tIdx)}
	}
	return shards, nil
}

// apportion divides total in proportion to counts by the largest
// remainder method.
func apportion(counts []int, total int) []int {
	var n int
	for _, c := range counts {
		n += c
	}
	out := make([]int, len(counts))
	if n == 0 {
		return out
	}
	type rem struct {
		i int
		r float64
	}
	rs := make([]rem, len(counts))
	left := total
	for i, c := range counts {
		q := float64(c) * float64(total) / float64(n)
		out[i] = int(q)
		left -= out[i]
		rs[i] = rem{i, q - float64(out[i])}
	}
	slices.SortStableFunc(rs, func(a, b rem) int {
		switch {
		case a.r > b.r:
			return -1
		case a.r < b.r:
			return 1
		}
		return 0
	})
	for i := 0; i < left; i++ {
		out[rs[i].i]++
	}
	return out
}
