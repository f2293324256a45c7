package kernel_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
)

// roundTrip saves and loads m through a file and returns the loaded model.
func roundTrip(t *testing.T, m kernel.Model) kernel.Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.json")
	if err := kernel.SaveFile(path, m); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("SaveFile left %d files behind", len(entries))
	}
	got, err := kernel.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.ModelKind() != m.ModelKind() {
		t.Fatalf("loaded kind %q, saved %q", got.ModelKind(), m.ModelKind())
	}
	return got
}

func equalFloats(t *testing.T, name string, a, b []float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d values", name, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%s[%d]: %v before saving, %v after", name, i, a[i], b[i])
		}
	}
}

// TestSaveLoadRoundTrip: every model predicts bit for bit the same after a
// save/load round trip.
func TestSaveLoadRoundTrip(t *testing.T) {
	X, y := regression(40, 40, 3, 0.1)
	Xt, _ := regression(41, 9, 3, 0)
	Xl, labels := blobs(42, 36, 3, 3, 1)
	t.Run("krr", func(t *testing.T) {
		m := &kernel.KRR{Kernel: kernel.Polynomial{Gamma: 0.5, Coef0: 1, Degree: 2}, Lambda: 0.1, ScaleByN: true}
		if err := m.Fit(bg, X, y); err != nil {
			t.Fatal(err)
		}
		a, _ := m.Predict(Xt)
		b, err := roundTrip(t, m).(*kernel.KRR).Predict(Xt)
		if err != nil {
			t.Fatal(err)
		}
		equalFloats(t, "predictions", a, b)
	})
	t.Run("krr-gram", func(t *testing.T) {
		K, _ := kernel.Gram(kernel.RBF{Gamma: 1}, X, X)
		Kt, _ := kernel.Gram(kernel.RBF{Gamma: 1}, Xt, X)
		m := &kernel.KRR{Lambda: 0.1}
		if err := m.FitGram(bg, K, y); err != nil {
			t.Fatal(err)
		}
		a, _ := m.PredictGram(Kt)
		b, err := roundTrip(t, m).(*kernel.KRR).PredictGram(Kt)
		if err != nil {
			t.Fatal(err)
		}
		equalFloats(t, "predictions", a, b)
	})
	t.Run("lssvm-regressor", func(t *testing.T) {
		m := &kernel.LSSVMRegressor{Kernel: kernel.Laplacian{Gamma: 0.3}, Gamma: 4}
		if err := m.Fit(bg, X, y); err != nil {
			t.Fatal(err)
		}
		a, _ := m.Predict(Xt)
		b, _ := roundTrip(t, m).(*kernel.LSSVMRegressor).Predict(Xt)
		equalFloats(t, "predictions", a, b)
	})
	t.Run("lssvm-classifier", func(t *testing.T) {
		m := &kernel.LSSVMClassifier{Kernel: kernel.RBF{Gamma: 0.2}, Gamma: 4}
		if err := m.Fit(bg, Xl, labels); err != nil {
			t.Fatal(err)
		}
		a, _ := m.Decision(Xl)
		b, _ := roundTrip(t, m).(*kernel.LSSVMClassifier).Decision(Xl)
		if !mat.Equal(a, b) {
			t.Error("decisions changed")
		}
	})
	t.Run("askls-sne", func(t *testing.T) {
		m := &kernel.AsKLS{Kernel: kernel.SNE{Sigma: 2, Power: 1}, Gamma: 1}
		if err := m.Fit(bg, Xl, labels); err != nil {
			t.Fatal(err)
		}
		a, _ := m.Decision(Xl)
		b, err := roundTrip(t, m).(*kernel.AsKLS).Decision(Xl)
		if err != nil {
			t.Fatal(err)
		}
		if !mat.Equal(a, b) {
			t.Error("decisions changed")
		}
	})
	t.Run("askls-features", func(t *testing.T) {
		m := &kernel.AsKLS{Gamma: 1}
		if err := m.FitFeatures(bg, Xl, Xl, labels); err != nil {
			t.Fatal(err)
		}
		a, _, _ := m.DecisionFeatures(Xl, Xl)
		b, _, err := roundTrip(t, m).(*kernel.AsKLS).DecisionFeatures(Xl, Xl)
		if err != nil {
			t.Fatal(err)
		}
		if !mat.Equal(a, b) {
			t.Error("decisions changed")
		}
	})
	t.Run("labrbf", func(t *testing.T) {
		m := &kernel.LABRBF{MaxSV: 12, Iters: []int{20}, Stages: 2, Rand: rand.New(rand.NewPCG(1, 1))}
		if err := m.Fit(bg, X, y); err != nil {
			t.Fatal(err)
		}
		a, _ := m.Predict(Xt)
		l := roundTrip(t, m).(*kernel.LABRBF)
		b, _ := l.Predict(Xt)
		equalFloats(t, "predictions", a, b)
		equalFloats(t, "history", m.History(), l.History())
	})
	t.Run("nystrom", func(t *testing.T) {
		m := &kernel.Nystrom{Kernel: kernel.CosineGaussian{Gamma: 2}, Components: 10}
		if err := m.Fit(bg, X); err != nil {
			t.Fatal(err)
		}
		a, _ := m.Transform(Xt)
		b, _ := roundTrip(t, m).(*kernel.Nystrom).Transform(Xt)
		if !mat.Equal(a, b) {
			t.Error("features changed")
		}
	})
	t.Run("kpca", func(t *testing.T) {
		m := &kernel.KPCA{Kernel: kernel.RBF{Gamma: 0.5}, Components: 3}
		if err := m.Fit(bg, X); err != nil {
			t.Fatal(err)
		}
		a, _ := m.Transform(Xt)
		l := roundTrip(t, m).(*kernel.KPCA)
		b, _ := l.Transform(Xt)
		if !mat.Equal(a, b) {
			t.Error("projections changed")
		}
		ea, _ := m.ReconstructionError(Xt)
		eb, _ := l.ReconstructionError(Xt)
		equalFloats(t, "reconstruction error", ea, eb)
	})
}

