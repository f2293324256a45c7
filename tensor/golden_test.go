package tensor

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// golden is testdata/golden.json, written by testdata/golden.py (numpy).
type golden struct {
	STP []struct {
		A        []float64 `json:"a"`
		AShape   []int     `json:"a_shape"`
		B        []float64 `json:"b"`
		BShape   []int     `json:"b_shape"`
		Out      []float64 `json:"out"`
		OutShape []int     `json:"out_shape"`
	} `json:"stp"`
	X struct {
		Shape []int     `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"x"`
	Cases []struct {
		Name     string    `json:"name"`
		Recon    []float64 `json:"recon"`
		RelError float64   `json:"rel_error"`
	} `json:"cases"`
}

func loadGolden(t *testing.T) *golden {
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

func TestGoldenSTP(t *testing.T) {
	g := loadGolden(t)
	if len(g.STP) != 4 {
		t.Fatalf("%d STP cases", len(g.STP))
	}
	for i, c := range g.STP {
		a := mat.NewDense(c.AShape[0], c.AShape[1], c.A)
		b := mat.NewDense(c.BShape[0], c.BShape[1], c.B)
		got := STP(a, b)
		r, k := got.Dims()
		if r != c.OutShape[0] || k != c.OutShape[1] {
			t.Fatalf("case %d: %d×%d, numpy %v", i, r, k, c.OutShape)
		}
		if !mat.EqualApprox(got, mat.NewDense(r, k, c.Out), 1e-12) {
			t.Errorf("case %d (%v ⋉ %v): differs from numpy", i, c.AShape, c.BShape)
		}
	}
}

func TestGoldenDecompositions(t *testing.T) {
	g := loadGolden(t)
	x, err := FromData(g.X.Data, g.X.Shape...)
	if err != nil {
		t.Fatal(err)
	}
	specs := map[string]Spec{
		"tt r=3":             {Method: "tt", Rank: 3},
		"stt t=2 r=4":        {Method: "stt", Rank: 4, T: 2},
		"tucker r=3 hosvd":   {Method: "tucker", Rank: 3},
		"tucker r=3 hooi2":   {Method: "tucker", Rank: 3, Iters: 2},
		"tr r=2":             {Method: "tr", Rank: 2},
		"str t=2 r=2":        {Method: "str", Rank: 2, T: 2},
		"sttu t=2 r=2 hooi1": {Method: "sttu", Rank: 2, T: 2, Iters: 1},
	}
	if len(g.Cases) != len(specs) {
		t.Fatalf("%d golden cases, want %d", len(g.Cases), len(specs))
	}
	for _, c := range g.Cases {
		s, ok := specs[c.Name]
		if !ok {
			t.Fatalf("golden case %q unknown", c.Name)
		}
		d, err := Fit(x, s)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		y := d.Reconstruct()
		var maxd float64
		for i, v := range y.Data {
			maxd = math.Max(maxd, math.Abs(v-c.Recon[i]))
		}
		e, _ := RelError(x, y)
		if maxd > 1e-8 || math.Abs(e-c.RelError) > 1e-10 {
			t.Errorf("%s: max |ours − numpy| %g, relative error %g (numpy %g)", c.Name, maxd, e, c.RelError)
		}
	}
}
