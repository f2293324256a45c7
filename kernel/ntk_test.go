package kernel_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/kernel"
	"github.com/trustml/trustml/nn"
)

// ntkGolden is kernel/testdata/ntk_golden.json, written by gen_ntk.py
// (PyTorch, a loop of per-sample backward passes).
type ntkGolden struct {
	Sizes  []int         `json:"sizes"`
	Params [][]float64   `json:"params"`
	X      [][]float64   `json:"x"`
	Z      [][]float64   `json:"z"`
	Grams  [][][]float64 `json:"grams"`
	FX     []float64     `json:"f_x"`
}

func loadNTKGolden(t *testing.T) (*ntkGolden, *nn.Network) {
	t.Helper()
	raw, err := os.ReadFile("testdata/ntk_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g ntkGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(nn.MLP([]int{g.Sizes[0]}, g.Sizes[1:len(g.Sizes)-1], g.Sizes[len(g.Sizes)-1]), 1)
	if err != nil {
		t.Fatal(err)
	}
	ps := net.Params()
	if len(ps) != len(g.Params) {
		t.Fatalf("network has %d parameter tensors, golden %d", len(ps), len(g.Params))
	}
	for i, p := range ps {
		if len(p.W) != len(g.Params[i]) {
			t.Fatalf("%s has %d values, golden %d", p.Name, len(p.W), len(g.Params[i]))
		}
		for j, v := range g.Params[i] {
			p.W[j] = float32(v)
		}
	}
	return &g, net
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func TestWNTKGolden(t *testing.T) {
	g, net := loadNTKGolden(t)
	X, Z := rowsOf(g.X), rowsOf(g.Z)
	// The weights are laid out as PyTorch's: same outputs.
	x32 := make([]float32, 0, len(g.X)*3)
	for _, r := range g.X {
		for _, v := range r {
			x32 = append(x32, float32(v))
		}
	}
	out := make([]float32, 2*len(g.X))
	if err := net.Logits(context.Background(), out, x32); err != nil {
		t.Fatal(err)
	}
	for i := range g.FX {
		if v := out[2*i]; !near(float64(v), g.FX[i], 1e-5) {
			t.Fatalf("f(x_%d) = %v, PyTorch %v", i, v, g.FX[i])
		}
	}
	k := &kernel.WNTK{Net: net}
	gs, err := k.GroupGrams(context.Background(), X, Z)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != len(g.Grams) {
		t.Fatalf("%d layer blocks, golden %d", len(gs), len(g.Grams))
	}
	for l, want := range g.Grams {
		for i, row := range want {
			for j, v := range row {
				if got := gs[l].At(i, j); !near(got, v, 1e-5) {
					t.Errorf("Θ_%d[%d][%d] = %.8g, PyTorch %.8g", l, i, j, got, v)
				}
			}
		}
	}
	// Θ_w = Σ_l w_l Θ_l through Gram, and Eval agrees with Gram.
	k.Weights = []float64{0.5, 2, 0}
	K, err := kernel.Gram(k, X, Z)
	if err != nil {
		t.Fatal(err)
	}
	for i := range g.X {
		for j := range g.Z {
			var want float64
			for l, w := range k.Weights {
				want += w * g.Grams[l][i][j]
			}
			if !near(K.At(i, j), want, 1e-5) {
				t.Errorf("Θ_w[%d][%d] = %.8g, want %.8g", i, j, K.At(i, j), want)
			}
			if e := k.Eval(g.X[i], g.Z[j]); !near(e, want, 1e-5) {
				t.Errorf("Eval(x_%d, z_%d) = %.8g, want %.8g", i, j, e, want)
			}
		}
	}
	names, _ := kernel.NTKGroups(net)
	if strings.Join(names, ",") != "1,3,5" {
		t.Errorf("groups %v", names)
	}
}

func rowsOf(r [][]float64) *mat.Dense {
	m := mat.NewDense(len(r), len(r[0]), nil)
	for i, v := range r {
		m.SetRow(i, v)
	}
	return m
}

func TestWNTKValidate(t *testing.T) {
	net, err := nn.New(nn.MLP([]int{3}, []int{4}, 2), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		k    *kernel.WNTK
		want string
	}{
		{"no network", &kernel.WNTK{}, "without a network"},
		{"output", &kernel.WNTK{Net: net, Output: 2}, "outputs 0..1"},
		{"weight count", &kernel.WNTK{Net: net, Weights: []float64{1}}, "1 weights for 2 layers"},
		{"negative weight", &kernel.WNTK{Net: net, Weights: []float64{1, -1}}, "want finite and ≥ 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kernel.Gram(tc.k, mat.NewDense(2, 3, nil), mat.NewDense(2, 3, nil))
			if !errors.Is(err, kernel.ErrParam) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrParam containing %q", err, tc.want)
			}
		})
	}
	if _, err := kernel.Gram(&kernel.WNTK{Net: net}, mat.NewDense(2, 4, nil), mat.NewDense(2, 4, nil)); err == nil || !strings.Contains(err.Error(), "takes 3 inputs") {
		t.Errorf("wrong width: err = %v", err)
	}
}

func TestAlignNTKWeights(t *testing.T) {
	// Layer 0's Gram is the target's outer product, layer 1's is noise-like
	// identity: alignment puts the weight on layer 0.
	y := []float64{1, -1, 2, 0, -2}
	n := len(y)
	K0, K1 := mat.NewDense(n, n, nil), mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		K1.Set(i, i, 1)
		for j := 0; j < n; j++ {
			K0.Set(i, j, y[i]*y[j])
		}
	}
	w, err := kernel.AlignNTKWeights([]*mat.Dense{K0, K1}, y, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !(w[0] > 1.9 && w[1] < 0.1) || !near(w[0]+w[1], 2, 1e-9) {
		t.Errorf("weights %v, want ≈ [2 0]", w)
	}
	if _, err := kernel.AlignNTKWeights([]*mat.Dense{K0}, y[:3], 0); !errors.Is(err, kernel.ErrShape) {
		t.Errorf("shape mismatch: err = %v", err)
	}
}

func TestSearchNTKWeights(t *testing.T) {
	// Layer 0 carries the signal (a linear kernel on the feature that makes
	// y), layer 1 a feature unrelated to y: the search drops layer 1.
	n := 40
	x0, x1, y := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range y {
		x0[i] = float64(i%7) - 3
		x1[i] = float64((i*5)%11) - 5
		y[i] = 2 * x0[i]
	}
	K0, K1 := mat.NewDense(n, n, nil), mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			K0.Set(i, j, x0[i]*x0[j])
			K1.Set(i, j, 10*x1[i]*x1[j])
		}
	}
	val := []int{0, 3, 6, 9, 12, 15, 18, 21, 24, 27}
	w, ridge, err := kernel.SearchNTKWeights(context.Background(), []*mat.Dense{K0, K1}, y, val, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if w[1] != 0 || w[0] <= 0 || ridge <= 0 {
		t.Errorf("weights %v ridge %v, want layer 1 dropped", w, ridge)
	}
	for _, tc := range []struct {
		name string
		val  []int
	}{{"no validation rows", nil}, {"row out of range", []int{n}}} {
		if _, _, err := kernel.SearchNTKWeights(context.Background(), []*mat.Dense{K0}, y, tc.val, nil, 0); !errors.Is(err, kernel.ErrShape) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}
