package kernel

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// mtlGolden is kernel/testdata/mtl_golden.json, written by gen_mtl.py (an
// independent numpy implementation of tLSSVM-MTL), or tsvm_golden.json,
// written by gen_tsvm.py (tSVM-MTL in numpy with every QP solved by an
// interior-point method; it sets C and Epsilon instead of Gamma).
type mtlGolden struct {
	X         [][]float64   `json:"x"`
	Tasks     [][]int       `json:"tasks"`
	XTest     [][]float64   `json:"x_test"`
	TasksTest [][]int       `json:"tasks_test"`
	Y         []float64     `json:"y"`
	YCls      []float64     `json:"y_cls"`
	U0        [][][]float64 `json:"u0"`
	Rank      int           `json:"rank"`
	Gamma     float64       `json:"gamma"`
	C         float64       `json:"c"`
	Epsilon   float64       `json:"epsilon"`
	KGamma    float64       `json:"kernel_gamma"`
	Iters     int           `json:"iters"`
	Reg, Cls  struct {
		U    [][][]float64 `json:"u"`
		Beta []float64     `json:"beta"`
		Pred []float64     `json:"pred"`
	}
}

func rowsDense(rows [][]float64) *mat.Dense {
	m := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

func TestTensorMTLGolden(t *testing.T) {
	g := loadMTLGolden(t, "testdata/mtl_golden.json")
	settings := TensorMTL{Kernel: RBF{Gamma: g.KGamma}, Gamma: g.Gamma, Rank: g.Rank, MaxIter: g.Iters, Tol: 1e-300, InitFactors: g.initFactors()}
	checkMTLGolden(t, g, settings, 1e-7)
}

func loadMTLGolden(t *testing.T, path string) *mtlGolden {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g mtlGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// initFactors returns the golden's starting task factors.
func (g *mtlGolden) initFactors() []*mat.Dense {
	var init []*mat.Dense
	for _, u := range g.U0 {
		init = append(init, rowsDense(u))
	}
	return init
}

// checkMTLGolden fits the regressor and the classifier with settings on the
// golden's tasks and compares factors, weights and test outputs with the
// numpy values within tol (relative to 1 + |value|).
func checkMTLGolden(t *testing.T, g *mtlGolden, settings TensorMTL, tol float64) {
	t.Helper()
	X, Xte := rowsDense(g.X), rowsDense(g.XTest)
	close := func(name string, got, want []float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
				t.Errorf("%s[%d] = %.10g, numpy %.10g", name, i, got[i], want[i])
			}
		}
	}
	factors := func(name string, got []*mat.Dense, want [][][]float64) {
		t.Helper()
		for k, u := range want {
			var flat []float64
			for _, r := range u {
				flat = append(flat, r...)
			}
			close(name, got[k].RawMatrix().Data, flat)
		}
	}

	reg := &TensorMTLRegressor{TensorMTL: settings}
	if err := reg.FitTasks(context.Background(), X, g.Y, g.Tasks); err != nil {
		t.Fatal(err)
	}
	if reg.Iterations() != g.Iters {
		t.Errorf("regression ran %d rounds, want %d", reg.Iterations(), g.Iters)
	}
	factors("regression U", reg.TaskFactors(), g.Reg.U)
	close("regression beta", reg.fit.Beta, g.Reg.Beta)
	pred, err := reg.PredictTasks(Xte, g.TasksTest)
	if err != nil {
		t.Fatal(err)
	}
	close("regression prediction", pred, g.Reg.Pred)

	labels := make([]int, len(g.YCls))
	for i, v := range g.YCls {
		if v > 0 {
			labels[i] = 1
		}
	}
	cls := &TensorMTLClassifier{TensorMTL: settings}
	if err := cls.FitTasks(context.Background(), X, labels, g.Tasks); err != nil {
		t.Fatal(err)
	}
	factors("classification U", cls.fits[0].taskFactors(), g.Cls.U)
	close("classification beta", cls.fits[0].Beta, g.Cls.Beta)
	d, err := cls.DecisionTasks(Xte, g.TasksTest)
	if err != nil {
		t.Fatal(err)
	}
	close("classification decision", mat.Col(nil, 1, d), g.Cls.Pred)
}
