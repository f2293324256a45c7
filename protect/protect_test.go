package protect

import (
	"context"

	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/data"
)

func smallSet(t *testing.T, n int) *data.Dataset {
	t.Helper()
	d, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		t.Fatal(err)
	}
	return d.Head(n)
}

// tinySettings protect in well under a second per method.
func tinySettings(method string, eps float64) Settings {
	s := DefaultSettings()
	s.Method, s.Eps, s.Arch, s.Epochs, s.Checkpoints, s.Steps, s.Batch = method, eps, "mlp", 2, 2, 4, 32
	s.Rounds, s.TrainSteps, s.Alpha = 2, 2, eps/3
	return s
}

// TestBudget is the property every protected set must have: sep and em
// images within ε (ℓ∞) of their originals and in [0, 1], labels and order
// kept; ops images differ from their originals only at their class's
// pixel, which holds the class's colour, and classes do not share a
// (pixel, colour) pair.
func TestBudget(t *testing.T) {
	d := smallSet(t, 60)
	s := d.SampleSize()
	for _, tc := range []struct {
		method string
		eps    float64
	}{{"sep", 8.0 / 255}, {"sep", 0.1}, {"em", 8.0 / 255}, {"em", 2.0 / 255}, {"ops", 0}} {
		p, err := Protect(context.Background(), d, tinySettings(tc.method, tc.eps), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		if !slices.Equal(p.Data.Y, d.Y) || p.Data.Len() != d.Len() || p.Images != d.Len() {
			t.Fatalf("%s: labels or size changed", tc.method)
		}
		changed := 0
		for j, v := range p.Data.X {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("%s: image %d value %d = %v outside [0, 1]", tc.method, j/s, j%s, v)
			}
			if v != d.X[j] {
				changed++
			}
			if tc.method != "ops" && math.Abs(float64(v)-float64(d.X[j])) > tc.eps {
				t.Fatalf("%s ε=%g: image %d value %d moved by %g", tc.method, tc.eps, j/s, j%s, math.Abs(float64(v)-float64(d.X[j])))
			}
		}
		if changed < d.Len() {
			t.Errorf("%s: only %d values changed", tc.method, changed)
		}
		if tc.method != "ops" && (p.MaxChange > tc.eps || p.MaxChange < tc.eps/2) {
			t.Errorf("%s: MaxChange %g with ε %g", tc.method, p.MaxChange, tc.eps)
		}
		if tc.method == "ops" {
			checkOPS(t, d, p)
		}
	}
}

func checkOPS(t *testing.T, d *data.Dataset, p *Protected) {
	t.Helper()
	if len(p.Pixels) != len(d.Classes) {
		t.Fatalf("ops: %d pixels for %d classes", len(p.Pixels), len(d.Classes))
	}
	seen := map[[3]int]bool{}
	for _, px := range p.Pixels {
		k := [3]int{px.Row, px.Col, int(px.Color[0])}
		if seen[k] {
			t.Errorf("ops: pair %v used twice", k)
		}
		seen[k] = true
	}
	h, w, s := d.Shape[1], d.Shape[2], d.SampleSize()
	for i, y := range d.Y {
		px := p.Pixels[y]
		at := px.Row*w + px.Col
		if px.Class != y || at >= h*w {
			t.Fatalf("ops: pixel of class %d is %+v", y, px)
		}
		for j := range s {
			v, o := p.Data.X[i*s+j], d.X[i*s+j]
			switch {
			case j == at && v != px.Color[0]:
				t.Errorf("ops: image %d (class %d) has %v at its pixel, want %v", i, y, v, px.Color[0])
			case j != at && v != o:
				t.Errorf("ops: image %d changed at %d, not its class's pixel %d", i, j, at)
			}
		}
	}
}

// TestProjectBox checks the projection on random values, including
// originals at 0 and 1, in float64.
func TestProjectBox(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		eps := r.Float64() * 0.2
		x0 := []float32{float32(r.Float64()), 0, 1, float32(r.IntN(256)) / 255}
		v := make([]float32, len(x0))
		for j := range v {
			v[j] = float32(r.Float64()*3 - 1)
		}
		projectBox(v, x0, eps)
		for j := range v {
			if v[j] < 0 || v[j] > 1 || math.Abs(float64(v[j])-float64(x0[j])) > eps {
				t.Fatalf("eps %g: %v projected around %v is outside the box", eps, v[j], x0[j])
			}
		}
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Settings)
		want string
	}{
		{func(s *Settings) { s.Eps = 0 }, "--eps 0 outside"},
		{func(s *Settings) { s.Eps = 8 }, "--eps 8 outside"},
		{func(s *Settings) { s.Eps = math.NaN() }, "--eps NaN outside"},
		{func(s *Settings) { s.Method = "foo" }, `unknown --method "foo"`},
		{func(s *Settings) { s.Checkpoints = 11 }, "--checkpoints 11 outside [1, --epochs 10]"},
		{func(s *Settings) { s.Method, s.Rounds = "em", 0 }, "--rounds"},
	} {
		s := DefaultSettings()
		tc.edit(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", s, err, tc.want)
		}
	}
	s := DefaultSettings()
	s.Method, s.Eps = "ops", 0 // ops has no budget
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
	bad := smallSet(t, 20)
	bad.X[5] = 1.5
	if _, err := Protect(context.Background(), bad, tinySettings("ops", 0), nil); err == nil || !strings.Contains(err.Error(), "image 0, value 5 is 1.5") {
		t.Errorf("pixel outside [0, 1]: %v", err)
	}
}

