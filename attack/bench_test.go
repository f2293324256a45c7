package attack

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSquareOverhead measures the Square attack's own cost per
// iteration (candidate construction, oracle validation, batching, loss,
// acceptance) on a batch of 128 images, with a model that costs next to
// nothing and is never fooled, so every iteration attacks all 128 images.
// The goal is an overhead under 10 % of a small CNN's ~1 ms per 128-image
// batch, i.e. under ~110 µs per iteration; the ns/iter metric is that
// overhead (the null model's share is reported as model-ns/iter).
func BenchmarkSquareOverhead(b *testing.B) {
	const n, iters = 128, 200
	defer func(v bool) { checkTrusted = v }(checkTrusted)
	checkTrusted = false // measure the production path
	for _, c := range []struct {
		name     string
		shape    []int
		l2       bool
		quantize bool
	}{
		{"linf/1x28x28", []int{1, 28, 28}, false, false},
		{"linf/1x28x28/quantize", []int{1, 28, 28}, false, true},
		{"linf/3x32x32", []int{3, 32, 32}, false, false},
		{"l2/1x28x28", []int{1, 28, 28}, true, false},
		{"l2/3x32x32", []int{3, 32, 32}, true, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := &constModel{shape: c.shape, z: []float32{5, 1, 0, 0, 0, 0, 0, 0, 0, 0}}
			d := 1
			for _, s := range c.shape {
				d *= s
			}
			x, y := make([]float32, n*d), make([]int, n)
			for j := range x {
				x[j] = float32(j%251) / 251
			}
			a := NewSquare()
			if c.l2 {
				a = NewSquareL2()
			}
			a.Eps = 0.1
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				o, _ := NewOracle(m, OracleOptions{Budget: iters + 2, Quantize: c.quantize})
				if _, err := a.Run(context.Background(), o, x, y, RunOptions{Rand: seeded(1)}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			perIter := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / iters
			b.ReportMetric(perIter, "ns/iter")
			b.ReportMetric(perIter/n, "ns/image-iter")
			b.ReportMetric(100*perIter/(perIter+1e6), "%-of-1ms-model")
			// The null model's own share, for reference.
			dst := make([]float32, n*10)
			t0 := time.Now()
			for range 1000 {
				_ = m.Logits(context.Background(), dst, x)
			}
			b.ReportMetric(float64(time.Since(t0).Nanoseconds())/1000, "model-ns/iter")
		})
	}
}
