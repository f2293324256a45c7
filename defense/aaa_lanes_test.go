package defense

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// applyPath runs AAA with cfg on logits through the kernel of width lanes
// (0: the scalar row loop only), and returns the outputs and stats.
func applyPath(t *testing.T, cfg AAAConfig, logits []float32, k int, width int) ([]float32, AAAStats) {
	t.Helper()
	defer func(old int) { aaaWidth = old }(aaaWidth)
	aaaWidth = width
	d, err := NewAAA(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(logits))
	if err := d.Apply(out, logits, k); err != nil {
		t.Fatal(err)
	}
	return out, d.Stats()
}

// TestAAALanesBitIdentical requires every SIMD kernel to give exactly the
// scalar path's float32 outputs (bit for bit, NaN-free by the guard) and
// stats, on random batches of k = 2, 3, 10 and 100 logits with ties,
// duplicated rows, wide and tiny logit scales, both variants and modes,
// and extreme settings whose steps overflow to ∞ and NaN.
func TestAAALanesBitIdentical(t *testing.T) {
	if len(aaaWidths) == 0 {
		t.Skip("no SIMD kernel on this CPU or platform")
	}
	rng := rand.New(rand.NewPCG(19, 4))
	type setting struct {
		name string
		edit func(*AAAConfig)
	}
	settings := []setting{
		{"default", func(*AAAConfig) {}},
		{"tau6", func(c *AAAConfig) { c.Tau = 6 }},
		{"T0.3", func(c *AAAConfig) { c.Temperature = 0.3 }},
		{"T3,alpha0.5", func(c *AAAConfig) { c.Temperature, c.Alpha = 3, 0.5 }},
		{"eps-tiny", func(c *AAAConfig) { c.Eps = 1e-300 }},
		{"eps-huge", func(c *AAAConfig) { c.Eps = 1e3 }},
		{"iters0", func(c *AAAConfig) { c.Iters = 0 }},
		{"iters1", func(c *AAAConfig) { c.Iters = 1 }},
		{"iters7,kappa0", func(c *AAAConfig) { c.Iters, c.Kappa = 7, 0 }},
		{"lr-huge", func(c *AAAConfig) { c.LR, c.Iters = 1e300, 5 }},
		{"lr1e38", func(c *AAAConfig) { c.LR, c.Iters = 1e38, 3 }},
		{"kappa-huge,beta", func(c *AAAConfig) { c.Kappa, c.Beta1, c.Beta2, c.Iters = 1e308, 0, 0, 4 }},
		{"lr5", func(c *AAAConfig) { c.LR, c.Iters = 5, 30 }},
	}
	gens := []struct {
		name string
		gen  func(x []float32, k int)
	}{
		{"normal3", func(x []float32, k int) {
			for i := range x {
				x[i] = float32(3 * rng.NormFloat64())
			}
		}},
		{"ties", func(x []float32, k int) {
			for i := range x {
				x[i] = float32(rng.IntN(3))
			}
		}},
		{"equal-rows", func(x []float32, k int) {
			for i := range k {
				x[i] = float32(rng.NormFloat64())
			}
			for i := k; i < len(x); i++ {
				x[i] = x[i%k]
			}
		}},
		{"wide", func(x []float32, k int) {
			for i := range x {
				x[i] = float32(400 * rng.NormFloat64())
			}
		}},
		{"tiny", func(x []float32, k int) {
			for i := range x {
				x[i] = float32(1e-6 * rng.NormFloat64())
			}
		}},
		{"huge", func(x []float32, k int) {
			for i := range x {
				x[i] = float32((rng.Float64()*2 - 1) * 3e38)
			}
		}},
		{"one-hot", func(x []float32, k int) {
			for i := range x {
				x[i] = 0
				if rng.IntN(k) == 0 {
					x[i] = 30
				}
			}
		}},
	}
	var total AAAStats
	for _, k := range []int{2, 3, 10, 100} {
		for _, v := range []Variant{Linear, Sine} {
			for _, mode := range []Mode{Official, PerRow} {
				for _, s := range settings {
					for _, g := range gens {
						n := 1 + rng.IntN(20) // full and padded blocks
						if k == 100 {
							n = 1 + rng.IntN(9)
						}
						logits := make([]float32, n*k)
						g.gen(logits, k)
						cfg := DefaultAAAConfig(v)
						cfg.Mode = mode
						s.edit(&cfg)
						name := fmt.Sprintf("k=%d/%v/%v/%s/%s/n=%d", k, v, mode, s.name, g.name, n)
						want, wantStats := applyPath(t, cfg, logits, k, 0)
						for _, width := range aaaWidths {
							got, gotStats := applyPath(t, cfg, logits, k, width)
							for i := range want {
								if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
									t.Fatalf("%s, width %d: output %d (row %d) = %v, scalar path %v", name, width, i, i/k, got[i], want[i])
								}
							}
							if gotStats != wantStats {
								t.Fatalf("%s, width %d: stats %+v, scalar path %+v", name, width, gotStats, wantStats)
							}
						}
						total.Rows += wantStats.Rows
						total.Reverted += wantStats.Reverted
						total.Crossed += wantStats.Crossed
					}
				}
			}
		}
	}
	// The corpus must exercise the guard's both outcomes.
	if total.Reverted == 0 || total.Crossed == 0 || total.Reverted > total.Rows/2 {
		t.Errorf("corpus stats %+v: want some reverted and crossed rows", total)
	}
	t.Logf("corpus: %+v", total)
}

