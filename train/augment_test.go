package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAugmentNoise(t *testing.T) {
	const n, c, h, w = 50, 1, 8, 8
	src := make([]float32, n*c*h*w)
	for i := range src {
		src[i] = float32(i%7) / 7
	}
	for _, sigma := range []float64{0.25, 1} {
		a := Augment{NoiseSigma: sigma}
		if !a.Enabled() {
			t.Fatal("noise alone does not enable augmentation")
		}
		dst := make([]float32, len(src))
		a.Apply(dst, src, n, c, h, w, rand.New(rand.NewPCG(1, 1)))
		var s, s2 float64
		for i := range dst {
			e := float64(dst[i] - src[i])
			s += e
			s2 += e * e
		}
		m := s / float64(len(dst))
		sd := math.Sqrt(s2/float64(len(dst)) - m*m)
		if math.Abs(m) > 0.1*sigma || math.Abs(sd-sigma) > 0.05*sigma {
			t.Errorf("σ=%g: noise mean %g, std %g", sigma, m, sd)
		}
		again := make([]float32, len(src))
		a.Apply(again, src, n, c, h, w, rand.New(rand.NewPCG(1, 1)))
		for i := range dst {
			if dst[i] != again[i] {
				t.Fatal("same seed, different noise")
			}
		}
	}
}
