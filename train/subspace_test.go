package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/trustml/trustml/nn"
)

func randVecs(r *rand.Rand, n, d int) [][]float32 {
	out := make([][]float32, n)
	for k := range out {
		out[k] = make([]float32, d)
		for i := range out[k] {
			out[k][i] = float32(r.NormFloat64())
		}
	}
	return out
}

func checkOrthonormal(t *testing.T, s *Subspace) {
	t.Helper()
	for a := 0; a < s.Dim; a++ {
		for b := 0; b < s.Dim; b++ {
			var dot float64
			for i := 0; i < s.D; i++ {
				dot += s.P[a*s.D+i] * s.P[b*s.D+i]
			}
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(dot-want) > 1e-10 {
				t.Fatalf("⟨P%d, P%d⟩ = %g, want %g", a, b, dot, want)
			}
		}
	}
}

func TestSpanBasis(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	ck := randVecs(r, 5, 50)
	// a near-duplicate and an exact combination add no direction
	comb := make([]float32, 50)
	for i := range comb {
		comb[i] = 0.5*ck[0][i] - 2*ck[3][i]
	}
	ck = append(ck, ck[2], comb)
	s, err := SpanBasis(ck)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dim != 5 {
		t.Fatalf("dimension %d, want 5", s.Dim)
	}
	checkOrthonormal(t, s)
	for k, c := range ck {
		if res := s.Residual(c); res > 1e-6 {
			t.Errorf("checkpoint %d lies %g outside its span", k, res)
		}
	}
	if _, err := SpanBasis([][]float32{{1, 2}, {1}}); err == nil {
		t.Error("checkpoints of different sizes accepted")
	}
	if _, err := SpanBasis([][]float32{{0, 0}}); err == nil {
		t.Error("zero checkpoint accepted")
	}
}

// TestPCABasis: checkpoints on a 2-D affine plane c + α·u + β·v give two
// principal directions spanning {u, v} that explain all the variance.
func TestPCABasis(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const d, n = 40, 12
	base := randVecs(r, 3, d)
	c, u, v := base[0], base[1], base[2]
	ck := make([][]float32, n)
	var total float64
	mean := make([]float64, d)
	for k := range ck {
		a, b := 3*r.NormFloat64(), r.NormFloat64()
		ck[k] = make([]float32, d)
		for i := range ck[k] {
			ck[k][i] = c[i] + float32(a)*u[i] + float32(b)*v[i]
			mean[i] += float64(ck[k][i]) / n
		}
	}
	for _, w := range ck {
		for i, x := range w {
			total += (float64(x) - mean[i]) * (float64(x) - mean[i]) / (n - 1)
		}
	}
	s, variance, err := PCABasis(ck, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkOrthonormal(t, s)
	for name, x := range map[string][]float32{"u": u, "v": v} {
		if res := s.Residual(x); res > 1e-5 {
			t.Errorf("%s lies %g outside the principal plane", name, res)
		}
	}
	if math.Abs(variance[0]+variance[1]-total) > 1e-4*total || variance[0] < variance[1] {
		t.Errorf("explained variances %v, total %g", variance, total)
	}
	if _, _, err := PCABasis(ck, 3); err == nil {
		t.Error("3 directions of a 2-D plane accepted")
	}
	if _, _, err := PCABasis(ck, n); err == nil {
		t.Error("as many directions as checkpoints accepted")
	}
}

// TestProjectedFindsSubspaceOptimum: for L = ½‖w‖² + b·w the minimum over
// the span of e₁+e₂ and e₃ is −Pᵀ(P b).
func TestProjectedFindsSubspaceOptimum(t *testing.T) {
	s, err := SpanBasis([][]float32{{1, 1, 0, 0}, {0, 0, 2, 0}})
	if err != nil {
		t.Fatal(err)
	}
	q := newQuad([]float32{1, 1, 1, 1}, []float32{0, 0, 0, 0})
	copy(q.b, []float32{1, -3, 0.5, 7})
	o, err := NewProjected(&SGD{Rate: 0.5}, s)
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		if _, err := o.Step(q, q.closure()); err != nil {
			t.Fatal(err)
		}
	}
	near(t, "w", q.w, []float64{1, 1, -0.5, 0}, 1e-6)
}

