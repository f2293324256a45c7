package data

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Dataset is a set of samples with class labels (classification), float
// targets (regression) or neither (unlabeled inputs).
//
// Samples are stored in one flat row-major slice: sample i is
// X[i*SampleSize() : (i+1)*SampleSize()], laid out in Shape (for images
// C×H×W, the NCHW order of package model). Image values are scaled to [0, 1].
type Dataset struct {
	// Name is the dataset's name, such as "fashion-mnist-small" or a file name.
	Name string
	// Shape is the shape of one sample: [C H W] for images ([1 28 28] for
	// Fashion-MNIST), [D] for tabular data.
	Shape []int
	// X holds Len()*SampleSize() values, row-major.
	X []float32
	// X64 optionally holds the same values as X in float64, as parsed from
	// a text file (see [CSVOptions].Float64) or the embedded tabular sets,
	// for code that computes in float64 ([Dataset.Float64]); nil when not
	// kept. Code that changes X must change or drop X64.
	X64 []float64
	// Y holds the class label of each sample, in [0, len(Classes)); nil for
	// regression and unlabeled sets.
	Y []int
	// Target holds the regression target of each sample; nil for
	// classification and unlabeled sets.
	Target []float64
	// Classes names the classes; nil for regression and unlabeled sets.
	Classes []string
	// Features optionally names the features of tabular data (len
	// SampleSize()); nil when unnamed.
	Features []string
	// Source is the provenance in one line: a file path or "embedded: ...".
	Source string
}

// SampleSize is the number of values in one sample, the product of Shape.
// It is 0 for an empty Shape.
func (d *Dataset) SampleSize() int {
	if len(d.Shape) == 0 {
		return 0
	}
	s := 1
	for _, v := range d.Shape {
		s *= v
	}
	return s
}

// Len is the number of samples.
func (d *Dataset) Len() int {
	s := d.SampleSize()
	if s <= 0 {
		return 0
	}
	return len(d.X) / s
}

// Row returns sample i as a slice of X (not a copy; its capacity ends at the
// sample, so appending to it cannot overwrite the next sample). It panics if
// i is out of range, like slice indexing.
func (d *Dataset) Row(i int) []float32 {
	s := d.SampleSize()
	if i < 0 || i >= d.Len() {
		panic(fmt.Sprintf("data: Row(%d) out of range [0, %d)", i, d.Len()))
	}
	return d.X[i*s : (i+1)*s : (i+1)*s]
}

// IsRegression reports whether d has regression targets.
func (d *Dataset) IsRegression() bool { return d.Target != nil }

// IsLabeled reports whether d has class labels.
func (d *Dataset) IsLabeled() bool { return d.Y != nil }

// Head returns the first n samples of d as a copy, or d itself when n ≤ 0
// or n ≥ d.Len() (a limit of 0 means no limit).
func (d *Dataset) Head(n int) *Dataset {
	if n <= 0 || n >= d.Len() {
		return d
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return d.Subset(idx)
}

// Subset returns a new dataset holding copies of the samples idx, in that
// order (indices may repeat). It panics if an index is out of range, like
// slice indexing.
func (d *Dataset) Subset(idx []int) *Dataset {
	s := d.SampleSize()
	n := d.Len()
	out := d.header()
	out.X = make([]float32, len(idx)*s)
	if d.X64 != nil {
		out.X64 = make([]float64, len(idx)*s)
	}
	if d.Y != nil {
		out.Y = make([]int, len(idx))
	}
	if d.Target != nil {
		out.Target = make([]float64, len(idx))
	}
	for j, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("data: Subset index %d out of range [0, %d)", i, n))
		}
		copy(out.X[j*s:(j+1)*s], d.X[i*s:(i+1)*s])
		if out.X64 != nil {
			copy(out.X64[j*s:(j+1)*s], d.X64[i*s:(i+1)*s])
		}
		if d.Y != nil {
			out.Y[j] = d.Y[i]
		}
		if d.Target != nil {
			out.Target[j] = d.Target[i]
		}
	}
	return out
}

// Clone returns a deep copy of d.
func (d *Dataset) Clone() *Dataset {
	out := d.header()
	out.X = clone(d.X)
	out.X64 = clone(d.X64)
	out.Y = clone(d.Y)
	out.Target = clone(d.Target)
	return out
}

// header copies everything but the samples.
func (d *Dataset) header() *Dataset {
	return &Dataset{
		Name:     d.Name,
		Shape:    clone(d.Shape),
		Classes:  clone(d.Classes),
		Features: clone(d.Features),
		Source:   d.Source,
	}
}

