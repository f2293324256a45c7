package ood

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/trustml/trustml/internal/registry"
	"github.com/trustml/trustml/model"
)

// ErrNotFitted is returned (wrapped) by Score before Fit.
var ErrNotFitted = errors.New("ood: detector used before Fit")

// ErrNoFeatures is matched (errors.Is) by the error of a feature-based
// detector given a model without penultimate features.
var ErrNoFeatures = errors.New("ood: feature-based detector without features")

// ErrFeatures is returned (wrapped) for feature or logit data a detector
// cannot use: too few samples, constant or non-finite values.
var ErrFeatures = errors.New("ood: unusable features")

// Detector is a post-hoc OoD detector of a trained classifier.
type Detector interface {
	// Name is the registered name, such as "energy".
	Name() string
	// Fit learns the detector's statistics from in-distribution training
	// data. Detectors that need nothing (MSP, Energy) only check the model.
	Fit(ctx context.Context, m model.Classifier, in *Inputs) error
	// Score writes one score per input of in into dst (len in.N()), higher
	// meaning more in-distribution.
	Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error
}

// Inputs is a batch of inputs of one model with their labels (optional) and
// lazily computed, cached logits and penultimate features, so that several
// detectors share one forward pass. Use one Inputs with one model only.
type Inputs struct {
	// X holds the inputs, laid out as package model describes.
	X []float32
	// Y optionally holds class labels (Mahalanobis uses them for the class
	// means; without them it uses the predicted classes).
	Y []int

	logits, feats []float32
	name          string // of precomputed arrays, for messages
}

// NewInputs wraps a batch of inputs and optional labels.
func NewInputs(x []float32, y []int) *Inputs { return &Inputs{X: x, Y: y} }

// NewFeatureInputs wraps precomputed logits (n×K) and features (n×D), for
// detectors that need nothing else (all but ODIN); X stays nil.
func NewFeatureInputs(logits, feats []float32, y []int) *Inputs {
	return &Inputs{Y: y, logits: logits, feats: feats}
}

// batchSize is the number of inputs per forward pass.
const batchSize = 256

// N is the number of inputs, from m's input size (or the cached logits or
// features).
func (in *Inputs) N(m model.Classifier) int {
	if in.X == nil {
		if k := m.NumClasses(); in.logits != nil && k > 0 {
			return len(in.logits) / k
		}
		if fe, ok := m.(model.FeatureExtractor); ok && in.feats != nil && fe.FeatureDim() > 0 {
			return len(in.feats) / fe.FeatureDim()
		}
		return 0
	}
	s := model.InputSize(m)
	if s == 0 {
		return 0
	}
	return len(in.X) / s
}

// Logits returns the n×K logits of the inputs, computing them on first use.
func (in *Inputs) Logits(ctx context.Context, m model.Classifier) ([]float32, error) {
	if in.logits != nil {
		return in.logits, nil
	}
	if in.X == nil {
		return nil, fmt.Errorf("ood: no logits: %s has features only (give its logits too)", in.what())
	}
	k, s := m.NumClasses(), model.InputSize(m)
	n, err := model.CheckBatch(m, nil, in.X, 0)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n*k)
	for lo := 0; lo < n; lo += batchSize {
		hi := min(n, lo+batchSize)
		if err := m.Logits(ctx, out[lo*k:hi*k], in.X[lo*s:hi*s]); err != nil {
			return nil, err
		}
	}
	if err := checkFinite("logits", out, k); err != nil {
		return nil, err
	}
	in.logits = out
	return out, nil
}

