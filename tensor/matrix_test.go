package tensor

import (
	"slices"
	"testing"
)

func TestFactor(t *testing.T) {
	for _, c := range []struct {
		n, d int
		want []int
	}{{3136, 3, []int{14, 14, 16}}, {128, 3, []int{4, 4, 8}}, {10, 2, []int{2, 5}}, {7, 2, []int{1, 7}}, {1, 1, []int{1}}} {
		got, err := Factor(c.n, c.d)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Factor(%d, %d) = %v, %v; want %v", c.n, c.d, got, err, c.want)
		}
	}
	if _, err := Factor(0, 2); err == nil {
		t.Error("Factor(0, 2): no error")
	}
}

func TestMatrixRoundTrip(t *testing.T) {
	of, inf := []int{2, 3}, []int{4, 5}
	w := make([]float64, 6*20)
	for i := range w {
		w[i] = float64(i)
	}
	x, err := FromMatrix(w, of, inf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Shape, []int{8, 15}) {
		t.Fatalf("shape %v", x.Shape)
	}
	// Row o = (1, 2) = 5, column i = (3, 4) = 19: at (1·4+3, 2·5+4).
	if got := x.At(7, 14); got != w[5*20+19] {
		t.Fatalf("x[7,14] = %g, want %g", got, w[5*20+19])
	}
	back, err := ToMatrix(x, of, inf)
	if err != nil || !slices.Equal(back, w) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := FromMatrix(w, []int{2}, inf); err == nil {
		t.Fatal("mismatched factors: no error")
	}
}
