package linalg

import (
	"math/rand/v2"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func cpuSec() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func TestZZRates(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	n := 4000
	rng := rand.New(rand.NewPCG(1, 1))
	a := make([]float64, n*n)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	c := make([]float64, n*n)
	Dgemm(false, true, n, n, n, 1, a, n, a, n, 0, c, n)
	for i := 0; i < n; i++ {
		c[i*n+i] += float64(n)
	}
	b := make([]float64, n*n)
	var bg, bc, cg, cc float64
	for r := 0; r < 6; r++ {
		t0 := time.Now()
		u0 := cpuSec()
		Dgemm(false, true, n, n, n, 1, a, n, a, n, 0, b, n)
		bg = max(bg, 2*float64(n*n)*float64(n)/time.Since(t0).Seconds()/1e9)
		cg = max(cg, 2*float64(n*n)*float64(n)/(cpuSec()-u0)/1e9)
		copy(b, c)
		t0 = time.Now()
		u0 = cpuSec()
		if err := Dpotrf(n, b, n); err != nil {
			t.Fatal(err)
		}
		bc = max(bc, float64(n*n)*float64(n)/3/time.Since(t0).Seconds()/1e9)
		cc = max(cc, float64(n*n)*float64(n)/3/(cpuSec()-u0)/1e9)
	}
	t.Logf("%s best wall: DGEMM %.1f, Cholesky %.1f (%.0f%%); per CPU-second: DGEMM %.1f, Cholesky %.1f (%.0f%%)", Backend(), bg, bc, 100*bc/bg, cg, cc, 100*cc/cg)
}

func TestZZKernels(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	n, k := 1200, 256
	rng := rand.New(rand.NewPCG(1, 1))
	a := make([]float64, 4000*4000)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	c := make([]float64, 4000*4000)
	for _, ld := range []int{k, 4000} {
		var bs, bg, bg2 float64
		for r := 0; r < 5; r++ {
			u0 := cpuSec()
			dsyrk1(false, n, k, -1, a, ld, 1, c, 4000)
			bs = max(bs, float64(n*n*k)/(cpuSec()-u0)/1e9)
			u0 = cpuSec()
			dgemm1(false, true, n, n, k, -1, a, ld, a[n*ld:], ld, 1, c, 4000)
			bg = max(bg, float64(2*n*n*k)/(cpuSec()-u0)/1e9)
			u0 = cpuSec()
			dgemm1(false, true, n, n, 2000, -1, a, 4000, a[n*4000:], 4000, 1, c, 4000)
			bg2 = max(bg2, float64(2*n*n*2000)/(cpuSec()-u0)/1e9)
		}
		t.Logf("lda %d: syrk k=%d %.1f GF/core, gemm k=%d %.1f, gemm k=2000 %.1f", ld, k, bs, k, bg, bg2)
	}
}

func TestZZSingle(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	n := 4000
	rng := rand.New(rand.NewPCG(1, 1))
	a := make([]float64, n*n)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	c := make([]float64, n*n)
	Dgemm(false, true, n, n, n, 1, a, n, a, n, 0, c, n)
	for i := 0; i < n; i++ {
		c[i*n+i] += float64(n)
	}
	b := make([]float64, n*n)
	var cg, cc, cs float64
	for r := 0; r < 4; r++ {
		u0 := cpuSec()
		dgemm1(false, true, n, n, n, 1, a, n, a, n, 0, b, n)
		cg = max(cg, 2*float64(n*n)*float64(n)/(cpuSec()-u0)/1e9)
		copy(b, c)
		u0 = cpuSec()
		if err := dpotrf1(n, b, n, 0); err != nil {
			t.Fatal(err)
		}
		cs = max(cs, float64(n*n)*float64(n)/3/(cpuSec()-u0)/1e9)
		copy(b, c)
		u0 = cpuSec()
		if err := blockedPotrf(n, b, n); err != nil {
			t.Fatal(err)
		}
		cc = max(cc, float64(n*n)*float64(n)/3/(cpuSec()-u0)/1e9)
	}
	t.Logf("per CPU-second, GOMAXPROCS=%d: serial DGEMM %.1f, serial potrf %.1f, blocked %.1f", runtime.GOMAXPROCS(0), cg, cs, cc)
}
