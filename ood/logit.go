package ood

import (
	"context"
	"fmt"
	"math"

	"github.com/trustml/trustml/model"
)

func init() {
	Register("msp", func(c Config) Detector { return &MSP{T: c.Temperature} })
	Register("maxlogit", func(Config) Detector { return &MaxLogit{} })
	Register("energy", func(c Config) Detector { return &Energy{T: c.Temperature} })
	Register("odin", func(c Config) Detector { return &ODIN{T: c.Temperature, Eps: c.Epsilon} })
}

func orOne(t float64) float64 {
	if t == 0 {
		return 1
	}
	return t
}

// logitScore applies f to each row of the logits.
func logitScore(ctx context.Context, m model.Classifier, dst []float64, in *Inputs, f func(row []float32) float64) error {
	lg, err := in.Logits(ctx, m)
	if err != nil {
		return err
	}
	k := m.NumClasses()
	if err := checkDst(dst, len(lg)/k); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = f(lg[i*k : (i+1)*k])
	}
	return nil
}

// maxSoftmax returns max_c softmax(row/t)_c.
func maxSoftmax(row []float32, t float64) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v)/t)
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v)/t - mx)
	}
	return 1 / s
}

// logSumExp returns t·logsumexp(row/t).
func logSumExp(row []float32, t float64) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v)/t)
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v)/t - mx)
	}
	return t * (mx + math.Log(s))
}

func validTemp(name string, t float64) error {
	if !(t > 0) || math.IsInf(t, 0) {
		return fmt.Errorf("ood: %s temperature %v, want > 0", name, t)
	}
	return nil
}

// MSP is the maximum softmax probability max_c softmax(f(x)/T)_c
// (Hendrycks & Gimpel).
type MSP struct{ T float64 } // temperature, 0 means 1

// Name returns "msp".
func (*MSP) Name() string { return "msp" }

// Fit checks the temperature; MSP has nothing to learn.
func (d *MSP) Fit(context.Context, model.Classifier, *Inputs) error {
	return validTemp("msp", orOne(d.T))
}

// Score writes the maximum softmax probabilities.
func (d *MSP) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	t := orOne(d.T)
	if err := validTemp("msp", t); err != nil {
		return err
	}
	return logitScore(ctx, m, dst, in, func(r []float32) float64 { return maxSoftmax(r, t) })
}

// MaxLogit is the largest logit max_c f(x)_c.
type MaxLogit struct{}

// Name returns "maxlogit".
func (*MaxLogit) Name() string { return "maxlogit" }

// Fit does nothing: MaxLogit has nothing to learn.
func (*MaxLogit) Fit(context.Context, model.Classifier, *Inputs) error { return nil }

// Score writes the maximum logits.
func (*MaxLogit) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	return logitScore(ctx, m, dst, in, func(r []float32) float64 {
		mx := math.Inf(-1)
		for _, v := range r {
			mx = math.Max(mx, float64(v))
		}
		return mx
	})
}

// Energy is the negative free energy T·logsumexp(f(x)/T) (Liu et al. 2020).
type Energy struct{ T float64 } // temperature, 0 means 1

// Name returns "energy".
func (*Energy) Name() string { return "energy" }

// Fit checks the temperature; Energy has nothing to learn.
func (d *Energy) Fit(context.Context, model.Classifier, *Inputs) error {
	return validTemp("energy", orOne(d.T))
}

// Score writes T·logsumexp(f(x)/T).
func (d *Energy) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	t := orOne(d.T)
	if err := validTemp("energy", t); err != nil {
		return err
	}
	return logitScore(ctx, m, dst, in, func(r []float32) float64 { return logSumExp(r, t) })
}

// ODIN is temperature-scaled MSP on an input perturbed to raise the
// predicted class's softmax (Liang et al. 2018):
// x̃ = clip(x − ε·sign(∇ₓ CE(f(x)/T, argmax f(x))), 0, 1), score
// max softmax(f(x̃)/T). The model must be a [model.InputGrader]. Unlike the
// reference code, ε is on the [0, 1] pixel scale (the models here take
// unnormalized inputs) and x̃ is clipped to [0, 1], the models' input range.
type ODIN struct {
	T   float64 // temperature, 0 means 1000
	Eps float64 // step, 0 means 0.0014; negative is invalid
}

// Name returns "odin".
func (*ODIN) Name() string { return "odin" }

func (d *ODIN) params() (t, eps float64, err error) {
	t, eps = d.T, d.Eps
	if t == 0 {
		t = 1000
	}
	if eps == 0 {
		eps = 0.0014
	}
	if err := validTemp("odin", t); err != nil {
		return 0, 0, err
	}
	if !(eps > 0) || eps > 1 {
		return 0, 0, fmt.Errorf("ood: odin epsilon %v, want in (0, 1]", eps)
	}
	return t, eps, nil
}

// Fit checks the model and the parameters; ODIN has nothing to learn.
func (d *ODIN) Fit(_ context.Context, m model.Classifier, _ *Inputs) error {
	if _, ok := m.(model.InputGrader); !ok {
		return fmt.Errorf("ood: odin needs input gradients, the model (%T) is not a model.InputGrader", m)
	}
	_, _, err := d.params()
	return err
}

// Score perturbs each input and writes the tempered MSP of the result.
func (d *ODIN) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	t, eps, err := d.params()
	if err != nil {
		return err
	}
	g, ok := m.(model.InputGrader)
	if !ok {
		return fmt.Errorf("ood: odin needs input gradients, the model (%T) is not a model.InputGrader", m)
	}
	if in.X == nil {
		return fmt.Errorf("ood: odin needs the inputs themselves, not only features")
	}
	n, err := model.CheckBatch(m, nil, in.X, 0)
	if err != nil {
		return err
	}
	if err := checkDst(dst, n); err != nil {
		return err
	}
	k, s := m.NumClasses(), model.InputSize(m)
	// CE of logits/T against the predicted class; the mean over the
	// batch does not change the gradient's signs.
	loss := func(logits, dl []float32, n, k int) float64 {
		var l float64
		for i := range n {
			row := logits[i*k : (i+1)*k]
			best := 0
			for c, v := range row {
				if v > row[best] {
					best = c
				}
			}
			lse := logSumExp(row, t) / t
			l += lse - float64(row[best])/t
			for c, v := range row {
				p := math.Exp(float64(v)/t - lse)
				if c == best {
					p--
				}
				dl[i*k+c] = float32(p / t / float64(n))
			}
		}
		return l / float64(n)
	}
	gx := make([]float32, min(n, batchSize)*s)
	xt := make([]float32, len(gx))
	lg := make([]float32, min(n, batchSize)*k)
	for lo := 0; lo < n; lo += batchSize {
		hi := min(n, lo+batchSize)
		x := in.X[lo*s : hi*s]
		b := hi - lo
		if _, err := g.InputGrad(ctx, gx[:b*s], x, loss); err != nil {
			return fmt.Errorf("ood: odin input gradient: %w", err)
		}
		for i, v := range x {
			switch gv := gx[i]; {
			case gv > 0:
				v -= float32(eps)
			case gv < 0:
				v += float32(eps)
			}
			xt[i] = min(1, max(0, v))
		}
		if err := m.Logits(ctx, lg[:b*k], xt[:b*s]); err != nil {
			return err
		}
		for i := range b {
			dst[lo+i] = maxSoftmax(lg[i*k:(i+1)*k], t)
		}
	}
	return nil
}
