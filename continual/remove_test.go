package continual

import (
	"math/rand/v2"
	"testing"
)

func TestReservoirRemove(t *testing.T) {
	b := NewReservoir(6, 2, rand.New(rand.NewPCG(1, 2)))
	for i := range 6 {
		b.Add([]float32{float32(i), float32(-i)}, i%3)
	}
	if n := b.Remove(func(x []float32, y int) bool { return y == 1 }); n != 2 || b.Len() != 4 {
		t.Fatalf("removed %d, %d left; want 2, 4", n, b.Len())
	}
	dx, dy := make([]float32, 8), make([]int, 4)
	b.Sample(dx, dy, rand.New(rand.NewPCG(3, 4)))
	for i, y := range dy {
		if y == 1 || dx[2*i] != -dx[2*i+1] || int(dx[2*i])%3 != y {
			t.Errorf("sample %d: x %v y %d after removing class 1", i, dx[2*i:2*i+2], y)
		}
	}
	b.Add([]float32{9, -9}, 0) // a free slot is filled again
	if b.Len() != 5 || b.Seen() != 7 {
		t.Errorf("after a new sample: %d held, %d seen; want 5, 7", b.Len(), b.Seen())
	}
}
