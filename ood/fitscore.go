package ood

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
)

// DefaultDetector is the detector [Fit] and [Score] use when a
// configuration names none: KPCA with the cosine-Gaussian kernel by random
// Fourier features (kernels.md §6).
const DefaultDetector = "kpca-cos-rff"

// FitConfig configures [Fit], the work of "trustml ood fit".
type FitConfig struct {
	// Detector is the registered name of the detector, configured by
	// Config with the settings of Params ("NAME:key=value,...", see
	// [ParseDetectorParams]) applied.
	// An empty Detector is [DefaultDetector].
	Detector string `flag:"detector" help:"detector (default kpca-cos-rff): msp, energy, odin, mahalanobis, knn, vim, kpca-*, gradknn; see trustml ood --help"`
	Config   Config
	Params   []string `flag:"detector-param" flagkind:"array" help:"settings of one detector, NAME:key=value,... (repeatable), e.g. knn:k=20"`
	// Model and FeaturesOutput name the model when Fit is given none (see
	// [OpenModels]; "" is the default model).
	Model          string `flag:"model" help:"model: default (the embedded CNN), another embedded name, a checkpoint, an .onnx file or a served http://host:port/v2/models/NAME"`
	FeaturesOutput string `flag:"features-output" help:"served model: the output holding its penultimate features (for the feature detectors)"`
	// Data names the ID data set whose training split the detector is fit
	// on (as [data.Open] takes it, with DataDir; "" is the embedded
	// Fashion-MNIST subset; DataOptions read a file: CSV header, label
	// column, sample shape) ...
	Data        string           `flag:"data" help:"ID training data set (default the embedded subset; fashion-mnist for the full 60,000, or a data file)"`
	DataDir     string           `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files (default: $TRUSTML_DATA, then /usr/share/datasets/fashion-mnist)"`
	DataOptions data.FileOptions `flag:"file"`
	// ... unless Arrays names precomputed ID training arrays (features,
	// logits, labels) to fit on instead; the model is then not used.
	Arrays ArrayFiles
	// NTrain is the number of training samples to fit on, the first ones
	// (0 = all); more than there are is an error.
	NTrain int `flag:"n-train" help:"fit on the first n ID training samples (0 = all; more than there are is an error)"`
	// Out, if set, is the file the fitted detector is saved to
	// ([SaveDetectorFile]; every detector but gradknn can be saved).
	Out string `flag:"out" help:"file to save the detector to (required)"`
}

// Fit builds the detector cfg names and fits it on m's outputs for the
// first cfg.NTrain training samples of cfg.Data, or on the precomputed
// cfg.Arrays (m is then nil); with cfg.Out it saves it there. A saved
// detector must be used with the model (or the model's arrays) it was
// fitted on.
func Fit(ctx context.Context, m model.Classifier, cfg FitConfig) (Detector, error) {
	cfg.Detector = cmp.Or(cfg.Detector, DefaultDetector)
	cs, err := newDetectors([]string{cfg.Detector}, cfg.Config, cfg.Params)
	if err != nil {
		return nil, err
	}
	det, err := New(cfg.Detector, cs[0])
	if err != nil {
		return nil, err
	}
	if m == nil && cfg.Arrays.IsZero() {
		if m, err = openOne(ctx, cfg.Model, cfg.FeaturesOutput); err != nil {
			return nil, err
		}
	} else if cfg.Model != "" || cfg.FeaturesOutput != "" {
		return nil, fmt.Errorf("ood: fit: a model (%s%s) and a model named: give one", cfg.Model, cfg.FeaturesOutput)
	}
	if err := fitOn(ctx, m, det, cfg.Data, cfg.DataDir, cfg.DataOptions, cfg.Arrays, cfg.NTrain); err != nil {
		return nil, err
	}
	if cfg.Out != "" {
		if err := SaveDetectorFile(cfg.Out, det); err != nil {
			return nil, err
		}
	}
	return det, nil
}

