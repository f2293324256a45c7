package data

import (
	"slices"
	"testing"
)

func TestSymmetricLabelNoise(t *testing.T) {
	d := &Dataset{Name: "toy", Shape: []int{1}, Classes: []string{"a", "b", "c", "d"}}
	const n = 1000
	for i := 0; i < n; i++ {
		d.X = append(d.X, float32(i))
		d.Y = append(d.Y, i%4)
	}
	for _, tc := range []struct {
		rate  float64
		wrong int
	}{{0, 0}, {0.2, 200}, {0.4, 400}, {0.0015, 2}, {1, 1000}} {
		noisy, idx, err := SymmetricLabelNoise(d, tc.rate, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(idx) != tc.wrong || !slices.IsSorted(idx) {
			t.Fatalf("rate %g: %d corrupted indices (sorted %v), want %d", tc.rate, len(idx), slices.IsSorted(idx), tc.wrong)
		}
		wrong := 0
		hist := make([]int, 4)
		for i, y := range noisy.Y {
			if y != d.Y[i] {
				wrong++
				if !slices.Contains(idx, i) {
					t.Fatalf("rate %g: sample %d changed but not reported", tc.rate, i)
				}
				hist[y]++
			}
		}
		if wrong != tc.wrong {
			t.Fatalf("rate %g: %d wrong labels, want exactly %d", tc.rate, wrong, tc.wrong)
		}
		if tc.wrong >= 400 {
			// flipped labels spread over the classes (each ~1/4 of flips)
			for c, h := range hist {
				if h < tc.wrong/8 {
					t.Fatalf("rate %g: class %d got only %d of %d flipped labels", tc.rate, c, h, tc.wrong)
				}
			}
		}
		if !slices.Equal(noisy.X, d.X) {
			t.Fatalf("rate %g: inputs changed", tc.rate)
		}
	}
	if d.Y[5] != 1 {
		t.Fatal("original labels modified")
	}
	a, _, _ := SymmetricLabelNoise(d, 0.3, 11)
	b, _, _ := SymmetricLabelNoise(d, 0.3, 11)
	c, _, _ := SymmetricLabelNoise(d, 0.3, 12)
	if !slices.Equal(a.Y, b.Y) || slices.Equal(a.Y, c.Y) {
		t.Fatal("noise must depend on the seed only")
	}
}

func TestSymmetricLabelNoiseErrors(t *testing.T) {
	d := &Dataset{Name: "toy", Shape: []int{1}, X: []float32{1, 2}, Y: []int{0, 0}, Classes: []string{"a"}}
	for _, tc := range []struct {
		d    *Dataset
		rate float64
	}{{d, -0.1}, {d, 1.5}, {d, 0.5}, {&Dataset{Name: "reg", Shape: []int{1}, X: []float32{1}, Target: []float64{1}}, 0.1}} {
		if _, _, err := SymmetricLabelNoise(tc.d, tc.rate, 1); err == nil {
			t.Errorf("%s rate %g: no error", tc.d.Name, tc.rate)
		}
	}
}
