package tensor

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func randTensor(seed uint64, shape ...int) *Dense {
	r := rand.New(rand.NewPCG(seed, 1))
	x := New(shape...)
	for i := range x.Data {
		x.Data[i] = r.NormFloat64()
	}
	return x
}

// smooth returns a tensor with decaying singular values in every mode
// (a sum of separable smooth functions plus a little noise).
func smoothTensor(seed uint64, shape ...int) *Dense {
	r := rand.New(rand.NewPCG(seed, 2))
	x := New(shape...)
	idx := make([]int, len(shape))
	for o := range x.Data {
		v := 0.0
		for k, i := range idx {
			u := float64(i) / float64(shape[k])
			v += math.Sin(3*u+float64(k)) * math.Cos(float64(k+1)*u)
		}
		x.Data[o] = math.Exp(-v*v) + 0.01*r.NormFloat64()
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return x
}

func TestPermuteUnfoldFold(t *testing.T) {
	x := randTensor(1, 2, 3, 4)
	p, err := x.Permute(2, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Shape, []int{4, 2, 3}) || p.At(3, 1, 2) != x.At(1, 2, 3) {
		t.Fatalf("permute: shape %v, p[3,1,2]=%g x[1,2,3]=%g", p.Shape, p.At(3, 1, 2), x.At(1, 2, 3))
	}
	for n := range 3 {
		u := x.Unfold(n)
		y, err := Fold(u, n, x.Shape)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(y.Data, x.Data) {
			t.Fatalf("mode %d: fold(unfold(x)) != x", n)
		}
	}
	// Mode-1 unfolding: column (i0, i2) row-major.
	if got, want := x.Unfold(1).At(2, 1*4+3), x.At(1, 2, 3); got != want {
		t.Fatalf("unfold(1)[2, 7] = %g, want %g", got, want)
	}
	if _, err := x.Permute(0, 0, 1); !errors.Is(err, ErrShape) {
		t.Fatalf("bad permutation: err %v", err)
	}
	if _, err := FromData(make([]float64, 5), 2, 3); !errors.Is(err, ErrShape) {
		t.Fatalf("FromData size mismatch: err %v", err)
	}
	if _, err := FromData(nil, 2, 0); !errors.Is(err, ErrShape) {
		t.Fatalf("FromData zero dim: err %v", err)
	}
}

func TestModeProduct(t *testing.T) {
	x := randTensor(2, 3, 4, 5)
	u := mat.NewDense(2, 4, []float64{1, 2, 3, 4, 0, 1, 0, -1})
	y, err := x.ModeProduct(1, u)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for j := range 2 {
			for k := range 5 {
				var want float64
				for l := range 4 {
					want += u.At(j, l) * x.At(i, l, k)
				}
				if math.Abs(y.At(i, j, k)-want) > 1e-12 {
					t.Fatalf("y[%d,%d,%d] = %g, want %g", i, j, k, y.At(i, j, k), want)
				}
			}
		}
	}
	if _, err := x.ModeProduct(0, u); !errors.Is(err, ErrShape) {
		t.Fatalf("size mismatch: err %v", err)
	}
}

// TestSTPCases checks the fast paths against the definition with
// explicit Kronecker products.
func TestSTPCases(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	rnd := func(m, n int) *mat.Dense {
		a := mat.NewDense(m, n, nil)
		for i := range m {
			for j := range n {
				a.Set(i, j, r.NormFloat64())
			}
		}
		return a
	}
	for _, c := range []struct{ m, n, p, q int }{{2, 4, 2, 3}, {3, 2, 6, 2}, {2, 3, 3, 4}, {2, 4, 6, 1}} {
		a, b := rnd(c.m, c.n), rnd(c.p, c.q)
		tl := c.n / gcd(c.n, c.p) * c.p
		var want mat.Dense
		want.Mul(Kron(a, eye(tl/c.n)), Kron(b, eye(tl/c.p)))
		got := STP(a, b)
		if !mat.EqualApprox(got, &want, 1e-12) {
			t.Fatalf("%+v: STP differs from its definition", c)
		}
	}
}

