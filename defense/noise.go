package defense

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/trustml/trustml/model"
)

var errNilRand = errors.New("nil random source: randomized defenses need a seeded *rand.Rand")

// maxNoiseScale bounds noise standard deviations, so that noisy float32
// outputs cannot overflow.
const maxNoiseScale = 1e6

func checkScale(name string, v float64) error {
	if !(v >= 0 && v <= maxNoiseScale) {
		return fmt.Errorf("%s: noise scale must be in [0, %g], got %v", name, float64(maxNoiseScale), v)
	}
	return nil
}

// OutputNoise is the output random-noise defense outRND (spec §5.2): it adds
// independent N(0, σ²) noise to every logit, fresh on every call. The
// official settings are σ = 1 for the standard (not adversarially trained)
// CIFAR-10 model and σ = 0.3 otherwise; the registered default is 1, as our
// models are standard ones.
type OutputNoise struct {
	sigma float64
	rng   *rand.Rand
}

var _ Defense = (*OutputNoise)(nil)

// NewOutputNoise returns outRND with standard deviation sigma in [0, 1e6], drawing
// from rng.
func NewOutputNoise(sigma float64, rng *rand.Rand) (*OutputNoise, error) {
	if err := checkScale("outrnd", sigma); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("outrnd: %w", errNilRand)
	}
	return &OutputNoise{sigma: sigma, rng: rng}, nil
}

// Name returns "outrnd".
func (d *OutputNoise) Name() string { return "outrnd" }

// Output returns [Logits].
func (d *OutputNoise) Output() Output { return Logits }

// KeepsArgmax returns false: noise can swap close classes.
func (d *OutputNoise) KeepsArgmax() bool { return false }

// Apply writes logits plus noise into dst, drawing row by row.
func (d *OutputNoise) Apply(dst, logits []float32, k int) error {
	if _, err := checkLogits("outrnd", dst, logits, k); err != nil {
		return err
	}
	for i, v := range logits {
		dst[i] = float32(float64(v) + d.sigma*d.rng.NormFloat64())
	}
	return nil
}

// GaussianNoise is ART's GaussianNoise post-processor on probabilities
// (spec §5.3): p + N(0, scale²) per class, negatives set to 0, rows
// renormalised. ART divides by zero when every noisy score of a row is ≤ 0;
// here such a row becomes the uniform distribution.
type GaussianNoise struct {
	scale float64
	rng   *rand.Rand
	p     []float64
}

var _ Defense = (*GaussianNoise)(nil)

// NewGaussianNoise returns ART's GaussianNoise with standard deviation
// scale in [0, 1e6] (ART's default 0.2), drawing from rng.
func NewGaussianNoise(scale float64, rng *rand.Rand) (*GaussianNoise, error) {
	if err := checkScale("gaussian-noise", scale); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("gaussian-noise: %w", errNilRand)
	}
	return &GaussianNoise{scale: scale, rng: rng}, nil
}

// Name returns "gaussian-noise".
func (d *GaussianNoise) Name() string { return "gaussian-noise" }

// Output returns [Probabilities].
func (d *GaussianNoise) Output() Output { return Probabilities }

// KeepsArgmax returns false.
func (d *GaussianNoise) KeepsArgmax() bool { return false }

// Apply writes the noisy renormalised probabilities of logits into dst.
func (d *GaussianNoise) Apply(dst, logits []float32, k int) error {
	n, err := checkLogits("gaussian-noise", dst, logits, k)
	if err != nil {
		return err
	}
	d.p = grow(d.p, k)
	for i := range n {
		row := logits[i*k : (i+1)*k]
		softmaxRow(d.p, row)
		var s float64
		for j, pj := range d.p {
			q := pj + d.scale*d.rng.NormFloat64()
			q = max(q, 0)
			d.p[j] = q
			s += q
		}
		out := dst[i*k : (i+1)*k]
		if s == 0 {
			for j := range out {
				out[j] = float32(1 / float64(k))
			}
			continue
		}
		inv := 1 / s
		for j, q := range d.p {
			out[j] = float32(min(q*inv, 1))
		}
	}
	return nil
}

