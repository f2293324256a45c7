package linalg

import (
	"fmt"
	"testing"
)

// BenchmarkDgemm times float64 products of the kernel methods' shapes:
// square ones, a tall-skinny one (a Gram matrix against 20 columns) and
// the Nyström fit's 1024×2048×2048. MB/s is MFLOP/s of wall time,
// GFLOP/cpu-s the rate per second of CPU time (all threads).
func BenchmarkDgemm(b *testing.B) { benchDgemm(b) }

func benchDgemm(b *testing.B) {
	shapes := []struct {
		ta, tb  bool
		m, n, k int
	}{
		{false, false, 500, 500, 500},
		{false, false, 1000, 1000, 1000},
		{false, false, 2000, 2000, 2000},
		{false, true, 10000, 20, 10000},
		{false, true, 1024, 2048, 2048},
		{true, false, 1024, 2048, 2048},
	}
	for _, s := range shapes {
		a := make([]float64, s.m*s.k)
		bb := make([]float64, s.k*s.n)
		c := make([]float64, s.m*s.n)
		for i := range a { // nonzero: gonum skips zero multipliers
			a[i] = float64(i%13) - 6.5
		}
		for i := range bb {
			bb[i] = float64(i%7) - 3.5
		}
		lda, ldb := s.k, s.n
		if s.ta {
			lda = s.m
		}
		if s.tb {
			ldb = s.k
		}
		b.Run(fmt.Sprintf("ta=%v tb=%v %dx%dx%d", s.ta, s.tb, s.m, s.n, s.k), func(b *testing.B) {
			b.SetBytes(int64(2 * s.m * s.n * s.k))
			cpu0 := cpuTime()
			for b.Loop() {
				Dgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
			}
		})
	}
}
