package uap

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
)

// Dominance measures how a universal perturbation δ acts as a dominant
// pattern (§12): what the model predicts for δ alone, how the predictions
// on x + δ (unclipped) crowd onto few classes, and whether the features of
// x + δ look more like those of δ than like those of x.
type Dominance struct {
	// Class is argmax f(δ), the class of δ alone, with its softmax
	// probability Confidence; Probs is the whole softmax f(δ).
	Class      int       `json:"class"`
	ClassName  string    `json:"class_name,omitempty"`
	Confidence float64   `json:"confidence"`
	Probs      []float64 `json:"probs"`
	// CleanShare and PerturbedShare are the fractions of images predicted
	// as each class, clean and with δ.
	CleanShare     []float64 `json:"clean_share"`
	PerturbedShare []float64 `json:"perturbed_share"`
	// ToClass is the fraction of perturbed images predicted as Class.
	ToClass float64 `json:"to_class"`
	// Top3 are the three classes most predicted on perturbed images and
	// Top3Share the fraction of predictions they take.
	Top3      []int   `json:"top3"`
	Top3Share float64 `json:"top3_share"`
	// Layer names the feature layer of the cosines.
	Layer string `json:"layer"`
	// Mean cosines over the images: cos(φ(x+δ), φ(δ)), cos(φ(x+δ), φ(x))
	// and, as a reference, cos(φ(x), φ(δ)).
	CosPerturbedDelta float64 `json:"cos_perturbed_delta"`
	CosPerturbedClean float64 `json:"cos_perturbed_clean"`
	CosCleanDelta     float64 `json:"cos_clean_delta"`
	// Per-image cosines, for plots (not in JSON).
	PerImagePD, PerImagePC, PerImageCD []float64 `json:"-"`
}

// Dominate measures the dominance of v on net over the images of test,
// given the predictions e of net on them ([Evaluate]); features are those
// of layer ([ResolveLayer]).
func Dominate(ctx context.Context, net *nn.Network, layer string, test *data.Dataset, v []float32, e *Eval) (*Dominance, error) {
	idx, err := ResolveLayer(net.Spec(), layer)
	if err != nil {
		return nil, err
	}
	if e == nil || len(e.Clean) != test.Len() {
		return nil, fmt.Errorf("uap: dominance needs the model's predictions on the %d images", test.Len())
	}
	k, in := net.NumClasses(), test.SampleSize()
	d := &Dominance{Layer: layerName(net.Spec(), idx), CleanShare: make([]float64, k), PerturbedShare: make([]float64, k)}
	z := make([]float32, k)
	if err := net.Logits(ctx, z, v); err != nil {
		return nil, fmt.Errorf("uap: f(δ): %w", err)
	}
	d.Class, d.Probs = argmax(z), softmax(z)
	d.Confidence = d.Probs[d.Class]
	if d.Class < len(test.Classes) {
		d.ClassName = test.Classes[d.Class]
	}
	n := test.Len()
	for i := range n {
		d.CleanShare[e.Clean[i]] += 1 / float64(n)
		d.PerturbedShare[e.Perturbed[i]] += 1 / float64(n)
	}
	d.ToClass = d.PerturbedShare[d.Class]
	order := make([]int, k)
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmpDesc(d.PerturbedShare[a], d.PerturbedShare[b])
	})
	d.Top3 = order[:min(3, k)]
	for _, j := range d.Top3 {
		d.Top3Share += d.PerturbedShare[j]
	}

	fn, err := newFeatureNet(net, idx, 2)
	if err != nil {
		return nil, err
	}
	dim := fn.dim
	fd := make([]float32, dim)
	if err := fn.features(ctx, fd, v); err != nil {
		return nil, err
	}
	chunk := min(n, evalChunk)
	xb, xv := make([]float32, chunk*in), make([]float32, chunk*in)
	fx, fxv := make([]float32, chunk*dim), make([]float32, chunk*dim)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		m := hi - lo
		copy(xb, test.X[lo*in:hi*in])
		for i := range m * in {
			xv[i] = xb[i] + v[i%in]
		}
		if err := fn.features(ctx, fx[:m*dim], xb[:m*in]); err != nil {
			return nil, err
		}
		if err := fn.features(ctx, fxv[:m*dim], xv[:m*in]); err != nil {
			return nil, err
		}
		for i := range m {
			a, c := fxv[i*dim:(i+1)*dim], fx[i*dim:(i+1)*dim]
			d.PerImagePD = append(d.PerImagePD, cosGrad(a, fd, nil, nil, 0))
			d.PerImagePC = append(d.PerImagePC, cosGrad(a, c, nil, nil, 0))
			d.PerImageCD = append(d.PerImageCD, cosGrad(c, fd, nil, nil, 0))
		}
	}
	d.CosPerturbedDelta, d.CosPerturbedClean, d.CosCleanDelta = mean(d.PerImagePD), mean(d.PerImagePC), mean(d.PerImageCD)
	return d, nil
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(max(len(x), 1))
}

func softmax(z []float32) []float64 {
	m := float64(z[argmax(z)])
	p := make([]float64, len(z))
	var s float64
	for j, v := range z {
		p[j] = math.Exp(float64(v) - m)
		s += p[j]
	}
	for j := range p {
		p[j] /= s
	}
	return p
}
