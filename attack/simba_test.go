package attack

import (
	"context"
	"math"
	"testing"
)

// TestDCTOrthonormal: the 2-D low-frequency basis of SimBA-DCT (outer
// products of 1-D DCT rows) is orthonormal, and complete when f = n.
func TestDCTOrthonormal(t *testing.T) {
	for _, c := range []struct{ h, w, f int }{{8, 8, 8}, {6, 9, 4}, {5, 5, 5}} {
		bh, bw := DCTBasis(c.h, c.f), DCTBasis(c.w, c.f)
		vecs := make([][]float64, 0, c.f*c.f)
		for u := range c.f {
			for v := range c.f {
				b := make([]float64, c.h*c.w)
				for r := range c.h {
					for q := range c.w {
						b[r*c.w+q] = bh[u*c.h+r] * bw[v*c.w+q]
					}
				}
				vecs = append(vecs, b)
			}
		}
		for a := range vecs {
			for b := range vecs {
				var dot float64
				for j := range vecs[a] {
					dot += vecs[a][j] * vecs[b][j]
				}
				want := 0.0
				if a == b {
					want = 1
				}
				if math.Abs(dot-want) > 1e-12 {
					t.Fatalf("%+v: ⟨b%d, b%d⟩ = %v, want %v", c, a, b, dot, want)
				}
			}
		}
		if c.f == c.h && c.h == c.w {
			// Complete basis: Σ_k b_k b_kᵀ = I, checked on the diagonal.
			for j := range c.h * c.w {
				var s float64
				for _, v := range vecs {
					s += v[j] * v[j]
				}
				if math.Abs(s-1) > 1e-12 {
					t.Fatalf("%+v: basis not complete at pixel %d (%v)", c, j, s)
				}
			}
		}
	}
}

// TestSimBACandidates: with a large radius (no clamping), a SimBA-DCT
// candidate differs from the clean input by ±ε_s times one basis image,
// and a pixel-SimBA candidate in exactly one pixel.
func TestSimBACandidates(t *testing.T) {
	for _, dct := range []bool{false, true} {
		rec := &recorder{Classifier: &constModel{shape: []int{1, 6, 6}, z: []float32{2, 1}}}
		o, _ := NewOracle(rec, OracleOptions{Budget: 7})
		x := make([]float32, 36)
		for j := range x {
			x[j] = 0.5
		}
		a := NewSimBA()
		a.DCT, a.Eps, a.StepSize, a.FreqDims = dct, 1, 0.1, 3
		if _, err := a.Run(context.Background(), o, x, []int{0}, RunOptions{Rand: seeded(2)}); err != nil {
			t.Fatal(err)
		}
		// Queries: clean, then (−, +) per coordinate: no step is accepted.
		if len(rec.inputs) != 7 {
			t.Fatalf("dct=%v: %d queries, want 7", dct, len(rec.inputs))
		}
		for q, in := range rec.inputs[1:] {
			var n2 float64
			changed := 0
			for _, v := range in {
				dlt := float64(v) - 0.5
				n2 += dlt * dlt
				if dlt != 0 {
					changed++
				}
			}
			if math.Abs(math.Sqrt(n2)-0.1) > 1e-6 {
				t.Errorf("dct=%v: candidate %d moved by %v in L2, want ε_s = 0.1", dct, q, math.Sqrt(n2))
			}
			if !dct && changed != 1 {
				t.Errorf("pixel candidate %d changes %d pixels", q, changed)
			}
			if q%2 == 1 { // "+" mirrors the preceding "−"
				prev := rec.inputs[q]
				for j := range in {
					if math.Abs(float64(in[j]-0.5)+float64(prev[j]-0.5)) > 1e-6 {
						t.Fatalf("dct=%v: candidate %d is not the mirror of %d", dct, q, q-1)
					}
				}
			}
		}
	}
}

// TestEGStep: the exponentiated-gradient prior update equals its
// overflow-free tanh form.
func TestEGStep(t *testing.T) {
	for _, c := range []struct{ v, g, lr float64 }{
		{0, 0.3, 1}, {0.5, -0.2, 2}, {-0.9, 0.05, 10}, {0.99, 0.001, 100}, {0.2, -0.01, 100},
	} {
		r := (c.v + 1) / 2
		pos := r * math.Exp(c.lr*c.g)
		neg := (1 - r) * math.Exp(-c.lr*c.g)
		want := 2*pos/(pos+neg) - 1
		if got := egStep(c.v, c.g, c.lr); math.Abs(got-want) > 1e-12 {
			t.Errorf("egStep(%v, %v, %v) = %v, want %v", c.v, c.g, c.lr, got, want)
		}
	}
	if v := egStep(0.5, 1e6, 100); v != 1 {
		t.Errorf("saturated step = %v, want 1", v)
	}
}