// InputNoise is the random noise defense RND (spec §5.1): every query's
// inputs get fresh N(0, σ²) noise and are clipped to [0, 1] before the model
// sees them, z = f(clip(x + noise, 0, 1)). The official settings are σ = 0.02
// for standard (non-robust) models and σ = 0.05 for robust ones.
//
// It acts on inputs, so it implements [Preprocessor] and its Apply is the
// identity on logits; use it through [Wrap].
type InputNoise struct {
	sigma float64
	rng   *rand.Rand
}

var (
	_ Defense      = (*InputNoise)(nil)
	_ Preprocessor = (*InputNoise)(nil)
)

// NewInputNoise returns RND with standard deviation sigma in [0, 1e6],
// drawing from rng.
func NewInputNoise(sigma float64, rng *rand.Rand) (*InputNoise, error) {
	if err := checkScale("rnd", sigma); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("rnd: %w", errNilRand)
	}
	return &InputNoise{sigma: sigma, rng: rng}, nil
}

// Name returns "rnd".
func (d *InputNoise) Name() string { return "rnd" }

// Output returns [Logits].
func (d *InputNoise) Output() Output { return Logits }

// KeepsArgmax returns false: the noisy input can change the prediction.
func (d *InputNoise) KeepsArgmax() bool { return false }

// Apply copies logits into dst: RND does not touch outputs.
func (d *InputNoise) Apply(dst, logits []float32, k int) error {
	if _, err := checkLogits("rnd", dst, logits, k); err != nil {
		return err
	}
	copy(dst, logits)
	return nil
}

// Preprocess writes clip(x + N(0, σ²), 0, 1) into dst.
func (d *InputNoise) Preprocess(dst, x []float32) error {
	if len(dst) != len(x) {
		return fmt.Errorf("%w: rnd: destination has %d values, inputs %d", model.ErrShape, len(dst), len(x))
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: rnd: input value %d is %v", ErrNonFinite, i, v)
		}
	}
	for i, v := range x {
		dst[i] = float32(min(max(float64(v)+d.sigma*d.rng.NormFloat64(), 0), 1))
	}
	return nil
}

func init() {
	outInfo := Info{
		Name:        "outrnd",
		Description: "output noise outRND: adds N(0, σ²) to every logit, fresh per query",
		Params:      []Param{{Name: "sigma", Default: 1, Doc: "noise standard deviation σ (the official 1 for a standard model; 0.3 for robust ones)"}},
		Randomized:  true,
	}
	Register(outInfo, func(o Options) (Defense, error) {
		return NewOutputNoise(param(outInfo, o, "sigma"), newRand(o.Seed))
	})
	gnInfo := Info{
		Name:        "gaussian-noise",
		Description: "ART GaussianNoise: adds N(0, scale²) to the probabilities, clips negatives, renormalises",
		Params:      []Param{{Name: "scale", Default: 0.2, Doc: "noise standard deviation"}},
		Randomized:  true,
	}
	Register(gnInfo, func(o Options) (Defense, error) {
		return NewGaussianNoise(param(gnInfo, o, "scale"), newRand(o.Seed))
	})
	inInfo := Info{
		Name:        "rnd",
		Description: "input noise RND: adds N(0, σ²) to every query's pixels and clips to [0, 1] (a preprocessor; use through Wrap)",
		Params:      []Param{{Name: "sigma", Default: 0.02, Doc: "noise standard deviation σ (0.05 for robust models)"}},
		Randomized:  true,
	}
	Register(inInfo, func(o Options) (Defense, error) {
		return NewInputNoise(param(inInfo, o, "sigma"), newRand(o.Seed))
	})
}
