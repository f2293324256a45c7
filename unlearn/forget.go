package unlearn

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/trustml/trustml/data"
)

// ErrForget is wrapped by every error about a forget specification or the
// split it makes: a malformed spec, one that selects no sample or every
// sample of the training set, or a forget set that overlaps the test set.
var ErrForget = errors.New("unlearn: bad forget set")

// Forget kinds of a [ForgetSpec].
const (
	KindClass    = "class"    // every training sample of one class
	KindRandom   = "random"   // a seeded random fraction of the training set
	KindSubclass = "subclass" // one half of a class, split by brightness
)

// ForgetSpec says which training samples to forget:
//
//   - "class:C": every sample of class C (a number or a class name);
//   - "random:F": a seeded random fraction F in (0, 1) of the samples
//     (stratified by nothing: the paper's sample-wise forgetting);
//   - "subclass:C" or "subclass:C:bright|dark": the sub-class of class C
//     whose images are brighter (default) or at most as bright as the
//     median of the class's training images, brightness being the mean
//     pixel value. Fashion-MNIST has no labelled sub-classes (CIFAR-20 has
//     them); this fixed rule splits, for example, dark from light shirts,
//     and applies the same threshold to the test images, so the retrained
//     model's accuracy on the test images of the sub-class is defined.
type ForgetSpec struct {
	Kind     string  `json:"kind"`
	Class    int     `json:"class,omitempty"`    // class and subclass
	Fraction float64 `json:"fraction,omitempty"` // random
	Bright   bool    `json:"bright,omitempty"`   // subclass: the brighter half
	Text     string  `json:"spec"`               // as given
	name     string  // class name or number as given, resolved by Split
}

// String returns the specification as given.
func (s ForgetSpec) String() string { return s.Text }

// ParseForget parses a forget specification ([ForgetSpec]); class names
// are resolved against a data set's classes by [NewTask].
func ParseForget(text string) (ForgetSpec, error) {
	s := ForgetSpec{Text: text}
	kind, arg, ok := strings.Cut(strings.TrimSpace(text), ":")
	bad := func(format string, args ...any) (ForgetSpec, error) {
		return ForgetSpec{}, fmt.Errorf("%w: forget spec %q: %s (want class:C, random:F or subclass:C[:bright|dark])", ErrForget, text, fmt.Sprintf(format, args...))
	}
	if !ok || arg == "" {
		return bad("missing the argument after the kind")
	}
	s.Kind = kind
	switch kind {
	case KindClass:
		s.name = arg
	case KindSubclass:
		name, half, _ := strings.Cut(arg, ":")
		s.name, s.Bright = name, true
		switch half {
		case "", "bright":
		case "dark":
			s.Bright = false
		default:
			return bad("sub-class half %q is neither bright nor dark", half)
		}
		if name == "" {
			return bad("no class")
		}
	case KindRandom:
		f, err := strconv.ParseFloat(arg, 64)
		if err != nil || math.IsNaN(f) {
			return bad("fraction %q is not a number", arg)
		}
		if f <= 0 || f >= 1 {
			return bad("fraction %g selects nothing or everything; want 0 < F < 1", f)
		}
		s.Fraction = f
	default:
		return bad("unknown kind %q", kind)
	}
	return s, nil
}

// resolveClass turns a class number or name into a class index of d.
func (s *ForgetSpec) resolveClass(d *data.Dataset) error {
	if s.Kind == KindRandom {
		return nil
	}
	if c, err := strconv.Atoi(s.name); err == nil {
		if c < 0 || c >= len(d.Classes) {
			return fmt.Errorf("%w: forget spec %q: class %d outside [0, %d) of %s", ErrForget, s.Text, c, len(d.Classes), d.Name)
		}
		s.Class = c
		return nil
	}
	for i, n := range d.Classes {
		if strings.EqualFold(n, s.name) {
			s.Class = i
			return nil
		}
	}
	return fmt.Errorf("%w: forget spec %q: %s has no class %q (classes: %s)", ErrForget, s.Text, d.Name, s.name, strings.Join(d.Classes, ", "))
}

// Task is an unlearning problem: the training set split into the forget
// set and the retain set, and the test set split by the same rule into the
// test samples like the forgotten ones (TestForget: those of the forgotten
// class or sub-class; empty for random forgetting) and the rest (Test).
type Task struct {
	Spec        ForgetSpec
	Train, Test *data.Dataset
	Forget      []int // indices into Train
	Retain      []int // Train minus Forget
	TestKeep    []int // test samples outside the forgotten class or sub-class (all for random)
	TestForget  []int // test samples of the forgotten class or sub-class
	// Threshold is the brightness that splits a sub-class (its class's
	// median on Train); 0 otherwise.
	Threshold float64 `json:",omitempty"`
}

