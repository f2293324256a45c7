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

// ScoreEnsemble is the score-averaging mode ensemble of training.md §17:
// member detector i is fitted on, and scores with, model i of a
// [ModeEnsemble], and the ensemble score of an input is the mean of the
// members' scores. ModeEnsemble alone instead averages the models' logits
// or features before one detector sees them.
//
// Members must be separate detectors (one per model, typically made by
// [NewScoreEnsemble] with the same name and [Config]). The Inputs passed to
// Fit and Score must hold raw inputs (X), since each model computes its
// own logits and features.
type ScoreEnsemble struct {
	Members []Detector
}

// NewScoreEnsemble returns a score ensemble of n detectors registered under
// name, configured by cfg.
func NewScoreEnsemble(name string, cfg Config, n int) (*ScoreEnsemble, error) {
	if n < 1 {
		return nil, fmt.Errorf("ood: score ensemble of %d members", n)
	}
	e := &ScoreEnsemble{Members: make([]Detector, n)}
	for i := range e.Members {
		d, err := New(name, cfg)
		if err != nil {
			return nil, err
		}
		e.Members[i] = d
	}
	return e, nil
}

// Name is the members' name.
func (e *ScoreEnsemble) Name() string {
	if len(e.Members) == 0 {
		return "score-ensemble"
	}
	return e.Members[0].Name()
}

// models returns the member models of m: the models of a *ModeEnsemble, or
// m itself for a one-member ensemble.
func (e *ScoreEnsemble) models(m model.Classifier, in *Inputs) ([]model.Classifier, error) {
	if len(e.Members) == 0 {
		return nil, fmt.Errorf("ood: score ensemble has no members")
	}
	if in.X == nil {
		return nil, fmt.Errorf("ood: score ensemble %s needs raw inputs, got precomputed features", e.Name())
	}
	ms := []model.Classifier{m}
	if me, ok := m.(*ModeEnsemble); ok {
		ms = me.Models
	}
	if len(ms) != len(e.Members) {
		return nil, fmt.Errorf("ood: score ensemble of %d %s detectors used with %d models", len(e.Members), e.Name(), len(ms))
	}
	return ms, nil
}

// Fit fits member i on model i of m (a *ModeEnsemble, or a single model for
// one member).
func (e *ScoreEnsemble) Fit(ctx context.Context, m model.Classifier, in *Inputs) error {
	ms, err := e.models(m, in)
	if err != nil {
		return err
	}
	for i, d := range e.Members {
		if err := d.Fit(ctx, ms[i], NewInputs(in.X, in.Y)); err != nil {
			return fmt.Errorf("ood: score ensemble member %d: %w", i, err)
		}
	}
	return nil
}

// Score writes the mean of the members' scores into dst.
func (e *ScoreEnsemble) Score(ctx context.Context, m model.Classifier, dst []float64, in *Inputs) error {
	ms, err := e.models(m, in)
	if err != nil {
		return err
	}
	if err := checkDst(dst, in.N(m)); err != nil {
		return err
	}
	tmp := make([]float64, len(dst))
	clear(dst)
	for i, d := range e.Members {
		if err := d.Score(ctx, ms[i], tmp, NewInputs(in.X, nil)); err != nil {
			return fmt.Errorf("ood: score ensemble member %d: %w", i, err)
		}
		for j, v := range tmp {
			dst[j] += v
		}
	}
	for j := range dst {
		dst[j] /= float64(len(e.Members))
	}
	return nil
}
