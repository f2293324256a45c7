package main

import (
	"context"
	"testing"
)

// BenchmarkPGDATStep is one PGD-AT training step (PGD-10 at ε = 0.1 and an
// SGD step) of the default CNN on a batch of 128; images/s = 128/(s/op).
//
//	go test -bench PGDATStep -benchtime 3x ./bench/at
func BenchmarkPGDATStep(b *testing.B) {
	s, err := newStepper("cnn", 128, 10)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := s.step(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := s.step(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(128*b.N)/b.Elapsed().Seconds(), "img/s")
}

// TestStep: the step runs and changes the weights.
func TestStep(t *testing.T) {
	s, err := newStepper("mlp", 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), s.net.Weights()...)
	if err := s.step(context.Background()); err != nil {
		t.Fatal(err)
	}
	changed := 0
	for i, v := range s.net.Weights() {
		if v != before[i] {
			changed++
		}
	}
	if changed == 0 {
		t.Error("the step changed no weight")
	}
	if _, err := newStepper("nope", 8, 2); err == nil {
		t.Error("unknown architecture accepted")
	}
}