// Features returns the n×D penultimate features, computing them on first
// use; m must be a [model.FeatureExtractor].
func (in *Inputs) Features(ctx context.Context, m model.Classifier) ([]float32, int, error) {
	fe, ok := m.(model.FeatureExtractor)
	d := 0
	if ok {
		d = fe.FeatureDim()
	}
	if in.X == nil && in.feats == nil {
		return nil, 0, fmt.Errorf("ood: no features: %s has logits only (give its features too)", in.what())
	}
	if d <= 0 {
		return nil, 0, fmt.Errorf("%w: the model (%T) does not return penultimate features: for a served model, serve a features output and pass --features-output NAME; or give precomputed --features", ErrNoFeatures, m)
	}
	if in.feats != nil {
		if d <= 0 || len(in.feats)%d != 0 {
			return nil, 0, fmt.Errorf("%w: %d feature values, not a multiple of the feature dimension %d", ErrFeatures, len(in.feats), d)
		}
		if err := checkFinite("features", in.feats, d); err != nil {
			return nil, 0, err
		}
		return in.feats, d, nil
	}
	s := model.InputSize(m)
	n, err := model.CheckBatch(m, nil, in.X, 0)
	if err != nil {
		return nil, 0, err
	}
	out := make([]float32, n*d)
	for lo := 0; lo < n; lo += batchSize {
		hi := min(n, lo+batchSize)
		if err := fe.Features(ctx, out[lo*d:hi*d], in.X[lo*s:hi*s]); err != nil {
			return nil, 0, err
		}
	}
	if err := checkFinite("features", out, d); err != nil {
		return nil, 0, err
	}
	in.feats = out
	return out, d, nil
}

// what names the inputs in messages.
func (in *Inputs) what() string {
	if in.name != "" {
		return in.name
	}
	return "the input set"
}

func checkFinite(what string, v []float32, width int) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: %s of input %d (column %d) is %v", ErrFeatures, what, i/width, i%width, x)
		}
	}
	return nil
}

func checkDst(dst []float64, n int) error {
	if len(dst) != n {
		return fmt.Errorf("%w: score destination has %d values for %d inputs", model.ErrShape, len(dst), n)
	}
	return nil
}

// Config holds the hyperparameters of the registered detectors; the zero
// value of a field means the default given in its comment.
type Config struct {
	Temperature float64 // MSP/Energy T (default 1); ODIN T (default 1000)
	Epsilon     float64 // ODIN input step on the [0, 1] scale (default 0.0014)
	K           int     // KNN neighbour (default 50)
	ViMDim      int     // ViM principal dimension D_p (default D/2)
	KPCA        KPCA    // KPCA settings (Map set by the registered name)
	Seed        uint64  `flag:"seed" help:"seed of randomized detectors"` // RFF, gradknn's PCA
	// GradSubspace is gradknn's subspace: "pca" (default) or "class".
	GradSubspace string
	// GradDim is gradknn's PCA dimension (default 32).
	GradDim int
	// GradFuse is gradknn's weight of the forward-feature KNN score
	// (default 0: gradient features only).
	GradFuse float64
}

// Factory builds a detector configured by cfg; [Register] files one
// under a name.
type Factory func(cfg Config) Detector

// detectors holds the registered detectors by name.
var detectors = registry.New[Factory]("OoD detector")

// ErrUnknown is matched (errors.Is) by the error of [New] for a name that
// is not registered; the error lists the registered names.
var ErrUnknown = registry.ErrUnknown

// Register makes a detector available to [New] under name. It is meant for
// init functions and panics if name is empty or already taken.
func Register(name string, f Factory) { detectors.Register(name, f) }

// Names lists the registered detectors, sorted.
func Names() []string { return detectors.Names() }

// New returns the detector registered under name, configured by cfg. An
// unknown name gives an error matching [ErrUnknown] that lists the names.
func New(name string, cfg Config) (Detector, error) {
	f, err := detectors.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("ood: %w", err)
	}
	return f(cfg), nil
}

func seededRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6f6f64)) }

// kthSmallest returns the k-th smallest (1-based) value of v, reordering v.
func kthSmallest(v []float64, k int) float64 {
	slices.Sort(v)
	return v[k-1]
}