// clone copies s, keeping nil as nil.
func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// Validate checks that d is consistent: a non-empty Shape of positive
// dimensions, a whole number of samples in X, labels or targets (not both)
// for every sample, labels in [0, len(Classes)), and finite values.
func (d *Dataset) Validate() error {
	name := d.Name
	if name == "" {
		name = "dataset"
	}
	if len(d.Shape) == 0 {
		return fmt.Errorf("data: %s: empty shape", name)
	}
	for _, v := range d.Shape {
		if v <= 0 {
			return fmt.Errorf("data: %s: shape %v has a non-positive dimension", name, d.Shape)
		}
	}
	s := d.SampleSize()
	if len(d.X)%s != 0 {
		return fmt.Errorf("data: %s: %d values are not a whole number of samples of shape %v (size %d)", name, len(d.X), d.Shape, s)
	}
	n := len(d.X) / s
	if d.X64 != nil && len(d.X64) != len(d.X) {
		return fmt.Errorf("data: %s: %d float64 values for %d values", name, len(d.X64), len(d.X))
	}
	if d.Y != nil && d.Target != nil {
		return fmt.Errorf("data: %s: has both class labels and regression targets", name)
	}
	if d.Y != nil {
		if len(d.Y) != n {
			return fmt.Errorf("data: %s: %d labels for %d samples", name, len(d.Y), n)
		}
		if len(d.Classes) == 0 {
			return fmt.Errorf("data: %s: labels but no class names", name)
		}
		for i, y := range d.Y {
			if y < 0 || y >= len(d.Classes) {
				return fmt.Errorf("data: %s: sample %d: label %d out of range [0, %d)", name, i, y, len(d.Classes))
			}
		}
	}
	if d.Target != nil {
		if len(d.Target) != n {
			return fmt.Errorf("data: %s: %d targets for %d samples", name, len(d.Target), n)
		}
		for i, t := range d.Target {
			if math.IsNaN(t) || math.IsInf(t, 0) {
				return fmt.Errorf("data: %s: sample %d: non-finite target %v", name, i, t)
			}
		}
	}
	if d.Features != nil && len(d.Features) != s {
		return fmt.Errorf("data: %s: %d feature names for sample size %d", name, len(d.Features), s)
	}
	for i, v := range d.X {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("data: %s: sample %d, value %d: non-finite %v", name, i/s, i%s, v)
		}
	}
	return nil
}

// ClassCounts returns the number of samples of each class, indexed by label;
// nil for regression and unlabeled sets.
func (d *Dataset) ClassCounts() []int {
	if d.Y == nil {
		return nil
	}
	c := make([]int, len(d.Classes))
	for _, y := range d.Y {
		if y >= 0 && y < len(c) {
			c[y]++
		}
	}
	return c
}

// Float64 returns the samples as a new n×D gonum matrix of float64 (D =
// SampleSize()), for the kernel and linear-algebra code: a copy of X64 when
// it is kept, else of X. It returns nil for an empty dataset, since gonum
// has no 0×D matrices.
func (d *Dataset) Float64() *mat.Dense {
	n, s := d.Len(), d.SampleSize()
	if n == 0 || s == 0 {
		return nil
	}
	v := make([]float64, n*s)
	if len(d.X64) == len(d.X) {
		copy(v, d.X64)
		return mat.NewDense(n, s, v)
	}
	for i, x := range d.X[:n*s] {
		v[i] = float64(x)
	}
	return mat.NewDense(n, s, v)
}

// ValueRange returns the smallest and largest value in X; ok is false when X
// is empty.
func (d *Dataset) ValueRange() (lo, hi float32, ok bool) {
	if len(d.X) == 0 {
		return 0, 0, false
	}
	lo, hi = d.X[0], d.X[0]
	for _, v := range d.X[1:] {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return lo, hi, true
}

// Split selects the training or the test part of a dataset that comes with an
// official split.
type Split int

// The splits of a dataset.
const (
	Train Split = iota // the training split
	Test               // the test split
)

// String returns "train" or "test".
func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Test:
		return "test"
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

// ParseSplit parses "train" or "test".
func ParseSplit(s string) (Split, error) {
	switch s {
	case "train":
		return Train, nil
	case "test":
		return Test, nil
	}
	return 0, fmt.Errorf("data: unknown split %q (want train or test)", s)
}

// errEmpty is returned by operations that need at least one sample.
var errEmpty = errors.New("data: empty dataset")

// Set parses s as [ParseSplit] does, so a *Split is a command-line flag
// value.
func (s *Split) Set(v string) (err error) {
	*s, err = ParseSplit(v)
	return err
}

// Type names the flag value's syntax in help text.
func (*Split) Type() string { return "train|test" }
