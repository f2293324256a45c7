package kernel_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
)

// pipelineGolden is testdata/pipeline/golden.json, written by
// testdata/gen_pipeline.py with scikit-learn 1.2.1.
type pipelineGolden struct {
	RawKRR     goldenKRR `json:"raw_krr"`
	ShiftedKRR goldenKRR `json:"shifted_krr"`
	WineKPCA   struct {
		Kernel      string      `json:"kernel"`
		Components  int         `json:"components"`
		Eigenvalues []float64   `json:"eigenvalues"`
		ScoresFirst [][]float64 `json:"scores_first"`
	} `json:"wine_kpca"`
}

type goldenKRR struct {
	Kernel  string    `json:"kernel"`
	Alpha   float64   `json:"alpha"`
	Predict []float64 `json:"predict"`
}

func loadPipelineGolden(t *testing.T) *pipelineGolden {
	t.Helper()
	b, err := os.ReadFile("testdata/pipeline/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g pipelineGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// TestFloat64CSVPipelineGolden fits KRR pipelines on CSV files whose values
// float32 cannot hold and checks the predictions against scikit-learn to
// 1e-10; read in float32 the same files miss by far more, so the test
// checks the float64 path.
func TestFloat64CSVPipelineGolden(t *testing.T) {
	g := loadPipelineGolden(t)
	for _, tc := range []struct {
		name        string
		want        goldenKRR
		standardize bool
	}{
		{"raw", g.RawKRR, false},
		{"shifted", g.ShiftedKRR, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			maxErr := map[bool]float64{}
			for _, f64 := range []bool{true, false} {
				opt := data.FileOptions{Regression: true, Float64: f64}
				tr, err := data.OpenFile(filepath.Join("testdata/pipeline", tc.name+"_train.csv"), opt)
				if err != nil {
					t.Fatal(err)
				}
				te, err := data.OpenFile(filepath.Join("testdata/pipeline", tc.name+"_test.csv"), opt)
				if err != nil {
					t.Fatal(err)
				}
				p := kernel.Pipeline{Method: "krr", Kernel: tc.want.Kernel, Reg: tc.want.Alpha, NoStandardize: !tc.standardize}
				if err := p.Fit(context.Background(), tr); err != nil {
					t.Fatal(err)
				}
				pr, err := p.Predict(te)
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range pr.Values {
					maxErr[f64] = max(maxErr[f64], math.Abs(v-tc.want.Predict[i]))
				}
			}
			t.Logf("largest deviation from scikit-learn: float64 %.3g, float32 %.3g", maxErr[true], maxErr[false])
			if maxErr[true] > 1e-10 {
				t.Errorf("float64 path: largest deviation %.3g > 1e-10", maxErr[true])
			}
			if maxErr[false] < 1e-8 {
				t.Errorf("float32 path agrees to %.3g: the test cannot tell the paths apart", maxErr[false])
			}
		})
	}
}

// TestPCAPipelineGolden fits kernel PCA on standardized wine and compares
// with scikit-learn's StandardScaler + KernelPCA, then saves, reloads and
// writes the scores.
func TestPCAPipelineGolden(t *testing.T) {
	g := loadPipelineGolden(t).WineKPCA
	d, err := data.Tabular("wine")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &kernel.PCAPipeline{Kernel: g.Kernel, Components: g.Components}
	res, err := p.FitFiles(context.Background(), d, filepath.Join(dir, "wine.kpca"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range res.Eigenvalues {
		if math.Abs(v-g.Eigenvalues[k]) > 1e-10*g.Eigenvalues[0] {
			t.Errorf("eigenvalue %d: %v, scikit-learn %v", k, v, g.Eigenvalues[k])
		}
	}
	out := filepath.Join(dir, "z.csv")
	tr, err := kernel.TransformFiles(d.Head(10), res.ModelFile, out)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < g.Components; k++ {
		sign := 1.0 // components are defined up to sign
		if tr.Scores.At(0, k)*g.ScoresFirst[0][k] < 0 {
			sign = -1
		}
		for i, row := range g.ScoresFirst {
			if got := sign * tr.Scores.At(i, k); math.Abs(got-row[k]) > 1e-9 {
				t.Errorf("score [%d,%d] = %v, scikit-learn %v", i, k, got, row[k])
			}
		}
	}
	z, err := data.OpenFile(out, data.FileOptions{Classification: true, Float64: true})
	if err != nil {
		t.Fatal(err)
	}
	if z.Len() != 10 || z.SampleSize() != g.Components || z.X64[0] != tr.Scores.At(0, 0) || z.Classes[z.Y[0]] != d.Classes[d.Y[0]] {
		t.Errorf("scores file: %d rows of %d, first %v (want %v), class %q", z.Len(), z.SampleSize(), z.X64[0], tr.Scores.At(0, 0), z.Classes[z.Y[0]])
	}
	for _, f := range []string{res.PlotFile, tr.PlotFile} {
		if b, err := os.ReadFile(f); err != nil || string(b[1:4]) != "PNG" {
			t.Errorf("plot %s: %v", f, err)
		}
	}
	npy := filepath.Join(dir, "z.npy")
	if _, err := kernel.TransformFiles(d.Head(3), res.ModelFile, npy); err != nil {
		t.Fatal(err)
	}
	a, err := data.ReadNPYFile(npy)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 2 || a.Shape[0] != 3 || a.Shape[1] != g.Components || a.DType != "float64" {
		t.Fatalf("npy shape %v dtype %s", a.Shape, a.DType)
	}
	for i, v := range a.Float64() {
		// Three rows, not ten: OpenBLAS may round the smaller product differently.
		if want := tr.Scores.At(i/g.Components, i%g.Components); math.Abs(v-want) > 1e-12*(1+math.Abs(want)) {
			t.Errorf("npy value %d: %v, want %v", i, v, want)
		}
	}
}

// TestTransformFilesErrors: a model file that is not kernel PCA, a missing
// model name and data of the wrong width are clear errors.
func TestTransformFilesErrors(t *testing.T) {
	dir := t.TempDir()
	iris, err := data.Tabular("iris")
	if err != nil {
		t.Fatal(err)
	}
	p := kernel.Pipeline{}
	if err := p.Fit(context.Background(), iris); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "iris.model")
	if err := kernel.SaveFile(other, &p); err != nil {
		t.Fatal(err)
	}
	pca := &kernel.PCAPipeline{}
	if _, err := pca.FitFiles(context.Background(), iris, filepath.Join(dir, "iris.kpca")); err != nil {
		t.Fatal(err)
	}
	wine, err := data.Tabular("wine")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d     *data.Dataset
		model string
		want  string
	}{
		{iris, other, "holds a pipeline model, not kernel PCA"},
		{iris, "", "needs the model file"},
		{wine, filepath.Join(dir, "iris.kpca"), "fitted on 4 features"},
	} {
		if _, err := kernel.TransformFiles(tc.d, tc.model, filepath.Join(dir, "z.csv")); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.model, err, tc.want)
		}
	}
}