// TestAAALanesWorkers: split across goroutines in shares of whole blocks,
// the kernels give the scalar path's outputs.
func TestAAALanesWorkers(t *testing.T) {
	const k = 10
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{64, 65, 67, 130, 301} {
		logits := make([]float32, n*k)
		for i := range logits {
			logits[i] = float32(2 * rng.NormFloat64())
		}
		cfg := DefaultAAAConfig(Sine)
		want, wantStats := applyPath(t, cfg, logits, k, 0)
		for _, width := range aaaWidths {
			for _, workers := range []int{1, 2, 3, 5} {
				cfg.Workers = workers
				got, gotStats := applyPath(t, cfg, logits, k, width)
				if !slices.Equal(got, want) || gotStats != wantStats {
					t.Errorf("n=%d width=%d workers=%d: outputs or stats %+v differ from the scalar path's (%+v)", n, width, workers, gotStats, wantStats)
				}
			}
		}
	}
}

// TestAAAApplyGroups: ApplyGroups gives exactly one Apply call per group
// (outputs and stats), on every kernel, in both modes, with groups of
// one row (a server's single-image requests), mixed sizes and empty ones;
// and it refuses sizes that do not add up to the rows.
func TestAAAApplyGroups(t *testing.T) {
	const k = 10
	rng := rand.New(rand.NewPCG(3, 19))
	groupings := [][]int{
		{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{3, 1, 0, 7, 2, 20, 1, 1, 4},
		{40},
		{2, 2, 2},
		slices.Repeat([]int{1}, 70), // two workers
		{33, 0, 31, 1},              // two workers, a share across groups
	}
	for _, mode := range []Mode{Official, PerRow} {
		for _, sizes := range groupings {
			n := 0
			for _, s := range sizes {
				n += s
			}
			logits := make([]float32, n*k)
			for i := range logits {
				logits[i] = float32(3 * rng.NormFloat64())
			}
			copy(logits[k:2*k], logits[:k])
			logits[3] += 25 // tiny probabilities: ε matters
			cfg := DefaultAAAConfig(Linear)
			cfg.Mode = mode
			// The reference: one Apply call per group on the scalar path.
			want := make([]float32, n*k)
			var wantStats AAAStats
			{
				defer func(old int) { aaaWidth = old }(aaaWidth)
				aaaWidth = 0
				d, err := NewAAA(cfg)
				if err != nil {
					t.Fatal(err)
				}
				off := 0
				for _, s := range sizes {
					if err := d.Apply(want[off*k:(off+s)*k], logits[off*k:(off+s)*k], k); err != nil {
						t.Fatal(err)
					}
					off += s
				}
				wantStats = d.Stats()
			}
			for _, width := range append([]int{0}, aaaWidths...) {
				aaaWidth = width
				d, err := NewAAA(cfg)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]float32, n*k)
				if err := d.ApplyGroups(got, logits, k, sizes); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) || d.Stats() != wantStats {
					t.Errorf("%v, sizes %v, width %d: outputs or stats %+v differ from one Apply per group (%+v)", mode, sizes, width, d.Stats(), wantStats)
				}
			}
		}
	}
	d, err := NewAAA(DefaultAAAConfig(Sine))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 4*k)
	for _, sizes := range [][]int{{1, 2}, {5}, {2, -1, 3}, {1, 1, 1, 1, 1}} {
		if err := d.ApplyGroups(out, out, k, sizes); err == nil {
			t.Errorf("sizes %v for 4 rows: no error", sizes)
		}
	}
}

