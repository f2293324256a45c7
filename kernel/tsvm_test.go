package kernel

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/trustml/trustml/data"
)

// TestSVMSolversAgree checks the two QP solvers of tSVM-MTL's steps on the
// same low-rank problems: SMO (used on the L-steps' full-rank matrices)
// and the interior-point method (used on the U-steps' rank-R ones) give
// the same β and biases, for classification and ε-regression.
func TestSVMSolversAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, R = 24, 3
	V := make([]float64, n*R)
	for i := range V {
		V[i] = rng.NormFloat64()
	}
	Q := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for r := 0; r < R; r++ {
				Q[i*n+j] += V[i*R+r] * V[j*R+r]
			}
		}
	}
	y, ycls, task := make([]float64, n), make([]float64, n), make([]int, n)
	for i := range y {
		y[i] = rng.NormFloat64()
		ycls[i] = 1
		if i%2 == 0 {
			ycls[i] = -1
		}
		task[i] = 4 + i%3
	}
	ids := []int{4, 5, 6}
	for _, tc := range []struct {
		name string
		y    []float64
		cls  bool
	}{{"classification", ycls, true}, {"regression", y, false}} {
		for _, C := range []float64{0.1, 1} {
			bs, bias, _, err := mtlSVM(context.Background(), Q, n, tc.y, task, ids, nil, C, 0.1, 1e-9, tc.cls)
			if err != nil {
				t.Fatalf("%s C=%g SMO: %v", tc.name, C, err)
			}
			bi, biasI, _, err := mtlSVM(context.Background(), Q, n, tc.y, task, ids, V, C, 0.1, 1e-9, tc.cls)
			if err != nil {
				t.Fatalf("%s C=%g interior point: %v", tc.name, C, err)
			}
			// The dual optimum of a rank-R problem need not be unique, the
			// primal weight w = Σ β_i v_i and the decision values are.
			// The dual optimum of a rank-R problem need not be unique, nor
			// a bias without a free support vector: the primal objective
			// ½‖w‖² + C·Σ loss and w = Σ β_i v_i are.
			primal := func(beta, bias []float64) ([]float64, float64) {
				w := make([]float64, R)
				for i := 0; i < n; i++ {
					for r := 0; r < R; r++ {
						w[r] += beta[i] * V[i*R+r]
					}
				}
				var obj float64
				for _, v := range w {
					obj += v * v / 2
				}
				for i := 0; i < n; i++ {
					f := bias[task[i]-4]
					for r := 0; r < R; r++ {
						f += w[r] * V[i*R+r]
					}
					if tc.cls {
						obj += C * max(0, 1-tc.y[i]*f)
					} else {
						obj += C * max(0, math.Abs(tc.y[i]-f)-0.1)
					}
				}
				return w, obj
			}
			ws, os := primal(bs, bias)
			wi, oi := primal(bi, biasI)
			if math.Abs(os-oi) > 1e-6*(1+os) {
				t.Errorf("%s C=%g: primal objective SMO %.10g, interior point %.10g", tc.name, C, os, oi)
			}
			for r := range ws {
				if math.Abs(ws[r]-wi[r]) > 1e-4*(1+math.Abs(ws[r])) {
					t.Errorf("%s C=%g: w[%d] SMO %.8g, interior point %.8g", tc.name, C, r, ws[r], wi[r])
				}
			}
		}
	}
}

// TestTensorSVMPipeline fits tsvm-mtl through the method registry on a
// task-column set whose tasks have opposite slopes, saves and reloads it.
func TestTensorSVMPipeline(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	d := &data.Dataset{Name: "mtl", Shape: []int{3}, Features: []string{"a", "group", "b"}}
	slope := []float64{1, -1, 0.5}
	for i := 0; i < 120; i++ {
		g := i % 3
		a, b := rng.NormFloat64(), rng.NormFloat64()
		d.X64 = append(d.X64, a, float64(g+1), b)
		d.X = append(d.X, float32(a), float32(g+1), float32(b))
		d.Target = append(d.Target, slope[g]*(2*a+b)+0.05*rng.NormFloat64())
	}
	ctx := context.Background()
	p := &Pipeline{Method: "tsvm-mtl", Kernel: "linear", Tasks: "group", Seed: 1}
	h, err := p.FitHoldout(ctx, d, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if h.TestScore < 0.9 {
		t.Errorf("tsvm-mtl test R² %.3f, want ≥ 0.9", h.TestScore)
	}
	var buf bytes.Buffer
	if err := Save(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"tsvm-mtl-regressor"`)) || !bytes.Contains(buf.Bytes(), []byte(`"loss":"svm"`)) {
		t.Errorf("saved model does not name tsvm-mtl-regressor with loss svm")
	}
	m, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.Predict(d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.(*Pipeline).Predict(d)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Values {
		if a.Values[i] != b.Values[i] {
			t.Fatalf("row %d: loaded model predicts %v, fitted %v", i, b.Values[i], a.Values[i])
		}
	}
}

func TestTensorSVMBadSettings(t *testing.T) {
	X := rowsDense([][]float64{{0}, {1}, {2}, {3}})
	tasks := [][]int{{0}, {0}, {1}, {1}}
	for _, m := range []TensorMTL{
		{Kernel: Linear{}, Gamma: 1, Loss: "hinge"},
		{Kernel: Linear{}, Gamma: 1, Loss: LossSVM, Epsilon: -1},
		{Kernel: Linear{}, Gamma: 1, Loss: LossSVM, SVMTol: math.NaN()},
	} {
		r := &TensorMTLRegressor{TensorMTL: m}
		if err := r.FitTasks(context.Background(), X, []float64{0, 1, 2, 3}, tasks); !errors.Is(err, ErrParam) {
			t.Errorf("%+v: err = %v, want ErrParam", m, err)
		}
	}
}
