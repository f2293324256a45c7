package train

import (
	"context"
	"math"
	"math/rand/v2"
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
