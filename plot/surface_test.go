package plot

import (
	"bytes"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bowl samples a tilted, anisotropic bowl z = 1 + (x−0.2)² + 4y² + x·y on
// an n×n grid over [−1, 1]², plus a large value far out; its grid minimum
// lies off the centre.
func bowl(n int) Surface {
	s := Surface{Name: "loss", X: make([]float64, n), Y: make([]float64, n), Z: make([][]float64, n)}
	for i := range n {
		s.X[i] = -1 + 2*float64(i)/float64(n-1)
		s.Y[i] = s.X[i]
	}
	for i, x := range s.X {
		s.Z[i] = make([]float64, n)
		for j, y := range s.Y {
			s.Z[i][j] = 1 + (x-0.2)*(x-0.2) + 4*y*y + x*y
		}
	}
	s.Z[n-1][n-1] = 50
	return s
}

func decodePNG(t *testing.T, path string) (w, h int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img.Bounds().Dx(), img.Bounds().Dy()
}

func TestHeatmap(t *testing.T) {
	dir := os.Getenv("TRUSTML_PLOT_DIR") // set to keep the PNGs for a look
	if dir == "" {
		dir = t.TempDir()
	}
	for _, tc := range []struct {
		name string
		s    Surface
		logZ bool
	}{
		{"linear", bowl(11), false},
		{"log", bowl(11), true},
		{"small", bowl(3), false},
		{"flat", Surface{Name: "loss", X: []float64{0, 1}, Y: []float64{0, 1}, Z: [][]float64{{2, 2}, {2, 2}}}, true},
	} {
		path := filepath.Join(dir, "surface-"+tc.name+".png")
		if err := Heatmap(path, "loss surface", "α", "β", tc.logZ, tc.s); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if w, h := decodePNG(t, path); w < 400 || h < 300 {
			t.Errorf("%s: image %d×%d", tc.name, w, h)
		}
	}
	m, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range m {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestSurfaceGrid(t *testing.T) {
	s := bowl(11)
	g, err := newSurfaceGrid(s, false)
	if err != nil {
		t.Fatal(err)
	}
	// The grid minimum of 1 + (x−0.2)² + 4y² + x·y on the 0.2-spaced grid.
	i, j := g.argmin()
	x, y, z := g.x[i], g.y[j], g.z[i][j]
	best := math.Inf(1)
	for i := range s.X {
		for j := range s.Y {
			best = math.Min(best, s.Z[i][j])
		}
	}
	if z != best || s.Z[int(math.Round((x+1)*5))][int(math.Round((y+1)*5))] != best {
		t.Errorf("argmin (%g, %g) = %g, want the grid minimum %g", x, y, z, best)
	}
	if g.min != best || g.max != 50 {
		t.Errorf("range [%g, %g], want [%g, 50]", g.min, g.max, best)
	}
	// The display grid interpolates: it keeps the grid points' values and
	// stays within the range.
	f := g.fine().(*surfaceGrid)
	c, r := f.Dims()
	if c < 150 || r < 150 {
		t.Errorf("fine grid %d×%d", c, r)
	}
	for ci := range c {
		for ri := range r {
			v := f.Z(ci, ri)
			if v < g.min-1e-12 || v > g.max+1e-12 {
				t.Fatalf("fine value %g outside [%g, %g]", v, g.min, g.max)
			}
		}
	}
	k := (c - 1) / 10
	for i := range s.X {
		for j := range s.Y {
			if f.X(i*k) != s.X[i] || math.Abs(f.Z(i*k, j*k)-s.Z[i][j]) > 1e-12 {
				t.Fatalf("fine grid at (%g, %g) = %g, want %g", f.X(i*k), f.Y(j*k), f.Z(i*k, j*k), s.Z[i][j])
			}
		}
	}
	lg, err := newSurfaceGrid(s, true)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lg.max-math.Log10(50)) > 1e-12 {
		t.Errorf("log range max %g", lg.max)
	}
}

func TestLog10Ticks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   []string
	}{
		{math.Log10(0.3), math.Log10(12), []string{"0.5", "1", "2", "5", "10"}},
		{0, 1, []string{"1", "2", "5", "10"}},
		{math.Log10(1.1), math.Log10(1.9), []string{"1.1", "1.9"}},
	} {
		var got []string
		for _, tk := range (log10Ticks{}).Ticks(tc.lo, tc.hi) {
			if tk.Value < tc.lo-1e-9 || tk.Value > tc.hi+1e-9 {
				t.Errorf("tick %s at %g outside [%g, %g]", tk.Label, tk.Value, tc.lo, tc.hi)
			}
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("ticks on [%g, %g]: %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestPlotSurfaceErrors(t *testing.T) {
	dir := t.TempDir()
	ok := bowl(3)
	for _, tc := range []struct {
		name string
		s    Surface
		logZ bool
		want string
	}{
		{"one column", Surface{X: []float64{0}, Y: []float64{0, 1}, Z: [][]float64{{1, 2}}}, false, "2×2"},
		{"unsorted", Surface{X: []float64{1, 0}, Y: ok.Y, Z: ok.Z[:2]}, false, "increasing"},
		{"rows", Surface{X: ok.X, Y: ok.Y, Z: ok.Z[:2]}, false, "rows"},
		{"ragged", Surface{X: ok.X, Y: ok.Y, Z: [][]float64{{1, 2, 3}, {1, 2}, {1, 2, 3}}}, false, "Z[1]"},
		{"nan", Surface{X: ok.X, Y: ok.Y, Z: [][]float64{{1, 2, 3}, {1, math.NaN(), 2}, {1, 2, 3}}}, false, "not finite"},
		{"log of zero", Surface{X: ok.X, Y: ok.Y, Z: [][]float64{{1, 2, 3}, {1, 0, 2}, {1, 2, 3}}}, true, "positive"},
	} {
		err := Heatmap(filepath.Join(dir, "x.png"), "", "", "", tc.logZ, tc.s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if err := Heatmap(filepath.Join(dir, "missing", "x.png"), "", "", "", false, ok); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

// Draw a 2-D loss surface sampled on a 3×3 grid (as
// train.LossSurface returns it) with a logarithmic colour scale.
func ExampleHeatmap() {
	grid := []float64{-1, 0, 1}
	s := Surface{Name: "loss", X: grid, Y: grid, Z: [][]float64{
		{2.5, 0.6, 2.5}, // α = −1, β = −1, 0, 1
		{2.0, 0.1, 2.0},
		{2.5, 0.6, 2.5},
	}}
	dir, _ := os.MkdirTemp("", "surface")
	defer os.RemoveAll(dir)
	err := Heatmap(filepath.Join(dir, "surface.png"), "loss surface", "α", "β", true, s)
	fmt.Println(err)
	// Output: <nil>
}