// fitOn fits det on the first n (0 = all) training samples: precomputed
// arrays when files names some (m must be nil), else m's outputs for the
// training split of the data set name.
func fitOn(ctx context.Context, m model.Classifier, det Detector, name, dir string, opts data.FileOptions, files ArrayFiles, n int) error {
	if n < 0 {
		return fmt.Errorf("ood: fit on %d training samples: want ≥ 0", n)
	}
	var in *Inputs
	if !files.IsZero() {
		if m != nil || name != "" {
			return fmt.Errorf("ood: fit %s: a model or data set and precomputed arrays (%s): give one", det.Name(), files.Features+files.Logits)
		}
		a, err := loadArraysFor(det.Name(), files, nil, n)
		if err != nil {
			return err
		}
		m, in = a.Model(), a.Inputs()
	} else {
		if m == nil {
			return fmt.Errorf("ood: fit %s: no model and no precomputed arrays", det.Name())
		}
		train, err := openData(m, name, dir, opts, data.Train, n)
		if err != nil {
			return err
		}
		in = NewInputs(train.X, train.Y)
	}
	if err := det.Fit(ctx, m, in); err != nil {
		return fmt.Errorf("ood: fit %s: %w", det.Name(), err)
	}
	return nil
}

// loadArraysFor loads files for detectors named names (one, or several
// comma-separated), checks that they can run on arrays and that the arrays
// match ref (the ID training arrays, when ref is not nil) and keeps the
// first n samples (0 = all; more is an error).
func loadArraysFor(names string, files ArrayFiles, ref *Arrays, n int) (*Arrays, error) {
	for _, name := range splitNames(names) {
		if err := checkArrayDetector(name); err != nil {
			return nil, err
		}
	}
	a, err := LoadArrays(files)
	if err != nil {
		return nil, err
	}
	if n > a.N {
		return nil, fmt.Errorf("ood: %d samples requested, %s has %d", n, a.Name, a.N)
	}
	if n > 0 {
		a = a.head(n)
	}
	if ref != nil {
		switch {
		case (ref.Features == nil) != (a.Features == nil) || (ref.Logits == nil) != (a.Logits == nil):
			return nil, fmt.Errorf("ood: %s has features %t, logits %t; the ID training arrays %s have features %t, logits %t: give the same kinds",
				a.Name, a.Features != nil, a.Logits != nil, ref.Name, ref.Features != nil, ref.Logits != nil)
		case a.D != ref.D:
			return nil, fmt.Errorf("%w: %s has %d features per sample, the ID training features %s have %d", model.ErrShape, a.Name, a.D, ref.Name, ref.D)
		case a.Logits != nil && a.K != ref.K:
			return nil, fmt.Errorf("%w: %s has %d logits per sample, the ID training logits %s have %d", model.ErrShape, a.Name, a.K, ref.Name, ref.K)
		}
		a.K = ref.K
	}
	return a, nil
}