// TestProjectedStaysInSpan: TWA from the mean of three networks, with
// momentum and weight decay, keeps the weights in the checkpoints' span.
func TestProjectedStaysInSpan(t *testing.T) {
	x, y := toyProblem(64)
	var ck [][]float32
	for seed := range uint64(3) {
		net, _ := nn.New(nn.MLP([]int{1, 4, 4}, []int{8}, 2), seed)
		ck = append(ck, net.Weights())
	}
	s, err := SpanBasis(ck)
	if err != nil {
		t.Fatal(err)
	}
	net, _ := nn.New(nn.MLP([]int{1, 4, 4}, []int{8}, 2), 0)
	var avg SWA
	for _, c := range ck {
		avg.Add(c)
	}
	avg.CopyTo(net.Weights())
	sgd, _ := NewSGD(0.5, 0.9, 1e-3, false)
	o, _ := NewProjected(sgd, s)
	if _, err := Fit(context.Background(), net, x, y, Config{Steps: 20, BatchSize: 16, Optimizer: o}); err != nil {
		t.Fatal(err)
	}
	if res := s.Residual(net.Weights()); res > 1e-5 {
		t.Errorf("weights %g outside the span after TWA", res)
	}
}

// dldrGolden is testdata/dldr_golden.json, written by dldr_golden.py with
// scikit-learn and the official DLDR update rules.
type dldrGolden struct {
	A             []float32   `json:"a"`
	Checkpoints   [][]float32 `json:"checkpoints"`
	Components    [][]float64 `json:"components"`
	Variance      []float64   `json:"explained_variance"`
	VarianceRatio []float64   `json:"explained_variance_ratio"`
	TotalVariance float64     `json:"total_variance"`
	PSGD          struct {
		LR, Momentum float64
		Traj         [][]float64
	} `json:"psgd"`
	PBFGS struct {
		Traj  [][]float64
		Evals []int
	} `json:"pbfgs"`
}

