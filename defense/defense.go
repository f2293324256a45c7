package defense

import (
	"errors"
	"fmt"
	"math"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// Output is the kind of scores a defense returns.
type Output int

const (
	// Logits are unnormalised real scores, as the model returns them.
	Logits Output = iota
	// Probabilities lie in [0, 1] and each row sums to 1.
	Probabilities
	// Scores lie in [0, 1] and are derived from probabilities, but rows need
	// not sum to 1 (rounded, thresholded or truncated probabilities).
	Scores
)

// String returns "logits", "probabilities" or "scores".
func (o Output) String() string {
	switch o {
	case Logits:
		return "logits"
	case Probabilities:
		return "probabilities"
	case Scores:
		return "scores"
	}
	return fmt.Sprintf("Output(%d)", int(o))
}

// Defense post-processes a batch of logits into the scores a prediction API
// returns. See the package documentation for the properties every defense
// has.
type Defense interface {
	// Name is the defense's registry name, for example "aaa-linear".
	Name() string
	// Output says what kind of scores Apply writes.
	Output() Output
	// KeepsArgmax reports whether the class with the largest logit keeps
	// the largest output score (see the package documentation).
	KeepsArgmax() bool
	// Apply writes the defended scores of the n×k logits into dst, which
	// has the same length and may be the same slice as logits.
	Apply(dst, logits []float32, k int) error
}

// Preprocessor is implemented by defenses that act on a query's inputs
// rather than on the model's outputs (RND). [Wrap] calls Preprocess on every
// query before the model sees it.
type Preprocessor interface {
	// Preprocess writes the transformed inputs x into dst (same length,
	// may be the same slice). Inputs are images in [0, 1]; outputs stay in
	// [0, 1].
	Preprocess(dst, x []float32) error
}

// ErrNonFinite is returned (wrapped, with the row and class) when logits or
// inputs contain NaN or ±Inf.
var ErrNonFinite = errors.New("defense: non-finite value")

// checkLogits validates the arguments of Apply and returns n, the number of
// rows. It rejects non-finite logits so that no defense writes anything (or
// draws randomness) for an invalid batch.
func checkLogits(name string, dst, logits []float32, k int) (int, error) {
	if k < 2 {
		return 0, fmt.Errorf("%w: defense %s needs k ≥ 2 classes, got k=%d", model.ErrShape, name, k)
	}
	if len(logits)%k != 0 {
		return 0, fmt.Errorf("%w: defense %s: %d logits are not a whole number of rows of k=%d", model.ErrShape, name, len(logits), k)
	}
	if len(dst) != len(logits) {
		return 0, fmt.Errorf("%w: defense %s: destination has %d values, logits %d", model.ErrShape, name, len(dst), len(logits))
	}
	for i, v := range logits {
		if math.Float32bits(v)&0x7f80_0000 == 0x7f80_0000 { // ±∞ or NaN
			return 0, fmt.Errorf("%w: defense %s: logit of row %d, class %d is %v", ErrNonFinite, name, i/k, i%k, v)
		}
	}
	return len(logits) / k, nil
}

// softmaxRow writes softmax(row) into p, computed in float64.
func softmaxRow(p []float64, row []float32) {
	m := row[metrics.Argmax(row)]
	var s float64
	for j, v := range row {
		e := math.Exp(float64(v) - float64(m))
		p[j] = e
		s += e
	}
	inv := 1 / s
	for j := range p {
		p[j] *= inv
	}
}

// grow returns buf resliced to length n, reallocating only when its capacity
// is too small.
func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// Identity is the undefended API: it returns the logits unchanged. It is
// registered as "none", the baseline of every comparison.
type Identity struct{}

var _ Defense = Identity{}

// Name returns "none".
func (Identity) Name() string { return "none" }

// Output returns [Logits].
func (Identity) Output() Output { return Logits }

// KeepsArgmax returns true.
func (Identity) KeepsArgmax() bool { return true }

// Apply copies logits into dst.
func (Identity) Apply(dst, logits []float32, k int) error {
	if _, err := checkLogits("none", dst, logits, k); err != nil {
		return err
	}
	copy(dst, logits)
	return nil
}
