package ood

import (
	"context"
	"fmt"
	"slices"

	"github.com/trustml/trustml/model"
)

// ModeEnsemble is a classifier that averages independently trained models
// ("modes", training.md §17), so that every detector of this package
// becomes an ensemble detector: MSP, MaxLogit, Energy and ODIN see the
// average logits; KNN, Mahalanobis, ViM and KPCA see the average
// penultimate features (all models must then have the same FeatureDim).
//
// ODIN differs from the reference ensemble code, which perturbs the input
// with each model's own gradient and averages the perturbed logits: here
// InputGrad is the exact gradient of the loss of the averaged logits, and
// gradients are zeroed per call (the reference code accumulates them across
// models). ViM needs one last layer and is not supported.
type ModeEnsemble struct {
	Models []model.Classifier
}

// NewModeEnsemble checks that the models share input shape and classes.
func NewModeEnsemble(models ...model.Classifier) (*ModeEnsemble, error) {
	if len(models) == 0 {
		return nil, fmt.Errorf("ood: mode ensemble of no models")
	}
	for i, m := range models[1:] {
		if !slices.Equal(m.InputShape(), models[0].InputShape()) || m.NumClasses() != models[0].NumClasses() {
			return nil, fmt.Errorf("%w: ensemble model %d has input %v and %d classes, model 0 %v and %d",
				model.ErrShape, i+1, m.InputShape(), m.NumClasses(), models[0].InputShape(), models[0].NumClasses())
		}
	}
	return &ModeEnsemble{Models: models}, nil
}

// InputShape is the models' input shape.
func (e *ModeEnsemble) InputShape() []int { return e.Models[0].InputShape() }

// NumClasses is the models' number of classes.
func (e *ModeEnsemble) NumClasses() int { return e.Models[0].NumClasses() }

// Logits writes the average logits of the models.
func (e *ModeEnsemble) Logits(ctx context.Context, dst, x []float32) error {
	if _, err := model.CheckBatch(e, dst, x, e.NumClasses()); err != nil {
		return err
	}
	tmp := make([]float32, len(dst))
	clear(dst)
	for _, m := range e.Models {
		if err := m.Logits(ctx, tmp, x); err != nil {
			return err
		}
		for i, v := range tmp {
			dst[i] += v / float32(len(e.Models))
		}
	}
	return nil
}

// FeatureDim is the common feature dimension, or 0 when the models differ
// or do not expose features.
func (e *ModeEnsemble) FeatureDim() int {
	d := -1
	for _, m := range e.Models {
		fe, ok := m.(model.FeatureExtractor)
		if !ok || (d >= 0 && fe.FeatureDim() != d) {
			return 0
		}
		d = fe.FeatureDim()
	}
	return d
}

// Features writes the average penultimate features of the models.
func (e *ModeEnsemble) Features(ctx context.Context, dst, x []float32) error {
	d := e.FeatureDim()
	if d == 0 {
		return fmt.Errorf("ood: ensemble features need models with features of one dimension")
	}
	if _, err := model.CheckBatch(e, dst, x, d); err != nil {
		return err
	}
	tmp := make([]float32, len(dst))
	clear(dst)
	for _, m := range e.Models {
		if err := m.(model.FeatureExtractor).Features(ctx, tmp, x); err != nil {
			return err
		}
		for i, v := range tmp {
			dst[i] += v / float32(len(e.Models))
		}
	}
	return nil
}

// InputGrad writes the gradient of loss(average logits) with respect to x.
func (e *ModeEnsemble) InputGrad(ctx context.Context, gx, x []float32, loss model.LossFunc) (float64, error) {
	k := e.NumClasses()
	n, err := model.CheckBatch(e, nil, x, 0)
	if err != nil {
		return 0, err
	}
	if len(gx) != len(x) {
		return 0, fmt.Errorf("%w: gradient has %d values for %d inputs", model.ErrShape, len(gx), len(x))
	}
	avg := make([]float32, n*k)
	if err := e.Logits(ctx, avg, x); err != nil {
		return 0, err
	}
	dl := make([]float32, n*k)
	l := loss(avg, dl, n, k)
	clear(gx)
	tmp := make([]float32, len(gx))
	for i, m := range e.Models {
		g, ok := m.(model.InputGrader)
		if !ok {
			return 0, fmt.Errorf("ood: ensemble model %d (%T) is not a model.InputGrader", i, m)
		}
		// d loss/d logits_m = dl/M: a loss that ignores the model's own
		// logits and returns that.
		fixed := func(_, d []float32, _, _ int) float64 {
			for j, v := range dl {
				d[j] = v / float32(len(e.Models))
			}
			return 0
		}
		if _, err := g.InputGrad(ctx, tmp, x, fixed); err != nil {
			return 0, err
		}
		for j, v := range tmp {
			gx[j] += v
		}
	}
	return l, nil
}