func loadDLDRGolden(t *testing.T) *dldrGolden {
	t.Helper()
	b, err := os.ReadFile("testdata/dldr_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g dldrGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// TestPCABasisMatchesScikitLearn: the principal directions (up to sign),
// explained variances and total variance of scikit-learn's PCA.
func TestPCABasisMatchesScikitLearn(t *testing.T) {
	g := loadDLDRGolden(t)
	dim := len(g.Components)
	s, variance, err := PCABasis(g.Checkpoints, dim)
	if err != nil {
		t.Fatal(err)
	}
	checkOrthonormal(t, s)
	for j, want := range g.Components {
		row := s.P[j*s.D : (j+1)*s.D]
		sign := 1.0
		if row[0]*want[0] < 0 {
			sign = -1
		}
		for i, w := range want {
			if math.Abs(sign*row[i]-w) > 1e-9 {
				t.Fatalf("component %d[%d] = %.12f, scikit-learn %.12f", j, i, sign*row[i], w)
			}
		}
		if math.Abs(variance[j]-g.Variance[j]) > 1e-9*g.Variance[0] {
			t.Errorf("explained variance %d = %.12g, scikit-learn %.12g", j, variance[j], g.Variance[j])
		}
	}
	total, err := TotalVariance(g.Checkpoints)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(total-g.TotalVariance) > 1e-9*total {
		t.Errorf("total variance %.12g, NumPy %.12g", total, g.TotalVariance)
	}
	for j, want := range g.VarianceRatio {
		if got := variance[j] / total; math.Abs(got-want) > 1e-9 {
			t.Errorf("explained variance ratio %d = %.12g, scikit-learn %.12g", j, got, want)
		}
	}
}

// TestPCABasisSigned: each direction's largest-magnitude entry is positive,
// so the basis does not depend on the eigensolver's sign choice.
func TestPCABasisSigned(t *testing.T) {
	s, _, err := PCABasis(randVecs(rand.New(rand.NewPCG(5, 5)), 9, 30), 6)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < s.Dim; j++ {
		var big float64
		for _, v := range s.P[j*s.D : (j+1)*s.D] {
			if math.Abs(v) > math.Abs(big) {
				big = v
			}
		}
		if big <= 0 {
			t.Errorf("direction %d: largest-magnitude entry %g is not positive", j, big)
		}
	}
}

// TestPCABasisErrors: too few checkpoints for the dimension (t centred
// checkpoints span at most t−1 directions) and other bad input are clear
// errors naming the numbers.
func TestPCABasisErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	five := randVecs(r, 5, 20)
	nan := randVecs(r, 4, 20)
	nan[2][7] = float32(math.NaN())
	for _, c := range []struct {
		name  string
		ckpts [][]float32
		dim   int
		msg   []string
	}{
		{"as many directions as checkpoints", five, 5, []string{"5 principal directions", "5 checkpoints", "at most 4", "at least 6"}},
		{"more directions than checkpoints", five, 12, []string{"12 principal directions", "5 checkpoints", "at most 4"}},
		{"one checkpoint", five[:1], 1, []string{"1 checkpoints", "at most 0"}},
		{"zero directions", five, 0, []string{"at least 1", "got 0"}},
		{"more directions than weights", randVecs(r, 8, 3), 4, []string{"4 principal directions", "only 3 weights"}},
		{"identical checkpoints", [][]float32{five[0], five[0], five[0]}, 1, []string{"fewer than 1 directions"}},
		{"non-finite weight", nan, 2, []string{"checkpoint 2", "index 7"}},
		{"different sizes", [][]float32{five[0], five[1][:10]}, 1, []string{"checkpoint 1 has 10 weights"}},
		{"none", nil, 1, []string{"no checkpoints"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := PCABasis(c.ckpts, c.dim)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, m := range c.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

// TestDLDRFullDimensionalSubspaceIsSGD: P-SGD in a basis spanning all of
// R^D makes SGD's update. With the standard basis the projection is exact,
// so the trajectories agree bit for bit; with the D principal directions of
// D+1 checkpoints they agree to float32 rounding.
func TestDLDRFullDimensionalSubspaceIsSGD(t *testing.T) {
	const d, steps = 6, 12
	a := []float32{1, 3, 0.2, 2, 0.7, 1.5}
	w0 := []float32{0.5, -1, 2, 0.1, -0.4, 0.8}
	unit := make([][]float32, d)
	for i := range unit {
		unit[i] = make([]float32, d)
		unit[i][i] = 1
	}
	standard, err := SpanBasis(unit)
	if err != nil {
		t.Fatal(err)
	}
	pca, _, err := PCABasis(randVecs(rand.New(rand.NewPCG(7, 7)), d+1, d), d)
	if err != nil {
		t.Fatal(err)
	}
	trajectory := func(opt Optimizer) [][]float32 {
		q := newQuad(a, w0)
		var out [][]float32
		for step := range steps {
			q.batch(step)
			if _, err := opt.Step(q, q.closure()); err != nil {
				t.Fatal(err)
			}
			out = append(out, slices.Clone(q.w))
		}
		return out
	}
	for _, c := range []struct {
		name              string
		momentum, wd, tol float64
		nesterov          bool
		basis             *Subspace
	}{
		{"standard basis, momentum", 0.9, 0, 0, false, standard},
		{"standard basis, Nesterov and weight decay", 0.9, 1e-3, 0, true, standard},
		{"principal directions, plain", 0, 0, 1e-6, false, pca},
		{"principal directions, momentum", 0.9, 0, 1e-5, false, pca},
	} {
		t.Run(c.name, func(t *testing.T) {
			sgd, _ := NewSGD(0.1, c.momentum, c.wd, c.nesterov)
			base, _ := NewSGD(0.1, c.momentum, c.wd, c.nesterov)
			psgd, err := NewProjected(base, c.basis)
			if err != nil {
				t.Fatal(err)
			}
			want, got := trajectory(sgd), trajectory(psgd)
			for step := range want {
				for i := range want[step] {
					if diff := math.Abs(float64(got[step][i] - want[step][i])); diff > c.tol {
						t.Fatalf("step %d: w[%d] = %.9g, SGD %.9g", step, i, got[step][i], want[step][i])
					}
				}
			}
		})
	}
}

// TestPSGDMatchesOfficial replays the official P_SGD (gradient replaced by
// Pᵀ(P g), then PyTorch's SGD) in scikit-learn's PCA basis from w₀.
func TestPSGDMatchesOfficial(t *testing.T) {
	g := loadDLDRGolden(t)
	s, _, err := PCABasis(g.Checkpoints, len(g.Components))
	if err != nil {
		t.Fatal(err)
	}
	sgd, _ := NewSGD(g.PSGD.LR, g.PSGD.Momentum, 0, false)
	o, _ := NewProjected(sgd, s)
	q := newQuad(g.A, g.Checkpoints[0])
	for step, want := range g.PSGD.Traj {
		q.batch(step)
		if _, err := o.Step(q, q.closure()); err != nil {
			t.Fatal(err)
		}
		near(t, fmt.Sprintf("step %d: w", step), q.w, want, 1e-5)
	}
}
