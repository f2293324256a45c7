package defense_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/trustml/trustml/defense"
	"github.com/trustml/trustml/zoo"
)

// BenchmarkAAA measures AAA's cost per row (ns/row) for K = 10 logits in
// batches of 256, with the official settings (100 Adam steps), on one
// goroutine (workers=1, the cost per core; also as the thread's CPU time,
// cpu-ns/row, on Linux) and split across GOMAXPROCS goroutines (workers=0,
// the default), for each kernel (benchPaths).
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
		benchPaths(b, fmt.Sprintf("%v/workers=%d", bc.v, bc.workers), func(b *testing.B) {
			cfg := defense.DefaultAAAConfig(bc.v)
			cfg.Workers = bc.workers
			d, err := defense.NewAAA(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			if bc.workers == 1 {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			cpu0 := threadCPU()
			for b.Loop() {
				if err := d.Apply(dst, logits, k); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
			if cpu1 := threadCPU(); bc.workers == 1 && cpu0 >= 0 && cpu1 >= 0 {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N*n), "cpu-ns/row")
			}
		})
	}
}

// benchPaths runs bench as sub-benchmarks name/lanes=W for each SIMD
// kernel of W lanes the CPU has and name/lanes=0 (the scalar path),
// interleaved, so that a shared machine's load hits them alike.
func benchPaths(b *testing.B, name string, bench func(*testing.B)) {
	for _, width := range append(defense.AAAWidths(), 0) {
		b.Run(fmt.Sprintf("%s/lanes=%d", name, width), func(b *testing.B) {
			defer defense.SetAAAWidth(defense.SetAAAWidth(width))
			bench(b)
		})
	}
}

// BenchmarkAAAShareOfForward measures AAA's cost against the forward pass it
// defends, in batched serving: the default zoo model ([zoo.DefaultName],
// through Logits, the serving path) on batches of 32 (about the serving
// batch), 64 and 128 images, then AAA (official settings, default workers)
// on the batch's logits, either as one batch (apply=batch: one Apply call)
// or, as trustml serve does with single-image requests, as one group of one
// row per request (apply=requests: ApplyGroups; on the scalar path, lanes=0,
// this costs what one Apply per request did). It reports the mean time of
// each per image and AAA's time as a percentage of the forward pass (issue
// 19 asks for under 2 %), for each kernel (benchPaths).
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
	for _, n := range []int{32, 64, 128} {
		ones := make([]int, n)
		for i := range ones {
			ones[i] = 1
		}
		for _, apply := range []string{"batch", "requests"} {
			sizes := []int(nil)
			if apply == "requests" {
				sizes = ones
			}
			benchPaths(b, fmt.Sprintf("batch=%d/apply=%s", n, apply), func(b *testing.B) {
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
					if err := d.ApplyGroups(dst, logits, k, sizes); err != nil {
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
}
