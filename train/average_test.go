package train

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestSWA(t *testing.T) {
	var s SWA
	if err := s.CopyTo(make([]float32, 2)); err == nil {
		t.Error("CopyTo of an empty average succeeded")
	}
	w := []float32{0.1, -3.7, 1e-8, 12345.678}
	for range 5 {
		if err := s.Add(w); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]float32, len(w))
	if err := s.CopyTo(got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, w) || s.N() != 5 {
		t.Fatalf("average of 5 identical vectors %v (n %d), want %v", got, s.N(), w)
	}

	// The running mean of 1, 2, ..., 8 (times a vector) is 4.5 times it.
	var m SWA
	for k := 1; k <= 8; k++ {
		m.Add([]float32{float32(k), -2 * float32(k)})
	}
	m.CopyTo(got[:2])
	if got[0] != 4.5 || got[1] != -9 {
		t.Errorf("running mean %v, want [4.5 -9]", got[:2])
	}
	if err := m.Add([]float32{1}); err == nil || !strings.Contains(err.Error(), "averaging 1 weights") {
		t.Errorf("mismatched length: err = %v", err)
	}
}

func TestSWALR(t *testing.T) {
	s := SWALR{Base: 0.1, SWA: 0.05, StartFrac: 0.5}
	for _, tc := range []struct {
		step int
		want float64
	}{{0, 0.1}, {25, 0.1}, {35, 0.075}, {45, 0.05}, {99, 0.05}} {
		if got := s.LR(tc.step, 100); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LR(%d, 100) = %g, want %g", tc.step, got, tc.want)
		}
	}
}

// TestUpdateBN: the recomputed statistics over two equal batches are the
// mean of those over each batch alone (cumulative averaging), they do not
// depend on the stale statistics, and the momentum is restored.
func TestUpdateBN(t *testing.T) {
	x, _ := toyProblem(32)
	half := len(x) / 2
	ctx := context.Background()
	net := smallBNCNN(t, 5)
	stats := func(x []float32, batch int) []float32 {
		t.Helper()
		c := net.Copy()
		for i := range c.BufferData() {
			c.BufferData()[i] = 7 // stale values that must not matter
		}
		if err := UpdateBN(ctx, c, x, batch); err != nil {
			t.Fatal(err)
		}
		if c.BNMomentum() != 0.1 {
			t.Fatalf("momentum %v not restored", c.BNMomentum())
		}
		return slices.Clone(c.BufferData())
	}
	a, b, both := stats(x[:half], 16), stats(x[half:], 16), stats(x, 16)
	if slices.Equal(a, b) {
		t.Fatal("the two halves gave identical statistics")
	}
	for i := range both {
		want := (float64(a[i]) + float64(b[i])) / 2
		if math.Abs(float64(both[i])-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("buffer value %d = %g, want the mean %g of the halves' %g and %g", i, both[i], want, a[i], b[i])
		}
	}
	if err := UpdateBN(ctx, net, x[:5], 4); err == nil {
		t.Error("input not a multiple of the sample size was accepted")
	}
	if err := UpdateBN(ctx, net, x, 0); err == nil {
		t.Error("batch 0 was accepted")
	}
}
