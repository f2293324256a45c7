package defense_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/zoo"
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

// BenchmarkAAAShareOfForward measures AAA's cost against the forward pass it
// defends, in batched serving: the default zoo model ([zoo.DefaultName],
// through Logits, the serving path) on batches of 64 and 128 images, then
// AAA (official settings, default workers) on the batch's logits. It reports
// the mean time of each per image and AAA's time as a percentage of the
// forward pass (issue 19 asks for under 2 %).
func BenchmarkAAAShareOfForward(b *testing.B) {
	net, _, err := zoo.Default()
	if err != nil {
		b.Fatal(err)
	}
	k, size := net.NumClasses(), 1
	for _, d := range net.InputShape() {
		size *= d
	}
	d, err := defense.NewAAA(defense.DefaultAAAConfig(defense.Linear))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{64, 128} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			x := make([]float32, n*size)
			for i := range x {
				x[i] = rng.Float32()
			}
			logits, dst := make([]float32, n*k), make([]float32, n*k)
			ctx := context.Background()
			var fwd, aaa time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := net.Logits(ctx, logits, x); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := d.Apply(dst, logits, k); err != nil {
					b.Fatal(err)
				}
				fwd, aaa = fwd+t1.Sub(t0), aaa+time.Since(t1)
			}
			rows := float64(b.N * n)
			b.ReportMetric(float64(fwd.Nanoseconds())/rows, "forward-ns/img")
			b.ReportMetric(float64(aaa.Nanoseconds())/rows, "aaa-ns/img")
			b.ReportMetric(100*aaa.Seconds()/fwd.Seconds(), "aaa-%-of-forward")
		})
	}
}
