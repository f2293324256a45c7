package features

import (
	"testing"
)

// Benchmarks of the feature maps and the primal ridge solve (not tests:
// timings depend on the machine). Run with go test -bench . ./kernel/features/.

func benchTransform(b *testing.B, m Map, n int) {
	X := randDense(newRand(1), n, m.InputDim(), 1)
	dst, err := Transform(m, X)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.TransformTo(dst, X); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRFFTransform(b *testing.B) {
	benchTransform(b, must(NewRFF(Gaussian{Sigma: 3}, 32, 1024, Phase, newRand(1))), 2048)
}

func BenchmarkORFTransform(b *testing.B) {
	benchTransform(b, must(NewORF(Gaussian{Sigma: 3}, 32, 512, CosSin, newRand(1))), 2048)
}

func BenchmarkSORFTransform(b *testing.B) {
	benchTransform(b, must(NewSORF(3, 32, 512, CosSin, newRand(1))), 2048)
}

func BenchmarkRidgeFitMap(b *testing.B) {
	m := must(NewRFF(Gaussian{Sigma: 3}, 16, 512, Phase, newRand(1)))
	X, y := regressionData(8192, 16, 2)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := &Ridge{Lambda: 1}
		if err := r.FitMap(b.Context(), m, X, y); err != nil {
			b.Fatal(err)
		}
	}
}
