package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustml/trustml/attack"
	"github.com/trustml/trustml/model"
)

// linear is a linear softmax classifier z = Wx + b with input gradients,
// the model of testdata/mifgsm_golden.py.
type linear struct {
	w, b []float32
	d, k int
}

func (l *linear) InputShape() []int { return []int{l.d} }
func (l *linear) NumClasses() int   { return l.k }

func (l *linear) Logits(_ context.Context, dst, x []float32) error {
	n := len(x) / l.d
	for i := range n {
		for c := range l.k {
			s := float64(l.b[c])
			for j := range l.d {
				s += float64(l.w[c*l.d+j]) * float64(x[i*l.d+j])
			}
			dst[i*l.k+c] = float32(s)
		}
	}
	return nil
}

func (l *linear) InputGrad(ctx context.Context, gx, x []float32, loss model.LossFunc) (float64, error) {
	n := len(x) / l.d
	z := make([]float32, n*l.k)
	dz := make([]float32, n*l.k)
	if err := l.Logits(ctx, z, x); err != nil {
		return 0, err
	}
	v := loss(z, dz, n, l.k)
	for i := range n {
		for j := range l.d {
			var s float64
			for c := range l.k {
				s += float64(l.w[c*l.d+j]) * float64(dz[i*l.k+c])
			}
			gx[i*l.d+j] = float32(s)
		}
	}
	return v, nil
}

type golden struct {
	W, B, X           []float64
	Y                 []int
	N, D, K, Steps    int
	Eps, Decay        float64
	Iterates          [][]float64
	L2, Linf, Ratio   []float64
	CorrX             []float64 `json:"corr_x"`
	CorrY             []float64 `json:"corr_y"`
	Pearson, Spearman float64
}

func loadGolden(t *testing.T) (*golden, *linear, []float32) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mifgsm_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	f32 := func(v []float64) []float32 {
		o := make([]float32, len(v))
		for i, x := range v {
			o[i] = float32(x)
		}
		return o
	}
	return &g, &linear{w: f32(g.W), b: f32(g.B), d: g.D, k: g.K}, f32(g.X)
}

// TestMIFGSMGolden checks every MI-FGSM iterate and the ℓ2 measure of the
// final perturbation against the numpy run of testdata/mifgsm_golden.py.
func TestMIFGSMGolden(t *testing.T) {
	g, m, x := loadGolden(t)
	adv := make([]float32, len(x))
	for step := 1; step <= g.Steps; step++ {
		a := attack.NewMIFGSM()
		a.Eps, a.Steps, a.Decay, a.StepSize = g.Eps, step, g.Decay, g.Eps/float64(g.Steps)
		if err := a.Perturb(context.Background(), m, adv, x, g.Y); err != nil {
			t.Fatal(err)
		}
		for j, want := range g.Iterates[step-1] {
			if math.Abs(float64(adv[j])-want) > 1e-5 {
				t.Fatalf("step %d: value %d (sample %d) = %v, numpy %v", step, j, j/g.D, adv[j], want)
			}
		}
	}
	norms, err := Measure(x, adv, g.N, g.Eps)
	if err != nil {
		t.Fatal(err)
	}
	for i, nm := range norms {
		if math.Abs(nm.L2-g.L2[i]) > 1e-5 || math.Abs(nm.LInf-g.Linf[i]) > 1e-5 || math.Abs(nm.Ratio-g.Ratio[i]) > 1e-5 {
			t.Errorf("sample %d: norms %+v, numpy l2 %v linf %v ratio %v", i, nm, g.L2[i], g.Linf[i], g.Ratio[i])
		}
	}
}

func TestCorrelationGolden(t *testing.T) {
	g, _, _ := loadGolden(t)
	if p := Pearson(g.CorrX, g.CorrY); math.Abs(p-g.Pearson) > 1e-12 {
		t.Errorf("Pearson %v, numpy %v", p, g.Pearson)
	}
	if s := Spearman(g.CorrX, g.CorrY); math.Abs(s-g.Spearman) > 1e-12 {
		t.Errorf("Spearman %v, numpy %v", s, g.Spearman)
	}
	for _, c := range []struct {
		name string
		x, y []float64
	}{
		{"constant", []float64{1, 1, 1}, []float64{1, 2, 3}},
		{"one point", []float64{1}, []float64{2}},
		{"lengths differ", []float64{1, 2, 3}, []float64{1, 2}},
	} {
		if p, s := Pearson(c.x, c.y), Spearman(c.x, c.y); !math.IsNaN(p) || !math.IsNaN(s) {
			t.Errorf("%s: Pearson %v, Spearman %v, want NaN", c.name, p, s)
		}
	}
}

func TestMeasureErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		x, adv []float32
		n      int
		eps    float64
	}{
		{"lengths", make([]float32, 4), make([]float32, 3), 1, 0.1},
		{"n", make([]float32, 4), make([]float32, 4), 3, 0.1},
		{"eps", make([]float32, 4), make([]float32, 4), 2, 0},
	} {
		if _, err := Measure(c.x, c.adv, c.n, c.eps); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestEvaluate runs the whole evaluation on two linear models: the
// diagonal is white-box, every perturbation stays in the ball, the matched
// perturbations are no larger, and files are written.
func TestEvaluate(t *testing.T) {
	g, m, x := loadGolden(t)
	m2 := &linear{w: append([]float32(nil), m.w...), b: m.b, d: m.d, k: m.k}
	for j := range m2.w {
		m2.w[j] *= -1 + 2*float32(j%2) // a different model
	}
	dir := t.TempDir()
	cfg := Config{Attacks: []string{"pgd", "mi-fgsm", "fgsm"}, Steps: []int{1, 5}, Eps: g.Eps, Seed: 1, OutDir: dir}
	rep, err := Evaluate(context.Background(), []model.Classifier{m, m2}, []string{"a", "b"}, x, g.Y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Pairs) != 5*2*2 {
		t.Fatalf("%d pairs, want 20", len(rep.Pairs))
	}
	for _, p := range rep.Pairs {
		if p.LInf > g.Eps+1e-6 || p.Ratio > 1+1e-9 || p.MatchedSuccess > 1 || p.Success < 0 {
			t.Errorf("pair %+v out of range", p)
		}
	}
	if rep.ShrinkPairs != 10 || rep.ShrinkLowered > rep.ShrinkPairs {
		t.Errorf("shrink: %d of %d pairs", rep.ShrinkLowered, rep.ShrinkPairs)
	}
	for _, f := range []string{JSONFile, PlotFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	var sb strings.Builder
	if err := rep.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "mi-fgsm, 5 step(s)") || !strings.Contains(sb.String(), "Pearson") {
		t.Errorf("text lacks the variant or the correlation:\n%s", sb.String())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Attacks: []string{"square"}, Steps: []int{1}, Eps: 0.1},
		{Attacks: []string{"pgd"}, Steps: []int{0}, Eps: 0.1},
		{Attacks: nil, Eps: 0.1},
		{Attacks: []string{"pgd"}, Steps: []int{1}, Eps: 2},
	} {
		_, err := Evaluate(context.Background(), []model.Classifier{&linear{w: make([]float32, 2), b: make([]float32, 2), d: 1, k: 2}}, []string{"m"}, []float32{0.5}, []int{0}, c)
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: error %v, want ErrConfig", c, err)
		}
	}
}
