package pwl

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/trustml/trustml/nn"
)

func mlp(t *testing.T, in []int, hidden []int, classes int, seed uint64) (*nn.Network, *Net) {
	t.Helper()
	net, err := nn.New(nn.MLP(in, hidden, classes), seed)
	if err != nil {
		t.Fatal(err)
	}
	n, err := FromNetwork(net)
	if err != nil {
		t.Fatal(err)
	}
	return net, n
}

func randVec(r *rand.Rand, d int, s float64) []float64 {
	x := make([]float64, d)
	for i := range x {
		x[i] = s * r.NormFloat64()
	}
	return x
}

// TestRegionExact is the property test: at points sampled inside the region
// of a random x, the region's affine map equals the network's float64
// forward pass (to 1e-9) and its float32 forward pass (to 1e-4), for
// several architectures including image input with channels.
func TestRegionExact(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     []int
		hidden []int
	}{
		{"2-8-3", []int{2}, []int{8}},
		{"4-16-16-3", []int{4}, []int{16, 16}},
		{"6-8-8-8-3", []int{6}, []int{8, 8, 8}},
		{"rgb-2x3x3", []int{2, 3, 3}, []int{10, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net, n := mlp(t, tc.in, tc.hidden, 3, 3)
			r := rand.New(rand.NewPCG(1, 2))
			d := n.InputDim()
			checked := 0
			for trial := 0; trial < 20; trial++ {
				x := randVec(r, d, 1)
				reg, err := n.Region(x)
				if err != nil {
					t.Fatal(err)
				}
				if !reg.Contains(x) {
					t.Fatal("region does not contain its point")
				}
				for s := 0; s < 20; s++ {
					y := randVec(r, d, 0.05)
					for i := range y {
						y[i] += x[i]
					}
					if !reg.Contains(y) {
						continue
					}
					want, p, _ := n.Forward(y)
					if p.String() != reg.P.String() {
						t.Fatal("Contains disagrees with the forward pass's pattern")
					}
					got := reg.Eval(y)
					x32 := make([]float32, d)
					for i, v := range y {
						x32[i] = float32(v)
					}
					logits := make([]float32, 3)
					if err := net.Logits(context.Background(), logits, x32); err != nil {
						t.Fatal(err)
					}
					for o := range got {
						if math.Abs(got[o]-want[o]) > 1e-9 || math.Abs(got[o]-float64(logits[o])) > 1e-4 {
							t.Fatalf("output %d: affine %g, forward %g, network %g", o, got[o], want[o], logits[o])
						}
					}
					checked++
				}
			}
			if checked < 50 {
				t.Fatalf("only %d points checked", checked)
			}
		})
	}
}

// TestLineExact checks the breakpoints: the pattern is constant inside every
// piece (sampled), changes across every breakpoint, and dense sampling never
// finds more pieces than the exact count.
func TestLineExact(t *testing.T) {
	_, n := mlp(t, []int{3}, []int{12, 12}, 2, 5)
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 5; trial++ {
		x0, x1 := randVec(r, 3, 2), randVec(r, 3, 2)
		res, err := n.Line(context.Background(), x0, x1)
		if err != nil {
			t.Fatal(err)
		}
		if res.Regions != len(res.Breaks)+1 || res.Distinct > res.Regions || res.Regions < 2 {
			t.Fatalf("regions %d, breaks %d, distinct %d", res.Regions, len(res.Breaks), res.Distinct)
		}
		pat := func(t float64) string {
			x := make([]float64, 3)
			for i := range x {
				x[i] = x0[i] + t*(x1[i]-x0[i])
			}
			_, p, _ := n.Forward(x)
			return p.String()
		}
		ends := append(append([]float64{0}, res.Breaks...), 1)
		for k := 0; k+1 < len(ends); k++ {
			a, b := ends[k], ends[k+1]
			first := pat(a + (b-a)*1e-3)
			for s := 1; s < 10; s++ {
				if pat(a+(b-a)*float64(s)/10) != first {
					t.Fatalf("piece %d [%g, %g] is not one pattern", k, a, b)
				}
			}
			if k > 0 && pat(a-1e-7) == first {
				t.Fatalf("no pattern change at breakpoint %g", a)
			}
		}
		changes, prev := 0, pat(0)
		for s := 1; s <= 20000; s++ {
			if p := pat(float64(s) / 20000); p != prev {
				changes, prev = changes+1, p
			}
		}
		if changes > len(res.Breaks) {
			t.Fatalf("sampling found %d changes, exact walk %d", changes, len(res.Breaks))
		}
	}
}

