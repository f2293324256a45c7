package data

import "testing"

// BenchmarkDecodeEmbeddedFashion measures the one-time decoding of the
// embedded training subset (gunzip, IDX parse, scaling to float32).
func BenchmarkDecodeEmbeddedFashion(b *testing.B) {
	for b.Loop() {
		if _, err := loadEmbeddedFashion(Train); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbeddedFashion measures a call after the first: a copy of the
// cached 10,000 images.
func BenchmarkEmbeddedFashion(b *testing.B) {
	if _, err := EmbeddedFashion(Train); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := EmbeddedFashion(Train); err != nil {
			b.Fatal(err)
		}
	}
}
