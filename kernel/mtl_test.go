package kernel_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/kernel"
)

// mtlSet is a regression set with features a, b and a task column "group"
// (values 1, 2, 5) whose tasks have opposite slopes: one shared model
// cannot fit it, a multitask one can.
func mtlSet(n int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	groups := []float64{1, 2, 5}
	slope := []float64{1, -1, 0.5}
	d := &data.Dataset{Name: "mtl", Shape: []int{3}, Features: []string{"a", "group", "b"}}
	for i := 0; i < n; i++ {
		g := i % 3
		a, b := rng.NormFloat64(), rng.NormFloat64()
		d.X64 = append(d.X64, a, groups[g], b)
		d.X = append(d.X, float32(a), float32(groups[g]), float32(b))
		d.Target = append(d.Target, slope[g]*(2*a+b)+0.05*rng.NormFloat64())
	}
	return d
}

func TestPipelineTensorMTL(t *testing.T) {
	ctx := context.Background()
	d := mtlSet(150, 1)
	mtl := &kernel.Pipeline{Method: "tlssvm-mtl", Kernel: "linear", Tasks: "group", Seed: 1}
	h, err := mtl.FitHoldout(ctx, d, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	shared := &kernel.Pipeline{Method: "lssvm", Kernel: "linear", Seed: 1}
	hs, err := shared.FitHoldout(ctx, d, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if h.TestScore < 0.95 || hs.TestScore > 0.5 {
		t.Errorf("test R²: tlssvm-mtl %.3f (want ≥ 0.95), shared lssvm %.3f (want ≤ 0.5)", h.TestScore, hs.TestScore)
	}
	// The saved pipeline predicts as the fitted one, bit for bit.
	var buf bytes.Buffer
	if err := kernel.Save(&buf, mtl); err != nil {
		t.Fatal(err)
	}
	m, err := kernel.Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	p2 := m.(*kernel.Pipeline)
	a, err := mtl.Predict(d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p2.Predict(d)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Values {
		if a.Values[i] != b.Values[i] {
			t.Fatalf("row %d: loaded model predicts %v, fitted %v", i, b.Values[i], a.Values[i])
		}
	}
	if p2.Tasks != "group" {
		t.Errorf("loaded pipeline's Tasks = %q", p2.Tasks)
	}
	// A task the model never saw is an error naming the value.
	unseen := d.Clone()
	unseen.X64[1], unseen.X[1] = 7, 7
	if _, err := p2.Predict(unseen); err == nil || !strings.Contains(err.Error(), "task value 7") {
		t.Errorf("unseen task: err = %v", err)
	}
}

func TestPipelineTensorMTLClassification(t *testing.T) {
	d := mtlSet(90, 2)
	d.Y = make([]int, len(d.Target))
	for i, v := range d.Target {
		if v > 0 {
			d.Y[i] = 1
		}
	}
	d.Target, d.Classes = nil, []string{"neg", "pos"}
	p := &kernel.Pipeline{Method: "tlssvm-mtl", Kernel: "linear", Tasks: "2", Seed: 1}
	h, err := p.FitHoldout(context.Background(), d, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if h.TestScore < 0.85 {
		t.Errorf("test accuracy %.3f, want ≥ 0.85", h.TestScore)
	}
}

func TestPipelineTasksErrors(t *testing.T) {
	d := mtlSet(30, 3)
	for _, tc := range []struct {
		name, method, tasks, want string
	}{
		{"no task column", "tlssvm-mtl", "", "needs a task column"},
		{"single-task method", "lssvm", "group", "takes no task column"},
		{"unknown name", "tlssvm-mtl", "region", `"region" is not a feature`},
		{"column out of range", "tlssvm-mtl", "4", "feature columns 1..3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &kernel.Pipeline{Method: tc.method, Tasks: tc.tasks}
			err := p.Fit(context.Background(), d)
			if !errors.Is(err, kernel.ErrParam) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrParam containing %q", err, tc.want)
			}
		})
	}
}

func TestTensorMTLBadInput(t *testing.T) {
	X := mat.NewDense(4, 2, []float64{0, 1, 1, 0, 1, 1, 0, 0})
	y := []float64{1, 2, 3, 4}
	for _, tc := range []struct {
		name  string
		m     kernel.TensorMTL
		tasks [][]int
	}{
		{"negative index", kernel.TensorMTL{Kernel: kernel.Linear{}, Gamma: 1}, [][]int{{0}, {1}, {-1}, {0}}},
		{"ragged", kernel.TensorMTL{Kernel: kernel.Linear{}, Gamma: 1}, [][]int{{0}, {1, 0}, {0}, {0}}},
		{"too few", kernel.TensorMTL{Kernel: kernel.Linear{}, Gamma: 1}, [][]int{{0}}},
		{"zero gamma", kernel.TensorMTL{Kernel: kernel.Linear{}}, [][]int{{0}, {1}, {0}, {1}}},
		{"bad init", kernel.TensorMTL{Kernel: kernel.Linear{}, Gamma: 1, InitFactors: []*mat.Dense{mat.NewDense(1, 3, nil)}}, [][]int{{0}, {1}, {0}, {1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &kernel.TensorMTLRegressor{TensorMTL: tc.m}
			if err := m.FitTasks(context.Background(), X, y, tc.tasks); err == nil {
				t.Error("no error")
			}
		})
	}
}

// FuzzLoadTensorMTL feeds corrupted tLSSVM-MTL model files to Load and
// predicts with what loads: errors are fine, panics are not.
func FuzzLoadTensorMTL(f *testing.F) {
	ctx := context.Background()
	d := mtlSet(12, 4)
	reg := &kernel.Pipeline{Method: "tlssvm-mtl", Kernel: "rbf:gamma=0.5", Tasks: "group"}
	if err := reg.Fit(ctx, d); err != nil {
		f.Fatal(err)
	}
	X := mat.NewDense(6, 2, []float64{0, 1, 1, 0, 1, 1, 0, 0, 2, 1, 1, 2})
	cls := &kernel.TensorMTLClassifier{TensorMTL: kernel.TensorMTL{Kernel: kernel.Linear{}, Gamma: 1, Rank: 2}}
	if err := cls.FitTasks(ctx, X, []int{0, 1, 2, 0, 1, 2}, [][]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}, {0, 0}, {1, 1}}); err != nil {
		f.Fatal(err)
	}
	for _, m := range []kernel.Model{reg, reg.Model, cls} {
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
		probe := mat.NewDense(2, 3, []float64{0.1, 1, 0.3, 0.4, 2, -1})
		switch mm := m.(type) {
		case *kernel.TensorMTLRegressor:
			_, _ = mm.Predict(probe)
			_, _ = mm.PredictTasks(probe, [][]int{{0}, {1}})
		case *kernel.TensorMTLClassifier:
			_, _ = mm.Predict(probe)
			_, _ = mm.PredictTasks(probe, [][]int{{0, 1}, {1, 0}})
		case *kernel.Pipeline:
			if mm.Features == 3 {
				_, _ = mm.Predict(d)
			}
		}
	})
}

func TestTensorMTLFitNeedsTasks(t *testing.T) {
	X := mat.NewDense(4, 2, []float64{0, 1, 1, 0, 1, 1, 0, 0})
	m := &kernel.TensorMTLRegressor{TensorMTL: kernel.TensorMTL{Kernel: kernel.Linear{}, Gamma: 1}}
	if err := m.Fit(context.Background(), X, []float64{1, 2, 3, 4}); !errors.Is(err, kernel.ErrParam) || !strings.Contains(err.Error(), "set TaskColumn") {
		t.Errorf("Fit without a task column: err = %v", err)
	}
	m.TaskColumn = 3
	if err := m.Fit(context.Background(), X, []float64{1, 2, 3, 4}); !errors.Is(err, kernel.ErrShape) {
		t.Errorf("task column 3 of 2: err = %v", err)
	}
}