func TestFullRankExact(t *testing.T) {
	x := randTensor(4, 4, 6, 8)
	for _, s := range []Spec{
		{Method: "tt", Rank: 64}, {Method: "stt", Rank: 64, T: 2},
		{Method: "tr", Rank: 64}, {Method: "str", Rank: 64, T: 2},
		{Method: "tucker", Rank: 8}, {Method: "sttu", Rank: 8, T: 2},
	} {
		d, err := Fit(x, s)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		e, err := RelError(x, d.Reconstruct())
		if err != nil {
			t.Fatal(err)
		}
		if e > 1e-10 {
			t.Errorf("%v at full rank: relative error %g", s, e)
		}
		p, err := s.Params(x.Shape)
		if err != nil || p != d.NumParams() {
			t.Errorf("%v: Params %d (%v), fitted %d", s, p, err, d.NumParams())
		}
	}
}

func TestErrorDecreasesWithRank(t *testing.T) {
	x := smoothTensor(5, 8, 8, 16)
	for _, m := range []struct {
		method string
		t      int
	}{{"tt", 1}, {"stt", 2}, {"tr", 1}, {"str", 2}, {"tucker", 1}, {"sttu", 2}} {
		prev := math.Inf(1)
		for r := m.t; r <= 8; r += m.t {
			s := Spec{Method: m.method, Rank: r, T: m.t, Iters: 2}
			d, err := Fit(x, s)
			if err != nil {
				t.Fatalf("%v: %v", s, err)
			}
			e, _ := RelError(x, d.Reconstruct())
			if e > prev+1e-9 {
				t.Errorf("%v: error %g > %g at the smaller rank", s, e, prev)
			}
			prev = e
		}
		if prev > 0.05 {
			t.Errorf("%s at rank 8: error %g on a smooth tensor", m.method, prev)
		}
	}
}

// TestSTTStructure checks that an STT core is R/t rows smaller than the
// TT core at the same rank, and that the STT of the tensor equals the TT
// of the regrouped tensor at rank R/t (the identity's index moved from the
// last mode to the first).
func TestSTTStructure(t *testing.T) {
	x := smoothTensor(6, 6, 8)
	tt, err := TT(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	st, err := STT(x, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Cores[1].Shape, []int{2, 4, 1}; !slices.Equal(got, want) {
		t.Fatalf("STT last core %v, want %v", got, want)
	}
	if tt.NumParams() != 6*4+4*8 || st.NumParams() != 6*4+2*4 {
		t.Fatalf("params TT %d STT %d", tt.NumParams(), st.NumParams())
	}
	// Regroup: y[(i, s), j] = x[i, j·2+s]; rank-2 SVD of y.
	y := New(12, 4)
	for i := range 6 {
		for s := range 2 {
			for j := range 4 {
				y.Data[(i*2+s)*4+j] = x.At(i, j*2+s)
			}
		}
	}
	ty, err := TT(y, 2)
	if err != nil {
		t.Fatal(err)
	}
	ey, _ := RelError(y, ty.Reconstruct())
	ex, _ := RelError(x, st.Reconstruct())
	if math.Abs(ey-ex) > 1e-12 {
		t.Fatalf("STT error %g, TT of the regrouped tensor %g", ex, ey)
	}
}

func TestBadSpecs(t *testing.T) {
	x := randTensor(7, 4, 6, 6)
	for _, c := range []struct {
		s    Spec
		want error
	}{
		{Spec{Method: "cp", Rank: 2}, ErrUnknown},
		{Spec{Method: "stt", Rank: 2, T: 2}, ErrShape}, // 6 not divisible by 4
		{Spec{Method: "sttu", Rank: 3, T: 2}, nil},     // rank not a multiple of t
		{Spec{Method: "tt", Rank: 0}, nil},
	} {
		_, err := Fit(x, c.s)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%v: err %v, want %v", c.s, err, c.want)
		}
	}
	if _, err := Fit(randTensor(8, 4, 4), Spec{Method: "tr", Rank: 2}); !errors.Is(err, ErrShape) {
		t.Errorf("ring of a matrix: err %v", err)
	}
}

func TestMaxRank(t *testing.T) {
	x := smoothTensor(9, 8, 8, 16)
	for _, m := range Methods {
		s := Spec{Method: m, T: 2}
		d, fs, err := FitBudget(x, s, 300)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if d.NumParams() > 300 {
			t.Errorf("%v: %d params over the budget", fs, d.NumParams())
		}
		fs.Rank += fs.t()
		if p, _ := fs.Params(x.Shape); p <= 300 && p != d.NumParams() {
			t.Errorf("%v: rank %d would also fit (%d params)", m, fs.Rank, p)
		}
	}
	if _, _, err := (Spec{Method: "tucker"}).MaxRank([]int{8, 8, 8}, 3); err == nil {
		t.Error("tiny budget: no error")
	}
}
