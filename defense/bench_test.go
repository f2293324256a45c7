package defense_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/trustml/trustml/defense"
)

// BenchmarkAAA measures AAA's cost per row (ns/row) for K = 10 logits in
// batches of 256, with the official settings (100 Adam steps), on one
// goroutine (workers=1, the cost per core) and split across GOMAXPROCS
// goroutines (workers=0, the default).
func BenchmarkAAA(b *testing.B) {
	const n, k = 256, 10
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, n*k)
	for i := range logits {
		logits[i] = float32(3 * rng.NormFloat64())
	}
	dst := make([]float32, n*k)
	for _, bc := range []struct {
		v       defense.Variant
		workers int
	}{{defense.Linear, 1}, {defense.Sine, 1}, {defense.Linear, 0}} {
		b.Run(fmt.Sprintf("%v/workers=%d", bc.v, bc.workers), func(b *testing.B) {
			cfg := defense.DefaultAAAConfig(bc.v)
			cfg.Workers = bc.workers
			d, err := defense.NewAAA(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Apply(dst, logits, k); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}
