package hgnn

import (
	"math/rand/v2"
	"slices"
)

// SampleLabels draws perClass labeled nodes of each class of y (all of a
// class's nodes when it has fewer), with the seed, in increasing order.
func SampleLabels(y []int, perClass int, seed uint64) []int {
	byClass := map[int][]int{}
	for i, c := range y {
		byClass[c] = append(byClass[c], i)
	}
	r := rand.New(rand.NewPCG(seed, 0x6c61626c))
	classes := make([]int, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	var out []int
	for _, c := range classes {
		idx := byClass[c]
		r.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		out = append(out, idx[:min(perClass, len(idx))]...)
	}
	slices.Sort(out)
	return out
}

// Unlabeled returns the nodes 0..n-1 not in labeled (sorted).
func Unlabeled(n int, labeled []int) []int {
	in := make([]bool, n)
	for _, i := range labeled {
		in[i] = true
	}
	var out []int
	for i := range n {
		if !in[i] {
			out = append(out, i)
		}
	}
	return out
}

// Accuracy is the fraction of the nodes idx whose prediction equals y.
func Accuracy(pred, y, idx []int) float64 {
	if len(idx) == 0 {
		return 0
	}
	hit := 0
	for _, i := range idx {
		if pred[i] == y[i] {
			hit++
		}
	}
	return float64(hit) / float64(len(idx))
}
