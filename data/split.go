package data

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Stream constants of the PCG generators, so that a split and a sample with
// the same seed draw different random numbers.
const (
	streamSplit  = 0x7472757374736c74 // "trustslt"
	streamSample = 0x74727573746d706c // "trustmpl"
)

// StratifiedSplit splits d into a training and a test set, with
// round(testFraction·Len()) test samples drawn at random with the given seed.
// For a labeled set the split is stratified: every class is split in the same
// proportion, within one sample (see [StratifiedSplitIndices]); for regression
// and unlabeled sets it is a plain random split. The same seed gives the same
// split. Both sets are copies, their samples in random order.
func StratifiedSplit(d *Dataset, testFraction float64, seed uint64) (train, test *Dataset, err error) {
	tr, te, err := StratifiedSplitIndices(d, testFraction, seed)
	if err != nil {
		return nil, nil, err
	}
	return d.Subset(tr), d.Subset(te), nil
}

// StratifiedSplitIndices is [StratifiedSplit] returning the indices into d of
// the training and test samples.
//
// The test set takes floor(testFraction·n_c) samples of each class c, chosen
// at random, and the samples left to reach round(testFraction·Len()) go one
// each to the classes with the largest remainders testFraction·n_c −
// floor(testFraction·n_c), ties to the lower class. Both index lists are then
// shuffled.
func StratifiedSplitIndices(d *Dataset, testFraction float64, seed uint64) (train, test []int, err error) {
	n := d.Len()
	if n < 2 {
		return nil, nil, fmt.Errorf("data: split %s: %d samples, need at least 2", d.Name, n)
	}
	if !(testFraction > 0 && testFraction < 1) {
		return nil, nil, fmt.Errorf("data: split %s: test fraction %v not in (0, 1)", d.Name, testFraction)
	}
	nTest := int(math.Round(testFraction * float64(n)))
	if nTest < 1 || nTest > n-1 {
		return nil, nil, fmt.Errorf("data: split %s: test fraction %v of %d samples leaves an empty training or test set", d.Name, testFraction, n)
	}
	if d.Y != nil && len(d.Y) != n {
		return nil, nil, fmt.Errorf("data: split %s: %d labels for %d samples", d.Name, len(d.Y), n)
	}
	r := rand.New(rand.NewPCG(seed, streamSplit))
	if d.Y == nil {
		perm := r.Perm(n)
		return perm[nTest:], perm[:nTest], nil
	}
	byClass, err := classIndices(d)
	if err != nil {
		return nil, nil, err
	}
	k := len(byClass)
	quota := make([]int, k)
	rem := make([]float64, k)
	left := nTest
	for c, idx := range byClass {
		q := testFraction * float64(len(idx))
		quota[c] = int(math.Floor(q))
		rem[c] = q - math.Floor(q)
		left -= quota[c]
	}
	order := make([]int, k)
	for c := range order {
		order[c] = c
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for _, c := range order {
		if left <= 0 {
			break
		}
		if quota[c] < len(byClass[c]) && rem[c] > 0 {
			quota[c]++
			left--
		}
	}
	// Rounding of testFraction·n_c can leave a sample over; give it to any
	// class with room, so that the test set has exactly nTest samples.
	for _, c := range order {
		if left <= 0 {
			break
		}
		if quota[c] < len(byClass[c])-1 {
			quota[c]++
			left--
		}
	}
	train = make([]int, 0, n-nTest)
	test = make([]int, 0, nTest)
	for c, idx := range byClass {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		test = append(test, idx[:quota[c]]...)
		train = append(train, idx[quota[c]:]...)
	}
	r.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	r.Shuffle(len(test), func(i, j int) { test[i], test[j] = test[j], test[i] })
	return train, test, nil
}

// classIndices lists the indices of each class's samples, ascending.
func classIndices(d *Dataset) ([][]int, error) {
	byClass := make([][]int, len(d.Classes))
	for i, y := range d.Y {
		if y < 0 || y >= len(byClass) {
			return nil, fmt.Errorf("data: %s: sample %d: label %d out of range [0, %d)", d.Name, i, y, len(byClass))
		}
		byClass[y] = append(byClass[y], i)
	}
	return byClass, nil
}

// StratifiedSample draws perClass samples of every class of d at random with
// the given seed and returns them as a copy in stratified-shuffled order (see
// [StratifiedSampleIndices]). It fails if a class has fewer than perClass
// samples or d has no class labels.
func StratifiedSample(d *Dataset, perClass int, seed uint64) (*Dataset, error) {
	idx, err := StratifiedSampleIndices(d, perClass, seed)
	if err != nil {
		return nil, err
	}
	return d.Subset(idx), nil
}

// StratifiedSampleIndices is [StratifiedSample] returning the indices into d
// of the drawn samples.
//
// Each class's indices are shuffled and the first perClass taken; the result
// is then laid out in rounds of K = len(Classes) samples, one of each class in
// a random order, so that any prefix of the result is balanced to within one
// sample per class. The embedded Fashion-MNIST subset was drawn with this
// function (data/internal/mkembed), so changing it changes that subset.
func StratifiedSampleIndices(d *Dataset, perClass int, seed uint64) ([]int, error) {
	if d.Y == nil {
		return nil, fmt.Errorf("data: stratified sample of %s: no class labels", d.Name)
	}
	if perClass < 1 {
		return nil, fmt.Errorf("data: stratified sample of %s: %d samples per class, want at least 1", d.Name, perClass)
	}
	byClass, err := classIndices(d)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, streamSample))
	for c, idx := range byClass {
		if len(idx) < perClass {
			return nil, fmt.Errorf("data: stratified sample of %s: class %d (%s) has %d samples, fewer than %d", d.Name, c, d.Classes[c], len(idx), perClass)
		}
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	out := make([]int, 0, perClass*len(byClass))
	for j := range perClass {
		for _, c := range r.Perm(len(byClass)) {
			out = append(out, byClass[c][j])
		}
	}
	return out, nil
}
