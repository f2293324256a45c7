package defense

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/trustml/trustml/metrics"
)

// ReverseSigmoid is ART's ReverseSigmoid post-processor (Lee et al. 2018;
// spec §5.3). With p = softmax(z) and p̃ = clip(p, 1e-9, 1 − 1e-9), each
// probability becomes clip(p − β(σ(γ·logit(p̃)) − ½), 0, 1) and rows are
// renormalised. The perturbation is not monotone in p, so the argmax can
// change (for example when many classes share the mass).
type ReverseSigmoid struct {
	beta, gamma float64
	p           []float64
}

var _ Defense = (*ReverseSigmoid)(nil)

// NewReverseSigmoid returns ReverseSigmoid with magnitude beta > 0 and
// convergence parameter gamma > 0 (ART's defaults 1 and 0.1).
func NewReverseSigmoid(beta, gamma float64) (*ReverseSigmoid, error) {
	if !(beta > 0) || math.IsInf(beta, 0) {
		return nil, fmt.Errorf("reverse-sigmoid: beta must be positive and finite, got %v", beta)
	}
	if !(gamma > 0) || math.IsInf(gamma, 0) {
		return nil, fmt.Errorf("reverse-sigmoid: gamma must be positive and finite, got %v", gamma)
	}
	return &ReverseSigmoid{beta: beta, gamma: gamma}, nil
}

// Name returns "reverse-sigmoid".
func (d *ReverseSigmoid) Name() string { return "reverse-sigmoid" }

// Output returns [Probabilities].
func (d *ReverseSigmoid) Output() Output { return Probabilities }

// KeepsArgmax returns false.
func (d *ReverseSigmoid) KeepsArgmax() bool { return false }

// Apply writes the perturbed probabilities of logits into dst.
func (d *ReverseSigmoid) Apply(dst, logits []float32, k int) error {
	n, err := checkLogits("reverse-sigmoid", dst, logits, k)
	if err != nil {
		return err
	}
	const clipMin, clipMax = 1e-9, 1 - 1e-9
	d.p = grow(d.p, k)
	for i := range n {
		softmaxRow(d.p, logits[i*k:(i+1)*k])
		var s float64
		for j, p := range d.p {
			pc := min(max(p, clipMin), clipMax)
			r := d.beta * (1/(1+math.Exp(d.gamma*math.Log((1-pc)/pc))) - 0.5)
			q := min(max(p-r, 0), 1)
			d.p[j] = q
			s += q
		}
		// s > 0: a class with p ≤ ½ has r ≤ 0, so q ≥ p ≥ 0, and q = 0 for
		// all of them would need every p = 0.
		inv := 1 / s
		out := dst[i*k : (i+1)*k]
		for j, q := range d.p {
			out[j] = float32(min(q*inv, 1))
		}
	}
	return nil
}

// HighConfidence is ART's HighConfidence post-processor (spec §5.3):
// probabilities below the cutoff are set to 0, without renormalisation. A
// row whose top probability is below the cutoff becomes all zeros, so the
// prediction is lost and KeepsArgmax is false.
type HighConfidence struct {
	cutoff float64
	p      []float64
}

var _ Defense = (*HighConfidence)(nil)

// NewHighConfidence returns HighConfidence with cutoff in (0, 1] (ART's
// default 0.25).
func NewHighConfidence(cutoff float64) (*HighConfidence, error) {
	if !(cutoff > 0 && cutoff <= 1) {
		return nil, fmt.Errorf("high-confidence: cutoff must be in (0, 1], got %v", cutoff)
	}
	return &HighConfidence{cutoff: cutoff}, nil
}

// Name returns "high-confidence".
func (d *HighConfidence) Name() string { return "high-confidence" }

// Output returns [Scores].
func (d *HighConfidence) Output() Output { return Scores }

// KeepsArgmax returns false.
func (d *HighConfidence) KeepsArgmax() bool { return false }

// Apply writes the thresholded probabilities of logits into dst.
func (d *HighConfidence) Apply(dst, logits []float32, k int) error {
	n, err := checkLogits("high-confidence", dst, logits, k)
	if err != nil {
		return err
	}
	d.p = grow(d.p, k)
	for i := range n {
		softmaxRow(d.p, logits[i*k:(i+1)*k])
		out := dst[i*k : (i+1)*k]
		for j, p := range d.p {
			if p < d.cutoff {
				p = 0
			}
			out[j] = float32(p)
		}
	}
	return nil
}

// maxDecimals bounds Rounded's decimals; float32 outputs carry about 7.
const maxDecimals = 15

// Rounded is ART's Rounded post-processor (spec §5.3): probabilities rounded
// to a number of decimals (half to even, as numpy.around). Rounding is
// monotone, so the original class keeps the row's maximum, but close classes
// can become tied.
type Rounded struct {
	scale float64
	p     []float64
}

var _ Defense = (*Rounded)(nil)

// NewRounded returns Rounded to decimals in [1, 15] (ART's default 3).
func NewRounded(decimals int) (*Rounded, error) {
	if decimals < 1 || decimals > maxDecimals {
		return nil, fmt.Errorf("rounded: decimals must be in [1, %d], got %d", maxDecimals, decimals)
	}
	return &Rounded{scale: math.Pow(10, float64(decimals))}, nil
}

// Name returns "rounded".
func (d *Rounded) Name() string { return "rounded" }

// Output returns [Scores]: rounded rows sum to 1 only approximately.
func (d *Rounded) Output() Output { return Scores }

// KeepsArgmax returns true (up to ties created by rounding).
func (d *Rounded) KeepsArgmax() bool { return true }