func splitNames(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// head returns the first n samples.
func (a *Arrays) head(n int) *Arrays {
	b := *a
	b.N = n
	if a.Features != nil {
		b.Features = a.Features[:n*a.D]
	}
	if a.Logits != nil {
		b.Logits = a.Logits[:n*a.K]
	}
	if a.Labels != nil {
		b.Labels = a.Labels[:n]
	}
	return &b
}

// openData opens split of the data set name (data.OpenWith), checks
// that it fits m and keeps its first n samples (0 = all; more than there
// are is an error).
func openData(m model.Classifier, name, dir string, opts data.FileOptions, split data.Split, n int) (*data.Dataset, error) {
	d, err := data.OpenWith(name, split, dir, opts)
	if err != nil {
		return nil, err
	}
	if err := checkModelData(m, d); err != nil {
		return nil, err
	}
	if n > d.Len() {
		return nil, fmt.Errorf("ood: %d %s samples requested, %s has %d", n, split, d.Name, d.Len())
	}
	return d.Head(n), nil
}

// ScoreConfig configures [Score], the work of "trustml ood score".
type ScoreConfig struct {
	// Detector is the registered name of a detector to fit afresh,
	// configured by Config and Params (as in [FitConfig]), on the first
	// NTrain training samples (0 = all) of TrainData (with DataDir; "" is
	// the embedded Fashion-MNIST subset) or on the precomputed
	// TrainArrays ...
	// An empty Detector without DetectorFile is [DefaultDetector].
	Detector string `flag:"detector" help:"detector (default kpca-cos-rff): msp, energy, odin, mahalanobis, knn, vim, kpca-*, gradknn; see trustml ood --help"`
	Config   Config
	Params   []string `flag:"detector-param" flagkind:"array" help:"settings of one detector, NAME:key=value,... (repeatable), e.g. knn:k=20"`
	// Model and FeaturesOutput name the model when Score is given none
	// and no precomputed arrays (see [OpenModels]; "" is the default).
	Model          string     `flag:"model" help:"model: default (the embedded CNN), another embedded name, a checkpoint, an .onnx file or a served http://host:port/v2/models/NAME"`
	FeaturesOutput string     `flag:"features-output" help:"served model: the output holding its penultimate features (for the feature detectors)"`
	NTrain         int        `flag:"n-train" help:"fit on the first n ID training samples (0 = all; more than there are is an error)"`
	TrainData      string     `flag:"train-data" help:"ID training data set (default the embedded subset; fashion-mnist for the full 60,000)"`
	DataDir        string     `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files (default: $TRUSTML_DATA, then /usr/share/datasets/fashion-mnist)"`
	TrainArrays    ArrayFiles `flagprefix:"train-"`
	// ... unless DetectorFile names a detector saved by [Fit] (or
	// [SaveDetectorFile]), which is loaded instead; Detector must then be
	// empty.
	DetectorFile string `flag:"detector-file" help:"load a detector saved by trustml ood fit instead of fitting one"`
	// Data and Split name the data set to score when Score is given none
	// (as [data.Open] takes them, with DataDir; "" is the embedded
	// Fashion-MNIST subset; DataOptions read the file named by Data: CSV
	// header, label column, sample shape) ...
	Data        string           `flag:"data" help:"data set to score (default the embedded subset): fashion-mnist, a .csv, .npy or .npz file, ..."`
	Split       data.Split       `flag:"split" help:"split: train or test"`
	DataOptions data.FileOptions `flag:"file"`
	// ... unless Arrays are the precomputed arrays to score; the detector
	// must then come from TrainArrays or DetectorFile, without a model.
	Arrays ArrayFiles
	// N is the number of samples to score, the first ones (0 = all; more
	// than there are is an error).
	N int `flag:"n" help:"score the first n samples (0 = all)"`
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
// samples of d (nil: of cfg.Data) with model m, or of the precomputed
// cfg.Arrays (m and d nil).
func Score(ctx context.Context, m model.Classifier, d *data.Dataset, cfg ScoreConfig) (*ScoreResult, error) {
	var det Detector
	var err error
	switch {
	case cfg.DetectorFile != "" && cfg.Detector != "":
		return nil, fmt.Errorf("ood: score: a detector name (%s) and a detector file (%s): give one", cfg.Detector, cfg.DetectorFile)
	case cfg.DetectorFile != "" && (len(cfg.Params) > 0 || !cfg.TrainArrays.IsZero()):
		return nil, fmt.Errorf("ood: score: the detector file %s is fitted already: no settings or training arrays", cfg.DetectorFile)
	case cfg.DetectorFile != "":
		det, err = LoadDetectorFile(cfg.DetectorFile)
	default:
		cfg.Detector = cmp.Or(cfg.Detector, DefaultDetector)
		var cs []Config
		if cs, err = newDetectors([]string{cfg.Detector}, cfg.Config, cfg.Params); err == nil {
			det, err = New(cfg.Detector, cs[0])
		}
	}
	if err != nil {
		return nil, err
	}
	if cfg.N < 0 {
		return nil, fmt.Errorf("ood: score %d samples: want ≥ 0", cfg.N)
	}
	if !cfg.Arrays.IsZero() {
		return scoreArrays(ctx, det, m, d, cfg)
	}
	if m == nil {
		if m, err = openOne(ctx, cfg.Model, cfg.FeaturesOutput); err != nil {
			return nil, err
		}
	}
	if d == nil {
		if d, err = data.OpenWith(cfg.Data, cfg.Split, cfg.DataDir, cfg.DataOptions); err != nil {
			return nil, err
		}
	}
	if !cfg.TrainArrays.IsZero() {
		return nil, fmt.Errorf("ood: score: training arrays (%s) with a model and data: score precomputed arrays too", cfg.TrainArrays.Features+cfg.TrainArrays.Logits)
	}
	if fmt.Sprint(d.Shape) != fmt.Sprint(m.InputShape()) {
		return nil, fmt.Errorf("ood: data set %s has samples of shape %v, the model expects %v", d.Name, d.Shape, m.InputShape())
	}
	if cfg.N > d.Len() {
		return nil, fmt.Errorf("ood: score %d samples, %s has %d", cfg.N, d.Name, d.Len())
	}
	d = d.Head(cfg.N)
	if cfg.DetectorFile == "" {
		if err := fitOn(ctx, m, det, cfg.TrainData, cfg.DataDir, data.FileOptions{}, ArrayFiles{}, cfg.NTrain); err != nil {
			return nil, err
		}
	}
	res := &ScoreResult{Data: d.Name, Detector: det.Name(), HigherIsInDistribution: true, Scores: make([]float64, d.Len())}
	if err := det.Score(ctx, m, res.Scores, NewInputs(d.X, nil)); err != nil {
		return nil, fmt.Errorf("ood: score %s: %w", det.Name(), err)
	}
	return res, nil
}

// scoreArrays is Score of precomputed arrays.
func scoreArrays(ctx context.Context, det Detector, m model.Classifier, d *data.Dataset, cfg ScoreConfig) (*ScoreResult, error) {
	if m != nil || d != nil || cfg.Data != "" || cfg.TrainData != "" || cfg.Model != "" || cfg.FeaturesOutput != "" {
		return nil, fmt.Errorf("ood: score: precomputed arrays (%s) and a model or data set: give one", cfg.Arrays.Features+cfg.Arrays.Logits)
	}
	var ref *Arrays
	if cfg.DetectorFile == "" {
		if cfg.TrainArrays.IsZero() {
			return nil, fmt.Errorf("ood: score %s on precomputed arrays: give the ID training arrays to fit on, or a detector file", det.Name())
		}
		var err error
		if ref, err = loadArraysFor(det.Name(), cfg.TrainArrays, nil, cfg.NTrain); err != nil {
			return nil, err
		}
		if err := det.Fit(ctx, ref.Model(), ref.Inputs()); err != nil {
			return nil, fmt.Errorf("ood: fit %s: %w", det.Name(), err)
		}
	}
	a, err := loadArraysFor(det.Name(), cfg.Arrays, ref, cfg.N)
	if err != nil {
		return nil, err
	}
	res := &ScoreResult{Data: a.Name, Detector: det.Name(), HigherIsInDistribution: true, Scores: make([]float64, a.N)}
	if err := det.Score(ctx, a.Model(), res.Scores, a.Inputs()); err != nil {
		return nil, fmt.Errorf("ood: score %s on %s: %w", det.Name(), a.Name, err)
	}
	return res, nil
}

// WriteText prints one score per line, exactly (the shortest decimal that
// reads back as the same float64), as [ReadScoresFile] reads them.
func (r *ScoreResult) WriteText(w io.Writer) error {
	for _, s := range r.Scores {
		if _, err := fmt.Fprintln(w, strconv.FormatFloat(s, 'g', -1, 64)); err != nil {
			return err
		}
	}
	return nil
}
