package ood

import (
	"context"
	"fmt"
	"io"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
)

// FitConfig configures [Fit], the work of "trustml ood fit".
type FitConfig struct {
	// Detector is the registered name of the detector, configured by
	// Config.
	Detector string
	Config   Config
	// NTrain is the number of embedded Fashion-MNIST training images to
	// fit on, the first ones (0 = all).
	NTrain int
	// Out, if set, is the file the fitted detector is saved to
	// ([SaveDetectorFile]; every detector but gradknn can be saved).
	Out string
}

// Fit builds the detector cfg names and fits it on m's outputs for the
// first cfg.NTrain embedded Fashion-MNIST training images; with cfg.Out it
// saves it there. A saved detector must be used with the model it was
// fitted on.
func Fit(ctx context.Context, m model.Classifier, cfg FitConfig) (Detector, error) {
	det, err := New(cfg.Detector, cfg.Config)
	if err != nil {
		return nil, err
	}
	if err := fitEmbedded(ctx, m, det, cfg.NTrain); err != nil {
		return nil, err
	}
	if cfg.Out != "" {
		if err := SaveDetectorFile(cfg.Out, det); err != nil {
			return nil, err
		}
	}
	return det, nil
}

// fitEmbedded fits det on m's outputs for the first n embedded
// Fashion-MNIST training images (0 = all).
func fitEmbedded(ctx context.Context, m model.Classifier, det Detector, n int) error {
	if m == nil {
		return fmt.Errorf("ood: fit %s: no model", det.Name())
	}
	if n < 0 {
		return fmt.Errorf("ood: fit on %d training images: want ≥ 0", n)
	}
	train, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		return err
	}
	if err := checkModelData(m, train); err != nil {
		return err
	}
	train = train.Head(n)
	if err := det.Fit(ctx, m, NewInputs(train.X, train.Y)); err != nil {
		return fmt.Errorf("ood: fit %s: %w", det.Name(), err)
	}
	return nil
}

// ScoreConfig configures [Score], the work of "trustml ood score".
type ScoreConfig struct {
	// Detector is the registered name of a detector to fit afresh,
	// configured by Config, on the first NTrain embedded Fashion-MNIST
	// training images (0 = all) ...
	Detector string
	Config   Config
	NTrain   int
	// ... unless DetectorFile names a detector saved by [Fit] (or
	// [SaveDetectorFile]), which is loaded instead; Detector must then be
	// empty.
	DetectorFile string
	// N is the number of samples to score, the first ones (0 = all).
	N int
}

// ScoreResult holds one score per sample, higher meaning more
// in-distribution.
type ScoreResult struct {
	Data                   string    `json:"data"`
	Detector               string    `json:"detector"`
	HigherIsInDistribution bool      `json:"higher_is_in_distribution"`
	Scores                 []float64 `json:"scores"`
}

// Score fits (or loads) the detector cfg names and scores the first cfg.N
// samples of d with model m.
func Score(ctx context.Context, m model.Classifier, d *data.Dataset, cfg ScoreConfig) (*ScoreResult, error) {
	var det Detector
	var err error
	switch {
	case cfg.DetectorFile != "" && cfg.Detector != "":
		return nil, fmt.Errorf("ood: score: a detector name (%s) and a detector file (%s): give one", cfg.Detector, cfg.DetectorFile)
	case cfg.DetectorFile != "":
		det, err = LoadDetectorFile(cfg.DetectorFile)
	default:
		det, err = New(cfg.Detector, cfg.Config)
	}
	if err != nil {
		return nil, err
	}
	if m == nil || d == nil {
		return nil, fmt.Errorf("ood: score: no model or no data")
	}
	if cfg.N < 0 {
		return nil, fmt.Errorf("ood: score %d samples: want ≥ 0", cfg.N)
	}
	if fmt.Sprint(d.Shape) != fmt.Sprint(m.InputShape()) {
		return nil, fmt.Errorf("ood: data set %s has samples of shape %v, the model expects %v", d.Name, d.Shape, m.InputShape())
	}
	d = d.Head(cfg.N)
	if cfg.DetectorFile == "" {
		if err := fitEmbedded(ctx, m, det, cfg.NTrain); err != nil {
			return nil, err
		}
	}
	res := &ScoreResult{Data: d.Name, Detector: det.Name(), HigherIsInDistribution: true, Scores: make([]float64, d.Len())}
	if err := det.Score(ctx, m, res.Scores, NewInputs(d.X, nil)); err != nil {
		return nil, fmt.Errorf("ood: score %s: %w", det.Name(), err)
	}
	return res, nil
}

// WriteText prints one score per line.
func (r *ScoreResult) WriteText(w io.Writer) error {
	for _, s := range r.Scores {
		if _, err := fmt.Fprintf(w, "%.6g\n", s); err != nil {
			return err
		}
	}
	return nil
}
