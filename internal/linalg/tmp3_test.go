//go:build openblas

package linalg

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestTmpTrs(t *testing.T) {
	n := 10000
	rng := rand.New(rand.NewPCG(1, 2))
	l := make([]float32, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			l[i*n+j] = float32(rng.Float64()-0.5) / float32(n)
		}
		l[i*n+i] = 1
	}
	b := make([]float32, n)
	for r := 0; r < 3; r++ {
		for i := range b {
			b[i] = 1
		}
		t0 := time.Now()
		spotrs1(n, 1, l, n, b, 1)
		t1 := time.Now()
		withThreads(1e12, func() { spotrs1(n, 1, l, n, b, 1) })
		t2 := time.Now()
		x := make([]float64, n)
		y := make([]float64, n)
		for i := range x {
			x[i] = 1
		}
		a := make([]float64, n*n)
		t3 := time.Now()
		parSymv(n, 1, a, n, x, 1, y)
		t4 := time.Now()
		parSymv(n, 1, a, n, x, 1, y)
		t5 := time.Now()
		t.Logf("spotrs1 %v threaded %v symv(cold) %v symv %v", t1.Sub(t0), t2.Sub(t1), t4.Sub(t3), t5.Sub(t4))
	}
}
