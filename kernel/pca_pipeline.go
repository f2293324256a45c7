package kernel

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/plot"
)

// PCAPipeline is kernel PCA ([KPCA]) with its preprocessing, fitted on a
// tabular [data.Dataset]: features standardized with training statistics
// (unless NoStandardize; scikit-learn's KernelPCA does not standardize, so
// it matches make_pipeline(StandardScaler(), KernelPCA(...))), then the
// top Components principal components in the feature space of Kernel. It
// is what "trustml kernel pca" saves; [SaveFile] and [LoadFile] write and
// read it as any other [Model].
type PCAPipeline struct {
	// Kernel is the kernel's text form ([ParseKernel]); "" or "rbf" means
	// RBF with γ = 1/features.
	Kernel string `flag:"kernel" help:"kernel, e.g. rbf:gamma=0.1 (default: rbf with gamma = 1/features)"`
	// Components is the number of components; 0 means 2.
	Components int `flag:"components" help:"number of components (0 = 2)"`
	// NoStandardize skips the standardization.
	NoStandardize bool `flag:"no-standardize" help:"do not standardize features (scikit-learn's KernelPCA does not)"`

	// Features is the number of input features, set by Fit.
	Features int
	// Mean and Std standardize inputs as x' = (x − Mean)/Std; nil when not
	// standardized.
	Mean, Std []float64
	// TrainedOn names the training data set.
	TrainedOn string
	// Model is the fitted kernel PCA.
	Model *KPCA
}

// Fit standardizes (unless NoStandardize) with d's statistics and fits
// kernel PCA on all rows of d (labels, if any, are not used).
func (p *PCAPipeline) Fit(ctx context.Context, d *data.Dataset) error {
	if err := checkTabular(d); err != nil {
		return err
	}
	if p.Components == 0 {
		p.Components = 2
	}
	q := Pipeline{Kernel: p.Kernel, Method: "krr"} // for the kernel default
	k, _, err := q.resolve(false, d.SampleSize())
	if err != nil {
		return err
	}
	p.Kernel, p.Features, p.TrainedOn, p.Mean, p.Std, p.Model = q.Kernel, d.SampleSize(), d.Name, nil, nil, nil
	if !p.NoStandardize {
		st, err := data.FitStandardizer(d)
		if err != nil {
			return fmt.Errorf("kernel: %w", err)
		}
		p.Mean, p.Std = st.Mean, st.Std
	}
	X, err := p.standardized(d)
	if err != nil {
		return err
	}
	m := &KPCA{Kernel: k, Components: p.Components}
	if err := m.Fit(ctx, X); err != nil {
		return err
	}
	p.Model = m
	return nil
}

// standardized returns d's samples in float64, standardized if fitted.
func (p *PCAPipeline) standardized(d *data.Dataset) (*mat.Dense, error) {
	st := Pipeline{Features: p.Features, Mean: p.Mean, Std: p.Std}
	tb, err := st.tabular(d)
	if err != nil {
		return nil, err
	}
	return tb.X, nil
}

// Transform returns the component scores of d's rows (n × Components).
func (p *PCAPipeline) Transform(d *data.Dataset) (*mat.Dense, error) {
	if err := checkTabular(d); err != nil {
		return nil, err
	}
	if p.Model == nil {
		return nil, ErrNotFitted
	}
	X, err := p.standardized(d)
	if err != nil {
		return nil, err
	}
	return p.Model.Transform(X)
}

// PCAResult is what [PCAPipeline.FitFiles] and [TransformFiles] report.
type PCAResult struct {
	Data        string    `json:"data"`
	Kernel      string    `json:"kernel"`
	Standardize bool      `json:"standardize"`
	Components  int       `json:"components"`
	N           int       `json:"n"`
	Eigenvalues []float64 `json:"eigenvalues"` // of the centered training Gram matrix
	ModelFile   string    `json:"model_file"`
	ScoresFile  string    `json:"scores_file,omitempty"`
	PlotFile    string    `json:"plot_file,omitempty"` // scatter of the first two components
	// Scores are the component scores of the data's rows.
	Scores *mat.Dense `json:"-"`
}

// FitFiles fits the pipeline on d, saves it to modelFile (atomically) and,
// with 2 or more components, draws the training rows' first two component
// scores (coloured by class when d is labeled) into a PNG beside it (the
// model file's name with extension .png).
func (p *PCAPipeline) FitFiles(ctx context.Context, d *data.Dataset, modelFile string) (*PCAResult, error) {
	if err := p.Fit(ctx, d); err != nil {
		return nil, err
	}
	if err := SaveFile(modelFile, p); err != nil {
		return nil, fmt.Errorf("kernel: saving %s: %w", modelFile, err)
	}
	res, err := p.result(d, modelFile)
	if err != nil {
		return nil, err
	}
	return res, res.plot(d, modelFile)
}

