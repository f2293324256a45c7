package unlearn

import (
	"fmt"
	"math"
)

// EntropyMIA is the membership-inference metric of the SFR-on and NatMU
// reference code (training.md §11): the softmax entropy is the single
// feature; a logistic regression with class-balanced sample weights,
// retain samples labelled member (1) and test samples non-member (0), is
// fitted (scikit-learn's LogisticRegression(class_weight="balanced",
// multi_class="multinomial") with its default C = 1: for two classes the
// multinomial penalty ½(w₀² + w₁²) on the logit difference w = w₁ − w₀ is
// ¼w², the intercept unpenalised), and the result is the fraction of
// forget samples it predicts member. The papers report it ×100 and call
// it MIA; the SalUn lineage reports 100 minus it (MIA-efficacy).
func EntropyMIA(retain, test, forget []float64) (float64, error) {
	if len(forget) == 0 {
		return 0, fmt.Errorf("unlearn: entropy MIA needs forget samples")
	}
	w, b, err := entropyLR(retain, test)
	if err != nil {
		return 0, err
	}
	m := 0
	for _, x := range forget {
		if w*x+b > 0 {
			m++
		}
	}
	return float64(m) / float64(len(forget)), nil
}

// entropyLR fits EntropyMIA's logistic regression and returns the logit
// difference's weight and intercept.
func entropyLR(retain, test []float64) (w, b float64, err error) {
	if len(retain) == 0 || len(test) == 0 {
		return 0, 0, fmt.Errorf("unlearn: entropy MIA needs retain and test samples (got %d, %d)", len(retain), len(test))
	}
	n := float64(len(retain) + len(test))
	wr, wt := n/(2*float64(len(retain))), n/(2*float64(len(test)))
	// Newton's method on f(w, b) = Σ s_i log(1 + exp(−y_i(w x_i + b))) + ¼w².
	obj := func(w, b float64) float64 {
		f := 0.25 * w * w
		for _, x := range retain {
			f += wr * softplus(-(w*x + b))
		}
		for _, x := range test {
			f += wt * softplus(w*x+b)
		}
		return f
	}
	for it := 0; it < 100; it++ {
		gw, gb := 0.5*w, 0.0
		hww, hwb, hbb := 0.5, 0.0, 0.0
		acc := func(x, y, s float64) {
			p := sigmoid(y * (w*x + b)) // probability of the right label
			d := -s * y * (1 - p)
			gw += d * x
			gb += d
			h := s * p * (1 - p)
			hww += h * x * x
			hwb += h * x
			hbb += h
		}
		for _, x := range retain {
			acc(x, 1, wr)
		}
		for _, x := range test {
			acc(x, -1, wt)
		}
		det := hww*hbb - hwb*hwb
		if !(det > 0) {
			return 0, 0, fmt.Errorf("unlearn: entropy MIA: singular Hessian (all entropies equal?)")
		}
		dw := (hbb*gw - hwb*gb) / det
		db := (hww*gb - hwb*gw) / det
		f0, t := obj(w, b), 1.0
		for obj(w-t*dw, b-t*db) > f0 && t > 1e-10 {
			t /= 2
		}
		w, b = w-t*dw, b-t*db
		if math.Abs(t*dw)+math.Abs(t*db) < 1e-12 {
			break
		}
	}
	return w, b, nil
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// softplus is log(1 + exp(z)) without overflow.
func softplus(z float64) float64 {
	if z > 30 {
		return z
	}
	return math.Log1p(math.Exp(z))
}

// entropy is the softmax entropy of a row of logits.
func entropy(row []float32) float64 {
	m := float64(row[0])
	for _, v := range row {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	var h float64
	for _, v := range row {
		p := math.Exp(float64(v)-m) / s
		if p > 0 {
			h -= p * math.Log(p)
		}
	}
	return h
}
