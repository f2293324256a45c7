package attack

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// golden holds values computed by testdata/golden.py (PyTorch, numpy,
// scipy), independently of this package.
type golden struct {
	Losses []struct {
		Z        []float64 `json:"z"`
		Label    int       `json:"label"`
		Kind     string    `json:"kind"`
		Targeted bool      `json:"targeted"`
		Value    float64   `json:"value"`
		Grad     []float64 `json:"grad"`
	} `json:"losses"`
	SquareP []struct {
		PInit  float64 `json:"p_init"`
		It     int     `json:"it"`
		NIters int     `json:"n_iters"`
		P      float64 `json:"p"`
	} `json:"square_p"`
	Rect []struct {
		A, B   int
		Values []float64 `json:"values"`
	} `json:"rect"`
	Meta []struct {
		S      int       `json:"s"`
		Values []float64 `json:"values"`
	} `json:"meta"`
	DCT []struct {
		N, F  int
		Basis []float64 `json:"basis"`
	} `json:"dct"`
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

func TestLossGolden(t *testing.T) {
	g := loadGolden(t)
	if len(g.Losses) == 0 {
		t.Fatal("no golden losses")
	}
	for n, c := range g.Losses {
		l, err := ParseLoss(c.Kind)
		if err != nil {
			t.Fatal(err)
		}
		z := make([]float32, len(c.Z))
		for j, v := range c.Z {
			z[j] = float32(v)
		}
		if v := l.Value(z, c.Label, c.Targeted); math.Abs(v-c.Value) > 1e-9*max(1, math.Abs(c.Value)) {
			t.Errorf("case %d %s targeted=%v: Value = %.12g, torch %.12g", n, c.Kind, c.Targeted, v, c.Value)
		}
		dz := make([]float32, len(z))
		v := l.Grad(dz, z, c.Label, c.Targeted)
		if math.Abs(v-c.Value) > 1e-9*max(1, math.Abs(c.Value)) {
			t.Errorf("case %d: Grad value %.12g, torch %.12g", n, v, c.Value)
		}
		for j := range dz {
			if math.Abs(float64(dz[j])-c.Grad[j]) > 1e-6 {
				t.Errorf("case %d %s targeted=%v: grad[%d] = %g, torch %g", n, c.Kind, c.Targeted, j, dz[j], c.Grad[j])
			}
		}
	}
}

func TestSquarePGolden(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.SquareP {
		if p := SquareP(c.PInit, c.It, c.NIters); p != c.P {
			t.Errorf("SquareP(%v, %d, %d) = %v, want %v", c.PInit, c.It, c.NIters, p, c.P)
		}
	}
}

func TestPseudoGaussGolden(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Rect {
		got := make([]float64, c.A*c.B)
		pseudoGaussRect(got, c.A, c.B)
		for j := range got {
			if math.Abs(got[j]-c.Values[j]) > 1e-12 {
				t.Fatalf("pseudoGaussRect(%d, %d)[%d] = %v, numpy %v", c.A, c.B, j, got[j], c.Values[j])
			}
		}
	}
	for _, c := range g.Meta {
		got := make([]float64, c.S*c.S)
		metaPseudoGauss(got, c.S)
		for j := range got {
			if math.Abs(got[j]-c.Values[j]) > 1e-12 {
				t.Fatalf("metaPseudoGauss(%d)[%d] = %v, numpy %v", c.S, j, got[j], c.Values[j])
			}
		}
	}
}

func TestDCTBasisGolden(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.DCT {
		got := DCTBasis(c.N, c.F)
		if len(got) != len(c.Basis) {
			t.Fatalf("DCTBasis(%d, %d) has %d values, scipy %d", c.N, c.F, len(got), len(c.Basis))
		}
		for j := range got {
			if math.Abs(got[j]-c.Basis[j]) > 1e-12 {
				t.Fatalf("DCTBasis(%d, %d)[%d] = %v, scipy idct %v", c.N, c.F, j, got[j], c.Basis[j])
			}
		}
	}
}