// TransformFiles reads a pipeline saved by [PCAPipeline.FitFiles] from
// modelFile, computes the scores of d's rows and writes them to out: a .npy
// file (float64, n × components) or CSV (columns pc1, pc2, ... at full
// precision, and d's labels or targets in a last column), and with 2 or
// more components a scatter plot beside it (out's name with extension
// .png).
func TransformFiles(d *data.Dataset, modelFile, out string) (*PCAResult, error) {
	if modelFile == "" || out == "" {
		return nil, fmt.Errorf("kernel: transform needs the model file saved by a kernel PCA fit and a file for the scores: %w", ErrParam)
	}
	m, err := LoadFile(modelFile)
	if err != nil {
		return nil, err
	}
	p, ok := m.(*PCAPipeline)
	if !ok {
		return nil, fmt.Errorf("kernel: %s holds a %s model, not kernel PCA: %w", modelFile, m.ModelKind(), ErrParam)
	}
	res, err := p.result(d, modelFile)
	if err != nil {
		return nil, err
	}
	if err := writeScores(out, res.Scores, d); err != nil {
		return nil, err
	}
	res.ScoresFile = out
	return res, res.plot(d, out)
}

func (p *PCAPipeline) result(d *data.Dataset, modelFile string) (*PCAResult, error) {
	Z, err := p.Transform(d)
	if err != nil {
		return nil, err
	}
	return &PCAResult{Data: d.Name, Kernel: p.Kernel, Standardize: !p.NoStandardize, Components: p.Components, N: d.Len(),
		Eigenvalues: p.Model.Eigenvalues(), ModelFile: modelFile, Scores: Z}, nil
}

// plot draws the first two components beside file, when there are two.
func (r *PCAResult) plot(d *data.Dataset, file string) error {
	n, q := r.Scores.Dims()
	if q < 2 {
		return nil
	}
	var series []plot.Series
	group := map[string]int{}
	for i := 0; i < n; i++ {
		name := ""
		if d.Y != nil {
			name = d.Classes[d.Y[i]]
		}
		g, ok := group[name]
		if !ok {
			g, group[name] = len(series), len(series)
			series = append(series, plot.Series{Name: name})
		}
		series[g].X = append(series[g].X, r.Scores.At(i, 0))
		series[g].Y = append(series[g].Y, r.Scores.At(i, 1))
	}
	r.PlotFile = strings.TrimSuffix(file, filepath.Ext(file)) + ".png"
	title := fmt.Sprintf("kernel PCA of %s (%s)", r.Data, r.Kernel)
	if err := plot.Scatter(r.PlotFile, title, "component 1", "component 2", series); err != nil {
		return fmt.Errorf("kernel: %w", err)
	}
	return nil
}

// writeScores writes Z as .npy or CSV (see [TransformFiles]), atomically.
func writeScores(path string, Z *mat.Dense, d *data.Dataset) error {
	n, q := Z.Dims()
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		if strings.EqualFold(filepath.Ext(path), ".npy") {
			return writeNPY(w, Z)
		}
		s := &data.Dataset{Name: path, Shape: []int{q}, X: make([]float32, n*q), X64: make([]float64, n*q),
			Y: d.Y, Classes: d.Classes, Target: d.Target, Features: make([]string, q)}
		for i := range q {
			s.Features[i] = "pc" + strconv.Itoa(i+1)
		}
		for i := 0; i < n; i++ {
			for j := 0; j < q; j++ {
				v := Z.At(i, j)
				s.X64[i*q+j] = v
				s.X[i*q+j] = float32(v)
			}
		}
		return data.WriteCSV(w, s)
	})
	if err != nil {
		return fmt.Errorf("kernel: writing scores: %w", err)
	}
	return nil
}

// writeNPY writes Z as a NumPy .npy file of little-endian float64, shape
// (n, q), C order.
func writeNPY(w io.Writer, Z *mat.Dense) error {
	n, q := Z.Dims()
	header := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }", n, q)
	// Magic (6) + version (2) + length (2) + header + newline, padded to 64.
	pad := 64 - (10+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	var b [8]byte
	for i := 0; i < n; i++ {
		for j := 0; j < q; j++ {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(Z.At(i, j)))
			bw.Write(b[:])
		}
	}
	return bw.Flush()
}

// ---- persistence ----

type pcaPipelineState struct {
	Kernel        string `json:"kernel"`
	Components    int    `json:"components"`
	NoStandardize bool   `json:"no_standardize,omitempty"`
	innerState
}

// ModelKind returns "kpca-pipeline".
func (p *PCAPipeline) ModelKind() string { return "kpca-pipeline" }

func (p *PCAPipeline) marshalModel() (any, error) {
	if p.Model == nil {
		return nil, ErrNotFitted
	}
	in, err := newInnerState(p.Model, p.Features, p.Mean, p.Std, p.TrainedOn)
	return pcaPipelineState{Kernel: p.Kernel, Components: p.Components, NoStandardize: p.NoStandardize, innerState: in}, err
}

func (p *PCAPipeline) unmarshalModel(raw json.RawMessage) error {
	var s pcaPipelineState
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	m, err := s.load()
	if err != nil {
		return err
	}
	kp, ok := m.(*KPCA)
	if !ok {
		return fmt.Errorf("a %s model in a kernel PCA pipeline: %w", m.ModelKind(), ErrFormat)
	}
	if kp.t.d != s.Features {
		return fmt.Errorf("kernel PCA on %d features in a pipeline of %d: %w", kp.t.d, s.Features, ErrFormat)
	}
	*p = PCAPipeline{Kernel: s.Kernel, Components: s.Components, NoStandardize: s.NoStandardize, Features: s.Features,
		Mean: s.Mean, Std: s.Std, TrainedOn: s.TrainedOn, Model: kp}
	return nil
}