func TestSlicePNG(t *testing.T) {
	_, n := mlp(t, []int{2}, []int{6, 6}, 2, 9)
	s, err := n.Slice(context.Background(), []float64{0, 0}, []float64{1, 0}, []float64{0, 1}, 3, 64)
	if err != nil {
		t.Fatal(err)
	}
	if s.Patterns < 2 {
		t.Fatalf("%d patterns in the slice", s.Patterns)
	}
	// An exact line count along the slice's horizontal axis bounds the
	// patterns seen on that row of the grid from above.
	p := filepath.Join(t.TempDir(), "s.png")
	if err := s.WritePNG(p); err != nil {
		t.Fatal(err)
	}
}

func TestNotPWL(t *testing.T) {
	spec := nn.MLP([]int{4}, []int{8}, 2)
	spec.Layers[2] = nn.LayerSpec{Kind: nn.KindTanh}
	net, err := nn.New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromNetwork(net); !errors.Is(err, ErrNotPWL) {
		t.Fatalf("tanh network: %v", err)
	}
	_, n := mlp(t, []int{4}, []int{8}, 2, 1)
	if _, err := n.Region([]float64{1}); err == nil {
		t.Fatal("no error for a short input")
	}
}

// TestCanonical checks the canonical representation: its prediction is
// piecewise linear with breaks only at hyperplane crossings (second
// differences vanish inside pieces), and it separates classes that a linear
// model cannot (XOR).
func TestCanonical(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var x []float64
	var y []int
	for i := 0; i < 200; i++ {
		a, b := 2*r.Float64()-1, 2*r.Float64()-1
		x = append(x, a, b)
		if (a > 0) != (b > 0) {
			y = append(y, 1)
		} else {
			y = append(y, 0)
		}
	}
	acc := func(m *Canonical) float64 {
		ok := 0
		for i := range y {
			p := m.Predict(x[2*i : 2*i+2])
			if (p[1] > p[0]) == (y[i] == 1) {
				ok++
			}
		}
		return float64(ok) / float64(len(y))
	}
	lin, err := FitCanonical(x, y, 2, 2, 0, 1e-3, r)
	if err != nil {
		t.Fatal(err)
	}
	can, err := FitCanonical(x, y, 2, 2, 32, 1e-3, r)
	if err != nil {
		t.Fatal(err)
	}
	if al, ac := acc(lin), acc(can); !(al < 0.7) || !(ac > 0.9) {
		t.Fatalf("XOR accuracy: linear %.2f, canonical %.2f", al, ac)
	}
	x0, x1 := []float64{-1, -0.9}, []float64{1, 0.8}
	if lin.LinePieces(x0, x1) != 1 {
		t.Fatal("a linear model has more than one piece")
	}
	// Sample the segment finely: the second difference of the output is
	// non-zero only in steps that contain a crossing.
	const steps = 4000
	at := func(s int) []float64 {
		u := float64(s) / steps
		return []float64{x0[0] + u*(x1[0]-x0[0]), x0[1] + u*(x1[1]-x0[1])}
	}
	kinks := 0
	for s := 1; s < steps; s++ {
		a, b, c := can.Predict(at(s - 1))[0], can.Predict(at(s))[0], can.Predict(at(s + 1))[0]
		if math.Abs(a-2*b+c) > 1e-9 {
			kinks++
		}
	}
	if p := can.LinePieces(x0, x1); kinks > 2*(p-1) || p < 2 {
		t.Fatalf("%d pieces by crossings, %d kinked sample steps", p, kinks)
	}
	if _, err := FitCanonical(x, y, 3, 2, 4, 1e-3, r); err == nil {
		t.Fatal("no error for a wrong dimension")
	}
}