func TestEnsembleEpochs(t *testing.T) {
	for _, tc := range []struct {
		n, k int
		want []int
	}{{10, 1, []int{10}}, {10, 10, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}, {5, 3, []int{1, 3, 5}}, {6, 4, []int{1, 3, 4, 6}}, {120, 2, []int{1, 120}}} {
		if got := EnsembleEpochs(tc.n, tc.k); !slices.Equal(got, tc.want) {
			t.Errorf("EnsembleEpochs(%d, %d) = %v, want %v", tc.n, tc.k, got, tc.want)
		}
	}
}

// TestRunOut checks the output rules: refusal of an existing file without
// Force (before any work, leaving it untouched), overwrite with Force, the
// .npz and IDX formats read back within ε, and bad paths.
func TestRunOut(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "p.npz")
	if err := os.WriteFile(out, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Settings = tinySettings("em", 8.0/255)
	c.N, c.Out = 40, out
	_, err := Run(context.Background(), &c, nil)
	if err == nil || !strings.Contains(err.Error(), "exists: pass --force") {
		t.Fatalf("existing --out: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep" {
		t.Fatal("existing --out was touched")
	}
	c.Force = true
	r, err := Run(context.Background(), &c, nil)
	if err != nil {
		t.Fatal(err)
	}
	orig := smallSet(t, 40)
	back, err := data.Open(out, data.Train, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Y, orig.Y) || !slices.Equal(back.Shape, orig.Shape) || maxLinf(back.X, orig.X) > c.Eps || maxLinf(back.X, r.Data.X) != 0 {
		t.Fatalf("npz read back: shape %v, max change %g", back.Shape, maxLinf(back.X, orig.X))
	}
	var sb strings.Builder
	if err := r.WriteText(&sb); err != nil || !strings.Contains(sb.String(), "wrote "+out) {
		t.Errorf("report %q, %v", sb.String(), err)
	}

	c.Out, c.Force = filepath.Join(dir, "p"+IDXSuffix), false
	if _, err := Run(context.Background(), &c, nil); err != nil {
		t.Fatal(err)
	}
	img, err := data.ReadIDXFile(c.Out)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := data.ReadIDXFile(filepath.Join(dir, "p-labels-idx1-ubyte"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := data.IDXDataset(img, lab, "p", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(idx.Y, orig.Y) || maxLinf(idx.X, orig.X) > c.Eps+1e-7 {
		t.Errorf("IDX read back: max change %g, ε %g", maxLinf(idx.X, orig.X), c.Eps)
	}
	if _, err := Run(context.Background(), &c, nil); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("existing IDX --out: %v", err)
	}
	for _, bad := range []string{"", filepath.Join(dir, "p.csv"), IDXSuffix} {
		c.Out = bad
		if _, err := Run(context.Background(), &c, nil); err == nil || !strings.Contains(err.Error(), "--out") {
			t.Errorf("--out %q: %v", bad, err)
		}
	}
}

func TestTrainEvalCleanFraction(t *testing.T) {
	clean := smallSet(t, 50)
	p, err := Protect(context.Background(), clean, tinySettings("ops", 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := TrainConfig{Arch: "mlp", Epochs: 1, Batch: 25, LR: 0.05, Seed: 3, CleanFraction: 0.2}
	mixed, err := tc.mix(p.Data, clean)
	if err != nil {
		t.Fatal(err)
	}
	s, same := clean.SampleSize(), 0
	for i := range clean.Len() {
		if slices.Equal(mixed.X[i*s:(i+1)*s], clean.X[i*s:(i+1)*s]) {
			same++
		}
	}
	if same != 10 {
		t.Errorf("%d of 50 images clean, want 10", same)
	}
	if _, err := tc.mix(p.Data, clean.Head(10)); err == nil {
		t.Error("mismatched clean set accepted")
	}
	test, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		t.Fatal(err)
	}
	m, err := TrainEval(context.Background(), p.Data, clean, test.Head(100), tc, nil)
	if err != nil || m.N != 100 {
		t.Fatalf("TrainEval: %+v, %v", m, err)
	}
	tc.AdvEps = 2
	if _, err := TrainEval(context.Background(), p.Data, clean, test, tc, nil); err == nil {
		t.Error("adversarial ε 2 accepted")
	}
}