// brightness is the mean value of a sample.
func brightness(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s / float64(len(x))
}

// NewTask splits train by spec (random forgetting draws with seed) and
// checks the split: the forget set must be neither empty nor all of train,
// and no forget sample may also be in test (identical values), since a
// test set holding forgotten samples measures nothing.
func NewTask(spec ForgetSpec, train, test *data.Dataset, seed uint64) (*Task, error) {
	switch {
	case train == nil || test == nil:
		return nil, fmt.Errorf("unlearn: need a training and a test set")
	case !train.IsLabeled() || !test.IsLabeled():
		return nil, fmt.Errorf("unlearn: %s and %s must have class labels", train.Name, test.Name)
	case !slices.Equal(train.Shape, test.Shape) || len(train.Classes) != len(test.Classes):
		return nil, fmt.Errorf("unlearn: training set %s (shape %v, %d classes) and test set %s (shape %v, %d classes) differ",
			train.Name, train.Shape, len(train.Classes), test.Name, test.Shape, len(test.Classes))
	}
	if err := spec.resolveClass(train); err != nil {
		return nil, err
	}
	t := &Task{Spec: spec, Train: train, Test: test}
	var inForget func(d *data.Dataset, i int) bool
	switch spec.Kind {
	case KindClass:
		inForget = func(d *data.Dataset, i int) bool { return d.Y[i] == spec.Class }
	case KindSubclass:
		var b []float64
		for i, y := range train.Y {
			if y == spec.Class {
				b = append(b, brightness(train.Row(i)))
			}
		}
		if len(b) > 0 {
			slices.Sort(b)
			t.Threshold = b[(len(b)-1)/2]
		}
		inForget = func(d *data.Dataset, i int) bool {
			return d.Y[i] == spec.Class && (brightness(d.Row(i)) > t.Threshold) == spec.Bright
		}
	case KindRandom:
		n := train.Len()
		k := int(math.Round(spec.Fraction * float64(n)))
		perm := rand.New(rand.NewPCG(seed, 0xf0e7)).Perm(n)
		chosen := make([]bool, n)
		for _, i := range perm[:k] {
			chosen[i] = true
		}
		inForget = func(d *data.Dataset, i int) bool { return d == train && chosen[i] }
	default:
		return nil, fmt.Errorf("%w: unknown kind %q", ErrForget, spec.Kind)
	}
	for i := range train.Len() {
		if inForget(train, i) {
			t.Forget = append(t.Forget, i)
		} else {
			t.Retain = append(t.Retain, i)
		}
	}
	switch {
	case len(t.Forget) == 0:
		return nil, fmt.Errorf("%w: forget spec %q selects no sample of %s (%d samples)", ErrForget, spec.Text, train.Name, train.Len())
	case len(t.Retain) == 0:
		return nil, fmt.Errorf("%w: forget spec %q selects all %d samples of %s: nothing would be retained", ErrForget, spec.Text, train.Len(), train.Name)
	}
	for i := range test.Len() {
		if spec.Kind != KindRandom && inForget(test, i) {
			t.TestForget = append(t.TestForget, i)
		} else {
			t.TestKeep = append(t.TestKeep, i)
		}
	}
	if len(t.TestKeep) == 0 {
		return nil, fmt.Errorf("%w: test set %s has no sample outside the forget spec %q", ErrForget, test.Name, spec.Text)
	}
	if err := checkOverlap(train, t.Forget, test); err != nil {
		return nil, fmt.Errorf("%w: forget spec %q: %w", ErrForget, spec.Text, err)
	}
	return t, nil
}

// checkOverlap returns an error naming the first forget sample whose
// values equal those of a test sample.
func checkOverlap(train *data.Dataset, forget []int, test *data.Dataset) error {
	hash := func(x []float32) uint64 {
		h := fnv.New64a()
		var b [4]byte
		for _, v := range x {
			u := math.Float32bits(v)
			b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
			h.Write(b[:])
		}
		return h.Sum64()
	}
	seen := make(map[uint64][]int, test.Len())
	for i := range test.Len() {
		k := hash(test.Row(i))
		seen[k] = append(seen[k], i)
	}
	for _, i := range forget {
		x := train.Row(i)
		for _, j := range seen[hash(x)] {
			if slices.Equal(x, test.Row(j)) {
				return fmt.Errorf("forget sample %d of %s equals test sample %d of %s: the forget set overlaps the test split", i, train.Name, j, test.Name)
			}
		}
	}
	return nil
}

// ForgetSet returns the forget samples as a data set.
func (t *Task) ForgetSet() *data.Dataset { return t.Train.Subset(t.Forget) }

// RetainSet returns the retain samples as a data set.
func (t *Task) RetainSet() *data.Dataset { return t.Train.Subset(t.Retain) }
