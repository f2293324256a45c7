package protect

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
)

// golden holds what testdata/golden.py computed with PyTorch and numpy.
type golden struct {
	D, Hidden, K int
	Models       []struct{ W1, B1, W2, B2 []float64 }
	Steps        []struct {
		Name            string
		Models, Labels  []int
		Eps, Alpha      float64
		Steps           int
		Start, X0, Want [][]float64
	}
	OPS []struct {
		Shape   []int
		Classes int
		X       []float64
		Y       []int
		Pixels  []struct {
			Cls, Row, Col int
			Color         []float32
			Score         *float64
		}
	}
}

func loadGolden(t *testing.T) *golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// tanhMLP is z = W2 tanh(W1 x + b1) + b2, computed in float64: the model
// of testdata/golden.py.
type tanhMLP struct {
	d, h, k        int
	w1, b1, w2, b2 []float64
}

func (m *tanhMLP) InputShape() []int { return []int{1, 4, 4} }
func (m *tanhMLP) NumClasses() int   { return m.k }

func (m *tanhMLP) hidden(x []float32) []float64 {
	a := make([]float64, m.h)
	for i := range m.h {
		s := m.b1[i]
		for j := range m.d {
			s += m.w1[i*m.d+j] * float64(x[j])
		}
		a[i] = math.Tanh(s)
	}
	return a
}

func (m *tanhMLP) Logits(_ context.Context, dst, x []float32) error {
	for r := range len(x) / m.d {
		a := m.hidden(x[r*m.d : (r+1)*m.d])
		for c := range m.k {
			s := m.b2[c]
			for i := range m.h {
				s += m.w2[c*m.h+i] * a[i]
			}
			dst[r*m.k+c] = float32(s)
		}
	}
	return nil
}

func (m *tanhMLP) InputGrad(ctx context.Context, gx, x []float32, loss model.LossFunc) (float64, error) {
	n := len(x) / m.d
	z := make([]float32, n*m.k)
	m.Logits(ctx, z, x)
	dz := make([]float32, len(z))
	l := loss(z, dz, n, m.k)
	for r := range n {
		a := m.hidden(x[r*m.d : (r+1)*m.d])
		for j := range m.d {
			var s float64
			for i := range m.h {
				var da float64
				for c := range m.k {
					da += float64(dz[r*m.k+c]) * m.w2[c*m.h+i]
				}
				s += da * (1 - a[i]*a[i]) * m.w1[i*m.d+j]
			}
			gx[r*m.d+j] = float32(s)
		}
	}
	return l, nil
}

var _ model.InputGrader = (*tanhMLP)(nil)

func flat32(rows [][]float64) []float32 {
	var out []float32
	for _, r := range rows {
		for _, v := range r {
			out = append(out, float32(v))
		}
	}
	return out
}

// TestSignStepGolden runs SEP's and EM's signed descent on tiny models and
// compares the images with PyTorch's.
func TestSignStepGolden(t *testing.T) {
	g := loadGolden(t)
	if len(g.Steps) == 0 {
		t.Fatal("no golden steps")
	}
	for _, c := range g.Steps {
		t.Run(c.Name, func(t *testing.T) {
			var ms []model.InputGrader
			for _, i := range c.Models {
				w := g.Models[i]
				ms = append(ms, &tanhMLP{d: g.D, h: g.Hidden, k: g.K, w1: w.W1, b1: w.B1, w2: w.W2, b2: w.B2})
			}
			x, x0 := flat32(c.Start), flat32(c.X0)
			want := flat32(c.Want)
			if err := descend(context.Background(), ms, x, x0, c.Labels, g.D, 4, c.Steps, c.Eps, c.Alpha, nil, "test"); err != nil {
				t.Fatal(err)
			}
			moved := 0
			for j := range x {
				if d := math.Abs(float64(x[j]) - float64(want[j])); d > 1e-6 {
					t.Errorf("value %d: %v, PyTorch %v", j, x[j], want[j])
				}
				if math.Abs(float64(x[j])-float64(x0[j])) > 1e-3 {
					moved++
				}
			}
			if moved < len(x)/2 {
				t.Errorf("only %d of %d values moved: the case does not test the step", moved, len(x))
			}
		})
	}
}

// TestOPSGolden compares the chosen pixels with numpy's search.
func TestOPSGolden(t *testing.T) {
	g := loadGolden(t)
	for n, c := range g.OPS {
		d := &data.Dataset{Name: "golden", Shape: c.Shape, X: make([]float32, len(c.X)), Y: c.Y}
		for i, v := range c.X {
			d.X[i] = float32(v)
		}
		for i := range c.Classes {
			d.Classes = append(d.Classes, string(rune('a'+i)))
		}
		_, px, err := OPS(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(px) != len(c.Pixels) {
			t.Fatalf("case %d: %d pixels, numpy %d", n, len(px), len(c.Pixels))
		}
		for i, w := range c.Pixels {
			p := px[i]
			if p.Class != w.Cls || p.Row != w.Row || p.Col != w.Col || !equal32(p.Color, w.Color) {
				t.Errorf("case %d class %d: (%d, %d) %v, numpy (%d, %d) %v", n, w.Cls, p.Row, p.Col, p.Color, w.Row, w.Col, w.Color)
			}
			switch {
			case w.Score == nil && !math.IsInf(p.Score, 1):
				t.Errorf("case %d class %d: score %v, numpy +Inf", n, w.Cls, p.Score)
			case w.Score != nil && math.Abs(p.Score-*w.Score) > 1e-9*math.Abs(*w.Score):
				t.Errorf("case %d class %d: score %.12g, numpy %.12g", n, w.Cls, p.Score, *w.Score)
			}
		}
	}
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
