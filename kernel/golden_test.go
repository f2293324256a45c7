package kernel_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
)

// golden.json is written by testdata/gen_golden.py with scikit-learn 1.2.1.
type golden struct {
	Diabetes struct {
		XTrain [][]float64 `json:"x_train"`
		YTrain []float64   `json:"y_train"`
		XTest  [][]float64 `json:"x_test"`
	} `json:"diabetes"`
	KRR []struct {
		Kernel  string    `json:"kernel"`
		Alpha   float64   `json:"alpha"`
		Dual    []float64 `json:"dual"`
		Predict []float64 `json:"predict"`
	} `json:"krr"`
	Nystroem []struct {
		Kernel    string      `json:"kernel"`
		Landmarks []int       `json:"landmarks"`
		Transform [][]float64 `json:"transform"`
		RelError  float64     `json:"rel_error"`
	} `json:"nystroem"`
	Wine struct {
		XTrain [][]float64 `json:"x_train"`
		XTest  [][]float64 `json:"x_test"`
	} `json:"wine"`
	KPCA []struct {
		Kernel         string      `json:"kernel"`
		Components     int         `json:"components"`
		Eigenvalues    []float64   `json:"eigenvalues"`
		TransformTest  [][]float64 `json:"transform_test"`
		TransformTrain [][]float64 `json:"transform_train"`
	} `json:"kpca"`
	Pairwise struct {
		A       [][]float64 `json:"a"`
		B       [][]float64 `json:"b"`
		Kernels []struct {
			Kernel string      `json:"kernel"`
			K      [][]float64 `json:"k"`
		} `json:"kernels"`
	} `json:"pairwise"`
}

func loadGolden(t *testing.T) *golden {
	t.Helper()
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func mustRows(t *testing.T, r [][]float64) *mat.Dense {
	t.Helper()
	m, err := kernel.FromRows(r)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustKernel(t *testing.T, s string) kernel.Kernel {
	t.Helper()
	k, err := kernel.ParseKernel(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*(1+math.Abs(want))
}

func TestGoldenPairwiseKernels(t *testing.T) {
	g := loadGolden(t)
	A, B := mustRows(t, g.Pairwise.A), mustRows(t, g.Pairwise.B)
	for _, tc := range g.Pairwise.Kernels {
		K, err := kernel.Gram(mustKernel(t, tc.Kernel), A, B)
		if err != nil {
			t.Fatal(err)
		}
		for i, row := range tc.K {
			for j, want := range row {
				if got := K.At(i, j); !relClose(got, want, 1e-12) {
					t.Errorf("%s: K[%d][%d] = %.17g, scikit-learn %.17g", tc.Kernel, i, j, got, want)
				}
			}
		}
	}
}

func TestGoldenKernelRidge(t *testing.T) {
	g := loadGolden(t)
	X, Xt := mustRows(t, g.Diabetes.XTrain), mustRows(t, g.Diabetes.XTest)
	for _, tc := range g.KRR {
		t.Run(tc.Kernel, func(t *testing.T) {
			m := &kernel.KRR{Kernel: mustKernel(t, tc.Kernel), Lambda: tc.Alpha}
			if err := m.Fit(context.Background(), X, g.Diabetes.YTrain); err != nil {
				t.Fatal(err)
			}
			pred, err := m.Predict(Xt)
			if err != nil {
				t.Fatal(err)
			}
			var scale float64
			for _, v := range tc.Predict {
				scale = math.Max(scale, math.Abs(v))
			}
			// Agreement is limited by the conditioning of K + λI; the
			// predictions are far better conditioned than the duals.
			for i, want := range tc.Predict {
				if math.Abs(pred[i]-want) > 1e-7*scale {
					t.Errorf("prediction %d = %.12g, scikit-learn %.12g", i, pred[i], want)
				}
			}
			var dscale float64
			for _, v := range tc.Dual {
				dscale = math.Max(dscale, math.Abs(v))
			}
			for i, want := range tc.Dual {
				if math.Abs(m.Dual()[i]-want) > 1e-6*dscale {
					t.Errorf("dual %d = %.12g, scikit-learn %.12g", i, m.Dual()[i], want)
				}
			}
		})
	}
}

func TestGoldenNystroem(t *testing.T) {
	g := loadGolden(t)
	X, Xt := mustRows(t, g.Diabetes.XTrain), mustRows(t, g.Diabetes.XTest)
	for _, tc := range g.Nystroem {
		t.Run(tc.Kernel, func(t *testing.T) {
			k := mustKernel(t, tc.Kernel)
			m := &kernel.Nystrom{Kernel: k, Landmarks: tc.Landmarks}
			if err := m.Fit(context.Background(), X); err != nil {
				t.Fatal(err)
			}
			F, err := m.Transform(Xt)
			if err != nil {
				t.Fatal(err)
			}
			want := mustRows(t, tc.Transform)
			if !mat.EqualApprox(F, want, 1e-6*mat.Norm(want, math.Inf(1))) {
				var d mat.Dense
				d.Sub(F, want)
				t.Errorf("features differ from scikit-learn: max |Δ| = %g", mat.Norm(&d, math.Inf(1)))
			}
			// Approximation quality on the test points.
			K, err := kernel.Gram(k, Xt, Xt)
			if err != nil {
				t.Fatal(err)
			}
			var FFt, diff mat.Dense
			FFt.Mul(F, F.T())
			diff.Sub(K, &FFt)
			rel := mat.Norm(&diff, 2) / mat.Norm(K, 2)
			if !relClose(rel, tc.RelError, 1e-6) {
				t.Errorf("relative approximation error %.10g, scikit-learn %.10g", rel, tc.RelError)
			}
		})
	}
}

func TestGoldenKernelPCA(t *testing.T) {
	g := loadGolden(t)
	X, Xt := mustRows(t, g.Wine.XTrain), mustRows(t, g.Wine.XTest)
	for _, tc := range g.KPCA {
		t.Run(tc.Kernel, func(t *testing.T) {
			m := &kernel.KPCA{Kernel: mustKernel(t, tc.Kernel), Components: tc.Components}
			if err := m.Fit(context.Background(), X); err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.Eigenvalues {
				if got := m.Eigenvalues()[k]; !relClose(got, want, 1e-9) {
					t.Errorf("eigenvalue %d = %.12g, scikit-learn %.12g", k, got, want)
				}
			}
			for _, split := range []struct {
				name string
				x    *mat.Dense
				want [][]float64
			}{{"test", Xt, tc.TransformTest}, {"train", X, tc.TransformTrain}} {
				T, err := m.Transform(split.x)
				if err != nil {
					t.Fatal(err)
				}
				// Eigenvectors are defined up to sign: align each
				// component's sign on its largest entry.
				for k := 0; k < tc.Components; k++ {
					var dot float64
					for i, row := range split.want {
						dot += row[k] * T.At(i, k)
					}
					sign := 1.0
					if dot < 0 {
						sign = -1
					}
					var scale float64
					for _, row := range split.want {
						scale = math.Max(scale, math.Abs(row[k]))
					}
					for i, row := range split.want {
						if got := sign * T.At(i, k); math.Abs(got-row[k]) > 1e-8*scale {
							t.Errorf("%s component %d row %d = %.12g, scikit-learn %.12g", split.name, k, i, got, row[k])
						}
					}
				}
			}
		})
	}
}
