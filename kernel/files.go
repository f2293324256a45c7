package kernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/trustml/trustml/data"
)

// Source names the tabular data set of the file-level calls ([FitFile],
// [PredictFile], [CrossValidateFile], [PCAFile]): a built-in set or a file
// read with File's options, values kept in float64.
type Source struct {
	Data string           `flag:"data" help:"data set: iris, wine, breast-cancer, digits, diabetes, boston, or a .csv/.tsv/.libsvm/.npy file (required)"`
	File data.FileOptions `flag:"file" flagkind:"tabular"`
}

// Open reads the data set.
func (s Source) Open() (*data.Dataset, error) {
	if s.Data == "" {
		return nil, fmt.Errorf("kernel: no data set named: %w", ErrParam)
	}
	s.File.Float64 = true
	return data.OpenWith(s.Data, data.Train, "", s.File)
}

// FitConfig configures [FitFile], the work of "trustml kernel fit".
type FitConfig struct {
	Source
	Pipeline Pipeline
	// TestFrac is the fraction held out for the test score (0: fit on all).
	TestFrac float64 `flag:"test-frac" help:"fraction held out for the test score (0: train on everything)"`
	// Out is the file the fitted pipeline is saved to.
	Out string `flag:"out" help:"file to save the model to (required)"`
}

// DefaultFitConfig holds the defaults: a 20% held-out test score, seed 1.
func DefaultFitConfig() FitConfig { return FitConfig{Pipeline: Pipeline{Seed: 1}, TestFrac: 0.2} }

// FitFile opens c's data, fits c.Pipeline holding out c.TestFrac and saves
// it to c.Out ([Pipeline.FitSave]).
func FitFile(ctx context.Context, c FitConfig) (*Report, error) {
	d, err := c.Open()
	if err != nil {
		return nil, err
	}
	return c.Pipeline.FitSave(ctx, d, c.TestFrac, c.Out)
}

// PredictConfig configures [PredictFile], the work of "trustml kernel
// predict".
type PredictConfig struct {
	Source
	// Model is a pipeline saved by [FitFile] (or a model saved by
	// [SaveFile]).
	Model string `flag:"model" help:"model file written by trustml kernel fit or kernel.SaveFile (required)"`
	// Out, if set, receives the predictions, one per line.
	Out string `flag:"out" help:"write the predictions to this file, one per line"`
}

// PredictFile loads c.Model and predicts every row of c's data, read with
// the model's task and feature count ([Pipeline.PredictReport]).
func PredictFile(_ context.Context, c PredictConfig) (*Report, error) {
	p, err := LoadPipelineFile(c.Model)
	if err != nil {
		return nil, err
	}
	c.File.Regression = c.File.Regression || p.Regression
	c.File.Classification, c.File.Features = !c.File.Regression, p.Features
	d, err := c.Open()
	if err != nil {
		return nil, err
	}
	return p.PredictReport(d, c.Model, c.Out)
}

// CVConfig configures [CrossValidateFile], the work of "trustml kernel cv".
type CVConfig struct {
	Source
	Pipeline Pipeline
	Grid     SearchGrid
	// KernelGrid are kernel parameter grids, "name=v1,v2,..." ([ParseGrid]).
	KernelGrid []string `flag:"kernel-grid" flagkind:"array" help:"kernel parameter grid name=v1,v2,... (repeatable)"`
	// Refit fits the best setting on all rows and saves it to Out.
	Refit bool   `flag:"refit" help:"fit the best setting on all rows and save it to --out"`
	Out   string `flag:"out" help:"with --refit: file to save the refitted model to"`
}

// CrossValidateFile runs the grid search of c on c's data
// ([Pipeline.SearchReport]).
func CrossValidateFile(ctx context.Context, c CVConfig) (*Report, error) {
	if c.Refit != (c.Out != "") {
		return nil, errors.New("kernel: --refit and --out go together: --out names the file of the refitted model")
	}
	d, err := c.Open()
	if err != nil {
		return nil, err
	}
	if c.Grid.Kernel, err = ParseGrid(c.KernelGrid); err != nil {
		return nil, fmt.Errorf("kernel: kernel grid: %w", err)
	}
	return c.Pipeline.SearchReport(ctx, d, c.Grid, c.Out)
}

// PCAConfig configures [PCAFile], the work of "trustml kernel pca".
type PCAConfig struct {
	Source
	PCA PCAPipeline
	// Transform projects the data with the fit saved in Model instead of
	// fitting.
	Transform bool   `flag:"transform" help:"project --data with the fit saved in --model instead of fitting"`
	Model     string `flag:"model" help:"with --transform: the file saved by a fit"`
	// Out is the model file (fit) or the scores file, .csv or .npy
	// (transform).
	Out string `flag:"out" help:"the model file (fit) or the scores file, .csv or .npy (--transform) (required)"`
}

// DefaultPCAConfig holds the defaults: 2 components.
func DefaultPCAConfig() PCAConfig { return PCAConfig{PCA: PCAPipeline{Components: 2}} }

// PCAFile fits kernel PCA on c's data and saves it ([PCAPipeline.FitFiles]),
// or with c.Transform projects the data with a saved fit
// ([TransformFiles]).
func PCAFile(ctx context.Context, c PCAConfig) (*Report, error) {
	d, err := c.Open()
	if err != nil {
		return nil, err
	}
	var res *PCAResult
	if c.Transform {
		res, err = TransformFiles(d, c.Model, c.Out)
	} else {
		res, err = c.PCA.FitFiles(ctx, d, c.Out)
	}
	if err != nil {
		return nil, err
	}
	return res.Report(), nil
}
