package smooth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

type golden struct {
	W, H, C   int
	Pix       []float64
	Bilateral struct {
		SigmaS float64 `json:"sigma_s"`
		SigmaR float64 `json:"sigma_r"`
		Radius int
		Out    []float64
	}
	Guided struct {
		Radius int
		Eps    float64
		Out    []float64
	}
	WLS struct {
		Lambda, Alpha float64
		Out           []float64
	}
}

// TestGolden checks the bilateral and guided filters and WLS against the numpy
// implementation in testdata/golden.py.
func TestGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	in := &Image{W: g.W, H: g.H, C: g.C, Pix: g.Pix}
	for _, tc := range []struct {
		name string
		s    Smoother
		want []float64
	}{
		{"bilateral", Bilateral{SigmaS: g.Bilateral.SigmaS, SigmaR: g.Bilateral.SigmaR, Radius: g.Bilateral.Radius}, g.Bilateral.Out},
		{"guided", Guided{Radius: g.Guided.Radius, Eps: g.Guided.Eps}, g.Guided.Out},
		{"wls", WLS{Lambda: g.WLS.Lambda, Alpha: g.WLS.Alpha}, g.WLS.Out},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.s.Smooth(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for i, v := range out.Pix {
				worst = math.Max(worst, math.Abs(v-tc.want[i]))
			}
			if tol := map[string]float64{"wls": 1e-5}[tc.name] + 1e-9; worst > tol {
				t.Fatalf("max |Go − numpy| = %g", worst)
			}
		})
	}
}

// step returns a w×h grey image: a noisy step edge at x = w/2.
func step(w, h int) *Image {
	m := NewImage(w, h, 1)
	s := uint32(1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s = s*1664525 + 1013904223
			v := 0.2 + 0.05*float64(s>>8)/float64(1<<24)
			if x >= w/2 {
				v += 0.6
			}
			m.Pix[y*w+x] = v
		}
	}
	return m
}

// TestEdgePreserving checks that every method flattens the noise of a noisy
// step more than its edge, and that truncating the smoothness term of the
// generalized framework keeps the edge better than not truncating it.
func TestEdgePreserving(t *testing.T) {
	in := step(24, 16)
	c := DefaultConfig()
	sel := map[string]float64{}
	for _, tc := range []struct {
		name string
		s    Smoother
	}{
		{"gsmooth-sp", c.General}, {"gsmooth-ep", EdgePreserving(1)}, {"gsmooth-ep-trunc", EdgePreserving(0.1)},
		{"bilateral", c.Bilateral}, {"guided", c.Guided}, {"wls", c.WLS},
	} {
		out, err := tc.s.Smooth(context.Background(), in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		m, err := Evaluate(in, out)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !(m.FlatKept < 0.8) || !(m.EdgeKept > m.FlatKept) {
			t.Errorf("%s: edge kept %.3f, flat kept %.3f; want flat < 0.8 and flat < edge", tc.name, m.EdgeKept, m.FlatKept)
		}
		sel[tc.name] = m.Selectivity
	}
	if !(sel["gsmooth-ep-trunc"] > sel["gsmooth-ep"]) {
		t.Errorf("truncation: selectivity %.2f, without %.2f; want higher with", sel["gsmooth-ep-trunc"], sel["gsmooth-ep"])
	}
}

func TestTruncatedHuber(t *testing.T) {
	for _, tc := range []struct{ x, a, b, want float64 }{
		{0.05, 0.1, 1, 0.0125}, {-0.5, 0.1, 1, 0.45}, {2, 0.1, 1, 0.95}, {0.3, 0.1, 0.2, 0.15},
	} {
		if got := TruncatedHuber(tc.x, tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("h_T(%g; %g, %g) = %g, want %g", tc.x, tc.a, tc.b, got, tc.want)
		}
	}
}

func TestBadInput(t *testing.T) {
	in := step(8, 8)
	bad := DefaultGeneral()
	bad.Lambda = -1
	for name, s := range map[string]Smoother{
		"bilateral": Bilateral{SigmaS: 0, SigmaR: 0.1}, "guided": Guided{Radius: 0, Eps: 1}, "wls": WLS{Lambda: 1}, "gsmooth": bad,
	} {
		if _, err := s.Smooth(context.Background(), in); err == nil {
			t.Errorf("%s: no error for bad parameters", name)
		}
	}
	if _, err := (Bilateral{SigmaS: 1, SigmaR: 1}).Smooth(context.Background(), &Image{W: 2, H: 2, C: 2, Pix: make([]float64, 8)}); err == nil {
		t.Error("no error for a 2-channel image")
	}
	c := DefaultConfig()
	c.Method, c.In = "median", "x.png"
	if _, err := Run(context.Background(), &c, nil); !errors.Is(err, ErrUnknownMethod) {
		t.Errorf("unknown method: %v", err)
	}
}

func TestRunPNG(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.png")
	if err := WriteFile(in, step(20, 12)); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Method, c.In, c.Out = "bilateral", in, out
	r, err := Run(context.Background(), &c, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.W != 20 || m.H != 12 || m.C != 1 || !(r.Measure.FlatKept < 1) {
		t.Fatalf("read back %d×%d×%d, measure %+v", m.W, m.H, m.C, r.Measure)
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	_ = png.Encode(&buf, step(4, 3).ToImage())
	f.Add(buf.Bytes())
	f.Add([]byte("not an image"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(bytes.NewReader(b))
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded image invalid: %v", err)
		}
	})
}

// TestGeneralGolden checks the generalized framework against the numpy
// implementation in testdata/gsmooth_golden.py (dense weights and a direct
// solve, following the authors' code), in the structure-preserving,
// truncated edge-preserving and strided settings.
func TestGeneralGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/gsmooth_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		W, H, C int
		Pix     []float64
		Cases   []struct {
			Name          string
			Lambda        float64
			RData         int     `json:"r_data"`
			RSmooth       int     `json:"r_smooth"`
			AData         float64 `json:"a_data"`
			BData         float64 `json:"b_data"`
			ASmooth       float64 `json:"a_smooth"`
			BSmooth       float64 `json:"b_smooth"`
			Alpha         float64
			Stride, Iters int
			Out           []float64
		}
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	in := &Image{W: g.W, H: g.H, C: g.C, Pix: g.Pix}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			s := General{Lambda: c.Lambda, RData: c.RData, RSmooth: c.RSmooth, AData: c.AData, BData: c.BData,
				ASmooth: c.ASmooth, BSmooth: c.BSmooth, Alpha: c.Alpha, Stride: c.Stride, Iters: c.Iters}
			out, err := s.Smooth(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var worst, moved float64
			for i, v := range out.Pix {
				worst = math.Max(worst, math.Abs(v-c.Out[i]))
				moved = math.Max(moved, math.Abs(c.Out[i]-g.Pix[i]))
			}
			if worst > 1e-5 || moved < 1e-3 {
				t.Fatalf("max |Go − numpy| = %g (numpy moved pixels by up to %g)", worst, moved)
			}
		})
	}
}
