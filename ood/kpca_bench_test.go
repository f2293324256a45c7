package ood

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// BenchmarkKPCANystromFit times the cos-nystrom KPCA fit on random
// features: n × d (env KPCA_BENCH_N, default 4,000; the full scale
// is 60,000) with M landmarks (KPCA_BENCH_M, default 512; full 2,048).
func BenchmarkKPCANystromFit(b *testing.B) {
	env := func(k string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
			return v
		}
		return def
	}
	n, d, m := env("KPCA_BENCH_N", 4000), env("KPCA_BENCH_D", 128), env("KPCA_BENCH_M", 512)
	r := rand.New(rand.NewPCG(1, 2))
	feats := make([]float32, n*d)
	for i := range feats {
		feats[i] = float32(max(r.NormFloat64(), 0)) // ReLU-like penultimate features
	}
	b.ResetTimer()
	for range b.N {
		k := &KPCA{Map: "cos-nystrom", M: m, Landmarks: "uniform", Seed: 1}
		if err := k.Fit(context.Background(), dimModel(d), NewFeatureInputs(nil, feats, nil)); err != nil {
			b.Fatal(err)
		}
	}
}

// dimModel is a stand-in classifier whose only use is its feature
// dimension, for detectors fitted on precomputed features.
type dimModel int

func (d dimModel) InputShape() []int                                  { return []int{int(d)} }
func (dimModel) NumClasses() int                                      { return 2 }
func (d dimModel) FeatureDim() int                                    { return int(d) }
func (dimModel) Logits(context.Context, []float32, []float32) error   { return nil }
func (dimModel) Features(context.Context, []float32, []float32) error { return nil }
