package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SymmetricLabelNoise returns a copy of d in which exactly round(rate·n)
// samples, chosen uniformly at random, have their label replaced by a
// different class drawn uniformly from the other k−1 classes ("symmetric"
// label noise, as in the noisy-label experiments of the flat-minima papers).
// So rate is the exact fraction of wrong labels. It also returns the indices
// of the corrupted samples, in increasing order. The draw depends only on
// seed, so the same seed corrupts the same samples the same way.
func SymmetricLabelNoise(d *Dataset, rate float64, seed uint64) (*Dataset, []int, error) {
	switch {
	case d.Y == nil:
		return nil, nil, fmt.Errorf("data: label noise needs a labeled classification set, %s has no class labels", d.Name)
	case !(rate >= 0 && rate <= 1):
		return nil, nil, fmt.Errorf("data: label-noise rate must be in [0, 1], got %g", rate)
	case rate > 0 && len(d.Classes) < 2:
		return nil, nil, fmt.Errorf("data: label noise needs at least 2 classes, %s has %d", d.Name, len(d.Classes))
	}
	out := d.Clone()
	n := len(out.Y)
	m := int(math.Round(rate * float64(n)))
	if m == 0 {
		return out, nil, nil
	}
	k := len(out.Classes)
	r := rand.New(rand.NewPCG(seed, 0x9015e))
	perm := r.Perm(n)[:m]
	flipped := make([]bool, n)
	for _, i := range perm {
		c := r.IntN(k - 1)
		if c >= out.Y[i] {
			c++ // skip the true class
		}
		out.Y[i] = c
		flipped[i] = true
	}
	idx := make([]int, 0, m)
	for i, f := range flipped {
		if f {
			idx = append(idx, i)
		}
	}
	out.Name = fmt.Sprintf("%s+noise%g", d.Name, rate)
	return out, idx, nil
}