// Apply writes the rounded probabilities of logits into dst.
func (d *Rounded) Apply(dst, logits []float32, k int) error {
	n, err := checkLogits("rounded", dst, logits, k)
	if err != nil {
		return err
	}
	d.p = grow(d.p, k)
	for i := range n {
		softmaxRow(d.p, logits[i*k:(i+1)*k])
		out := dst[i*k : (i+1)*k]
		for j, p := range d.p {
			out[j] = float32(math.RoundToEven(p*d.scale) / d.scale)
		}
	}
	return nil
}

// ClassLabels is ART's ClassLabels post-processor (spec §5.3): the one-hot
// vector of the predicted class, which removes all score information. (ART's
// implementation sets the predicted columns of every row; this is the
// intended per-row one-hot.)
type ClassLabels struct{}

var _ Defense = ClassLabels{}

// Name returns "class-labels".
func (ClassLabels) Name() string { return "class-labels" }

// Output returns [Probabilities] (a one-hot row sums to 1).
func (ClassLabels) Output() Output { return Probabilities }

// KeepsArgmax returns true.
func (ClassLabels) KeepsArgmax() bool { return true }

// Apply writes the one-hot argmax of each row of logits into dst.
func (ClassLabels) Apply(dst, logits []float32, k int) error {
	n, err := checkLogits("class-labels", dst, logits, k)
	if err != nil {
		return err
	}
	for i := range n {
		row := dst[i*k : (i+1)*k]
		c := metrics.Argmax(logits[i*k : (i+1)*k])
		clear(row)
		row[c] = 1
	}
	return nil
}

// maxTopK bounds TopK's k.
const maxTopK = 1 << 20

// TopK returns the probabilities of the k most likely classes and 0 for the
// others, without renormalisation (spec §5.3). The classes are chosen by
// their logits, the first index winning ties, so the original top-1 class is
// always kept.
type TopK struct {
	k   int
	p   []float64
	idx []int
}

var _ Defense = (*TopK)(nil)

// NewTopK returns the top-k defense for k ≥ 1. A k of at least the number of
// classes returns the full probability vector.
func NewTopK(k int) (*TopK, error) {
	if k < 1 || k > maxTopK {
		return nil, fmt.Errorf("top-k: k must be in [1, %d], got %d", maxTopK, k)
	}
	return &TopK{k: k}, nil
}

// Name returns "top-k".
func (d *TopK) Name() string { return "top-k" }

// Output returns [Scores].
func (d *TopK) Output() Output { return Scores }

// KeepsArgmax returns true.
func (d *TopK) KeepsArgmax() bool { return true }

// Apply writes the truncated probabilities of logits into dst.
func (d *TopK) Apply(dst, logits []float32, k int) error {
	n, err := checkLogits("top-k", dst, logits, k)
	if err != nil {
		return err
	}
	d.p = grow(d.p, k)
	d.idx = grow(d.idx, k)
	for i := range n {
		row := logits[i*k : (i+1)*k]
		softmaxRow(d.p, row)
		out := dst[i*k : (i+1)*k]
		if d.k >= k {
			for j, p := range d.p {
				out[j] = float32(p)
			}
			continue
		}
		for j := range d.idx {
			d.idx[j] = j
		}
		slices.SortFunc(d.idx, func(a, b int) int {
			if c := cmp.Compare(row[b], row[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		clear(out)
		for _, j := range d.idx[:d.k] {
			out[j] = float32(d.p[j])
		}
	}
	return nil
}

func init() {
	rsInfo := Info{
		Name:        "reverse-sigmoid",
		Description: "ART ReverseSigmoid: perturbs probabilities by a reversed sigmoid of their logit and renormalises",
		Params: []Param{
			{Name: "beta", Default: 1, Doc: "perturbation magnitude β"},
			{Name: "gamma", Default: 0.1, Doc: "convergence parameter γ"},
		},
	}
	Register(rsInfo, func(o Options) (Defense, error) {
		return NewReverseSigmoid(param(rsInfo, o, "beta"), param(rsInfo, o, "gamma"))
	})
	hcInfo := Info{
		Name:        "high-confidence",
		Description: "ART HighConfidence: zeroes probabilities below a cutoff (no renormalisation)",
		Params:      []Param{{Name: "cutoff", Default: 0.25, Doc: "smallest probability returned"}},
	}
	Register(hcInfo, func(o Options) (Defense, error) { return NewHighConfidence(param(hcInfo, o, "cutoff")) })
	rdInfo := Info{
		Name:        "rounded",
		Description: "ART Rounded: rounds probabilities to a number of decimals",
		Params:      []Param{{Name: "decimals", Default: 3, Doc: "decimal places", Integer: true}},
	}
	Register(rdInfo, func(o Options) (Defense, error) {
		dec, err := intParam(rdInfo, o, "decimals", 1, maxDecimals)
		if err != nil {
			return nil, err
		}
		return NewRounded(dec)
	})
	Register(Info{
		Name:        "class-labels",
		Description: "ART ClassLabels: returns only the one-hot predicted label",
	}, func(Options) (Defense, error) { return ClassLabels{}, nil })
	tkInfo := Info{
		Name:        "top-k",
		Description: "top-k scores: probabilities of the k most likely classes, 0 for the rest",
		Params:      []Param{{Name: "k", Default: 1, Doc: "number of classes whose probability is returned", Integer: true}},
	}
	Register(tkInfo, func(o Options) (Defense, error) {
		k, err := intParam(tkInfo, o, "k", 1, maxTopK)
		if err != nil {
			return nil, err
		}
		return NewTopK(k)
	})
}