// customKernel has no Spec and so cannot be saved.
type customKernel struct{}

func (customKernel) Eval(x, z []float64) float64 { return x[0] * z[0] }
func (customKernel) Symmetric() bool             { return true }

func TestSaveLoadErrors(t *testing.T) {
	X, y := regression(43, 10, 2, 0.1)
	if err := kernel.Save(&bytes.Buffer{}, &kernel.KRR{}); !errors.Is(err, kernel.ErrNotFitted) {
		t.Errorf("saving an unfitted model: %v", err)
	}
	c := &kernel.KRR{Kernel: customKernel{}, Lambda: 1}
	if err := c.Fit(bg, X, y); err != nil {
		t.Fatal(err)
	}
	if err := kernel.Save(&bytes.Buffer{}, c); !errors.Is(err, kernel.ErrParam) {
		t.Errorf("saving a model with an unregistered kernel: %v", err)
	}
	m := &kernel.KRR{Kernel: kernel.RBF{Gamma: 1}, Lambda: 1}
	if err := m.Fit(bg, X, y); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := kernel.Save(&buf, m); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	for name, text := range map[string]string{
		"empty":         "",
		"not json":      "hello",
		"truncated":     good[:len(good)/2],
		"wrong format":  strings.Replace(good, "trustml-kernel-model", "something-else", 1),
		"newer version": strings.Replace(good, `"version":1`, `"version":99`, 1),
		"unknown kind":  strings.Replace(good, `"kind":"krr"`, `"kind":"svm"`, 1),
		"wrong kernel":  strings.Replace(good, `"name":"rbf"`, `"name":"nope"`, 1),
		"bad gamma":     strings.Replace(good, `"gamma":1`, `"gamma":-1`, 1),
		"short alpha":   strings.Replace(good, `"alpha":[`, `"alpha":[1,`, 1),
		"rows mismatch": strings.Replace(good, `"n":10`, `"n":11`, 1),
	} {
		if _, err := kernel.Load(strings.NewReader(text)); !errors.Is(err, kernel.ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
	if _, err := kernel.LoadFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("loading a missing file succeeded")
	}
	if err := kernel.SaveFile(filepath.Join(t.TempDir(), "no", "such", "dir", "m.json"), m); err == nil {
		t.Error("saving into a missing directory succeeded")
	}
}

func TestParseKernel(t *testing.T) {
	for _, tc := range []struct {
		text string
		want kernel.Kernel
	}{
		{"linear", kernel.Linear{}},
		{"rbf:gamma=0.5", kernel.RBF{Gamma: 0.5}},
		{" RBF : gamma = 2 ", kernel.RBF{Gamma: 2}},
		{"poly:gamma=1", kernel.Polynomial{Gamma: 1, Coef0: 1, Degree: 3}},
		{"poly:gamma=1,degree=2,coef0=0", kernel.Polynomial{Gamma: 1, Degree: 2}},
		{"laplacian:gamma=3", kernel.Laplacian{Gamma: 3}},
		{"sigmoid:gamma=0.1", kernel.Sigmoid{Gamma: 0.1, Coef0: 1}},
		{"cosine-gaussian:gamma=2", kernel.CosineGaussian{Gamma: 2}},
		{"delta-gaussian", kernel.DeltaGaussian{Sigma1: 1, Sigma2: 10}},
		{"sphere-poly:p=2", kernel.SpherePolynomial{A: 3, P: 2}},
	} {
		k, err := kernel.ParseKernel(tc.text)
		if err != nil {
			t.Errorf("%q: %v", tc.text, err)
			continue
		}
		s1, _ := kernel.SpecOf(k)
		s2, _ := kernel.SpecOf(tc.want)
		if s1.Name != s2.Name || len(s1.Params) != len(s2.Params) {
			t.Errorf("%q: got %+v, want %+v", tc.text, s1, s2)
		}
		for p, v := range s2.Params {
			if s1.Params[p] != v {
				t.Errorf("%q: %s = %v, want %v", tc.text, p, s1.Params[p], v)
			}
		}
	}
	k, err := kernel.ParseKernel("shifted-gaussian:sigma=1,shift=0.5;-1")
	if err != nil {
		t.Fatal(err)
	}
	if sg := k.(kernel.ShiftedGaussian); len(sg.Shift) != 2 || sg.Shift[1] != -1 {
		t.Errorf("shift %v", sg.Shift)
	}
	if _, err := kernel.ParseKernel("sne:sigma=1"); err != nil {
		t.Errorf("unbound sne: %v", err)
	}
	for _, bad := range []string{"", "nope", "rbf", "rbf:gamma", "rbf:gamma=x", "rbf:gamma=NaN", "rbf:sigma=1",
		"poly:gamma=1,degree=2.5", "shifted-gaussian:sigma=1", "skewed-gaussian:sigma=1,a=2,c=1", "linear:gamma=1"} {
		if _, err := kernel.ParseKernel(bad); !errors.Is(err, kernel.ErrParam) {
			t.Errorf("%q: got %v, want ErrParam", bad, err)
		}
	}
	if len(kernel.KernelNames()) < 13 || kernel.KernelHelp() == "" {
		t.Error("registry incomplete")
	}
}

// FuzzLoad: model files are untrusted input; Load must return an error,
// never panic, and a model it accepts must predict without panicking.
func FuzzLoad(f *testing.F) {
	X, y := regression(44, 6, 2, 0.1)
	Xl, labels := blobs(45, 9, 2, 3, 1)
	models := []kernel.Model{}
	krr := &kernel.KRR{Kernel: kernel.RBF{Gamma: 1}, Lambda: 1}
	_ = krr.Fit(bg, X, y)
	ask := &kernel.AsKLS{Kernel: kernel.SkewedGaussian{Sigma: 1, A: 0.5, C: []float64{1, 0}}, Gamma: 1}
	_ = ask.Fit(bg, Xl, labels)
	kp := &kernel.KPCA{Kernel: kernel.Cosine{}, Components: 2}
	_ = kp.Fit(bg, X)
	lab := &kernel.LABRBF{MaxSV: 3, Iters: []int{2}, Stages: 1}
	_ = lab.Fit(bg, X, y)
	models = append(models, krr, ask, kp, lab)
	iris, err := data.Tabular("iris")
	if err != nil {
		f.Fatal(err)
	}
	pipe := &kernel.Pipeline{}
	if err := pipe.Fit(bg, iris); err != nil {
		f.Fatal(err)
	}
	models = append(models, pipe)
	f.Add([]byte(`{"format":"trustml-kernel-cli-model","version":1,"features":1,"mean":[0],"std":[1],"regression":true,"model":{"format":"trustml-kernel-model","version":1,"kind":"krr","model":{}}}`))
	for _, m := range models {
		var buf bytes.Buffer
		if err := kernel.Save(&buf, m); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := kernel.Load(bytes.NewReader(b))
		if err != nil {
			return
		}
		probe := mat.NewDense(2, 2, []float64{0.1, -0.2, 0.3, 0.4})
		switch mm := m.(type) {
		case *kernel.KRR:
			_, _ = mm.Predict(probe)
		case *kernel.AsKLS:
			_, _ = mm.Predict(probe)
		case *kernel.KPCA:
			_, _ = mm.Transform(probe)
			_, _ = mm.ReconstructionError(probe)
		case *kernel.LABRBF:
			_, _ = mm.Predict(probe)
		case *kernel.LSSVMClassifier:
			_, _ = mm.Predict(probe)
		case *kernel.LSSVMRegressor:
			_, _ = mm.Predict(probe)
		case *kernel.Nystrom:
			_, _ = mm.Transform(probe)
		case *kernel.Pipeline:
			if mm.Features > 0 && mm.Features <= 16 {
				d := &data.Dataset{Name: "probe", Shape: []int{mm.Features}, X: make([]float32, 2*mm.Features),
					Y: []int{0, 1}, Classes: []string{"a", "b"}}
				if mm.Regression {
					d.Y, d.Classes, d.Target = nil, nil, []float64{1, 2}
				}
				_, _ = mm.Predict(d)
			}
		}
	})
}

// FuzzParseKernel: kernel specifications come from the command line.
func FuzzParseKernel(f *testing.F) {
	for _, s := range []string{"rbf:gamma=0.5", "poly:gamma=1,degree=2", "shifted-gaussian:sigma=1,shift=1;2", "sne:sigma=1,power=1", "x:=,="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := kernel.ParseKernel(s)
		if err != nil {
			return
		}
		x := []float64{0.5, -1}
		if dk, ok := k.(interface{ Dim() int }); ok && dk.Dim() > 0 {
			x = make([]float64, dk.Dim())
		}
		X := mat.NewDense(1, len(x), x)
		_, _ = kernel.Gram(k, X, X)
	})
}
