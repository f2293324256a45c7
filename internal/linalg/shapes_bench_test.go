package linalg

import (
	"fmt"
	"testing"
)

// BenchmarkCNNShapes times the products of one training step of the small
// CNN (batch 128) one by one; MB/s is MFLOP/s of wall time, GFLOP/cpu-s
// the rate per second of CPU time (all threads), steadier on a loaded
// machine: with GOMAXPROCS=1 it is one core's rate.
func BenchmarkCNNShapes(b *testing.B) { benchCNNShapes(b) }

func benchCNNShapes(b *testing.B) {
	shapes := []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"conv1 fwd", false, true, 128 * 784, 32, 9},
		{"conv1 dW", true, false, 32, 9, 128 * 784},
		{"conv2 fwd", false, true, 128 * 196, 64, 288},
		{"conv2 dW", true, false, 64, 288, 128 * 196},
		{"conv2 dcol", false, false, 128 * 196, 288, 64},
		{"fc1 fwd", false, true, 128, 128, 3136},
		{"fc1 dW", true, false, 128, 3136, 128},
		{"fc1 dx", false, false, 128, 3136, 128},
	}
	for _, s := range shapes {
		a := make([]float32, s.m*s.k)
		bb := make([]float32, s.k*s.n)
		c := make([]float32, s.m*s.n)
		for i := range a { // nonzero: gonum skips zero multipliers
			a[i] = float32(i%13) - 6.5
		}
		for i := range bb {
			bb[i] = float32(i%7) - 3.5
		}
		lda, ldb := s.k, s.n
		if s.ta {
			lda = s.m
		}
		if s.tb {
			ldb = s.k
		}
		b.Run(fmt.Sprintf("%s %dx%dx%d", s.name, s.m, s.n, s.k), func(b *testing.B) {
			b.SetBytes(int64(2 * s.m * s.n * s.k))
			cpu0 := cpuTime()
			for b.Loop() {
				Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
			}
		})
	}
}