// TestBlockWidth checks the choice of kernel for the rows left: the
// narrowest that holds them, at least 8 lanes where the AVX-512 kernels
// run, the scalar path for one row with AVX2 only; and that BlockRows rows
// fill one block of the widest kernel.
func TestBlockWidth(t *testing.T) {
	defer func(ws []int, w int) { aaaWidths, aaaWidth = ws, w }(aaaWidths, aaaWidth)
	tests := []struct {
		widths []int
		width  int   // the selected widest kernel
		want   []int // for 1, 2, 4, 5, 8, 9, 16, 40 rows left
	}{
		{[]int{16, 8, 4}, 16, []int{8, 8, 8, 8, 8, 16, 16, 16}},
		{[]int{16, 8, 4}, 8, []int{8, 8, 8, 8, 8, 8, 8, 8}},
		{[]int{16, 8, 4}, 4, []int{0, 4, 4, 4, 4, 4, 4, 4}},
		{[]int{4}, 4, []int{0, 4, 4, 4, 4, 4, 4, 4}},
		{[]int{16, 8, 4}, 0, []int{0, 0, 0, 0, 0, 0, 0, 0}},
	}
	d, err := NewAAA(DefaultAAAConfig(Linear))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		aaaWidths, aaaWidth = tt.widths, tt.width
		// BlockRows rows fill one block of the widest kernel.
		if rows := d.BlockRows(); rows != max(tt.width, 1) || blockWidth(rows) != tt.width {
			t.Errorf("kernels %v, widest %d: BlockRows %d, a block of %d for it", tt.widths, tt.width, rows, blockWidth(rows))
		}
		for i, rest := range []int{1, 2, 4, 5, 8, 9, 16, 40} {
			if got := blockWidth(rest); got != tt.want[i] {
				t.Errorf("kernels %v, widest %d, %d rows left: width %d, want %d", tt.widths, tt.width, rest, got, tt.want[i])
			}
		}
	}
}

// refTop2 is top2 by comparisons, as the scalar code wrote it before top2
// compared order keys: the reference of TestTop2 and TestFinish.
func refTop2(row []float32) (int, int) {
	i1, i2 := 0, 1
	if row[1] > row[0] {
		i1, i2 = 1, 0
	}
	for j := 2; j < len(row); j++ {
		switch v := row[j]; {
		case v > row[i1]:
			i1, i2 = j, i1
		case v > row[i2]:
			i2 = j
		}
	}
	return i1, i2
}

// tieRow returns k values drawn from a few, with both signed zeros, so
// that ties are common.
func tieRow(rng *rand.Rand, k int) []float32 {
	vals := []float32{float32(math.Copysign(0, -1)), 0, 1, -1, 2.5, -3, 1e-30, -1e-30, 7, 7}
	row := make([]float32, k)
	for j := range row {
		if rng.IntN(3) == 0 {
			row[j] = float32(rng.NormFloat64())
		} else {
			row[j] = vals[rng.IntN(len(vals))]
		}
	}
	return row
}

// TestTop2 compares top2 with the comparisons it replaces on rows with
// ties and signed zeros.
func TestTop2(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range 20000 {
		row := tieRow(rng, 2+rng.IntN(12))
		i1, i2 := top2(row)
		w1, w2 := refTop2(row)
		if i1 != w1 || i2 != w2 {
			t.Fatalf("top2(%v) = %d, %d; want %d, %d", row, i1, i2, w1, w2)
		}
	}
}

// TestFinish compares finish (order keys, no branches) with the guard as
// it was written with comparisons, on defended rows with ties, signed
// zeros, ±∞ and NaN: the same outputs and counts.
func TestFinish(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	specials := []float64{math.Inf(1), math.Inf(-1), math.NaN(), 1e39, -1e39}
	d, err := NewAAA(DefaultAAAConfig(Linear))
	if err != nil {
		t.Fatal(err)
	}
	var w aaaScratch
	for range 20000 {
		k := 2 + rng.IntN(12)
		in := tieRow(rng, k)
		var r rowStart
		r.c, r.i2 = refTop2(in)
		r.m0 = float64(in[r.c]) - float64(in[r.i2])
		r.a = float64(rng.IntN(5)) - 1.5
		z := make([]float64, k)
		for j, x := range tieRow(rng, k) {
			z[j] = float64(x)
			if rng.IntN(40) == 0 {
				z[j] = specials[rng.IntN(len(specials))]
			}
		}
		// Strided as the kernels leave it.
		const stride = 3
		zs := make([]float64, k*stride)
		for j := range z {
			zs[j*stride] = z[j]
		}
		got := make([]float32, k)
		w.stats = AAAStats{}
		d.finish(&w, got, in, zs, stride, &r)

		want := make([]float32, k)
		var ws AAAStats
		ws.Rows++
		f := make([]float32, k)
		finite := true
		for j := range z {
			f[j] = float32(z[j])
			if math.IsInf(float64(f[j]), 0) || math.IsNaN(float64(f[j])) {
				finite = false
			}
		}
		o1, o2 := refTop2(f)
		if o1 != r.c || !finite {
			ws.Reverted++
			copy(want, in)
		} else {
			if mh := float64(f[o1]) - float64(f[o2]); (mh-r.a)*(r.m0-r.a) < 0 {
				ws.Crossed++
			}
			copy(want, f)
		}
		if !slices.Equal(got, want) || w.stats != ws {
			t.Fatalf("in %v, z %v: finish wrote %v, %+v; want %v, %+v", in, z, got, w.stats, want, ws)
		}
	}
}
