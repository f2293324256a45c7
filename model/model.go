// Package model defines the classifier interfaces that every trustml method
// consumes: attacks, defenses, out-of-distribution detectors, unlearning and
// serving all take a [Classifier] (and, where a method needs more, one of the
// optional extensions below) rather than a concrete network.
//
// The interfaces use only plain slices, so a network trained by trustml's own
// engine (package nn), a model imported from elsewhere, or a model served over
// HTTP can all satisfy them.
//
// # Conventions
//
// A batch of n inputs is one flat []float32 of length n*InputSize, each input
// laid out in the shape [Classifier.InputShape] gives (for images C×H×W,
// row-major, the NCHW order of PyTorch), with values in [0, 1]. Logits are a
// flat n×K row-major []float32, K = NumClasses. Destinations are explicit:
// the caller allocates dst, so that loops running thousands of queries do not
// allocate.
//
// Implementations need not be safe for concurrent use; a method that wants
// parallelism clones the model first (see [Cloner]).
package model

import (
	"context"
	"errors"
	"fmt"
)

// Classifier maps a batch of inputs in [0, 1] to logits.
type Classifier interface {
	// InputShape is the shape of one input, for example [1 28 28].
	InputShape() []int
	// NumClasses is K, the number of logits per input.
	NumClasses() int
	// Logits writes the n×K logits of the n inputs in x into dst, where
	// n = len(x)/InputSize. len(dst) must be n*K.
	Logits(ctx context.Context, dst, x []float32) error
}

// LossFunc is a scalar loss of a batch of logits. It receives the n×k logits,
// writes d(loss)/d(logits) into dlogits (same length) and returns the loss.
// Methods pass their own losses (cross-entropy, margin, energy, ...).
type LossFunc func(logits, dlogits []float32, n, k int) float64

// InputGrader is a classifier that can differentiate a loss of its logits
// with respect to its input, as white-box attacks (FGSM, PGD) and ODIN do.
// The model is evaluated in inference mode (batch-norm running statistics,
// no dropout).
type InputGrader interface {
	Classifier
	// InputGrad evaluates the logits of x, applies loss, writes
	// d(loss)/d(x) into gx (len(gx) == len(x)) and returns the loss value.
	InputGrad(ctx context.Context, gx, x []float32, loss LossFunc) (float64, error)
}

// ParamGrader is a classifier that can differentiate a loss with respect to
// its parameters, flattened into one vector in a fixed order, as gradient-based
// OoD detection and unlearning need. Inference mode, as for [InputGrader].
type ParamGrader interface {
	Classifier
	// NumParams is the length of the flat parameter vector.
	NumParams() int
	// ParamGrad writes d(loss)/d(params) into g (len NumParams) and
	// returns the loss value.
	ParamGrad(ctx context.Context, g, x []float32, loss LossFunc) (float64, error)
}

// FeatureExtractor is a classifier that exposes its penultimate-layer
// features, the input of the final linear layer, as feature-space OoD
// detectors (Mahalanobis, KNN, ViM, KPCA) need.
type FeatureExtractor interface {
	Classifier
	// FeatureDim is the length of one input's feature vector.
	FeatureDim() int
	// Features writes the n×FeatureDim features of x into dst.
	Features(ctx context.Context, dst, x []float32) error
}

// Cloner is a classifier that can make an independent copy of itself with the
// same weights, for use from another goroutine.
type Cloner interface {
	Clone() Classifier
}

// InputSize is the number of values in one input of c.
func InputSize(c Classifier) int {
	s := 1
	for _, d := range c.InputShape() {
		s *= d
	}
	return s
}

// ErrShape is returned (wrapped) when a batch does not match a classifier's
// input or output shape.
var ErrShape = errors.New("model: shape mismatch")

// CheckBatch validates that x holds a whole number of inputs for c and that
// dst has room for their logits (pass dstPer = 0 to skip the dst check, or the
// per-input destination width otherwise). It returns n, the batch size.
func CheckBatch(c Classifier, dst, x []float32, dstPer int) (int, error) {
	in := InputSize(c)
	if in <= 0 || len(x)%in != 0 {
		return 0, fmt.Errorf("%w: input has %d values, not a multiple of the input size %d (shape %v)", ErrShape, len(x), in, c.InputShape())
	}
	n := len(x) / in
	if dstPer > 0 && len(dst) != n*dstPer {
		return 0, fmt.Errorf("%w: destination has %d values, want %d×%d=%d", ErrShape, len(dst), n, dstPer, n*dstPer)
	}
	return n, nil
}

// ErrNoFeatures is wrapped by the error of [RequireFeatures] for a model
// that returns no penultimate-layer features.
var ErrNoFeatures = errors.New("model: no features")

// FeaturesHinter is implemented by classifiers that are not a
// [FeatureExtractor] but can say how to get one (a served model: which
// option reads the server's feature output).
type FeaturesHinter interface {
	// FeaturesHint says what to do to get features from the model.
	FeaturesHint() string
}

// NoFeaturesError is the error of [RequireFeatures]: model Model returns no
// features. It wraps [ErrNoFeatures].
type NoFeaturesError struct {
	Model string // the model's name, as the user gave it
	Hint  string // what to do
}

// Error says which model returns no features and what to do.
func (e *NoFeaturesError) Error() string {
	return "model " + e.Model + " returns no features; " + e.Hint
}

// Unwrap returns [ErrNoFeatures].
func (e *NoFeaturesError) Unwrap() error { return ErrNoFeatures }

// RequireFeatures returns c as a [FeatureExtractor], for the methods that
// need penultimate-layer features (feature-space OoD detectors), or a
// [*NoFeaturesError] naming the model by name and saying what to do: for a
// served model, "model NAME returns no features; serve them and pass
// --features-output ...".
func RequireFeatures(c Classifier, name string) (FeatureExtractor, error) {
	if fe, ok := c.(FeatureExtractor); ok {
		return fe, nil
	}
	hint := fmt.Sprintf("a %T does not expose the input of its final layer (model.FeatureExtractor)", c)
	if h, ok := c.(FeaturesHinter); ok {
		hint = h.FeaturesHint()
	}
	return nil, &NoFeaturesError{Model: name, Hint: hint}
}
